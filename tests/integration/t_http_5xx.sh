#!/bin/bash
# mode http: the primary's probes pass but its answers to tenants are
# 500s. With observe-5xx 5/10, five 5xx among the last ten responses mark
# it down and the service moves to the standby before any probe could
# see a problem; the event says why. When traffic is healthy again the
# probes mark the primary up, and the service stays (failback manual).
. "$(dirname "$0")/../lib.sh"
INTERVAL=1s TIMEOUT=500ms scene "mode http" "observe-5xx 5/10"
expect_eq "$(client_get /)" primary "before"
touch "$WORK/primary.fail-traffic"
codes=""
for i in 1 2 3 4 5; do
	codes+="$(ip netns exec $NS_C curl -s -o /dev/null -w '%{http_code}' "http://$FRONTEND/") "
done
expect_eq "$codes" "500 500 500 500 500 " "answers while the primary fails"
expect_eq "$(client_get /)" standby "the next request"
expect_match "$(vcrctl events)" 'side=primary target=198.18.1.2:80 health=down reason="5 of the last 6 responses on live traffic were 5xx \(last: HTTP 500\)"' "event"
expect_match "$(vcrctl events)" 'cutover .*reason="primary down \(5 of the last 6 responses' "cut-over reason"
n5xx=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["responses_5xx"])')
expect_eq "$n5xx" 5 "responses_5xx in status"
expect_match "$(metrics)" 'vcr_relay_http_responses_5xx_total\{service="web"\} 5' "metric"
rm "$WORK/primary.fail-traffic"
wait_status 'primary +198.18.1.2:80 +up' 5
sleep 1
expect_eq "$(client_get /)" standby "after the primary is up again (failback manual)"
echo "PASS: 5 of 10 responses 5xx moved the service while the probes passed"
