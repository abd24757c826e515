# tests/testbed/lib.sh: real VMs (libvirt, qemu without KVM) and real LXD
# containers for the recovery tests, the demonstration and the benchmarks.
# Source after tests/lib.sh. Everything made here carries the run's ID and
# is removed by tb_cleanup (called from lib.sh's cleanup through CLEANUP_HOOKS).
#
#   bridge vcrtb$ID 198.18.8.1/24 (host) --- VMs and containers
#   vcrd's namespace reaches it through a veth: 198.18.9.1 (vcr) - 198.18.9.2 (host)

TB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_BR=vcrtb$ID
TB_NET=198.18.8
VIRSH="virsh -q -c qemu:///system"
TB_DOMAINS=()
TB_CONTAINERS=()

# Starts what the testbed needs and is not running (no systemd here).
tb_services() {
	if ! lxc info >/dev/null 2>&1; then
		(setsid lxd --group root >/var/log/vcr-lxd.log 2>&1 &)
		timeout 120 lxd waitready || { echo "lxd did not start" >&2; return 1; }
	fi
	lxc storage show default >/dev/null 2>&1 || tb_preseed | lxd init --preseed
	tb_libvirtd
}

# LXD's setup here: a dir pool, a default profile with the root disk, no
# image updates; $1, when given, is core.https_address.
tb_preseed() {
	printf 'config:\n'
	[ -z "${1:-}" ] || printf '  core.https_address: %s\n' "$1"
	printf '  images.auto_update_interval: "0"\n'
	printf 'storage_pools:\n- name: default\n  driver: dir\n'
	printf 'profiles:\n- name: default\n  devices:\n    root:\n'
	printf '      path: /\n      pool: default\n      type: disk\n'
}

