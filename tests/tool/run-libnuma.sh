#!/bin/bash
# SPDX-License-Identifier: MIT
# membind run --libnuma: the program runs on membind's libnuma.so.1 (checked
# by the object that holds numa_available), from a build tree and from an
# installed tree (PREFIX/bin/membind, PREFIX/LIBDIR/membind/libnuma.so.1),
# keeps the caller's LD_LIBRARY_PATH after it, takes a binding, and fails
# with one "membind: ..." line when the library is not installed.
# usage: run-libnuma.sh MEMBIND LIBNUMA-WHICH BUILD-LIBNUMA.SO.1 LIBDIR INSTALLED-DIR
set -u
M=${1:?usage: run-libnuma.sh MEMBIND LIBNUMA-WHICH LIBNUMA.SO.1 LIBDIR INSTALLED-DIR}
W=${2:?} ours=$(realpath "${3:?}") libdir=${4:?} installed=${5:?}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # WHAT GOT WANT
	if [[ "$2" == "$3" ]]; then
		echo "ok   $1: $2"
	else
		echo "FAIL $1: got '$2', want '$3'"
		fail=1
	fi
}

unset LD_LIBRARY_PATH
system=$("$W" | head -n 1)
[[ -n "$system" ]] || { echo "FAIL: $W does not run"; exit 1; }
[[ "$system" != "$ours" ]] || { echo "SKIP: the system's libnuma.so.1 is membind's"; exit 77; }

out=$("$M" run --libnuma -- "$W")
check "build tree: the library" "$(head -n 1 <<<"$out")" "$ours"
check "build tree: LD_LIBRARY_PATH" "$(sed -n 2p <<<"$out")" "$(dirname "$ours")"
out=$(LD_LIBRARY_PATH=/nonexistent "$M" run --libnuma -- "$W")
check "the caller's LD_LIBRARY_PATH kept after it" "$(sed -n 2p <<<"$out")" "$(dirname "$ours"):/nonexistent"
out=$("$M" run --hard all --libnuma -- "$W")
check "with a binding" "$(head -n 1 <<<"$out")" "$ours"
check "without --libnuma: the system's" "$("$M" run --hard all -- "$W" | head -n 1)" "$system"

# An installed tree, unpacked anywhere: membind is linked with libmembind.so.1,
# which the loader finds in PREFIX/LIBDIR once installed; here
# LD_LIBRARY_PATH says where it is, and the copies are run with it.
mkdir -p "$tmp/usr/bin" "$tmp/usr/$libdir/membind"
cp "$M" "$tmp/usr/bin/membind"
cp "$ours" "$tmp/usr/$libdir/membind/libnuma.so.1"
lib=$(ldd "$M" | awk '$1 == "libmembind.so.1" { print $3 }')
[[ -z "$lib" ]] || cp "$lib" "$tmp/usr/$libdir/libmembind.so.1"
check "installed tree: the library" \
	"$(LD_LIBRARY_PATH=$tmp/usr/$libdir "$tmp/usr/bin/membind" run --libnuma -- "$W" | head -n 1)" \
	"$(realpath "$tmp/usr/$libdir/membind/libnuma.so.1")"

# Not installed: a membind with no library beside it.
mkdir -p "$tmp/alone"
cp "$M" "$tmp/alone/membind"
if [[ -e "$installed/libnuma.so.1" ]]; then
	echo "skip not installed: $installed/libnuma.so.1 is installed"
else
	LD_LIBRARY_PATH=$tmp/usr/$libdir "$tmp/alone/membind" run --libnuma -- "$W" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	check "not installed: exit status" "$rc" 1
	check "not installed: stdout" "$(cat "$tmp/out")" ""
	check "not installed: stderr" "$(cat "$tmp/err")" \
		"membind: run: --libnuma: membind's libnuma.so.1 is not installed (no $installed/libnuma.so.1)"
fi
exit $fail
