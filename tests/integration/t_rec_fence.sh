#!/bin/bash
# Fencing on real parts.
# 1. The VM hangs (virsh suspend) while a sync copies a new 100 MB file
#    from it: the probes fail, vcrd stops the sync (whose ssh would wait on
#    the hung VM, and whose rsync would write into the container that now
#    serves; rsync gets SIGTERM and deletes its temporary file), fences the
#    VM (pauses it: virDomainSuspend, a no-op here), switches to the
#    container, and powers the VM off (virDomainDestroy) meanwhile.
# 2. libvirtd dies (vcrd says so in status and reconnects with backoff),
#    then the VM's network splits from vcrd (its tap goes down) while the
#    VM still runs: fencing cannot be done, and policy refuse keeps the
#    service where it is, with a loud event. Once libvirtd is back, vcrd
#    reconnects, fences (pauses) the running VM on its retry, switches, and
#    powers the VM off.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_scene
tb_web
wait_for 60 "ssh on the VM" vm true
tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'fencing refuse' \
	"$(tb_sync_block)")"
tb_start_vcrd
wait_for 30 "both sides up" first_checks_done
wait_status "vm +hv/$VM: running \(fencing refuse; libvirt connected\)" 30

# 1. A hung VM, during a sync's rsync of a new 100 MB file (seconds out of
# a TCG VM through ssh).
root=/var/lib/lxd/storage-pools/default/containers/$CT/rootfs
vm 'head -c 100M /dev/urandom > /srv/big' || fail "writing /srv/big on the VM"
vcrctl sync web >/dev/null || fail "sync refused"
sync_running() { vcrctl_json status | "$PY" -c 'import json,sys; sys.exit(not json.load(sys.stdin)["services"][0]["sync"]["running"])'; }
big_tmp() { compgen -G "$root/srv/.big.??????" >/dev/null; }
wait_for 180 "rsync writing /srv/big into the container" big_tmp
sync_running || fail "inconclusive: the sync ended before the VM hung"
$VIRSH suspend $VM >/dev/null
wait_for 20 "the cut-over" active_is standby
wait_event "step=power-off domain=$VM result=ok \(destroyed\)" 20
expect_eq "$($VIRSH domstate $VM)" "shut off" "the hung VM after fencing"
ev=$(vcrctl events)
expect_match "$ev" "sync +web +stopped: the primary is being fenced" "the sync stopped by the fencing"
expect_nomatch "$ev" "sync +web +ok: " "a sync that ended"
sync_running && fail "the sync still runs after the fencing"
no_big_tmp() { ! big_tmp; }
wait_for 5 "rsync's temporary file deleted after the stop (SIGTERM)" no_big_tmp
[ -e "$root/srv/big" ] && fail "/srv/big complete in the container, though its copy was stopped"
gone() { ! pgrep -f "/run/vcrecovery/sync/web/" >/dev/null; }
wait_for 5 "the stopped sync's processes gone" gone
expect_match "$ev" "libvirt +web +domain $VM suspended" "suspend seen"
expect_match "$ev" "step=fence domain=$VM result=ok \(paused\) took_ms=[0-9]+; powering it off" "fenced"
expect_match "$ev" 'cutover +web +from=primary to=standby .*fenced=yes' "cut-over"

# Back home.
$VIRSH start $VM >/dev/null
tb_wait_http 198.18.8.10 120 || fail "VM did not come back"
wait_for 10 "the primary up" status_has 'primary +198.18.8.10:80 +up'
vcrctl failback --no-sync web >/dev/null || fail "failback refused"	# no sync ever ended

# 2. libvirt unreachable, then a network split.
tap=$(tb_tap $VM)
[ -n "$tap" ] || fail "no tap device for $VM"
pkill -KILL -x libvirtd		# it crashed; the VM goes on running
wait_status "vm +hv/$VM: .*libvirt disconnected since" 10
ip link set "$tap" down
wait_event "step=fence domain=$VM result=failed error=\"libvirt qemu:///system unreachable" 10
wait_event 'alert +web +retries=0 reason="fencing failed, policy refuse' 5
expect_eq "$(svc_field active)" primary "no cut-over while the VM may still run"
expect_eq "$(svc_field state)" recovery-failed "state"
pgrep -f "guest=$VM" >/dev/null || fail "the VM should still be running"
expect_match "$(metrics)" 'vcr_libvirt_connected\{service="web"\} 0' "metrics"

tb_libvirtd || fail "libvirtd did not start again"
wait_status "libvirt connected" 40
wait_for 30 "the cut-over after libvirt came back" active_is standby
expect_match "$(vcrctl events)" "step=fence domain=$VM result=ok \(paused\)" \
	"the running VM paused by the fencing"
# The second power-off: the first one's event, from part 1, is in the list too.
powered_off_twice() {
	[ "$(vcrctl events | grep -cE "step=power-off domain=$VM result=ok \(destroyed\)")" -ge 2 ]
}
wait_for 20 "the power-off after the reconnect" powered_off_twice
expect_eq "$($VIRSH domstate $VM)" "shut off" "VM fenced after the reconnect"
expect_eq "$(client_get /healthz)" ok "answer from the standby"
vcrctl events >&2
echo "PASS: hung VM fenced then switched; fencing refused while libvirt was down, done after it came back"
