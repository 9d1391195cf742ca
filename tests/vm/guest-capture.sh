#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside the test VM (busybox sh): copies the NUMA-relevant part of
# /sys into a staging tree and prints it as a base64 gzip tar between
# @@MEMBIND-CAPTURE-BEGIN and @@MEMBIND-CAPTURE-END lines. See capture-sysfs.
#
# Regular sysfs files become regular files with the same content. Symbolic
# links whose target is inside the captured set (nodeN/cpuM, cpuM/nodeN,
# nodeN/memoryM, memoryM/nodeN, accessK/initiators/nodeM,
# accessK/targets/nodeM) are kept as the same relative symbolic links, so the
# tree reads like /sys without loops in a plain file walk.
set -u
S=/sys
D=/tmp/capture
rm -rf "$D"
mkdir -p "$D"

f() { # copy regular files (paths relative to /sys, globs allowed)
	for p in "$@"; do
		[ -f "$S/$p" ] || continue
		mkdir -p "$D/$(dirname "$p")"
		cat "$S/$p" >"$D/$p" 2>/dev/null || rm -f "$D/$p"
	done
}
l() { # keep symbolic links as they are
	for p in "$@"; do
		[ -L "$S/$p" ] || continue
		mkdir -p "$D/$(dirname "$p")"
		ln -s "$(readlink "$S/$p")" "$D/$p"
	done
}

cd "$S" || exit 1

N=devices/system/node
f $N/online $N/possible $N/has_memory $N/has_cpu $N/has_normal_memory \
	$N/has_high_memory $N/has_generic_initiator
for n in $N/node[0-9]*; do
	f "$n/cpulist" "$n/cpumap" "$n/distance" "$n/meminfo" "$n/numastat"
	l "$n"/cpu[0-9]* "$n"/memory[0-9]*
	for a in "$n"/access[0-9]*; do
		[ -d "$a" ] || continue
		mkdir -p "$D/$a/initiators" "$D/$a/targets"
		f "$a"/initiators/read_bandwidth "$a"/initiators/write_bandwidth \
			"$a"/initiators/read_latency "$a"/initiators/write_latency
		l "$a"/initiators/node[0-9]* "$a"/targets/node[0-9]*
	done
done

C=devices/system/cpu
f $C/online $C/possible $C/present $C/offline $C/kernel_max
for c in $C/cpu[0-9]*; do
	f "$c/online"
	for t in physical_package_id die_id cluster_id core_id core_cpus_list \
		thread_siblings_list core_siblings_list die_cpus_list \
		package_cpus_list cluster_cpus_list; do
		f "$c/topology/$t"
	done
	l "$c"/node[0-9]*
done

M=devices/system/memory
f $M/block_size_bytes
for m in $M/memory[0-9]*; do
	f "$m/phys_index" "$m/state" "$m/valid_zones" "$m/online"
	l "$m"/node[0-9]*
done

for t in devices/virtual/memory_tiering/memory_tier[0-9]*; do
	f "$t/nodelist"
done
f kernel/mm/mempolicy/weighted_interleave/node[0-9]* \
	kernel/mm/mempolicy/weighted_interleave/auto
f kernel/mm/numa/*

{
	echo "captured by tests/vm/capture-sysfs (guest-capture.sh)"
	echo "topology=${MEMBIND_VM_TOPOLOGY:-?}"
	echo "kernel=$(uname -r)"
	echo "cmdline=$(cat /proc/cmdline)"
} >"$D/CAPTURE-INFO"

echo "@@MEMBIND-CAPTURE-BEGIN"
tar -C "$D" -czf - . | base64
echo "@@MEMBIND-CAPTURE-END"
