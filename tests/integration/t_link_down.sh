#!/bin/bash
# The primary's link goes down: its packets are black-holed. A client that
# connects during detection is held by TCP's SYN retransmit and answered by
# the standby once vcrd has cut over and deleted the stale conntrack entry.
. "$(dirname "$0")/../lib.sh"
scene
expect_eq "$(client_get /)" primary "before the fault"

ip -n $NS_P link set eth0 down
# Connects right away: its SYN goes to the dead primary first.
out=$(client_get / 5)
expect_eq "$out" standby "request made during detection"
expect_eq "$(svc_field active)" standby "active side"
expect_match "$(vcrctl events)" 'reason="primary down \(HTTP timeout after 80 ms\)"' "reason"
echo "PASS: primary link down -> standby, in-flight connect answered"
