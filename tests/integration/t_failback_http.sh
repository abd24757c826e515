#!/bin/bash
# A failback in mode http, with requests that reach vcrd while the
# container is frozen for the final pass. vcrd relays them to where the map
# points, the frozen container, whose kernel accepts the connection but
# whose nginx cannot answer. At the switch:
#  - the GET (idempotent) is sent again, to the VM, and answered there;
#  - the POST (not replayable) gets vcrd's 502, never the container's
#    answer: LXD thaws a frozen container for a moment to stop it, and an
#    answer then would acknowledge a write the VM does not have.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_synced_web 'mode http'

$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
tb_vm_back

tb_failback_frozen	# for seconds: long enough to send the requests into it
ip netns exec $NS_C curl -s -m 60 -o /dev/null -D "$WORK/get.h" "http://$FRONTEND/index.html" &
GET=$!
ip netns exec $NS_C curl -s -m 60 -o "$WORK/post.body" -D "$WORK/post.h" -X POST -d n=1 \
	"http://$FRONTEND/index.html" &
POST=$!
waiting() { metrics | grep -qE '^vcr_relay_connections\{service="web"\} [2-9]'; }
wait_for 10 "both requests in vcrd" waiting
# Inconclusive unless they were in while the container was still frozen.
expect_eq "$(ct_status)" FROZEN "the container, with both requests waiting on it"
expect_eq "$(svc_field active)" standby "the service, with both requests waiting"
wait $GET $POST
tb_failback_done
tb_failback_clean

hdr() { tr -d '\r' < "$1" | awk -v k="$2" 'NR == 1 && k == "status" {print $2} tolower($1) == k":" {print $2}'; }
expect_eq "$(hdr "$WORK/get.h" status)" 200 "the GET that waited on the frozen container"
expect_eq "$(hdr "$WORK/get.h" x-served-by)" "$VM" "the GET answered by the VM after the switch"
expect_eq "$(hdr "$WORK/post.h" status)" 502 "the POST that waited on the frozen container (not replayable)"
expect_eq "$(hdr "$WORK/post.h" x-served-by)" "" "no answer from the container to the POST"
expect_match "$(metrics)" 'vcr_relay_http_gateway_errors_total\{service="web"\} [1-9]' \
	"the 502 counted"
echo "PASS: failback in mode http: a GET waiting on the frozen container answered by the VM, a POST given a 502"
