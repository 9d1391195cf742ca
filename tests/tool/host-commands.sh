#!/bin/bash
# SPDX-License-Identifier: MIT
# The membind tool's commands on this machine (any number of memblks):
# help, version, show, run, get, set, where, move against a live process,
# and that every --json output is one valid JSON document.
# usage: host-commands.sh MEMBIND MEMHOG
set -u
M=${1:?usage: host-commands.sh MEMBIND MEMHOG}
H=${2:?}
fail=0
tmp=$(mktemp -d)
P2=
trap 'kill $P $P2 2>/dev/null; rm -rf "$tmp"' EXIT
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
json_ok() {
	if command -v python3 >/dev/null; then
		python3 -c 'import json,sys; json.load(sys.stdin)'
	else
		grep -q '^{.*}$'
	fi
}

"$M" --version | grep -Eq '^membind [0-9]+\.[0-9]+\.[0-9]+$' && ok "--version" || bad "--version"
"$M" --help | grep -q '^Usage: membind COMMAND' && ok "--help" || bad "--help"
for c in show run get set where move; do
	out=$("$M" $c --help) && echo "$out" | grep -q "^Usage: membind $c" &&
		[ "$(echo "$out" | wc -l)" -le 20 ] && ok "$c --help" || bad "$c --help"
done
"$M" show --json | json_ok && ok "show --json" || bad "show --json"

"$M" run --hard 0 --cpus 0 -- "$H" 8 >"$tmp/hog" 2>&1 &
P=$!
for _ in $(seq 100); do grep -q ready "$tmp/hog" && break; sleep 0.05; done
grep -q ready "$tmp/hog" || { bad "memhog did not start: $(cat "$tmp/hog")"; exit 1; }
grep -q "^Cpus_allowed_list:[[:space:]]*0$" /proc/$P/status && ok "run --cpus 0" || bad "run --cpus 0"
[ "$("$M" get $P | sed -n 2p)" = "binding: hard 0" ] && ok "get: hard 0" || bad "get: $("$M" get $P)"
"$M" get $P --json | json_ok && ok "get --json" || bad "get --json"
"$M" where $P --json | json_ok && ok "where --json" || bad "where --json"
"$M" where $P --maps --json | json_ok && ok "where --maps --json" || bad "where --maps --json"
"$M" where $P --maps | grep -Eq '^anon [0-9a-f]+ +8.0M +8.0M' && ok "where --maps: 8M anon" ||
	bad "where --maps: $("$M" where $P --maps)"
# A mapped file whose name holds a newline (the kernel shows it as \012):
# the text keeps it escaped, on the file's own line, and --json gives the
# name itself.
evil="$tmp/evil"$'\n'"injected line"$'\t'"x"
MEMHOG_FILE=$evil "$H" 1 >"$tmp/hog2" 2>&1 &
P2=$!
for _ in $(seq 100); do grep -q ready "$tmp/hog2" && break; sleep 0.05; done
if grep -q ready "$tmp/hog2"; then
	out=$("$M" where $P2 --maps)
	if echo "$out" | grep -q '^injected' || ! echo "$out" | grep -Fq '\012injected line\011x'; then
		bad "where --maps: a newline in a file name: $out"
	else
		ok "where --maps: a newline in a file name stays escaped"
	fi
	if command -v python3 >/dev/null; then
		"$M" where $P2 --maps --json | EVIL=$evil python3 -c '
import json, os, sys
d = json.load(sys.stdin)
sys.exit(0 if any(m["name"] == os.environ["EVIL"] for m in d["maps"]) else 1)' &&
			ok "where --maps --json: the name with a newline" ||
			bad "where --maps --json: $("$M" where $P2 --maps --json)"
	fi
else
	bad "memhog with MEMHOG_FILE did not start: $(cat "$tmp/hog2")"
fi
kill $P2 2>/dev/null
wait $P2 2>/dev/null
for b in "--soft 0" "--round-robin all" "--first-touch" "--first-touch 0" "--default" "--hard n0"; do
	# shellcheck disable=SC2086
	"$M" set $P $b --move && ok "set $b" || bad "set $b"
done
[ "$("$M" get $P | sed -n 2p)" = "binding: hard 0" ] && ok "get: hard 0 again" || bad "get: $("$M" get $P)"
"$M" move $P --to all >"$tmp/mv" 2>&1 && [ ! -s "$tmp/mv" ] && ok "move --to all: quiet" ||
	bad "move: $(cat "$tmp/mv")"
"$M" run --first-touch=0 -- true && ok "run --first-touch=0" || bad "run --first-touch=0"
[ "$("$M" run --round-robin all -- sh -c 'exec cat /proc/self/status' | grep -c Mems_allowed_list)" = 1 ] &&
	ok "run: exec through sh" || bad "run through sh"
exit $fail
