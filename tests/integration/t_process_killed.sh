#!/bin/bash
# The primary's server process dies: checks see "connection refused",
# vcrd cuts over, the client gets the standby, the map says so.
. "$(dirname "$0")/../lib.sh"
scene
expect_eq "$(client_get /)" primary "before the fault"
expect_match "$(nft_table)" 'comment "web -> primary 198.18.1.2:80 since' "map before"

kill $PID_primary
wait_answer standby 5
expect_eq "$(svc_field state)" standby-active "state"
expect_eq "$(svc_field target)" "$STANDBY:80" "target"
expect_match "$(nft_table)" 'comment "web -> standby 198.18.2.2:80 since [0-9T:-]+Z" : 198.18.2.2 . 80' "map after"
expect_match "$(vcrctl events)" 'cutover +web +from=primary to=standby .*reason="primary down \(connection refused' "event with reason"
expect_eq "$(client_get /)" standby "after the cut-over"
echo "PASS: primary process killed -> standby"
