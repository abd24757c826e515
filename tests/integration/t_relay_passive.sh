#!/bin/bash
# Passive detection: probes every 5 s, but connection errors on live
# traffic (observe-errors 2) mark the primary down and the service moves
# long before the next probe; the event names the traffic errors.
. "$(dirname "$0")/../lib.sh"
INTERVAL=5s TIMEOUT=1s scene "mode tcp" "observe-errors 2"
expect_eq "$(client_get /)" primary "before"
kill $PID_primary
sleep 0.2
t0=$(date +%s%N)
out=$(client_get / 4)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$out" standby "the request that met the dead primary"
[ "$ms" -lt 2500 ] || fail "took $ms ms: the probes, not the traffic, found the failure"
expect_match "$(vcrctl events)" 'health=down reason="2 connection errors on live traffic \(last: connection refused\)"' "passive event"
expect_match "$(vcrctl events)" 'reason="primary down \(2 connection errors on live traffic' "cut-over reason"
echo "PASS: passive detection: the held request was answered by the standby after $ms ms (probes every 5 s)"
