#!/bin/bash
# A failback cut short: vcrd is killed (SIGKILL) while the failback has the
# container frozen for its final pass. Nothing is lost and the service
# stays up on one side:
#  - the map still points at the standby (the switch had not happened),
#    and new connections are held (the container is frozen);
#  - the restarted vcrd reads in its state file that the container was
#    frozen by a failback, unfreezes it before trusting its probes (so it
#    does not go back to the primary without the standby's writes), and
#    says so; nothing is held any more; the container serves the write
#    made during the failover;
#  - vcrctl failback, run again, brings that write and one made after the
#    restart to the VM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_synced_web
get() { ip netns exec $NS_C curl -s -m 2 "http://$FRONTEND/$1"; }

$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
ct sh -c 'echo "written during the failover" > /var/www/html/w.txt'
expect_eq "$(get w.txt)" "written during the failover" "the container serves the write"
tb_vm_back

# The failback, killed in its frozen pass. The final pass sends only what
# changed since the live pass, well under a second here: a writer rewriting
# 30 MB in the container keeps it busy for long enough to look and kill.
# It writes under /var/tmp, where changes on both sides are not conflicts:
# it goes on after the restart, and its file, partly pushed to the VM by the
# interrupted failback, would otherwise make the second one refuse (README).
tb_failback_frozen 30
expect_match "$(vcrctl status)" 'HELD +new connections wait \(accepted by vcrd' "vcrctl status says new connections are held"
expect_match "$(metrics)" 'vcr_service_held\{service="web"\} 1' "the held metric"
stop_vcrd KILL
log "vcrd killed with the container frozen"
expect_eq "$(ct_status)" FROZEN "the container after the kill"
expect_match "$(nft_table)" 'comment "web -> standby 198.18.8.20:80 since' "the map after the kill"
held() { nft_table | sed -n '/set held/,/}/p'; }
expect_match "$(held)" "$FRONTEND . 80" "new connections held while the container is frozen"
# With vcrd's hold listener gone, a new connection's SYN is dropped (the
# client waits and sends it again), not refused.
rc=0; ip netns exec $NS_C curl -s -o /dev/null -m 2 "http://$FRONTEND/" || rc=$?
expect_eq "$rc" 28 "a new connection while vcrd is down and the container frozen (curl: 28 timed out, 7 refused)"

tb_start_vcrd
wait_event 'alert +web +vcrd stopped during a failback.s frozen pass: unfreezing' 10
wait_event 'failback +web +local/'"$CT"' unfrozen: the service goes on from its standby' 30
expect_eq "$(ct_status)" RUNNING "the container after vcrd's restart"
expect_eq "$(svc_field active)" standby "the service after vcrd's restart"
expect_nomatch "$(held)" 'elements' "nothing held after vcrd's restart (the table is written anew)"
expect_eq "$(get w.txt)" "written during the failover" "the write, served"
expect_eq "$(served_by w.txt)" "$CT" "served by the container"
ct sh -c 'echo "written after the interrupted failback" > /var/www/html/w2.txt'

# Run again, the failback brings the write home.
wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'
out=$(vcrctl failback web) || fail "second failback refused: $out"
fb_end() { active_is primary || vcrctl events | grep -qE 'alert +web +failback not'; }
wait_for 180 "the failback" fb_end
active_is primary || fail "failback: $(vcrctl events | grep -E 'alert +web +failback' | tail -1)"
expect_eq "$(vm cat /var/www/html/w.txt)" "written during the failover" "the write on the VM"
expect_eq "$(vm cat /var/www/html/w2.txt)" "written after the interrupted failback" "the later write on the VM"
expect_eq "$(get w.txt)" "written during the failover" "served after the failback"
expect_eq "$(served_by w.txt)" "$VM" "served by the VM"
echo "PASS: failback killed in its frozen pass: the container unfrozen at restart, the service stayed on it, the write reached the VM on the next failback"
