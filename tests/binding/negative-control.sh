#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Negative control for the binding tests, run inside a tests/vm guest next
# to them (they are in /membind/).  Each placement test is run with
# MEMBIND_TEST_WRONG=1, under which it binds somewhere other than where it
# then looks, so it must fail (exit 1, or killed by the OOM killer when
# the wrong memblk is a small one).  Passes only if every one that did
# not skip (77) exited 1, and at least one ran; prints each test's result.
dir=${MEMBIND_GUEST_DIR:-/membind}
ran=0
bad=0
for t in test_schemes test_threads test_first_touch test_range test_soft_fill test_where_move test_move_spread test_remote test_allowed test_alloc_place test_heap_place test_heap_full; do
	b="$dir/$t"
	if [ ! -x "$b" ]; then
		echo "negative-control: $t: not in the guest, not run"
		continue
	fi
	out=$(MEMBIND_TEST_WRONG=1 "$b" 2>&1)
	rc=$?
	# the summary line ("N checks, M failed" or "SKIP: ..."), else the last
	last=$(printf '%s\n' "$out" | grep -E 'checks, [0-9]+ failed|SKIP' | tail -n 1)
	[ -n "$last" ] || last=$(printf '%s\n' "$out" | tail -n 1)
	case $rc in
	1)
		ran=$((ran + 1))
		echo "negative-control: $t: failed as it must (rc=1; $last)" ;;
	77)
		echo "negative-control: $t: skipped ($last)" ;;
	137)
		# A wrong HARD binding on a small node can exhaust it: the
		# kernel's OOM killer ends the test, which is a failure too.
		# (the kernel names a task by its first 15 characters)
		comm=$(printf '%.15s' "$t")
		if dmesg 2>/dev/null | grep -q "Killed process [0-9]* ($comm)"; then
			ran=$((ran + 1))
			echo "negative-control: $t: killed by the OOM killer under the wrong binding (counts as failing)"
		else
			ran=$((ran + 1))
			bad=$((bad + 1))
			echo "negative-control: $t: killed (rc=137) without an OOM report"
		fi ;;
	*)
		ran=$((ran + 1))
		bad=$((bad + 1))
		echo "negative-control: $t: exited $rc under MEMBIND_TEST_WRONG=1, expected 1"
		printf '%s\n' "$out" | tail -n 20 ;;
	esac
done
if [ "$ran" -eq 0 ]; then
	echo "negative-control: no placement test ran"
	exit 77
fi
if [ "$bad" -ne 0 ]; then
	echo "negative-control: $bad of $ran tests did not fail against a wrong binding"
	exit 1
fi
echo "negative-control: all $ran tests that ran failed against a wrong binding"
exit 0
