#!/bin/bash
# tests/testbed/image.sh: builds the testbed's Debian 12 image once and
# caches it, keyed by its package list and this script.
#
#   tests/testbed/image.sh            prints the cache directory
#
# The directory holds:
#   rootfs/        the image as a tree (LXD containers are made from it)
#   disk.raw       the same tree as an ext4 disk (VMs boot overlays of it)
#   vmlinuz, initrd.img   for direct kernel boot (root=/dev/vda)
#   id_ed25519     the key the image's root accepts (the sync uses it)
#
# Packages come through the machine's own apt sources (the sources file
# is handed to mmdebstrap as its mirror): nothing here names a registry.
set -euo pipefail

PKGS="linux-image-amd64 systemd systemd-sysv udev dbus nginx-light openssh-server rsync
	iproute2 netbase procps"
here=$(cd "$(dirname "$0")" && pwd)
CACHE_ROOT=${VCR_IMAGE_CACHE:-/var/cache/vcrecovery-testbed}
key=$( (echo $PKGS; cat "$here/image.sh" "$here/vcr-net" "$here/vcr-net.service") | sha256sum | cut -c1-16)
dir=$CACHE_ROOT/$key

if [ -f "$dir/done" ]; then echo "$dir"; exit 0; fi

sources=
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
	[ -s "$f" ] && grep -qv '^\s*\(#\|$\)' "$f" && { sources=$f; break; }
done
[ -n "$sources" ] || { echo "image.sh: no apt sources on this machine" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
ssh-keygen -q -t ed25519 -N '' -C vcr-testbed -f "$dir/id_ed25519"
echo "== building the testbed image in $dir (packages: $(echo $PKGS))" >&2
t0=$(date +%s)
mmdebstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
	--customize-hook='cp '"$here"'/vcr-net "$1/usr/local/sbin/vcr-net"' \
	--customize-hook='cp '"$here"'/vcr-net.service "$1/etc/systemd/system/"' \
	--customize-hook='chroot "$1" systemctl enable vcr-net.service' \
	--customize-hook='mkdir -p -m 700 "$1/root/.ssh"' \
	--customize-hook='cp '"$dir"'/id_ed25519.pub "$1/root/.ssh/authorized_keys"' \
	--customize-hook='echo "/dev/vda / ext4 rw,noatime 0 1" > "$1/etc/fstab"' \
	--customize-hook='echo vcr-testbed > "$1/etc/hostname"' \
	--customize-hook='printf "virtio_pci\nvirtio_blk\nvirtio_net\next4\n" >> "$1/etc/initramfs-tools/modules"' \
	--customize-hook='chroot "$1" update-initramfs -u >/dev/null' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-timesyncd.service getty@tty1.service >/dev/null 2>&1 || true' \
	--customize-hook='sed -i "s/^#\?UseDNS.*/UseDNS no/" "$1/etc/ssh/sshd_config"' \
	--customize-hook='printf "server_tokens off;\nadd_header X-Served-By \$hostname always;\n" > "$1/etc/nginx/conf.d/vcr.conf"' \
	--customize-hook='echo "vcr-testbed page" > "$1/var/www/html/index.html"' \
	--customize-hook='echo ok > "$1/var/www/html/healthz"' \
	bookworm "$dir/rootfs" "$sources" >&2
cp "$dir"/rootfs/boot/vmlinuz-* "$dir/vmlinuz"
cp "$dir"/rootfs/boot/initrd.img-* "$dir/initrd.img"
# The disk: the tree plus room to write.
size=$(( $(du -sm "$dir/rootfs" | cut -f1) + 1024 ))
truncate -s "${size}M" "$dir/disk.raw"
mkfs.ext4 -q -F -L vcr-root -d "$dir/rootfs" "$dir/disk.raw"
echo "$PKGS" > "$dir/packages"
touch "$dir/done"
# Older images (another package list or script) are not used any more.
for old in "$CACHE_ROOT"/*; do [ "$old" = "$dir" ] || rm -rf "$old"; done
echo "== image built in $(( $(date +%s) - t0 )) s" >&2
echo "$dir"
