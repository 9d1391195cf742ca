#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest test for the membind tool (tests/vm/run-vm): every command against
# real processes in a multi-node guest.  Needs membind-static and
# memhog-static next to it (run-vm --add).  Exit 0 pass, 1 fail, 77 skip.
set -u
M=$(command -v membind-static || command -v membind)
H=$(command -v memhog-static || command -v memhog)
K=${MEMBIND_VM_KERNEL:-?}
T=${MEMBIND_VM_TOPOLOGY:-?}
fail=0
MB=32
MIN=$((30 << 20))

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

n=$($M show --json | grep -o '"id":[0-9]*' | wc -l)
[ "$n" -ge 2 ] || { echo "SKIP: needs 2 memblks (have $n)"; exit 77; }
last=$((n - 1))
# home: the memblk other than $last with the most free memory, where the
# set/move checks put the workload's 32 MiB (memblk 0 also holds the kernel
# and can be the fullest late in a run of many tests).
home=$($M show --json | tr '{' '\n' |
	sed -n 's/^"id":\([0-9]*\),.*"free_bytes":\([0-9]*\),.*/\1 \2/p' |
	awk -v last="$last" '$1 != last && $2 > best { best = $2; id = $1 }
		END { print id }')
[ -n "$home" ] || home=0
echo "topology $T, kernel $K, $n memblks, home memblk $home"

hogs=""
nhog=0
# start CMD...: run a memhog (maybe under membind run), wait for it: $P
start() {
	nhog=$((nhog + 1))
	out=/tmp/hog.out.$nhog
	"$@" >"$out" 2>&1 &
	P=$!
	hogs="$hogs $P"
	i=0
	while ! grep -q ready "$out" 2>/dev/null; do
		if ! kill -0 "$P" 2>/dev/null || [ $i -gt 600 ]; then
			bad "start $*: $(cat "$out")"
			P=""
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}
stop() { [ -n "${P:-}" ] && kill "$P" 2>/dev/null; wait "$P" 2>/dev/null; P=""; }

# bytes_on PID MEMBLK: resident bytes of PID on MEMBLK (where --json)
bytes_on() {
	$M where "$1" --json |
		sed -n "s/.*\"memblk\":$2,\"node\":[0-9]*,\"bytes\":\([0-9]*\).*/\1/p"
}
# expect_on PID MEMBLK MIN WHAT
expect_on() {
	b=$(bytes_on "$1" "$2")
	if [ -n "$b" ] && [ "$b" -ge "$3" ]; then
		ok "$4: $b bytes on memblk $2"
	else
		bad "$4: ${b:-?} bytes on memblk $2, wanted >= $3"
		$M where "$1"
	fi
}
# expect_rc RC PATTERN CMD...: exit status and one-line stderr
expect_rc() {
	want=$1 pat=$2
	shift 2
	"$@" >/tmp/out 2>/tmp/err
	rc=$?
	lines=$(wc -l </tmp/err)
	if [ "$rc" = "$want" ] && grep -q "^membind: .*$pat" /tmp/err &&
		[ "$lines" = 1 ]; then
		ok "rc $rc: $(cat /tmp/err)"
	else
		bad "$*: rc $rc (wanted $want), stderr: $(cat /tmp/err)"
	fi
}

echo "== show"
$M show
$M show --json | grep -q '"memblks":\[{"id":0' && ok "show --json" ||
	bad "show --json"

echo "== run --hard $last, where, get"
if start $M run --hard "$last" -- "$H" $MB; then
	expect_on "$P" "$last" $MIN "run --hard $last"
	$M get "$P"
	$M get "$P" | grep -q "^binding: hard $last\$" && ok "get: hard $last" ||
		bad "get: not hard $last"
	$M get "$P" --json | grep -q "\"scheme\":\"hard\",\"memblks\":\"$last\"" &&
		ok "get --json" || bad "get --json: $($M get "$P" --json)"

	echo "== where --maps"
	$M where "$P" --maps
	$M where "$P" --maps | grep -Eq "^anon [0-9a-f]+ +${MB}M +${MB}M" &&
		ok "where --maps: the ${MB}M anonymous region" ||
		bad "where --maps: no ${MB}M anon row"
	$M where "$P" --maps --json | grep -q '"kind":"anon"' &&
		ok "where --maps --json" || bad "where --maps --json"

	echo "== set --hard $home --move"
	$M set "$P" --hard "$home" --move && ok "set rc 0" || bad "set rc $?"
	$M get "$P" | grep -q "^binding: hard $home\$" && ok "get after set: hard $home" ||
		bad "get after set: $($M get "$P" | head -2)"
	expect_on "$P" "$home" $MIN "set --move"

	echo "== move --to $last (quiet, not a terminal)"
	$M move "$P" --to "$last" >/tmp/mv.out 2>&1
	rc=$?
	[ $rc = 0 ] && [ ! -s /tmp/mv.out ] && ok "move rc 0, quiet" ||
		bad "move rc $rc: $(cat /tmp/mv.out)"
	expect_on "$P" "$last" $MIN "move --to $last"
	if $M move "$P" --to "$home" --from "$last" >/tmp/mv.out 2>&1; then
		expect_on "$P" "$home" $MIN "move --to $home --from $last"
	else
		bad "move --to $home --from $last: rc $?: $(cat /tmp/mv.out)"
	fi
	lnode=$($M show --json | sed 's/.*"id":'"$last"',"node":\([0-9]*\).*/\1/')
	if $M move "$P" --to "n$lnode" >/tmp/mv.out 2>&1; then
		expect_on "$P" "$last" $MIN "move --to n$lnode (node of $last)"
	else
		bad "move --to n$lnode: rc $?: $(cat /tmp/mv.out)"
	fi

	echo "== bad input against a live process"
	expect_rc 2 "no memblk 99" $M set "$P" --hard 99
	expect_rc 2 "malformed LIST" $M move "$P" --to 0-
	expect_rc 2 "names no memblk" $M set "$P" --hard '!all'
	expect_rc 2 "--stripe binds address ranges" $M set "$P" --stripe 0-1
	expect_on "$P" "$last" $MIN "nothing moved by bad input"
	$M get "$P" | grep -q "^binding: hard $home\$" && ok "binding unchanged" ||
		bad "binding changed by bad input"
	stop
fi
expect_rc 1 "no process" $M get 999999
expect_rc 1 "no process" $M move 999999 --to 0

echo "== run --round-robin 0-1"
if start $M run --round-robin 0-1 -- "$H" $MB; then
	expect_on "$P" 0 $((12 << 20)) "round-robin"
	expect_on "$P" 1 $((12 << 20)) "round-robin"
	$M get "$P" | grep -q '^binding: round-robin 0-1$' && ok "get: round-robin" ||
		bad "get: $($M get "$P" | sed -n 2p)"
	stop
fi

echo "== run --soft"
if start $M run --soft 1 -- "$H" $MB; then
	expect_on "$P" 1 $MIN "soft 1"
	stop
fi
if start $M run --soft 0-1 -- "$H" $MB; then
	$M get "$P" | grep -q '^binding: soft 0-1$' && ok "get: soft 0-1 (preferred many)" ||
		bad "get: $($M get "$P" | sed -n 2p)"
	stop
fi

echo "== run --weighted"
case "$K" in
6.1)
	expect_rc 1 "Linux 6.9" $M run --weighted 0-1 -- true ;;
