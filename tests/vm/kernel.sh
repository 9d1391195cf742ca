#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kernel.sh [6.12|6.1] - fetch Debian's unsigned amd64 kernel for the given
# series, unpack it into a cache directory and print the path of its vmlinuz.
# The cache is reused on later runs (delete it to force a refresh).
#
#   MEMBIND_VM_CACHE   cache directory (default /var/cache/membind-vm)
#   MEMBIND_VM_REFRESH=1  look for a newer package even if one is cached
set -euo pipefail

series="${1:-6.12}"
cache="${MEMBIND_VM_CACHE:-/var/cache/membind-vm}"

die() { echo "kernel.sh: $*" >&2; exit 1; }

case "$series" in
6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' ;;
6.1)  pattern='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
*)    die "unknown kernel series '$series' (want 6.12 or 6.1)" ;;
esac

kdir="$cache/kernel-$series"
mkdir -p "$kdir" || die "cannot create $kdir (set MEMBIND_VM_CACHE to a writable directory)"

# One fetch at a time per series (run-vm may be started in parallel).
if command -v flock >/dev/null; then
	exec 9>"$kdir/.lock"
	flock -w 600 9 || die "timed out waiting for the lock on $kdir"
fi

# Reuse the cache unless a refresh was asked for.
if [[ "${MEMBIND_VM_REFRESH:-0}" != 1 && -s "$kdir/current" ]]; then
	vmlinuz="$(cat "$kdir/current")"
	if [[ -f "$vmlinuz" ]]; then
		echo "$vmlinuz"
		exit 0
	fi
fi

command -v apt-cache >/dev/null || die "apt-cache not found (this script needs a Debian host)"
command -v dpkg >/dev/null || die "dpkg not found"

find_pkg() {
	apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" | sort -V | tail -n 1
}

pkg="$(find_pkg || true)"
if [[ -z "$pkg" ]]; then
	echo "kernel.sh: no package matching $pattern in the apt cache; running apt-get update" >&2
	apt-get update -qq >&2 || true
	pkg="$(find_pkg || true)"
fi
if [[ -z "$pkg" ]]; then
	echo "kernel.sh: apt-cache offers these kernel images:" >&2
	apt-cache search --names-only '^linux-image-.*-unsigned$' >&2 || true
	die "no Debian kernel package for series $series"
fi

pdir="$kdir/$pkg"
if [[ ! -d "$pdir/root/boot" ]]; then
	echo "kernel.sh: fetching $pkg" >&2
	tmp="$(mktemp -d "$kdir/dl.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download drops privileges to _apt; make the dir writable.
	chmod 0777 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg" >&2) ||
		die "apt-get download $pkg failed"
	deb="$(ls "$tmp"/*.deb | head -n 1)"
	rm -rf "$pdir"
	mkdir -p "$tmp/root"
	dpkg -x "$deb" "$tmp/root"
	mkdir -p "$pdir"
	mv "$tmp/root" "$pdir/root"
	# Keep the package's version next to it for the record.
	dpkg-deb -f "$deb" Version >"$pdir/version"
fi

vmlinuz="$(ls "$pdir"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)"
[[ -n "$vmlinuz" && -f "$vmlinuz" ]] || die "no vmlinuz in $pkg"
echo "$vmlinuz" >"$kdir/current"
echo "$vmlinuz"
