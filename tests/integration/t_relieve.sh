#!/bin/bash
# Relieving a loaded standby, on real parts: a VM primary, its container
# on one LXD server, a second LXD server (its own daemon on this machine,
# reached over HTTPS), and a spare VM defined in libvirt.
#  - relieve --to a target that is not configured: refused, naming those
#    that are;
#  - a migration whose set-file cannot be written is undone: the copy
#    deleted on the second server, the container as it was;
#  - --prepare copies the standby container to the second server ahead;
#  - the VM is destroyed: the container serves; a file is written into it;
#  - a migration that fails after the container was frozen and the
#    prepared copy refreshed is undone: the container thawed and serving,
#    the prepared copy kept, stopped;
#  - the container is loaded (a busy loop; the LXD server's memory over a
#    threshold of 1%): the load watch migrates it to
#    the second server, with ssh into the copy (set-file with its new
#    address, the prepared copy started, the container's files synced into
#    it live, then frozen for a final pass, probed, one map element): the
#    service answers with the same content from the new address, a file
#    deleted in the container is gone there too (before the live pass, and
#    one deleted after the live pass copied it, before the freeze), nginx there was reloaded
#    for the configuration changed in the container, the old instance is
#    gone;
#  - vcrctl relieve --to vm: the spare VM is started, the container's files
#    synced into it, then switched to as the primary: the writes are on the
#    VM, the container is stopped and started again as its standby;
#  - vcrd restarted: the relieved places come back from the state file.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_scene
CT2=vcr$ID-web-b VM2=vcr$ID-web-vm2
tb_lxd2 b || fail "second LXD server"
TB_VM_DEFINE_ONLY=1 tb_vm $VM2 198.18.8.40
tb_web
wait_for 60 "ssh on the VM" vm true

relieve_conf() {	# relieve_conf SET-FILE-PATH [SSH-INTO-THE-COPY [MORE-LINES]]
	tb_conf "$(cat "$WORK/lxd2.conf")" \
	"$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover automatic' \
	"$(tb_sync_block)" \
	"$(printf 'relieve {\n\t\tmigrate-to b %s 198.18.8.30:80 %s\n\t\tset-file %s "198.18.8.30/24 198.18.8.1"\n\t\tpromote-to hv %s 198.18.8.40:80 root@198.18.8.40\n\t\tcpu 50%%\n\t\t%s\n\t\tfor 4s\n\t\ttimeout 3m\n\t}' \
	"$CT2" "${2:-}" "$1" "$VM2" "${3:-}")")"
}
relieve_conf /no/such/dir/vcr-net
tb_start_vcrd
wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'
get() { ip netns exec $NS_C curl -s -m 3 "http://$FRONTEND/$1"; }
ends() { vcrctl events | grep -cE 'relieve +web +(done|undone): '; }
relieve() {	# relieve ARGS...: runs vcrctl relieve web ARGS and waits for its end
	local n0; n0=$(ends)
	tb_relieve "$@"
	ended() { [ "$(ends)" -gt "$n0" ]; }
	wait_for 300 "relieve $*" ended
}

# 1. Refusals; a failed migration of the standby (not serving) is undone.
out=$(vcrctl relieve web --to nosuch 2>&1) && fail "relieve to an unknown target accepted"
expect_match "$out" 'the relieve block names b and vm' "names what is configured"
out=$(vcrctl relieve web --to vm 2>&1) && fail "promotion accepted with the service on its primary"
expect_match "$out" 'the service runs on its primary' "promotion replaces a serving container"
relieve --to b
expect_match "$(vcrctl events)" 'alert +web +relieve \(migrate\) not carried out: set-file: ' \
	"the failed step is named"
expect_match "$(vcrctl events)" 'undone: the service stays on its primary; nothing is left behind' \
	"undone"
lxc2 info $CT2 >/dev/null 2>&1 && fail "the copy should be deleted on the second server"
lxc info $CT | grep -q 'Status: RUNNING' || fail "the container should still run"

