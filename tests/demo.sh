#!/bin/bash
# The demonstration, on real parts: two services whose primaries are VMs
# (libvirt, qemu) and whose standbys are LXD containers made from the same
# Debian 12 image, one warm (running) and one cold (stopped), all on a
# bridge of this machine:
#
#   client 198.18.0.2 --> 198.18.0.1:80 web  (vcrd: nftables DNAT) --> VM web-vm   198.18.8.10
#                                                                  `-> container web-sb 198.18.8.20 (warm)
#                     --> 198.18.0.1:81 shop                       --> VM shop-vm  198.18.8.11
#                                                                  `-> container shop-sb 198.18.8.21 (cold)
#
# A client opens a new connection every 5 ms and records which machine
# answered. Each VM is destroyed in turn (virsh destroy); the demo prints
# when the container answered and what failed.
#
#   sudo tests/demo.sh     (first run: installs packages, builds the image, ~4 min)
set -e
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: sudo tests/demo.sh" >&2; exit 1; }
. tests/deps.sh
install_deps
. tests/lib.sh
. tests/testbed/lib.sh
bench_build
set +e
# Two VMs without KVM share two cores with the containers: an answer can
# take 100 ms or more now and then, which is not a failure. A destroyed VM
# is seen at once through libvirt's event anyway.
INTERVAL=200ms TIMEOUT=200ms FALL=3
echo "== testbed: LXD, libvirtd, the Debian 12 image (cached after the first run)"
tb_scene
W=vcr$ID-web S=vcr$ID-shop
tb_vm $W-vm 198.18.8.10
tb_vm $S-vm 198.18.8.11
tb_container $W-sb 198.18.8.20 warm
tb_container $S-sb 198.18.8.21 cold
echo "== booting the two VMs (qemu without KVM: about 20 s)"
tb_wait_http 198.18.8.10 180 || fail "VM $W-vm did not answer"
tb_wait_http 198.18.8.11 180 || fail "VM $S-vm did not answer"
tb_wait_http 198.18.8.20 60 || fail "container $W-sb did not answer"
tb_wait_steady 198.18.8.10 180 || fail "VM $W-vm does not answer steadily"
tb_wait_steady 198.18.8.11 180 || fail "VM $S-vm does not answer steadily"
tb_conf "$(tb_service web 80 $W-vm 198.18.8.10 $W-sb 198.18.8.20 warm)" \
	"$(tb_service shop 81 $S-vm 198.18.8.11 $S-sb 198.18.8.21 cold)"
cat <<EOT

== vcrd.conf
$(sed -n '/^lxd/,$p' "$CONF")

EOT
tb_start_vcrd
wait_for 30 "both primaries up" status_has 'primary +198.18.8.11:80 +up'
wait_status "container +local/$S-sb cold: Stopped" 10
echo "== before: vcrctl status"; vcrctl status
echo; echo "== before: nft list table inet vcrecovery"; nft_table | sed -n '/map services/,/^	}/p'

# fault PORT VM CONTAINER: client on the frontend's PORT, VM destroyed after 1 s
fault() {
	local out=$WORK/client.$1 cpid gap failed total
	[ "$(svc_field active "$5")" = primary ] ||
		fail "$5 is not on its primary before the fault: $(vcrctl events | grep " $5 " | tail -3)"
	ip netns exec $NS_C "$PY" tests/client.py --served-by --url "http://$FRONTEND:$1/" \
	    --seconds 8 --interval-ms 5 --timeout 5 > "$out" &
	cpid=$!
	sleep 1
	f=$(date +%s.%N)
	echo; echo "== $(date +%T.%3N) FAULT: virsh destroy $2 (client on :$1, answered by $(client_get_port $1))"
	$VIRSH destroy "$2" >/dev/null
	wait $cpid
	read -r gap failed total _ < <("$PY" tests/bench/gap.py "$out" "$f" "$3" "$2")
	echo "   first answer from container $3: $gap ms after the fault; $failed of $total requests failed"
	RESULT+=("$(printf '%-5s %-5s first answer from the container %6.0f ms after virsh destroy; %s of %s requests failed' \
	    "$1" "$4" "$gap" "$failed" "$total")")
}
client_get_port() { ip netns exec $NS_C curl -s -m 2 -o /dev/null -w '%header{x-served-by}' "http://$FRONTEND:$1/"; }
RESULT=()
fault 80 $W-vm $W-sb warm web
fault 81 $S-vm $S-sb cold shop

echo; echo "== after: vcrctl events (recovery steps and cut-overs)"
vcrctl events | grep -E 'recovery|cutover|libvirt .*stopped'
echo; echo "== after: vcrctl status"; vcrctl status
echo; echo "== after: nft list table inet vcrecovery"; nft_table | sed -n '/map services/,/^	}/p'
echo
echo "== RESULT (client: one new connection every 5 ms; checks every $INTERVAL, fall $FALL;"
echo "   fencing on: the switch waits until libvirt has the VM paused or off)"
printf '   %s\n' "${RESULT[@]}"
