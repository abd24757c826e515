#!/bin/bash
# Someone deletes vcrd's table by hand during an incident. The next
# cut-over finds its element gone, writes the whole table again from
# vcrd's state, and says so.
. "$(dirname "$0")/../lib.sh"
scene
ip netns exec $NS_V nft delete table inet vcrecovery
kill $PID_primary
wait_answer standby 5
expect_match "$(nft_table)" 'comment "web -> standby 198.18.2.2:80 since' "table rewritten"
expect_match "$(vcrctl events)" "table inet vcrecovery was not as vcrd left it \(.*\): rewritten whole" "event"
expect_match "$(vcrctl events)" 'cutover +web +from=primary to=standby' "the cut-over"
echo "PASS: a table deleted by hand is rewritten at the next cut-over"