*)
	if start $M run --weighted 0-1 -- "$H" $MB; then
		expect_on "$P" 0 $((4 << 20)) "weighted"
		expect_on "$P" 1 $((4 << 20)) "weighted"
		stop
	fi ;;
esac

echo "== run --first-touch --cpus, nodes"
m1=$($M show --json | sed -n 's/.*"nodes":.*{"node":[0-9]*,"memblk":\([0-9]*\),"cpus":"1"}.*/\1/p')
if [ -n "$m1" ] && start $M run --first-touch --cpus 1 -- "$H" $MB; then
	expect_on "$P" "$m1" $MIN "first-touch on CPU 1"
	stop
fi
c=$($M run --hard 0 --cpus 1 -- grep Cpus_allowed_list /proc/self/status)
[ "$c" = "$(printf 'Cpus_allowed_list:\t1')" ] && ok "--cpus 1" || bad "--cpus 1: $c"
c=$($M run --hard n0 -- grep Mems_allowed_list /proc/self/status)
m=$($M run --hard n0 -- sh -c 'head -1 /proc/self/numa_maps')
echo "$m" | grep -q ' bind:0 ' && ok "--hard n0: $m" || bad "--hard n0: $m"

echo "== move transparent huge pages over two memblks"
# Each huge page must go whole to one target and be migrated once: spread
# page by page, every one of its 512 pieces moved the whole huge page again
# (minutes for 32 MiB under emulation).
thp=/sys/kernel/mm/transparent_hugepage
if [ "$n" -lt 3 ]; then
	echo "skipped: needs 3 memblks"