tb_libvirtd() {
	pgrep -x virtlogd >/dev/null || virtlogd -d
	if ! $VIRSH version >/dev/null 2>&1; then
		# One that is still shutting down holds its pid file: let it go.
		for _ in $(seq 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
		pkill -KILL -x libvirtd 2>/dev/null
		# Under a subreaper (tini -s), as systemd would run it: qemu
		# leaves libvirtd's process tree, and this machine's PID 1 reaps
		# such orphans only every second or so, while libvirt's destroy
		# waits until the qemu it killed is gone (virsh destroy took 1.5
		# to 1.9 s here, the qemu itself exits in 7 ms).
		if command -v tini >/dev/null; then
			(setsid tini -s -- libvirtd >>/var/log/vcr-libvirtd.log 2>&1 &)
		else
			libvirtd -d >>/var/log/vcr-libvirtd.log 2>&1
		fi
		for _ in $(seq 100); do $VIRSH version >/dev/null 2>&1 && break; sleep 0.1; done
	fi
	$VIRSH version >/dev/null 2>&1 || { echo "libvirtd did not start" >&2; return 1; }
}

tb_image() {
	TB_IMG=$(bash "$TB_DIR/image.sh") || return 1
}

# tb_reap: every run uses $TB_NET.0/24, so a bridge left with it by a run
# that is gone (killed before its cleanup) takes the host's route to that
# subnet: replies to vcrd's namespace then leave through the dead bridge,
# and vcrd cannot reach a service on the host (an LXD listening on
# $TB_NET.1) while everything on the bridge itself still works. The
# leftovers of a run whose process is gone (its bridge, namespaces, VMs,
# containers) are removed, and said so; a bridge of a run still going is
# an error, named.
tb_reap() {
	local dev id d
	for dev in $(ip -o -4 addr show to "$TB_NET.0/24" | awk '{print $2}'); do
		id=${dev#vcrtb}
		if [ "$dev" = "$id" ] || [ -z "$id" ] || [ -n "${id//[0-9]/}" ] || [ -d /proc/$id ]; then
			echo "the testbed's subnet $TB_NET.0/24 is already on $dev (another run going?)" >&2
			return 1
		fi
		echo "removing what run $id left (its process is gone): bridge $dev, namespaces, VMs and containers vcr$id-*" >&2
		for d in $($VIRSH list --all --name 2>/dev/null | grep "^vcr$id-"); do
			$VIRSH destroy "$d" >/dev/null 2>&1
			$VIRSH undefine "$d" >/dev/null 2>&1
		done
		for d in $(lxc list -c n --format csv 2>/dev/null | grep "^vcr$id-"); do
			lxc delete -f "$d" >/dev/null 2>&1
		done
		for d in $(incus list -c n --format csv 2>/dev/null | grep "^vcr$id-"); do
			incus delete -f "$d" >/dev/null 2>&1
		done
		for d in $(ip netns list | awk '{print $1}' | grep "^vcr$id-"); do
			ip netns del "$d"
		done
		(TB_LXD2_DIR=/var/lib/vcr-lxd2-$id; [ ! -d "$TB_LXD2_DIR" ] || tb_lxd2_cleanup)
		ip link del "$dev" 2>/dev/null
		ip link del "tb$id" 2>/dev/null
	done
	return 0
}

# tb_diag: for fail(), what the host has on the testbed's subnet.
tb_diag() {
	echo "--- host: interfaces and routes on $TB_NET.0/24" >&2
	ip -br addr show to "$TB_NET.0/24" >&2
	ip route show to match "$TB_NET.1" >&2
}

# The bridge in the host namespace, and vcrd's namespace joined to it.
tb_net() {
	chmod 0755 "$WORK"	# qemu runs as libvirt-qemu and opens files in it
	tb_reap || fail "testbed network"
	ip link add "$TB_BR" type bridge
	ip addr add "$TB_NET.1/24" dev "$TB_BR"
	ip link set "$TB_BR" up
	ip link add "tb$ID" type veth peer name "tbv$ID" netns "$NS_V"
	ip link set "tb$ID" master "$TB_BR" up
	ip -n "$NS_V" addr add "$TB_NET.254/24" dev "tbv$ID"
	ip -n "$NS_V" link set "tbv$ID" up
}

# tb_vm NAME ADDR [MEMORY_MB]: defines and starts a VM booting the image
# from a copy-on-write overlay, with ADDR on the bridge (TB_VM_DEFINE_ONLY=1:
# defined only, shut off).
tb_vm() {
	local name=$1 addr=$2 mem=${3:-384} disk=$WORK/$1.qcow2
	qemu-img create -q -f qcow2 -F raw -b "$TB_IMG/disk.raw" "$disk"
	cat > "$WORK/$name.xml" <<-XML
	<domain type='qemu'>
	  <name>$name</name>
	  <memory unit='MiB'>$mem</memory>
	  <vcpu>1</vcpu>
	  <os>
	    <type arch='x86_64' machine='pc'>hvm</type>
	    <kernel>$TB_IMG/vmlinuz</kernel>
	    <initrd>$TB_IMG/initrd.img</initrd>
	    <cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet systemd.hostname=$name vcr.addr=$addr/24 vcr.gw=$TB_NET.1</cmdline>
	  </os>
	  <features><tcg><tb-cache unit='MiB'>${TB_TCG_CACHE_MB:-128}</tb-cache></tcg></features>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <disk type='file' device='disk'>
	      <driver name='qemu' type='qcow2'/>
	      <source file='$disk'/>
	      <target dev='vda' bus='virtio'/>
	    </disk>
	    <interface type='bridge'>
	      <source bridge='$TB_BR'/>
	      <model type='virtio'/>
	    </interface>
	    <serial type='file'><source path='$WORK/$name.console'/></serial>
	  </devices>
	</domain>
	XML
	$VIRSH define "$WORK/$name.xml" >/dev/null
	TB_DOMAINS+=("$name")
	[ -n "${TB_VM_DEFINE_ONLY:-}" ] || $VIRSH start "$name" >/dev/null
}

# tb_container NAME ADDR [warm|cold]: an LXD container from the same image
# (source none, the image's tree copied in), ADDR on the bridge. With
# TB_CT_CLI=incus, an Incus container (the same API and the same commands).
tb_container() {
	local name=$1 addr=$2 kind=${3:-warm} cli=${TB_CT_CLI:-lxc}
	$cli init --empty "$name" -c security.privileged=false >/dev/null 2>&1
	TB_CONTAINERS+=("$cli:$name")
	$cli config device add "$name" eth0 nic nictype=bridged parent="$TB_BR" name=eth0 >/dev/null
	local root=/var/lib/$([ "$cli" = incus ] && echo incus || echo lxd)/storage-pools/default/containers/$name/rootfs
	mkdir -p "$root"
	rsync -aHAX --numeric-ids --exclude=/boot/ --exclude='/lib/modules/' \
		"$TB_IMG/rootfs/" "$root/"
	echo "$addr/24 $TB_NET.1" > "$root/etc/vcr-net"
	echo "$name" > "$root/etc/hostname"
	[ "$kind" = cold ] || $cli start "$name" >/dev/null 2>&1
}

# tb_incus: Incus's daemon started by hand, as LXD's (tests/deps.sh
# install_incus installs it), with the same preseed.
tb_incus() {
	[ -x /usr/libexec/incus/incusd ] || return 1
	if ! incus info >/dev/null 2>&1; then
		(setsid /usr/libexec/incus/incusd --group root >/var/log/vcr-incus.log 2>&1 &)
		timeout 120 incus admin waitready || { echo "incusd did not start" >&2; return 1; }
	fi
	incus storage show default >/dev/null 2>&1 || tb_preseed | incus admin init --preseed
}

# tb_web [warm|cold]: the usual pair, both answering (a cold container is
# left stopped): VM $VM at 198.18.8.10 and its container $CT at
# 198.18.8.20. vm and ct run a command in them.
tb_web() {
	VM=vcr$ID-web CT=vcr$ID-web-sb
	tb_vm $VM 198.18.8.10
	tb_container $CT 198.18.8.20 "${1:-warm}"
	tb_wait_http 198.18.8.10 "${TB_BOOT_S:-120}" || fail "VM did not answer"
	[ "${1:-warm}" = cold ] || tb_wait_http 198.18.8.20 60 || fail "container did not answer"
}
vm() { tb_ssh 198.18.8.10 "$@"; }
ct() { lxc exec "$CT" -- "$@"; }

# tb_sync_block [ADDR]: a sync block (from root@ADDR, 198.18.8.10 by
# default; on demand only) for tb_service's extra lines.
tb_sync_block() {
	printf 'sync {\n\t\tsource root@%s\n\t\tkey %s\n\t\tinterval off\n\t\ttimeout 5m\n\t}' \
		"${1:-198.18.8.10}" "$TB_IMG/id_ed25519"
}

# tb_synced_web [LINE...]: the usual pair (tb_web), service web in front of
# it with a sync block and LINEs (failover automatic), vcrd started, both
# sides up and a first sync made into the warm container.
tb_synced_web() {
	tb_scene
	tb_web
	wait_for 60 "ssh on the VM" vm true
	tb_wait_steady 198.18.8.10 120 || echo "note: the VM is still slow after its boot" >&2
	tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover automatic' \
		"$@" "$(tb_sync_block)")"
	tb_start_vcrd
	wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'
	vcrctl sync web >/dev/null || fail "first sync refused"
	wait_event 'sync +web +ok: ' 120
}

# tb_vm_back: the destroyed VM started again, until vcrd sees it up and
# ssh answers (nginx may answer before sshd runs).
tb_vm_back() {
	$VIRSH start $VM >/dev/null
	tb_wait_http 198.18.8.10 120 || fail "VM did not come back"
	wait_for 30 "the primary up" status_has 'primary +198.18.8.10:80 +up'
	wait_for 60 "ssh on the VM again" vm true
}

# served_by PATH: the X-Served-By of the frontend's answer (the host name
# of the VM or container that answered)
served_by() { ip netns exec $NS_C curl -s -m 3 -D - -o /dev/null "http://$FRONTEND/$1" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "x-served-by" {print $2}'; }

# the container's LXD status: RUNNING, FROZEN, STOPPED
ct_status() { lxc list "^$CT\$" -c s --format csv; }

# tb_failback_frozen [MB]: vcrctl failback web, with a writer in the container
# rewriting MB (60) megabytes under /var/tmp (where changes on both sides are not
# conflicts) that keeps the final pass busy (rsync into the TCG VM) for
# seconds; returns once LXD says the container is frozen for that pass.
# LXD's freeze once did not end within vcrd's 30 s in CI (liblxc waits for
# the cgroup v1 freezer, which a task in uninterruptible I/O holds back):
# vcrd then calls the failback off and unfreezes the container, and the
# failback is asked once more (TB_FB_RETRIED=1; tb_failback_clean allows
# that one alert).
tb_failback_frozen() {
	local try out
	lxc exec $CT -- sh -c 'while :; do dd if=/dev/urandom of=/var/tmp/big bs=1M count='"${1:-60}"' 2>/dev/null; done' \
		>/dev/null 2>&1 &
	TB_WRITER=$!
	TB_FB_RETRIED=0
	for try in 1 2; do
		out=$(vcrctl failback web) || fail "failback refused: $out"
		frozen_or_off() { [ "$(ct_status)" = FROZEN ] ||
			[ "$(vcrctl events | grep -cE 'alert +web +failback not carried out: cannot freeze')" -ge "$try" ]; }
		wait_for 180 "the container frozen by the failback" frozen_or_off
		[ "$(ct_status)" = FROZEN ] && return 0
		[ "$try" = 1 ] || fail "LXD could not freeze the container twice in a row"
		echo "note: LXD's freeze did not end in time; vcrd called the failback off; asking again" >&2
		thawed() { vcrctl events | grep -qE 'failback +web +.*unfrozen|alert +web +failback: cannot unfreeze'; }
		wait_for 60 "the container unfrozen after the freeze that failed" thawed
		TB_FB_RETRIED=1
	done
}

# tb_failback_done: the writer stopped, the failback ended on the primary.
tb_failback_done() {
	kill $TB_WRITER 2>/dev/null; wait $TB_WRITER 2>/dev/null
	done_ev() { vcrctl events | grep -qE 'failback +web +done: |alert +web +failback'; }
	wait_for 60 "the failback's end" done_ev
	active_is primary || fail "failback: $(vcrctl events | grep -E 'alert +web +failback' | tail -1)"
	vcrctl events | grep -E ' web +' | grep -E 'failback|alert' >&2
}

# tb_failback_clean: what the failback benchmark once caught going wrong
# did not happen: the failback made the switch itself (errors on live
# traffic against the frozen container did not move the service first),
# the standby was down while it was stopped and started again (no fencing
# of a stumbling primary with no standby ready), and no alert (no
# warm-standby start racing the failback's own).
tb_failback_clean() {
	local ev
	ev=$(vcrctl events)
	expect_match "$ev" 'failback +web +switched to the primary' "the failback's own switch"
	expect_nomatch "$ev" 'failback +web +already on the primary' \
		"the service moved to the primary before the failback's switch"
	expect_nomatch "$ev" 'side=standby [^"]*health=down reason="[^"]*live traffic' \
		"live-traffic errors held against the frozen container"
	expect_match "$ev" 'side=standby [^"]*health=down reason="stopped and started again after the failback"' \
		"the standby down while it is stopped and started"
	[ "${TB_FB_RETRIED:-0}" = 0 ] || ev=$(printf '%s\n' "$ev" |
		grep -vE 'alert +web +failback not carried out: cannot freeze')
	expect_nomatch "$ev" 'alert +web' "an alert during the failback"
}

# tb_relieve ARGS...: vcrctl relieve web ARGS, tried again while it is
# refused as "not usable": right after a migration the second LXD server,
# on this same busy machine, may miss one of vcrd's looks (5 s timeout),
# and the container counts as not usable until the next one. Fails the
# test on any other refusal, or after a minute.
tb_relieve() {
	local try out
	for try in $(seq 12); do
		out=$(vcrctl relieve web "$@" 2>&1) && return 0
		printf '%s' "$out" | grep -q 'not usable' || fail "relieve $* refused: $out"
		sleep 5
	done
	fail "relieve $* refused for a minute: $out"
}

# tb_wait_http ADDR [SECONDS]: until http://ADDR/ answers (from vcrd's namespace).
tb_wait_http() {
	local i
	for i in $(seq $((${2:-120} * 5))); do
		ip netns exec "$NS_V" curl -s -m 1 -o /dev/null "http://$1/healthz" && return 0
		sleep 0.2
	done
	return 1
}

# tb_ssh ADDR COMMAND...: root on a testbed VM, with the image's key, from
# vcrd's namespace; gives up on a VM that stops answering (fenced under the
# test: once a 20-minute hang in CI) in 15 s, and on any command in 5 min.
tb_ssh() {
	local addr=$1; shift
	timeout 300 ip netns exec "$NS_V" ssh -F /dev/null -i "$TB_IMG/id_ed25519" \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o ConnectTimeout=10 -o ServerAliveInterval=5 \
		-o ServerAliveCountMax=3 "root@$addr" "$@"
}

# tb_wait_steady ADDR [SECONDS]: until ADDR answers 20 times in a row within
# 150 ms each. A VM without KVM stays busy for a while after its first
# answer (the rest of its boot); started then, tight checks would see a
# slow primary as a failed one.
tb_wait_steady() {
	local i n=0
	for i in $(seq $((${2:-120} * 10))); do
		if ip netns exec "$NS_V" curl -s -m 0.15 -o /dev/null "http://$1/healthz"; then
			n=$((n + 1))
			[ $n -ge 20 ] && return 0
		else
			n=0
		fi
		sleep 0.05
	done
	return 1
}

# tb_mkcert NAME: a self-signed client certificate, $WORK/NAME.crt and .key.
tb_mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=vcr-test-$ID-$1" -keyout "$WORK/$1.key" -out "$WORK/$1.crt" 2>/dev/null
}

# tb_https lxc|incus ADDR CERT: LXD (or Incus) listens on ADDR over HTTPS
# and trusts the client certificate CERT, until tb_cleanup puts both back.
TB_HTTPS=()
tb_https() {
	local cli=$1 addr=$2 cert=$3 fp old
	fp=$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
	old=$($cli config get core.https_address)
	TB_HTTPS+=("$cli $fp $old")
	$cli config set core.https_address "$addr" || return 1
	if [ "$cli" = incus ]; then
		incus config trust add-certificate "$cert" >/dev/null
	else
		lxc config trust add "$cert" >/dev/null
	fi
}

tb_https_cleanup() {
	local e cli fp old
	for e in "${TB_HTTPS[@]}"; do
		read -r cli fp old <<< "$e"
		$cli config trust remove "$fp" >/dev/null 2>&1
		$cli config set core.https_address "$old" >/dev/null 2>&1
	done
}

# tb_lxd2 NAME: a second LXD server on this machine (its own LXD_DIR, as
# LXD's own test suite runs several), listening on the bridge at
# $TB_LXD2_ADDR, trusting a client certificate made here. Writes the 'lxd'
# block naming it NAME for vcrd.conf to $WORK/lxd2.conf. lxc2 runs lxc
# against it.
TB_LXD2_DIR=
lxc2() { LXD_DIR=$TB_LXD2_DIR lxc "$@"; }
tb_lxd2() {
	command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
	TB_LXD2_DIR=/var/lib/vcr-lxd2-$ID
	TB_LXD2_ADDR=$TB_NET.1:$((18443 + ID % 1000))
	mkdir -p "$TB_LXD2_DIR"
	(LXD_DIR=$TB_LXD2_DIR setsid lxd --group root >"$WORK/lxd2.log" 2>&1 &)
	LXD_DIR=$TB_LXD2_DIR timeout 60 lxd waitready || { cat "$WORK/lxd2.log" >&2; return 1; }
	tb_preseed "$TB_LXD2_ADDR" | LXD_DIR=$TB_LXD2_DIR lxd init --preseed || return 1
	tb_mkcert lxd2-client
	lxc2 config trust add "$WORK/lxd2-client.crt" >/dev/null || return 1
	printf 'lxd %s https://%s {\n\tclient-cert %s\n\tclient-key %s\n\tserver-cert %s\n}\n' \
		"$1" "$TB_LXD2_ADDR" "$WORK/lxd2-client.crt" "$WORK/lxd2-client.key" \
		"$TB_LXD2_DIR/server.crt" > "$WORK/lxd2.conf"
}

tb_lxd2_cleanup() {
	[ -n "$TB_LXD2_DIR" ] || return 0
	if [ -S "$TB_LXD2_DIR/unix.socket" ]; then
		for c in $(lxc2 list -c n --format csv 2>/dev/null); do
			lxc2 delete -f "$c" >/dev/null 2>&1
		done
		LXD_DIR=$TB_LXD2_DIR timeout 30 lxd shutdown >/dev/null 2>&1
	fi
	for m in $(awk -v d="$TB_LXD2_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$TB_LXD2_DIR"
}

tb_cleanup() {
	set +e
	tb_https_cleanup
	tb_lxd2_cleanup
	tb_libvirtd >/dev/null 2>&1	# a test may have stopped it, or LXD
	lxc info >/dev/null 2>&1 || tb_services >/dev/null 2>&1
	for d in "${TB_DOMAINS[@]}"; do
		$VIRSH destroy "$d" >/dev/null 2>&1
		$VIRSH undefine "$d" >/dev/null 2>&1
	done
	for c in "${TB_CONTAINERS[@]}"; do ${c%%:*} delete -f "${c#*:}" >/dev/null 2>&1; done
	ip link del "$TB_BR" 2>/dev/null
	ip link del "tb$ID" 2>/dev/null
}

# tb_scene: lib.sh's namespaces, the testbed's services, image and bridge.
# The VMs and containers are made by the test (tb_vm, tb_container).
tb_scene() {
	need_root
	for t in lxd lxc virsh qemu-img mmdebstrap; do
		command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
	done
	setup_net
	CLEANUP_HOOKS+=(tb_cleanup)
	tb_services || fail "testbed services"
	tb_image || fail "testbed image"
	tb_net
}

# tb_conf SERVICE-BLOCKS...: vcrd.conf with the testbed's lxd and libvirt.
tb_conf() {
	cat > "$CONF" <<EOC
control-socket $SOCK
state-dir $WORK/state
metrics-listen 127.0.0.1:9107
log-level info
lxd local unix:/var/lib/lxd/unix.socket
libvirt hv qemu:///system
EOC
	printf '%s\n' "$@" >> "$CONF"
}

# tb_service NAME FRONTEND_PORT VM VM_ADDR CONTAINER CT_ADDR warm|cold [extra lines]
# (checks every 300 ms, timeout 300 ms, down after 5 failures by default: a
# VM without KVM, one vCPU for nginx, sshd and a sync's rsync, once missed
# three 150 ms checks in a row in CI and was fenced; INTERVAL, TIMEOUT,
# FALL change them)
tb_service() {
	local name=$1 port=$2 vm=$3 vma=$4 ct=$5 cta=$6 kind=$7; shift 7
	cat <<EOS
service $name {
	frontend $FRONTEND:$port
	primary $vma:80
	primary-vm hv $vm
	standby $cta:80
	standby-container local $ct $kind
	check http {
		path /healthz
		interval ${INTERVAL:-300ms}
		timeout ${TIMEOUT:-300ms}
		fall ${FALL:-5}
	}
EOS
	[ $# -eq 0 ] || printf '\t%s\n' "$@"
	echo "}"
}

# tb_ns_service NAME PORT LXD CONTAINER STANDBY_ADDR warm|cold: a service
# whose primary is lib.sh's HTTP server in a namespace (the tests of the LXD
# transports, where no VM is needed), checked every 200 ms.
tb_ns_service() {
	cat <<EOS
service $1 {
	frontend $FRONTEND:$2
	primary $PRIMARY:80
	standby $5:80
	standby-container $3 $4 $6
	check http {
		path /healthz
		interval 200ms
		timeout 150ms
		fall 3
	}
}
EOS
}

tb_start_vcrd() {
	ip netns exec $NS_V ${VCRD_WRAP:-} "$VCRD" -f "$CONF" "$@" >>"$LOG" 2>&1 &
	VCRD_PID=$!
	wait_for 5 "vcrd control socket" test -S "$SOCK"
}

# The VM's tap device on the testbed bridge.
tb_tap() { $VIRSH domiflist "$1" | awk '{print $1}' | head -1; }

# active_is SIDE [SERVICE]: for wait_for
active_is() { [ "$(svc_field active "${2:-web}")" = "$1" ]; }
