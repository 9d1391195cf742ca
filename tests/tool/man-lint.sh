#!/bin/sh
# SPDX-License-Identifier: MIT
# Render every manual page with groff -ww and man -l; any warning fails.
# Section 3 pages must have the standard sections; link pages (.so) must
# point at a page that exists.  usage: man-lint.sh MANDIR
set -u
dir=${1:?usage: man-lint.sh MANDIR}
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
fail=0 n=0
for p in "$dir"/*.[0-9]; do
	n=$((n + 1))
	# a link page: ".so man3/PAGE.3" must name a page that is here
	so=$(sed -n 's/^\.so //p' "$p")
	if [ -n "$so" ]; then
		if [ -f "$dir/$(basename "$so")" ]; then
			echo "ok   $p -> $so"
		else
			echo "FAIL $p: links to $so, which is not in $dir"
			fail=1
		fi
		continue
	fi
	w=$(groff -man -ww -z "$p" 2>&1)
	if command -v man >/dev/null; then
		w="$w$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$p" 2>&1 >/dev/null)"
	fi
	if [ -n "$w" ]; then
		echo "FAIL $p:"
		echo "$w" | sed 's/^/    /'
		fail=1
		continue
	fi
	case $p in
	*.3)
		for s in NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS NOTES "SEE ALSO"; do
			grep -q "^\.SH \"\?$s\"\?\$" "$p" || { echo "FAIL $p: no $s section"; fail=1; }
		done ;;
	esac
	grep -q "membind [0-9][0-9]*\.[0-9]" "$p" || { echo "FAIL $p: does not say which version introduced it"; fail=1; }
	echo "ok   $p"
done
[ $n -gt 0 ] || { echo "FAIL: no pages in $dir"; exit 1; }
exit $fail