elif [ ! -w "$thp/enabled" ] || ! grep -q thp_migration_success /proc/vmstat; then
	echo "skipped: no transparent huge pages or no THP migration in this kernel"
else
	old_thp=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp/enabled")
	[ "$old_thp" = never ] && echo madvise >"$thp/enabled"
	t1=$(( (home + 1) % n )); [ "$t1" = "$home" ] && t1=$(( (t1 + 1) % n ))
	t2=$(( (t1 + 1) % n )); [ "$t2" = "$home" ] && t2=$(( (t2 + 1) % n ))
	if MEMHOG_THP=1 start $M run --hard "$home" -- "$H" $MB; then
		huge=$(sed -n 's/^AnonHugePages: *\([0-9]*\) kB/\1/p' /proc/$P/smaps_rollup)
		before=$(sed -n 's/^thp_migration_success //p' /proc/vmstat)
		if [ "${huge:-0}" -lt $((MB * 1024 / 2)) ]; then
			echo "skipped: only ${huge:-0} kB in huge pages"
		elif $M move "$P" --from "$home" --to "$t1,$t2" >/tmp/mv.out 2>&1; then
			after=$(sed -n 's/^thp_migration_success //p' /proc/vmstat)
			moved=$((after - before))
			[ "$moved" -le $((huge / 2048)) ] &&
				ok "move --to $t1,$t2: $moved huge pages migrated for $((huge / 2048))" ||
				bad "move --to $t1,$t2: $moved huge page migrations for $((huge / 2048)) huge pages"
			expect_on "$P" "$t1" $((MB * 1024 * 1024 / 4)) "THP spread"
			expect_on "$P" "$t2" $((MB * 1024 * 1024 / 4)) "THP spread"
		else
			bad "move --to $t1,$t2: rc $?: $(cat /tmp/mv.out)"
		fi
		stop
	fi
	unset MEMHOG_THP
	echo "$old_thp" >"$thp/enabled"
fi

