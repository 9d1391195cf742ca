#!/bin/bash
# SPDX-License-Identifier: MIT
# The membind tool's bad-input table, case by case, on this machine: each
# case must exit with its status, print nothing on stdout and exactly one
# line "membind: ..." naming the problem on stderr, and change nothing.
# usage: bad-input.sh MEMBIND MEMHOG
set -u
M=${1:?usage: bad-input.sh MEMBIND MEMHOG}
H=${2:?}
n=$("$M" show --json | grep -o '"id":[0-9]*' | wc -l)
[ "$n" -ge 1 ] || { echo "SKIP: no memblk"; exit 77; }
nomb=$n               # the first memblk id that does not exist
nonode=$(( $(ls -d /sys/devices/system/node/node* | wc -l) + 64 ))
fail=0 count=0
tmp=$(mktemp -d)
trap 'kill $P 2>/dev/null; rm -rf "$tmp"' EXIT

# a live process to aim at, bound hard to memblk 0
"$M" run --hard 0 -- "$H" 4 >"$tmp/hog" 2>&1 &
P=$!
for _ in $(seq 100); do grep -q ready "$tmp/hog" && break; sleep 0.05; done
grep -q ready "$tmp/hog" || { echo "FAIL: memhog did not start"; exit 1; }
before=$("$M" get "$P" | sed -n 2p)

# case RC 'stderr pattern' ARGS...
case_() {
	local want=$1 pat=$2 rc lines
	shift 2
	count=$((count + 1))
	"$M" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" != "$want" ] || [ "$lines" != 1 ] || [ -s "$tmp/out" ] ||
		! grep -q -- "^membind: .*$pat" "$tmp/err"; then
		printf 'FAIL membind %s: rc %s (want %s), stdout %s bytes, stderr: %s\n' \
			"$*" "$rc" "$want" "$(wc -c <"$tmp/out")" "$(cat "$tmp/err")"
		fail=1
	else
		printf 'ok   %-44s rc %s  %s\n' "membind $*" "$rc" "$(cat "$tmp/err")"
	fi
}

# -- commands and options
case_ 2 "no command given"
case_ 2 "unknown command 'bogus'" bogus
case_ 2 "unknown option '--bogus'" --bogus
case_ 2 "run: unknown option '--bogus'" run --hard 0 --bogus -- true
case_ 2 "get: unknown option '--maps'" get "$P" --maps
case_ 2 "set: unknown option '--json'" set "$P" --hard 0 --json
case_ 2 "where: unknown option '-x'" where "$P" -x
case_ 2 "move: unknown option '--hard'" move "$P" --to 0 --hard 0
case_ 2 "show: unknown option" show --maps
# -- missing or repeated arguments
case_ 2 "run: --hard needs a LIST" run --hard -- true
case_ 2 "run: --hard needs a LIST" run --hard
case_ 2 "run: no command to run" run --hard 0
case_ 2 "run: no command to run" run --hard 0 --
case_ 2 "run: no BINDING given" run -- true
case_ 2 "run: one BINDING only" run --soft 0 --hard 0 -- true
case_ 2 "run: --cpus given twice" run --cpus 0 --cpus 0 -- true
case_ 2 "run: --default takes no LIST" run --default=0 -- true
case_ 2 "get: no PID given" get
case_ 2 "get: one PID only" get "$P" "$P"
case_ 2 "set: no PID given" set --hard 0
case_ 2 "set: no BINDING given" set "$P"
case_ 2 "set: no BINDING given" set "$P" --move
case_ 2 "where: no PID given" where --maps
case_ 2 "move: --to LIST is required" move "$P"
case_ 2 "move: --to given twice" move "$P" --to 0 --to 0
case_ 2 "move: --from needs a LIST" move "$P" --to 0 --from
# -- malformed or empty LISTs
case_ 2 "empty LIST" run --hard '' -- true
case_ 2 "empty LIST" move "$P" --to=
for l in 0- -0 a '0,,0' '0,' ',0' '0 ' '!' '!!0' n nx n-1 0-x 1-0 0x1 all,0 '0;1'; do
	case_ 2 "malformed LIST\|--hard needs a LIST" run --hard "$l" -- true
