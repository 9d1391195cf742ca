#!/bin/bash
# SPDX-License-Identifier: MIT
# membind-oci-hook without a container runtime: a state on stdin that names a
# process of this test's own (a sleep), so that what the hook does is seen
# with membind get.  Bad input of every kind: exit 1 and exactly one line
# "membind-oci-hook: ..." naming the problem; on-error = warn: exit 0 and the
# process untouched; the site default, allow list, log file, and the
# annotation read from the bundle's config.json.
# usage: hook-unit.sh HOOK MEMBIND
set -u
hook=${1:?usage: hook-unit.sh HOOK MEMBIND}
membind=${2:?usage: hook-unit.sh HOOK MEMBIND}
d=$(mktemp -d /tmp/membind-oci-unit.XXXXXX)
sleep 1000 &
sp=$!
trap 'kill $sp 2>/dev/null; wait $sp 2>/dev/null; rm -rf "$d"' EXIT
if ! "$membind" get "$sp" >/dev/null 2>&1; then
	echo "SKIP: membind get cannot reach a child here (ptrace not permitted?)"
	exit 77
fi
fail=0 n=0
ok() { n=$((n + 1)); echo "ok   $*"; }
bad() { n=$((n + 1)); fail=1; echo "FAIL $1"; shift; (($#)) && printf '     %s\n' "$@"; }
: >"$d/none.conf"

binding() { # the sleep's binding as membind get --json says, "scheme list"
	"$membind" get "$sp" --json | python3 -c '
import json, sys
b = json.load(sys.stdin)["binding"]
print(b["scheme"], b["memblks"] or "-")'
}
reset() { "$membind" set "$sp" --default >/dev/null; }
state() { # ANNOTATION-JSON-OBJECT [PID]
	printf '{"ociVersion":"1.0.2","id":"unit","status":"created","pid":%s,"bundle":"%s","annotations":%s}' \
		"${2:-$sp}" "$d" "$1"
}

# expect_ok NAME EXPECTED-BINDING STDIN HOOK-ARGS...
expect_ok() {
	local name="$1" want="$2" in="$3" rc got
	shift 3
	reset
	printf '%s' "$in" | "$hook" "$@" >"$d/out" 2>"$d/err"
	rc=$?
	got="$(binding)"
	if ((rc == 0)) && [[ "$got" == "$want" && ! -s "$d/err" ]]; then
		ok "$name: $got"
	else
		bad "$name: exit $rc, binding '$got', want '$want'" "$(cat "$d/err")"
	fi
}
# expect_bad NAME PATTERN STDIN HOOK-ARGS...: exit 1, one line, untouched
expect_bad() {
	local name="$1" pat="$2" in="$3" rc got lines
	shift 3
	reset
	printf '%s' "$in" | "$hook" "$@" >"$d/out" 2>"$d/err"
	rc=$?
	got="$(binding)"
	lines=$(wc -l <"$d/err")
	if ((rc == 1 && lines == 1)) && [[ "$got" == "default -" ]] &&
		grep -q '^membind-oci-hook: ' "$d/err" && grep -qE -- "$pat" "$d/err"; then
		ok "$name: $(cat "$d/err")"
	else
		bad "$name: exit $rc, $lines lines, binding '$got', want /$pat/" "$(cat "$d/err")"
	fi
}

c=(--config "$d/none.conf" createRuntime)
expect_ok round-robin "round-robin 0" "$(state '{"io.membind.binding":"round-robin:all"}')" "${c[@]}"
expect_ok hard "hard 0" "$(state '{"io.membind.binding":"hard:0"}')" "${c[@]}"
expect_ok hard-node "hard 0" "$(state '{"io.membind.binding":"hard:n0"}')" "${c[@]}"
expect_ok soft "soft 0" "$(state '{"io.membind.binding":"soft:all"}')" "${c[@]}"
expect_ok first-touch "first-touch -" "$(state '{"io.membind.binding":"first-touch"}')" "${c[@]}"
expect_ok prestart "hard 0" "$(state '{"io.membind.binding":"hard:0"}')" --config "$d/none.conf" prestart
expect_ok no-stage "hard 0" "$(state '{"io.membind.binding":"hard:0"}')" --config "$d/none.conf"
if [[ -e /sys/kernel/mm/mempolicy/weighted_interleave ]]; then
	expect_ok weighted "weighted 0" "$(state '{"io.membind.binding":"weighted:0"}')" "${c[@]}"
fi
expect_ok no-annotation "default -" "$(state '{"other":"x"}')" "${c[@]}"
expect_ok escaped "hard 0" "$(state '{"io.membind.binding":"h\u0061rd:0"}')" "${c[@]}"

# No annotations in the state: the bundle's config.json.
printf '{"ociVersion":"1.0.2","annotations":{"io.membind.binding":"round-robin:0"},"process":{"args":["x"]}}' >"$d/config.json"
expect_ok bundle "round-robin 0" "{\"id\":\"unit\",\"pid\":$sp,\"bundle\":\"$d\"}" "${c[@]}"
printf '{"annotations":{"io.membind.binding":"bogus"}' >"$d/config.json"
expect_bad bundle-bad-json "config.json is not valid JSON: expected ',' or '}' at byte 45" "{\"id\":\"unit\",\"pid\":$sp,\"bundle\":\"$d\"}" "${c[@]}"
expect_bad no-bundle "cannot read /nonexistent/config.json: No such file" "{\"id\":\"unit\",\"pid\":$sp,\"bundle\":\"/nonexistent\"}" "${c[@]}"

# Bad annotations.
a() { state "{\"io.membind.binding\":\"$1\"}"; }
expect_bad scheme "container unit: annotation io.membind.binding=bogus:0: unknown scheme 'bogus'" "$(a bogus:0)" "${c[@]}"
expect_bad no-scheme "annotation io.membind.binding=:0: no scheme" "$(a :0)" "${c[@]}"
expect_bad empty "annotation io.membind.binding=: no scheme" "$(a '')" "${c[@]}"
expect_bad no-list "hard needs a list of memblks" "$(a hard)" "${c[@]}"
expect_bad empty-list "empty list after 'soft:'" "$(a soft:)" "${c[@]}"
expect_bad list-syntax "malformed list '0-'" "$(a hard:0-)" "${c[@]}"
expect_bad list-letters "malformed list 'x'" "$(a hard:x)" "${c[@]}"
expect_bad stripe "stripe binds ranges of memory" "$(a stripe:0)" "${c[@]}"
expect_bad default-list "default takes no list" "$(a default:0)" "${c[@]}"
expect_bad no-memblk "annotation io.membind.binding=hard:7: no memblk or node '7' here \(the container's memblks: 0\)" "$(a hard:7)" "${c[@]}"
expect_bad no-node "no memblk or node 'n3' here" "$(a soft:n3)" "${c[@]}"
expect_bad none-left "round-robin:!0 names no memblk of the container" "$(a 'round-robin:!0')" "${c[@]}"
expect_bad newline "unknown scheme 'x\?y'" "$(a 'x\ny:0')" "${c[@]}"
expect_bad not-string "annotation io.membind.binding is a number, not a string" "$(state '{"io.membind.binding":3}')" "${c[@]}"
expect_bad annotations-array "annotations are an array, not an object" "$(state '[1]')" "${c[@]}"

# Bad states.
expect_bad not-json "the container state on stdin is not valid JSON: expected ',' or '}' at byte" '{"pid":1 "x"}' "${c[@]}"
expect_bad empty-state "not valid JSON: unexpected end at byte 0" '' "${c[@]}"
expect_bad not-object "the container state on stdin is an array, not an object" '[]' "${c[@]}"
expect_bad trailing "text after the end of the document" '{} {}' "${c[@]}"
expect_bad deep "nested too deeply" "$(printf '%0.s[' {1..200})" "${c[@]}"
expect_bad bad-utf8 "invalid UTF-8" "$(printf '{"id":"\xff"}')" "${c[@]}"
expect_bad nul-escape 'u0000 in a string' '{"id":"a\u0000b"}' "${c[@]}"
expect_bad no-pid 'no process id \("pid"\): run the hook at the createRuntime or prestart stage' '{"id":"unit","annotations":{"io.membind.binding":"hard:0"}}' "${c[@]}"
expect_bad pid-zero 'no process id' "$(state '{"io.membind.binding":"hard:0"}' 0)" "${c[@]}"
expect_bad pid-float 'no process id' "$(state '{"io.membind.binding":"hard:0"}' 1.5)" "${c[@]}"
expect_bad pid-gone 'cannot read /proc/999999999/status' "$(state '{"io.membind.binding":"hard:0"}' 999999999)" "${c[@]}"
expect_bad big-state 'more than 1 MiB' "{\"x\":\"$(head -c 1200000 /dev/zero | tr '\0' a)\"}" "${c[@]}"

# The site configuration.
printf 'allow = hard, first-touch\n' >"$d/allow.conf"
expect_bad not-allowed "scheme 'soft' is not allowed on this host \(allowed: hard,first-touch\)" "$(a soft:0)" --config "$d/allow.conf"
expect_ok allowed "hard 0" "$(a hard:0)" --config "$d/allow.conf"
printf '# a default\ndefault = soft:all\n' >"$d/default.conf"
expect_ok site-default "soft 0" "$(state '{}')" --config "$d/default.conf"
expect_ok site-default-overridden "round-robin 0" "$(a round-robin:0)" --config "$d/default.conf"
printf 'on-error = warn\nlog = %s\n' "$d/hook.log" >"$d/warn.conf"
reset
a bogus:0 | "$hook" --config "$d/warn.conf" >"$d/out" 2>"$d/err"
rc=$?
if ((rc == 0)) && [[ "$(binding)" == "default -" ]] &&
	grep -q "^membind-oci-hook: warning: container unit: annotation io.membind.binding=bogus:0: unknown scheme 'bogus'.*(on-error = warn: the container starts unbound)$" "$d/err" &&
	grep -q " warning: container unit: annotation io.membind.binding=bogus:0: unknown scheme" "$d/hook.log"; then
	ok "warn: exit 0, one warning, logged, process untouched"
else
	bad "warn: exit $rc" "$(cat "$d/err" "$d/hook.log" 2>/dev/null)"
fi
a hard:0 | "$hook" --config "$d/warn.conf" 2>"$d/err"
if grep -q " info: container unit: process $sp bound hard 0 (annotation io.membind.binding=hard:0; the container's memblks: 0)" "$d/hook.log" && [[ ! -s "$d/err" ]]; then
	ok "log: a binding is logged"
else
	bad "log: a binding is logged" "$(cat "$d/hook.log")"
fi
cf() { # NAME PATTERN CONFIG-TEXT
	printf '%s\n' "$3" >"$d/bad.conf"
	expect_bad "$1" "$2" "$(a hard:0)" --config "$d/bad.conf"
}
cf conf-key "bad.conf:1: unknown key 'colour'" "colour = red"
cf conf-syntax "bad.conf:2: expected KEY = VALUE" $'# x\nallow hard'
cf conf-default "bad.conf:1: default = bogus: unknown scheme 'bogus'" "default = bogus"
cf conf-allow "bad.conf:1: allow = hard,bogus: unknown scheme 'bogus'" "allow = hard,bogus"
cf conf-allow-empty "bad.conf:1: allow = names no scheme" "allow = ,"
cf conf-on-error "on-error = maybe: expected refuse or warn" "on-error = maybe"
cf conf-log "log = relative: expected an absolute file name" "log = relative"
cf conf-default-allow "default = soft is not among allow =" $'allow = hard\ndefault = soft:0'
expect_bad conf-missing "cannot read the site configuration $d/missing.conf: No such file" "$(a hard:0)" --config "$d/missing.conf"

# Usage.
"$hook" --config "$d/none.conf" createContainer </dev/null 2>"$d/err"
rc=$?
if ((rc == 2)) && grep -q "stage 'createContainer': the hook binds from the runtime's namespaces" "$d/err"; then
	ok "stage createContainer refused"
else
	bad "stage createContainer: exit $rc" "$(cat "$d/err")"
fi
out=$("$hook" --config "$d/none.conf" --check 'soft:n0' 2>&1)
[[ "$out" == "soft:n0" ]] && ok "--check soft:n0" || bad "--check soft:n0: $out"
out=$("$hook" --config "$d/allow.conf" --check 'soft:0' 2>&1)
rc=$?
((rc == 1)) && [[ "$out" == *"scheme 'soft' is not allowed"* ]] && ok "--check against allow" || bad "--check against allow: $rc $out"
"$hook" --version | grep -q '^membind-oci-hook (membind) [0-9]' && ok "--version" || bad "--version"

echo "$n checks, $([ $fail = 0 ] && echo all passed || echo some FAILED)"
exit $fail
