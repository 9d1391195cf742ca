#!/bin/bash
# SPDX-License-Identifier: MIT
#
# kernel.sh [6.12|6.1] [amd64|arm64] - fetch Debian's unsigned kernel for the
# given series and architecture (default amd64), unpack it into a cache
# directory and print the path of its vmlinuz. The cache is reused on later
# runs (delete it to force a refresh). arm64 needs
# `dpkg --add-architecture arm64`; this script does that if it is missing.
#
# kernel.sh --busybox arm64 - the same for busybox-static:arm64 (for the
# aarch64 guests' initramfs); prints the path of the static busybox binary.
#
#   MEMBIND_VM_CACHE   cache directory (default /var/cache/membind-vm)
#   MEMBIND_VM_REFRESH=1  look for a newer package even if one is cached
set -euo pipefail

series="${1:-6.12}"
arch="${2:-amd64}"
cache="${MEMBIND_VM_CACHE:-/var/cache/membind-vm}"

die() { echo "kernel.sh: $*" >&2; exit 1; }

case "$arch" in
amd64) kdir="$cache/kernel-$series" ;;
arm64) kdir="$cache/kernel-$series-arm64" ;;
*)     die "unknown architecture '$arch' (want amd64 or arm64)" ;;
esac
case "$series" in
--busybox)
	kdir="$cache/busybox-$arch"
	pattern='^busybox-static$' ;;
6.12) pattern="^linux-image-6\\.12\\.[0-9]+\\+deb[0-9]+-$arch-unsigned\$" ;;
6.1)  pattern="^linux-image-6\\.1\\.0-[0-9]+-$arch-unsigned\$" ;;
*)    die "unknown kernel series '$series' (want 6.12 or 6.1)" ;;
esac

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
	if [[ "$series" == --busybox ]]; then
		apt-cache show "busybox-static:$arch" >/dev/null 2>&1 && echo busybox-static
		return 0
	fi
	apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" | sort -V | tail -n 1
}

if [[ "$arch" != "$(dpkg --print-architecture)" ]] &&
	! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	echo "kernel.sh: dpkg --add-architecture $arch" >&2
	dpkg --add-architecture "$arch" || die "dpkg --add-architecture $arch failed"
fi

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
	(cd "$tmp" && apt-get download -q "$pkg:$arch" >&2) ||
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

if [[ "$series" == --busybox ]]; then
	vmlinuz="$pdir/root/bin/busybox"
	[[ -x "$vmlinuz" ]] || die "no bin/busybox in $pkg:$arch"
	echo "$vmlinuz" >"$kdir/current"
	echo "$vmlinuz"
	exit 0
fi
vmlinuz="$(ls "$pdir"/root/boot/vmlinuz-* 2>/dev/null | head -n 1)"
[[ -n "$vmlinuz" && -f "$vmlinuz" ]] || die "no vmlinuz in $pkg"
echo "$vmlinuz" >"$kdir/current"
echo "$vmlinuz"
