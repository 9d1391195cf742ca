#!/bin/bash
# SPDX-License-Identifier: MIT
#
# build.sh [OUTDIR] - build the test bed's own guest tests (static binaries
# and scripts) into OUTDIR (default tests/vm/guest/build) and print OUTDIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/build}"
mkdir -p "$out"
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null; then
	echo "build.sh: installing gcc and libc6-dev" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev >&2
fi
for src in "$here"/*.c; do
	bin="$out/$(basename "$src" .c)"
	if [[ ! -x "$bin" || "$src" -nt "$bin" ]]; then
		"$cc" -static -O2 -Wall -Wextra -Werror -o "$bin" "$src"
	fi
done
for s in "$here"/*.sh; do
	[[ "$(basename "$s")" == build.sh ]] && continue
	install -m 755 "$s" "$out/$(basename "$s")"
done
echo "$out"