done
case_ 2 "malformed LIST" set "$P" --soft 0..1
# -- LISTs that name nothing, or memblks/nodes that do not exist
case_ 2 "LIST '!all' names no memblk" run --hard '!all' -- true
case_ 2 "LIST '!0-$((n - 1))' names no memblk" set "$P" --round-robin "!0-$((n - 1))"
case_ 2 "no memblk $nomb here" run --hard "$nomb" -- true
case_ 2 "no memblk 0-$((nomb + 3)) here" run --soft "0-$((nomb + 3))" -- true
case_ 2 "no memblk 4095 here" set "$P" --hard 0,4095
case_ 2 "no memblk 99999 here\|malformed" move "$P" --to 99999
case_ 2 "no node n$nonode with memory" run --hard "n$nonode" -- true
case_ 2 "no memblk $nomb here" move "$P" --to 0 --from "$nomb"
# -- CPU lists
case_ 2 "--cpus: no CPU 100000 here" run --hard 0 --cpus 100000 -- true
case_ 2 "--cpus: malformed CPU list 'x'" run --cpus x -- true
case_ 2 "--cpus: malformed CPU list '0,'" run --cpus 0, -- true
case_ 2 "--cpus: malformed CPU list ''" run --cpus= -- true
case_ 2 "--cpus: node n$nonode does not exist" run --cpus "n$nonode" -- true
# -- stripes at process scope
case_ 2 "--stripe binds address ranges" run --stripe 0 -- true
case_ 2 "--stripe binds address ranges" run --stripe 0:4K -- true
case_ 2 "--stripe binds address ranges" set "$P" --stripe all:2M
# -- process ids
for p in abc 0 -1 12x 1e3 99999999999 ' 1' ''; do
	case_ 2 "is not a process id" get "$p"
done
case_ 2 "'x1' is not a process id" set x1 --hard 0
case_ 2 "'1.5' is not a process id" move 1.5 --to 0
case_ 1 "get: no process 4194303" get 4194303
case_ 1 "set: no process 4194303" set 4194303 --hard 0
case_ 1 "where: no process 4194303" where 4194303
case_ 1 "move: no process 4194303" move 4194303 --to 0
# -- a kernel thread has no binding
kt=""
for d in /proc/[0-9]*; do
	st=$(cat "$d/stat" 2>/dev/null) || continue
	set -- ${st##*) }
	if [ $(( ${7:-0} & 0x00200000 )) != 0 ]; then
		kt=${d#/proc/}
		break
	fi
done
if [ -n "$kt" ]; then
	case_ 1 "process $kt (.*) is a kernel thread" get "$kt"
	case_ 1 "process $kt (.*) is a kernel thread" set "$kt" --default
	# a failed rebinding stops there: --move does not go on to exit 0
	case_ 1 "process $kt (.*) is a kernel thread" set "$kt" --hard 0 --move
else
	echo "skip: no kernel thread visible"
fi
# -- not permitted (as an unprivileged user against root's process)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	for c in "get $P" "set $P --hard 0" "where $P" "move $P --to 0"; do
		count=$((count + 1))
		# shellcheck disable=SC2086
		asuser "$M" $c >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] &&
			grep -q "^membind: .*not permitted to reach process $P" "$tmp/err"; then
			printf 'ok   %-44s rc %s  %s\n' "(nobody) membind $c" $rc "$(cat "$tmp/err")"
		else
			printf 'FAIL (nobody) membind %s: rc %s, stderr: %s\n' "$c" $rc "$(cat "$tmp/err")"
			fail=1
		fi
	done
else
	echo "skip: the not-permitted cases need root and setpriv"
fi
# -- a captured machine: its node ids mean nothing to this kernel
tree=$(dirname "$0")/../topology/trees/cxl
if [ -d "$tree" ]; then
	MEMBIND_SYSFS_ROOT=$tree case_ 1 "MEMBIND_SYSFS_ROOT points at a captured tree" run --hard 3 -- true
	MEMBIND_SYSFS_ROOT=$tree case_ 2 "no memblk 4 here (memblks: 0-3)" run --hard 4 -- true
fi
# -- exec failures, like env(1)
case_ 127 "run: /nonexistent/cmd: No such file" run --hard 0 -- /nonexistent/cmd
case_ 126 "run: /etc: Permission denied" run --hard 0 -- /etc

after=$("$M" get "$P" | sed -n 2p)
count=$((count + 1))
if [ "$before" = "$after" ] && [ "$before" = "binding: hard 0" ]; then
	echo "ok   the target process's binding is unchanged ($after)"
else
	echo "FAIL the binding changed: '$before' -> '$after'"
	fail=1
fi
echo "$count cases, $([ $fail = 0 ] && echo all passed || echo FAILURES)"
exit $fail
