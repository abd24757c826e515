#!/bin/bash
# A failback in mode tcp, with a connection that reaches vcrd while the
# container is frozen for the final pass. vcrd's relay is paused then: it
# accepts the client and makes no upstream connection, so nothing reaches
# the frozen container (whose kernel would accept it, whose nginx could not
# answer, and whose answer when LXD thaws it for a moment to stop it could
# acknowledge a write the VM does not have). At the switch the connection
# goes to the VM and is answered there. (Before the pause it was relayed to
# the frozen container and closed at the switch with no answer.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_synced_web 'mode tcp'
$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
tb_vm_back

tb_failback_frozen
ip netns exec $NS_C curl -s -m 60 -o /dev/null -D "$WORK/get.h" "http://$FRONTEND/index.html" &
GET=$!
waiting() { metrics | grep -qE '^vcr_relay_connections\{service="web"\} [1-9]'; }
wait_for 10 "the request in vcrd" waiting
# Inconclusive unless it was in while the container was still frozen.
expect_eq "$(ct_status)" FROZEN "the container, with the request waiting in vcrd"
expect_eq "$(svc_field active)" standby "the service, with the request waiting"
rc=0; wait $GET || rc=$?
tb_failback_done
tb_failback_clean

hdr() { tr -d '\r' < "$1" | awk -v k="$2" 'NR == 1 && k == "status" {print $2} tolower($1) == k":" {print $2}'; }
[ "$rc" -eq 0 ] || fail "the connection made while the container was frozen: curl exit $rc"
expect_eq "$(hdr "$WORK/get.h" status)" 200 "the connection that waited in vcrd"
expect_eq "$(hdr "$WORK/get.h" x-served-by)" "$VM" "answered by the VM after the switch"
expect_match "$(vcrctl events)" 'hold +web +new connections and requests held by vcrd' \
	"the relay paused while the container was frozen"
expect_eq "$(served_by index.html)" "$VM" "a new connection after the switch"
echo "PASS: failback in mode tcp: a connection made while the container was frozen waited in vcrd and was answered by the VM"
