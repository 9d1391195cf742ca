#!/bin/sh
# SPDX-License-Identifier: MIT
# Negative control for the test bed: bindcheck --wrong binds to one node and
# checks another, so it must report a failure (exit 1). Passes if it does.
b=/membind/bindcheck
[ -x "$b" ] || { echo "SKIP: $b not in the guest (run it together with bindcheck)"; exit 77; }
"$b" --wrong
rc=$?
case $rc in
1) echo "bindcheck --wrong failed as it must"; exit 0 ;;
77) exit 77 ;;
*) echo "bindcheck --wrong exited $rc, expected 1"; exit 1 ;;
esac
