#!/bin/bash
# The primary answers, but its health endpoint says 503: that is down.
. "$(dirname "$0")/../lib.sh"
scene
touch "$WORK/primary.fail"
wait_answer standby 5
expect_match "$(vcrctl events)" 'health=down reason="HTTP 503"' "check event"
expect_match "$(vcrctl events)" 'reason="primary down \(HTTP 503\)"' "cut-over reason"
expect_match "$(vcrctl status)" 'primary +198.18.1.2:80 +down +HTTP 503' "status shows the last result"
echo "PASS: primary HTTP 503 -> standby"
