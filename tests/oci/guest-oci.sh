#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest side of tests/oci/run-oci-test (its multi-node part): Debian's runc,
# with its shared libraries, the hook and oci-workload, staged by the host in
# /membind/oci/, runs containers in the busybox guest (runc run --no-pivot:
# the guest's root is an initramfs, where pivot_root cannot work) with
# membind-oci-hook at createRuntime, and each container's memory is counted
# per node from /proc/PID/numa_maps (the kernel's own count, not membind's):
# it lands where the annotation says, also inside a cpuset.mems.
# Prints PASS/FAIL lines; exit status 1 if any failed.
set -u
o=/membind/oci
# The shared libraries where the dynamic loader looks for them.
mkdir -p /lib64 /lib/x86_64-linux-gnu /run /sys/fs/cgroup
cp "$o"/lib/ld-linux* /lib64/
cp "$o"/lib/*.so* /lib/x86_64-linux-gnu/
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
echo "+cpuset +memory" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
"$o/runc" --version | head -n 1 || { echo "FAIL runc does not run in the guest"; exit 1; }
nodes=$(cat /sys/devices/system/node/has_memory)
rootfs=/tmp/rootfs
mkdir -p $rootfs/bin $rootfs/proc $rootfs/sys $rootfs/dev $rootfs/tmp
cp /bin/busybox $rootfs/bin/ && ln -s busybox $rootfs/bin/sh
cp "$o/oci-workload" $rootfs/bin/
fail=0
# run_case NAME ANNOTATION MEMS CHECK: a container whose cpuset.mems is MEMS
# ("" for the guest's); CHECK is an awk condition on n0, n1 (pages of the
# workload's private anonymous memory on nodes 0 and 1) and t (their total),
# or "refused:PATTERN": runc run must fail with the hook's line matching it.
run_case() {
	name=$1 ann=$2 mems=$3 cond=$4 b=/tmp/b-$1
	mkdir -p "$b"
	sed "s|@ANNOTATION@|$ann|; s|@ROOTFS@|$rootfs|; s|@MEMS@|$mems|" "$o/config.json.in" >"$b/config.json"
	(cd "$b" && "$o/runc" --root /tmp/runc run --no-pivot -d "$name" >"$b/out" 2>"$b/err" </dev/null)
	rc=$?
	case $cond in
	refused:*)
		line=$(grep -o 'membind-oci-hook: [^"]*' "$b/err" | sed 's/\\n$//')
		if [ $rc != 0 ] && ! grep -q ready "$b/out" && echo "$line" | grep -q "${cond#refused:}"; then
			echo "PASS $name: $ann (cpuset.mems ${mems:-all}) refused: $line"
		else
			echo "FAIL $name: $ann (cpuset.mems ${mems:-all}): exit $rc: $(head -c 400 "$b/err")"
			fail=1
		fi
		"$o/runc" --root /tmp/runc delete --force "$name" >/dev/null 2>&1
		return ;;
	esac
	i=0
	while [ $rc = 0 ] && [ $i -lt 300 ] && ! grep -qx ready "$b/out"; do
		sleep 0.1; i=$((i + 1))
	done
	pid=$("$o/runc" --root /tmp/runc state "$name" 2>/dev/null | sed -n 's/^ *"pid": \([0-9]*\),*$/\1/p')
	if [ $rc != 0 ] || [ -z "$pid" ] || ! grep -qx ready "$b/out"; then
		echo "FAIL $name: runc run (exit $rc): $(head -c 400 "$b/err")"
		fail=1
	else
		res=$(awk '/ anon=/ && !/file=/ { for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), a, "="); n[a[1]] += a[2]; t += a[2] } }
			END { n0 = n[0] + 0; n1 = n[1] + 0; printf "%s N0=%d N1=%d", ('"$cond"') ? "ok" : "bad", n0, n1 }' "/proc/$pid/numa_maps")
		pol=$(for t in /proc/$pid/task/*; do head -n 1 "$t/numa_maps" | cut -d' ' -f2-3 | sed 's/ [a-z]*=.*//'; done | sort -u | tr '\n' ';')
		nt=$(ls /proc/$pid/task | wc -l)
		case $res in
		ok*) echo "PASS $name: $ann (cpuset.mems ${mems:-all}): $nt threads: $pol pages ${res#ok }" ;;
		*) echo "FAIL $name: $ann (cpuset.mems ${mems:-all}): $nt threads: $pol pages ${res#bad }, want $cond"; fail=1 ;;
		esac
	fi
	"$o/runc" --root /tmp/runc kill "$name" KILL >/dev/null 2>&1
	sleep 0.2
	"$o/runc" --root /tmp/runc delete --force "$name" >/dev/null 2>&1
}
echo "guest nodes with memory: $nodes"
# 4 threads x 8 MiB: 8192 pages
run_case hard1 hard:n1 "" 't >= 8192 && n0 == 0'
run_case rr round-robin:all "" 't >= 8192 && n0 > t * 0.4 && n1 > t * 0.4'
if [ -e /sys/kernel/mm/mempolicy/weighted_interleave ]; then
	run_case weighted weighted:0-1 "" 't >= 8192 && n0 > t * 0.2 && n1 > t * 0.2'
fi
# all inside a cpuset: the container's cpuset.mems, not the machine's
run_case cpuset-rr round-robin:all 1 't >= 8192 && n0 == 0'
run_case cpuset-soft soft:all 0 't >= 8192 && n0 > t * 0.9'
run_case cpuset-outside hard:0 1 "refused:annotation io.membind.binding=hard:0: memblk 0 (node 0) is outside the container's cpuset.mems (its memblks: 1"
exit $fail
