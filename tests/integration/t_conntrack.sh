#!/bin/bash
# After a cut-over no conntrack entry for the frontend still points at the
# old target: the client's retransmitted SYN is NATed afresh.
. "$(dirname "$0")/../lib.sh"
command -v conntrack >/dev/null || { echo "SKIP: conntrack not installed"; exit 77; }
INTERVAL=1s TIMEOUT=500ms scene
has_ct_to_primary() { [ "$(ct_to_primary)" -ge 1 ]; }
ct_to_primary() {
	ip netns exec $NS_V conntrack -L -p tcp --orig-dst $FRONTEND --dport 80 \
	    --reply-src $PRIMARY 2>/dev/null | grep -c SYN_SENT
}
# The primary hangs: its packets are silently dropped (ARP still answers,
# so nothing tells the client; only the SYN retransmit can save it).
ip netns exec $NS_P nft add table inet hang
ip netns exec $NS_P nft add chain inet hang input '{ type filter hook input priority 0; policy drop; }'
ip netns exec $NS_C curl -s --max-time 15 "http://$FRONTEND/" > "$WORK/out" &
cpid=$!
wait_for 3 "a SYN_SENT entry to the primary" has_ct_to_primary
wait_status 'standby-active' 6
expect_eq "$(ct_to_primary)" 0 "entries to the old target after the cut-over"
expect_match "$(vcrctl events)" 'conntrack_deleted=[1-9]' "event counts the deleted entries"
wait $cpid
expect_eq "$(cat "$WORK/out")" standby "the held client"
echo "PASS: conntrack entries to the old target deleted; held client answered by the standby"
