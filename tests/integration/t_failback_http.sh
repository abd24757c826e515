#!/bin/bash
# A failback in mode http, with requests that reach vcrd while the
# container is frozen for the final pass. vcrd's relay is paused then: the
# requests wait in vcrd, none is sent to the frozen container (whose kernel
# would accept the connection and whose nginx could not answer). At the
# switch both go to the VM, once each:
#  - the GET is answered there (not a replay: it was never sent before);
#  - the POST, which vcrd would never send twice, is answered there too
#    (nginx's 405 for a static file): before the pause it got vcrd's 502,
#    as it had waited on the container that was then left.
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
expect_eq "$(ct_status)" FROZEN "the container, with both requests waiting in vcrd"
expect_eq "$(svc_field active)" standby "the service, with both requests waiting"
wait $GET $POST
tb_failback_done
tb_failback_clean

hdr() { tr -d '\r' < "$1" | awk -v k="$2" 'NR == 1 && k == "status" {print $2} tolower($1) == k":" {print $2}'; }
expect_eq "$(hdr "$WORK/get.h" status)" 200 "the GET that waited on the frozen container"
expect_eq "$(hdr "$WORK/get.h" x-served-by)" "$VM" "the GET answered by the VM after the switch"
expect_eq "$(hdr "$WORK/post.h" status)" 405 "the POST held in vcrd, answered by nginx after the switch"
expect_eq "$(hdr "$WORK/post.h" x-served-by)" "$VM" "the POST answered by the VM"
expect_match "$(vcrctl events)" 'hold +web +new connections and requests held by vcrd' \
	"the relay paused while the container was frozen"
expect_match "$(metrics)" 'vcr_relay_http_replayed_total\{service="web"\} 0' \
	"nothing sent twice"
echo "PASS: failback in mode http: a GET and a POST that came while the container was frozen waited in vcrd and were answered by the VM"
