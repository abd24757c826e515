#!/bin/bash
# failover manual: vcrd waits for the operator. Operator commands and
# their refusals.
. "$(dirname "$0")/../lib.sh"
scene "failover manual"

out=$(vcrctl failback web 2>&1) && fail "failback while on the primary succeeded"
expect_eq "$out" "vcrctl: failback web refused: already on the primary" "refusal"
out=$(vcrctl failover nosuch 2>&1) && fail "failover of an unknown service succeeded"
expect_eq "$out" "vcrctl: no service named 'nosuch'" "unknown service"

# An operator's failover of a healthy primary: a keep-alive connection
# opened before it goes on being served by the primary afterwards.
ip netns exec $NS_C "$PY" -c '
import http.client, sys, time
c = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
c.request("GET", "/"); print(c.getresponse().read().decode().strip())
sys.stdout.flush()
time.sleep(1.5)
c.request("GET", "/"); print(c.getresponse().read().decode().strip())
' $FRONTEND > "$WORK/keepalive.out" &
kpid=$!
sleep 0.5
expect_match "$(vcrctl failover web)" '^web: now on the standby' "planned failover"
expect_eq "$(client_get /)" standby "new connections after the planned failover"
wait $kpid || fail "the keep-alive connection broke"
expect_eq "$(tr '\n' ' ' < "$WORK/keepalive.out")" "primary primary " "an established connection stays on the primary"
expect_match "$(vcrctl failback web)" '^web: now on the primary' "back"

kill $PID_primary
wait_status 'waiting for vcrctl failover' 5
expect_eq "$(svc_field active)" primary "no automatic cut-over"
out=$(vcrctl failback web 2>&1) && fail "failback succeeded"
out=$(vcrctl failover web)
expect_match "$out" '^web: now on the standby \(cut-over applied in [0-9.]+ ms\)' "failover"
expect_eq "$(client_get /)" standby "after operator failover"

out=$(vcrctl failback web 2>&1) && fail "failback to a dead primary succeeded"
expect_eq "$out" "vcrctl: failback web refused: primary is down" "failback refused"
start_backend $NS_P primary $PRIMARY
wait_status 'primary +198.18.1.2:80 +up +HTTP 200'
sleep 0.3
expect_eq "$(svc_field active)" standby "no automatic failback"
out=$(vcrctl failback web)
expect_match "$out" '^web: now on the primary' "failback"
expect_eq "$(client_get /)" primary "after failback"
expect_match "$(vcrctl events)" 'reason="operator: failback"' "event"
echo "PASS: manual failover and failback, refusals with reasons"
