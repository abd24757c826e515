#!/bin/bash
# Standby down first, then the primary: no cut-over to a target that is
# down; a loud event, status and metrics say why; the map is unchanged.
. "$(dirname "$0")/../lib.sh"
scene
before=$(nft_services)
kill $PID_standby
wait_status 'standby +198.18.2.2:80 +down +connection refused' 5
kill $PID_primary
wait_event 'alert' 5
sleep 1
expect_eq "$(svc_field active)" primary "active side"
expect_eq "$(svc_field state)" primary-down "state"
expect_match "$(svc_field alert)" 'primary down and standby down: no cut-over' "alert"
expect_eq "$(nft_services)" "$before" "map unchanged"
expect_match "$(ip netns exec $NS_V nft list set inet vcrecovery suspect)" "$FRONTEND . 80" \
    "frontend in set suspect while its primary is down"
expect_match "$(vcrctl status)" 'ALERT +primary down and standby down' "status"
expect_match "$(metrics)" 'vcr_service_alert\{service="web"\} 1' "metric"
expect_eq "$(vcrctl events | grep -c alert)" 1 "one loud event, not one per check"
expect_match "$(cat "$LOG")" 'level=warn event=alert service=web' "log line"
# The standby comes back: now vcrd cuts over.
start_backend $NS_S standby $STANDBY
wait_answer standby 5
echo "PASS: standby down -> no cut-over, loud event; standby back -> cut-over"
