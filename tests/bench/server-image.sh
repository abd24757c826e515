#!/bin/bash
# tests/bench/server-image.sh: a Debian 12 server tree for the sync
# benchmark, as a VM's disk would hold it: priority "important" packages,
# a generic kernel and its headers (with the compiler they pull in), free
# firmware, GRUB for BIOS and EFI, openssh-server, nginx, rsync.
# Built once with mmdebstrap from the machine's own apt sources and cached
# (keyed by the package list); prints the tree's directory.
# (Only Debian's main component is assumed: non-free firmware and
# microcode are not in it.)
set -euo pipefail
PKGS="linux-image-amd64 linux-headers-amd64 firmware-linux-free grub-pc-bin
	grub-efi-amd64-bin grub2-common initramfs-tools openssh-server nginx-light rsync"
CACHE=${VCR_BENCH_CACHE:-/var/cache/vcrecovery-bench}
key=$( (echo $PKGS; cat "$0") | sha256sum | cut -c1-16)
dir=$CACHE/server-$key
if [ -f "$dir/done" ]; then echo "$dir/rootfs"; exit 0; fi
sources=
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
	[ -s "$f" ] && grep -qv '^\s*\(#\|$\)' "$f" && { sources=$f; break; }
done
[ -n "$sources" ] || { echo "server-image.sh: no apt sources on this machine" >&2; exit 1; }
rm -rf "$CACHE"/server-*
mkdir -p "$dir"
echo "== building the server image in $dir" >&2
mmdebstrap --variant=important --include="$(echo $PKGS | tr ' ' ,)" \
	bookworm "$dir/rootfs" "$sources" >&2
touch "$dir/done"
echo "$dir/rootfs"