echo "== set --move spreads again: the spread of a fresh run"
# shares PID: each memblk's percentage of PID's resident bytes (where --json)
shares() {
	$M where "$1" --json | tr '{' '\n' |
		sed -n 's/^"memblk":\([0-9]*\),"node":[0-9]*,"bytes":\([0-9]*\).*/\1 \2/p' |
		awk -v n="$n" '{ b[$1] = $2; t += $2 }
			END { for (m = 0; m < n; m++) printf "%.1f ", t ? 100 * b[m] / t : 0 }'
}
# near WHAT "SHARES" "WANT": every memblk within 5 points of its share
near() {
	if echo "$2|$3" | awk -F'|' '{ k = split($1, a, " "); split($2, w, " ")
		for (i = 1; i <= k; i++) if (a[i] - w[i] > 5 || w[i] - a[i] > 5) exit 1 }'; then
		ok "$1: $2(want $3)"
	else
		bad "$1: $2(want $3)"
	fi
}
even=$(awk -v n="$n" 'BEGIN { for (m = 0; m < n; m++) printf "%.1f ", 100 / n }')
# spread_check WHAT set|move OPTS RUNOPT WANT: a memhog on $home moved by
# "set PID OPTS all --move" or "move PID --to all OPTS", against one run
# under RUNOPT (none if empty)
spread_check() {
	what=$1 how=$2 setopt=$3 runopt=$4 want=$5
	if start $M run --hard "$home" -- "$H" $MB; then
		echo "before: $(shares "$P")"
		if [ "$how" = move ]; then
			$M move "$P" --to all $setopt >/tmp/mv.out 2>&1
		else
			$M set "$P" $setopt all --move >/tmp/mv.out 2>&1
		fi
		rc=$?
		[ $rc = 0 ] || bad "$what: rc $rc: $(cat /tmp/mv.out)"
		near "$what: moved" "$(shares "$P")" "$want"
		stop
	fi
	if [ -n "$runopt" ] && start $M run $runopt all -- "$H" $MB; then
		near "$what: fresh run" "$(shares "$P")" "$want"
		stop
	fi
}
spread_check "set --round-robin all --move" set --round-robin --round-robin "$even"
spread_check "move --to all --spread --threads 2" move "--spread --threads 2" "" "$even"
spread_check "move --to all --stripe 1M" move "--stripe 1M" "" "$even"
wdir=/sys/kernel/mm/mempolicy/weighted_interleave
if [ "$K" != 6.1 ] && [ -w "$wdir/node0" ]; then
	# memblk 0 weighs 3, the others 1
	saved=""
	for f in "$wdir"/node*; do saved="$saved $f=$(cat "$f")"; done
	for f in "$wdir"/node*; do echo 1 >"$f"; done
	n0=$($M show --json | sed 's/.*"id":0,"node":\([0-9]*\).*/\1/')
	echo 3 >"$wdir/node$n0"
	wwant=$(awk -v n="$n" 'BEGIN { for (m = 0; m < n; m++) printf "%.1f ", 100 * (m ? 1 : 3) / (n + 2) }')
	spread_check "set --weighted all --move (3:1)" set --weighted --weighted "$wwant"
	spread_check "move --to all --weighted (3:1)" move --weighted "" "$wwant"
	for kv in $saved; do echo "${kv#*=}" >"${kv%%=*}"; done
else
	echo "weighted: skipped (Linux $K has no weighted interleave)"
fi
expect_rc 2 "--stripe '3M': a power of two" $M move 1 --to all --stripe 3M
expect_rc 2 "one scheme only" $M move 1 --to all --spread --weighted
expect_rc 2 "--threads '0'" $M move 1 --to all --threads 0

echo "== mixed threads"
if start $M run --hard 0 -- "$H" 4 "$last"; then
	$M get "$P"
	g=$($M get "$P")
	echo "$g" | grep -q '^binding: mixed' &&
		echo "$g" | grep -Eq "^  thread [0-9]+: hard $last\$" &&
		echo "$g" | grep -Eq "^  thread [0-9]+: hard 0\$" &&
		ok "get: mixed, per thread" || bad "get: not mixed per thread"
	$M get "$P" --json | grep -q '"mixed":true' && ok "get --json mixed" ||
		bad "get --json mixed"
	stop
fi

echo "== exec failures"
$M run --hard 0 -- /nonexistent 2>/dev/null
[ $? = 127 ] && ok "run: not found 127" || bad "run: not found"
$M run --hard 0 -- /proc 2>/dev/null
[ $? = 126 ] && ok "run: not executable 126" || bad "run: not executable"

for p in $hogs; do kill "$p" 2>/dev/null; done
[ $fail = 0 ] && echo "all membind tool checks passed ($T, $K)"
exit $fail
