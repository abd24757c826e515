#!/bin/bash
# The primary's server process dies: checks see "connection refused",
# vcrd cuts over, the client gets the standby, the map says so.
. "$(dirname "$0")/../lib.sh"
need_root
setup_net
start_backend $NS_P primary $PRIMARY
start_backend $NS_S standby $STANDBY
write_conf
start_vcrd
expect_eq "$(client_get /)" primary "before the fault"
expect_match "$(nft_table)" 'comment "web -> primary 198.18.1.2:80 since' "map before"

kill $PID_primary
wait_for 5 "cut-over" sh -c "[ \"\$(ip netns exec $NS_C curl -s --max-time 1 http://$FRONTEND/)\" = standby ]"
expect_eq "$(svc_field state)" standby-active "state"
expect_eq "$(svc_field target)" "$STANDBY:80" "target"
expect_match "$(nft_table)" 'comment "web -> standby 198.18.2.2:80 since [0-9T:-]+Z" : 198.18.2.2 . 80' "map after"
expect_match "$(vcrctl events)" 'cutover +web +from=primary to=standby .*reason="primary down \(connection refused' "event with reason"
expect_eq "$(client_get /)" standby "after the cut-over"
echo "PASS: primary process killed -> standby"
