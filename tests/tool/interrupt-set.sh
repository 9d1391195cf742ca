#!/bin/bash
# SPDX-License-Identifier: MIT
# What an operator does to `membind set PID`: timeout(1) (SIGTERM), Ctrl-C
# (SIGINT to the foreground group), SIGKILL, Ctrl-Z (SIGTSTP) and a closed
# terminal (SIGHUP), at random moments, 60 times, against a live memhog.
# After each: memhog alive, not traced or stopped once the rebinding's
# helper (membind-remote) is done, and `membind get` reads its binding.
# The CLI side of test-interrupt (which has a multi-threaded target).
# usage: interrupt-set.sh MEMBIND MEMHOG
set -u
M=${1:?usage: interrupt-set.sh MEMBIND MEMHOG}
H=${2:?}
trials=${TRIALS:-60}
fail=0
"$H" 8 >/dev/null 2>&1 &
P=$!
trap 'kill $P 2>/dev/null' EXIT
sleep 0.5
# This test's helpers: processes named membind-remote (a fork of membind,
# so with its command line) that rebind P; others may run beside us.
our_helpers() {
	local h
	for h in $(pgrep -x membind-remote); do
		{ tr '\0' ' ' <"/proc/$h/cmdline"; } 2>/dev/null | grep -q " set $P " && echo "$h"
	done
}
helpers_done() { # no helper of ours left, nothing tracing P
	local t tr
	[[ -z "$(our_helpers)" ]] || return 1
	for t in /proc/$P/task/*; do
		tr=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
		[[ -z "$tr" || "$tr" == 0 ]] || return 1
	done
}
sigs=(TERM INT KILL TSTP HUP)
binds=("--hard 0" "--soft 0" "--round-robin 0" "--first-touch 0")
calls_ok=0
for ((i = 0; i < trials; i++)); do
	sig=${sigs[RANDOM % ${#sigs[@]}]}
	delay=$(printf '0.%03d' $((RANDOM % 20)))
	b=${binds[RANDOM % ${#binds[@]}]}
	# own process group, as a shell job would have: the signal goes to
	# membind only (the helper has its own session)
	setsid "$M" set $P $b >/dev/null 2>&1 &
	c=$!
	sleep "$delay"
	kill -s "$sig" -- -$c 2>/dev/null
	[[ $sig == TSTP ]] && { sleep 0.01; kill -KILL -- -$c 2>/dev/null; }
	wait $c 2>/dev/null && calls_ok=$((calls_ok + 1))
	for ((w = 0; w < 500; w++)); do helpers_done && break; sleep 0.01; done
	if ! kill -0 $P 2>/dev/null; then
		echo "FAIL trial $i ($sig after ${delay}s): memhog died"
		fail=1
		break
	fi
	if ! helpers_done; then
		echo "FAIL trial $i ($sig after ${delay}s): still traced after 5 s"
		grep -H -E '^(State|TracerPid)' /proc/$P/task/*/status
		for h in $(our_helpers); do
			echo "helper $h: $(grep -E '^State' /proc/$h/status) wchan $(cat /proc/$h/wchan)"
			cat /proc/$h/stack 2>/dev/null
		done
		fail=1
		break
	fi
	for t in /proc/$P/task/*; do
		s=$(awk '/^State:/ {print $2}' "$t/status" 2>/dev/null)
		if [[ $s == t || $s == T ]]; then
			echo "FAIL trial $i ($sig after ${delay}s): thread ${t##*/} left in state $s"
			fail=1
		fi
	done
	if ! "$M" get $P >/dev/null 2>&1; then
		echo "FAIL trial $i ($sig after ${delay}s): membind get fails"
		"$M" get $P
		fail=1
	fi
	((fail)) && break
done
# the calls themselves must work when not interrupted
"$M" set $P --hard 0 || { echo "FAIL membind set $P --hard 0 on its own"; fail=1; }
((fail)) || echo "ok   $trials interrupted 'membind set' calls ($calls_ok finished first): memhog alive, nothing left traced or stopped, binding readable"
exit $fail