# 2. A copy prepared ahead.
relieve_conf /etc/vcr-net
vcrctl reload >/dev/null || fail "reload"
relieve --to b --prepare
expect_match "$(vcrctl events)" "relieve +web +done: prepared: b/$CT2 kept stopped" "prepared"
lxc2 info $CT2 | grep -q 'Status: STOPPED' || fail "the prepared copy should be stopped"

# 3. The VM dies; the container serves and takes a write.
wait_for 30 "the standby up" status_has 'standby +198.18.8.20:80 +up'
$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
ct sh -c 'echo "written during the failover" > /var/www/html/w.txt'
expect_eq "$(get w.txt)" "written during the failover" "the container serves the write"
out=$(vcrctl relieve web --to b --prepare 2>&1) && fail "--prepare accepted for a serving container"

# 4. A migration that fails after the freeze is undone; the prepared copy stays.
relieve_conf /no/such/dir/vcr-net
vcrctl reload >/dev/null || fail "reload"
relieve --to b
vcrctl events | grep -E ' web ' | grep -E 'relieve|alert' | tail -6 >&2
expect_match "$(vcrctl events)" "changes since the prepared copy sent to b/$CT2: took_ms=[0-9]+ \(the container frozen\)" \
	"it got that far"
expect_match "$(vcrctl events)" 'undone: the service stays on its container; the prepared copy on the target is kept, stopped' \
	"undone, the prepared copy kept"
lxc info $CT | grep -q 'Status: RUNNING' || fail "the container should run (thawed)"
expect_eq "$(get w.txt)" "written during the failover" "served by the container after the undo"
lxc2 info $CT2 | grep -q 'Status: STOPPED' || fail "the prepared copy should be kept, stopped"
expect_eq "$(svc_field active)" standby "still on the standby"

# 5. The load watch migrates the loaded container, synced live into the
# started copy over ssh. Since the prepared copy was refreshed (4), the
# container loses a file and gets a header in nginx's configuration.
# The LXD server's memory is watched too (a threshold it is over at once).
relieve_conf /etc/vcr-net root@198.18.8.30 'host-memory 1%'
vcrctl reload >/dev/null || fail "reload"
ct rm /etc/motd
ct sh -c 'echo "add_header X-Vcr-Moved yes;" > /etc/nginx/conf.d/vcr-moved.conf'
# A file the live pass copies and the container deletes before the
# freeze: the final pass must delete it in the copy. A big file sorted
# after it keeps the live pass busy while the test deletes it.
ct sh -c 'mkdir -p /srv/churn /var/zz && echo gone > /srv/churn/f1 && head -c 64M /dev/urandom > /var/zz/big'
lxc exec $CT -- sh -c 'nohup sh -c "while :; do :; done" >/dev/null 2>&1 &'
wait_event 'relieve +web +load over the threshold: cpu' 30
in_copy() { [ -e "$TB_LXD2_DIR/storage-pools/default/containers/$CT2/rootfs/srv/churn/f1" ]; }
wait_for 240 "/srv/churn/f1 copied by the live pass" in_copy
ct rm /srv/churn/f1 || fail "the container was frozen before the test deleted /srv/churn/f1"
wait_event 'relieve +web +done: local/' 240
expect_match "$(vcrctl events)" 'relieve +web +load: cpu [0-9]+% memory [0-9]+ MiB host memory [1-9][0-9]?% \(limit 1%\) for [0-9]+ ms: moving' \
	"started by the load watch, with the server's memory"
vcrctl events | grep -E ' web ' | grep -E 'relieve|alert|cutover' | tail -12 >&2
ev=$(vcrctl events)
expect_match "$ev" "relieve +web +a prepared copy is there: starting it and syncing local/$CT into it over ssh root@198.18.8.30" \
	"the live path taken"
expect_match "$ev" "relieve +web +synced into b/$CT2 \(live\): files_changed=[0-9]+ deleted=[1-9][0-9]* .*restarted: [^;]*nginx.service" \
	"the live pass deleted and restarted nginx there"
