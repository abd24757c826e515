#!/bin/bash
# A failback in mode tcp, with a connection that reaches vcrd while the
# container is frozen for the final pass. vcrd relays it to where the map
# points, the frozen container, whose kernel accepts it but whose nginx
# cannot answer. At the switch vcrd closes it: LXD thaws a frozen container
# for a moment to stop it, and an answer then could acknowledge a write the
# VM does not have. The client sees the connection end with no answer; a
# new connection after the switch is answered by the VM.
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
expect_eq "$(ct_status)" FROZEN "the container, with the request waiting on it"
expect_eq "$(svc_field active)" standby "the service, with the request waiting"
rc=0; wait $GET || rc=$?
tb_failback_done
tb_failback_clean

# curl: 52 empty reply, 56 reset; 0 would be an answer
[ "$rc" -eq 52 ] || [ "$rc" -eq 56 ] || fail "the request that waited on the frozen container: curl exit $rc, headers: $(head -3 "$WORK/get.h" 2>/dev/null)"
[ ! -s "$WORK/get.h" ] || fail "an answer to the request that waited on the frozen container: $(head -3 "$WORK/get.h")"
expect_eq "$(served_by index.html)" "$VM" "a new connection after the switch"
echo "PASS: failback in mode tcp: a connection waiting on the frozen container closed at the switch with no answer, new ones served by the VM"
