#!/bin/bash
# Failback with the standby's writes synced back, on real parts.
#  - the VM is destroyed, the warm container takes over (fenced);
#  - while the VM is down, vcrctl failback is refused (primary down);
#  - writes land in the container (a new file, a changed page);
#  - the VM is started again; vcrctl failback syncs the container's changes
#    back to the VM (live, then with the container frozen), switches, and
#    restarts the container as a warm standby: the VM serves the writes;
#  - a planned failover, a file written in the container and then again
#    on the VM: the failback is refused and names the file (conflict), the
#    service stays on its standby, and both copies are as they were.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_synced_web
get() { ip netns exec $NS_C curl -s -m 2 "http://$FRONTEND/$1"; }

# 1. The VM dies; the container serves and takes writes.
$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
out=$(vcrctl failback web 2>&1) && fail "failback accepted with the primary down: $out"
expect_match "$out" 'primary is down' "failback refused while the primary is down"
ct sh -c 'echo "written during the failover" > /var/www/html/w.txt &&
	echo "page changed during the failover" > /var/www/html/index.html'
expect_eq "$(get w.txt)" "written during the failover" "the container serves the write"

# 2. The VM is back: the failback brings the writes with it.
tb_vm_back
# A writer in the container until it is frozen: its last write must reach
# the VM (the final pass sends what changed since the live pass began).
lxc exec $CT -- sh -c 'i=0; while :; do i=$((i + 1)); echo $i > /var/www/html/n.tmp &&
	mv /var/www/html/n.tmp /var/www/html/n.txt; sleep 0.05; done' >/dev/null 2>&1 &
WRITER=$!
# A client every 50 ms: in mode dnat, new connections are held while the
# container is frozen (vcrd accepts them and sends them on after the
# switch), so none reaches a container that cannot answer and is then
# stopped.
CLIENT_INTERVAL_MS=50 client_loop 120 "$WORK/fb-client.out"
out=$(vcrctl failback web) || fail "failback refused: $out"
expect_match "$out" 'syncing the standby' "vcrctl failback answers at once"
fb_end() { active_is primary || vcrctl events | grep -qE 'alert +web +failback'; }
wait_for 180 "the failback" fb_end
active_is primary || fail "failback: $(vcrctl events | grep -E 'alert +web +failback' | tail -1)"
done_ev() { vcrctl events | grep -qE 'failback +web +done: |alert +web +failback'; }
wait_for 60 "the container back as a warm standby" done_ev
vcrctl events | grep -E ' web +' | grep -E 'failback|command|alert' >&2
expect_match "$(vcrctl events)" 'failback +web +done: local/'"$CT"' restarted' "warm standby again"
kill $WRITER 2>/dev/null; wait $WRITER 2>/dev/null
kill $CLIENT_PID 2>/dev/null; wait $CLIENT_PID 2>/dev/null
total=$(grep -vc '^#' "$WORK/fb-client.out")
failed=$(grep -E -c ' (ERROR:|HTTP)' "$WORK/fb-client.out")
echo "client during the failback: $failed of $total requests failed" >&2
[ "$total" -gt 100 ] || fail "the client made only $total requests"
# One request may be in the container's hands at the instant it freezes.
[ "$failed" -le 1 ] || fail "$failed requests failed during the failback: $(grep -E ' (ERROR:|HTTP)' "$WORK/fb-client.out" | head -5)"
expect_match "$(vcrctl events)" 'hold +web +new connections held by vcrd on '"$FRONTEND"':80' \
	"new connections held by vcrd while frozen"
# The final pass takes a few hundred ms at least: the client's connections
# made in it were held, and went to the VM after the switch.
expect_match "$(vcrctl events)" 'hold +web +new connections let through \(the switch\); vcrd held [1-9][0-9]*, sent on to 198.18.8.10:80' \
	"the held connections sent on to the VM"
expect_nomatch "$(nft_table | sed -n '/set held/,/}/p')" 'elements' "nothing held after the switch"
expect_match "$(vcrctl events)" 'final pass \(container frozen\): listed=[1-9]' \
	"the final pass lists what the writer changed"
html=/var/lib/lxd/storage-pools/default/containers/$CT/rootfs/var/www/html
last=$(cat $html/n.txt)
[ "${last:-0}" -gt 1 ] || fail "the writer did not run: '$last'"
on_vm=$(vm cat /var/www/html/n.txt)
# LXD thaws a frozen container to stop it, and its processes run for a
# moment: the writer may make one more step after the final pass (a write
# no one was told had succeeded; README, failback). Anything before the
# freeze must be on the VM.
if [ "$on_vm" != "$last" ]; then
	[ "$last" -eq $((on_vm + 1)) ] && [ "$(stat -c %Y.%y $html/n.txt)" \> \
		"$(vm stat -c %Y.%y /var/www/html/n.txt)" ] ||
		fail "the writer's last write before the freeze: $on_vm on the VM, $last in the container"
	log "the writer made one more step while LXD stopped the container: $last there, $on_vm on the VM"
fi
# Its files would be a conflict in part 3.
rm -f $html/n.txt $html/n.tmp
expect_eq "$(vm cat /var/www/html/w.txt)" "written during the failover" "the write on the VM"
expect_eq "$(get w.txt)" "written during the failover" "served after the failback"
expect_eq "$(get)" "page changed during the failover" "the changed page"
expect_eq "$(served_by w.txt)" "$VM" "served by the VM"
expect_eq "$(vm cat /etc/hostname)" "vcr-testbed" "the VM keeps its host name"
wait_for 30 "the standby up again" status_has 'standby +198.18.8.20:80 +up'

# 3. A conflict: the same file written on both sides after a planned failover.
vcrctl failover --no-sync web >/dev/null || fail "planned failover"
wait_for 10 "on the standby" active_is standby
ct sh -c 'echo "standby version" > /var/www/html/c.txt'
sleep 1.1
vm 'echo "primary version" > /var/www/html/c.txt'
out=$(vcrctl failback web) || fail "failback refused at once: $out"
wait_event 'alert +web +failback not carried out: 1 file\(s\) changed on both sides since the last sync, nothing copied: /var/www/html/c.txt;' 120
expect_eq "$(svc_field active)" standby "the service stays on its standby"
expect_eq "$(ct cat /var/www/html/c.txt)" "standby version" "the standby's copy"
expect_eq "$(vm cat /var/www/html/c.txt)" "primary version" "the primary's copy"
lxc info $CT | grep -q 'Status: RUNNING' || fail "the container should run (not frozen)"
echo "PASS: failback: the standby's writes synced back to the VM, refused while the VM is down and on a conflict"
