# tests/deps.sh: the Debian 12 packages the build, the tests, the
# demonstration and the benchmarks need. install_deps [extra packages]
BUILD_DEPS="build-essential autoconf automake libtool pkg-config libevent-dev libnftnl-dev
	libmnl-dev libcurl4-openssl-dev libjson-c-dev libcmocka-dev libvirt-dev"
TEST_DEPS="nftables conntrack iproute2 curl python3 procps kmod clang libclang-rt-14-dev nginx-light openssl"
# The recovery testbed: real VMs (libvirt + qemu, no KVM needed), real LXD,
# and mmdebstrap to build their Debian image.
TESTBED_DEPS="lxd libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
	qemu-system-x86 qemu-utils mmdebstrap e2fsprogs rsync openssh-client openssh-server tini"

install_deps() {
	local missing
	missing=$(for p in $BUILD_DEPS $TEST_DEPS $TESTBED_DEPS "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
	if [ -n "$missing" ]; then
		echo "== installing:" $missing
		# Packages such as nginx and haproxy must not start services on
		# the host: the tests start their own, in namespaces.
		local policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
			chmod +x /usr/sbin/policy-rc.d
			policy=1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		    $missing >/dev/null
		[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
	fi
	modprobe nf_tables 2>/dev/null || true
	modprobe nf_conntrack 2>/dev/null || true
}

# install_incus: Incus, to run the LXD client against it (t_rec_incus).
# Debian 12 has it in bookworm-backports only: that suite is added from the
# machine's own Debian source (its deb822 entry for bookworm, same mirror),
# and only incus-base and incus-client come from it (they take bookworm's
# liblxc1, which LXD uses too). Returns 1, saying why, when it cannot.
install_incus() {
	[ -x /usr/libexec/incus/incusd ] && return 0
	local src=/etc/apt/sources.list.d/debian.sources
	if ! apt-cache policy incus-base 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		[ -f "$src" ] || { echo "install_incus: no $src to take the Debian mirror from" >&2; return 1; }
		awk 'BEGIN { RS = ""; ORS = "\n\n" } /Suites: bookworm([ \n]|$)/' "$src" |
			sed 's/^Suites: .*/Suites: bookworm-backports/' \
			> /etc/apt/sources.list.d/vcr-bookworm-backports.sources
		apt-get update -qq || return 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    -t bookworm-backports incus-base incus-client >/dev/null || return 1
}