expect_nomatch "$(printf '%s' "$ev" | grep 'synced into')" "systemd-private" \
	"the copy's own services' private /var/tmp left alone"
expect_match "$ev" "relieve +web +final pass into b/$CT2 \(container frozen\): listed=[0-9]+ files_changed=[0-9]+ deleted=[1-9][0-9]* \(" \
	"the final pass, frozen, deleted what the container deleted since the live pass"
lxc2 exec $CT2 -- test -e /srv/churn/f1 && fail "the file deleted after the live pass is still in the copy"
lxc2 exec $CT2 -- rm /var/zz/big
expect_match "$ev" "relieve +web +switched to b/$CT2: synced live, final pass [0-9]+ ms, frozen_ms=[0-9]+" \
	"switched after the final pass"
lxc2 exec $CT2 -- test -e /etc/motd && fail "the file deleted in the container is still in the copy"
expect_match "$(ip netns exec $NS_C curl -sI -m 3 "http://$FRONTEND/w.txt")" 'X-Vcr-Moved: yes' \
	"nginx in the copy runs with the changed configuration"
expect_match "$(vcrctl status)" 'standby +198.18.8.30:80' "the standby is the new address"
expect_match "$(ip netns exec $NS_V nft list table inet vcrecovery)" "198.18.8.30 . 80" "the map points at it"
expect_eq "$(get w.txt)" "written during the failover" "the same content from the new server"
lxc info $CT >/dev/null 2>&1 && fail "the old instance should be deleted"
lxc2 info $CT2 | grep -q 'Status: RUNNING' || fail "the moved container should run"
expect_match "$(vcrctl status)" 'container b/'"$CT2" "status names the new place"
lxc2 exec $CT2 -- pkill -f 'while :' || true
relieve_conf /etc/vcr-net root@198.18.8.30
vcrctl reload >/dev/null || fail "reload"

# 6. Promotion to the spare VM.
lxc2 exec $CT2 -- sh -c 'echo "written after the move" > /var/www/html/w2.txt'
wait_for 30 "the moved container up" status_has 'container b/'"$CT2"' warm: Running'
relieve --to vm
vcrctl events | grep -E ' web ' | grep -E 'relieve|alert|cutover' | tail -10 >&2
expect_match "$(vcrctl events)" 'relieve +web +done: promoted to VM' "promoted"
expect_eq "$(svc_field active)" primary "the VM is the primary, and active"
expect_match "$(vcrctl status)" 'primary +198.18.8.40:80' "the primary is the VM's address"
expect_eq "$(tb_ssh 198.18.8.40 cat /var/www/html/w.txt)" "written during the failover" \
	"the first write on the VM"
expect_eq "$(get w2.txt)" "written after the move" "served by the VM"
expect_eq "$(tb_ssh 198.18.8.40 cat /etc/hostname)" "vcr-testbed" "the VM keeps its own files"
wait_for 60 "the container back as a standby" status_has 'standby +198.18.8.30:80 +up'

m=$(ip netns exec $NS_V curl -s http://127.0.0.1:9107/metrics)
expect_match "$m" 'vcr_relieves_total\{service="web",result="done"\} 3' "metrics: prepare, migrate, vm"
expect_match "$m" 'vcr_relieves_total\{service="web",result="failed"\} 2' "metrics: the two undone"
expect_match "$m" 'vcr_relieve_running\{service="web"\} 0' "metrics: none running"

# 7. A restart keeps the relieved places.
kill $VCRD_PID; wait $VCRD_PID 2>/dev/null
tb_start_vcrd
wait_for 30 "up again" status_has 'primary +198.18.8.40:80 +up'
expect_match "$(vcrctl status)" 'standby +198.18.8.30:80' "the moved standby restored"
expect_eq "$(svc_field active)" primary "on the promoted VM"
expect_eq "$(get w2.txt)" "written after the move" "served after the restart"
echo "PASS: relieve: migrated by the load watch, undone on a failed step, promoted to a VM"
