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
