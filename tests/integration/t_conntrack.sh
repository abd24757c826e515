#!/bin/bash
# After a cut-over no conntrack entry for the frontend still points at the
# old target: the client's retransmitted SYN is NATed afresh. A connection
# made while the primary was suspect is written down in set recent and its
# entry deleted by tuple on the cut-over's path; one made before the first
# failed check is found by the walk of the whole table right after.
. "$(dirname "$0")/../lib.sh"
command -v conntrack >/dev/null || { echo "SKIP: conntrack not installed"; exit 77; }
INTERVAL=1s TIMEOUT=500ms scene
has_ct_to_primary() { [ "$(ct_to_primary)" -ge "$1" ]; }
no_ct_to_primary() { [ "$(ct_to_primary)" -eq 0 ]; }
ct_to_primary() {
	ip netns exec $NS_V conntrack -L -p tcp --orig-dst $FRONTEND --dport 80 \
	    --reply-src $PRIMARY 2>/dev/null | grep -c SYN_SENT
}
not_recent() { ! set_has recent "$FRONTEND . 80"; }
not_suspect() { ! set_has suspect "$FRONTEND"; }
set_has() { ip netns exec $NS_V nft list set inet vcrecovery "$1" | grep -qE -- "$2"; }
expect_nomatch "$(ip netns exec $NS_V nft list set inet vcrecovery suspect)" "$FRONTEND" \
    "suspect set while the primary is fine"

# The primary hangs: its packets are silently dropped (ARP still answers,
# so nothing tells the client; only the SYN retransmit can save it).
ip netns exec $NS_P nft add table inet hang
ip netns exec $NS_P nft add chain inet hang input '{ type filter hook input priority 0; policy drop; }'
# Client A connects at once: no check has failed yet (the first to fail
# times out 500 ms after it started).
ip netns exec $NS_C curl -s --max-time 15 "http://$FRONTEND/" > "$WORK/out-a" &
apid=$!
wait_for 3 "a SYN_SENT entry to the primary" has_ct_to_primary 1
wait_status 'primary-suspect' 3
wait_for 2 "the frontend in set suspect" set_has suspect "$FRONTEND . 80"
# Client B connects while the primary is suspect: written down.
ip netns exec $NS_C curl -s --max-time 15 "http://$FRONTEND/" > "$WORK/out-b" &
bpid=$!
wait_for 3 "client B in set recent" set_has recent "198.18.0.2 . [0-9]+ . $FRONTEND . 80"
wait_for 3 "two SYN_SENT entries to the primary" has_ct_to_primary 2
wait_status 'standby-active' 6
wait_for 2 "no entry to the old target left" no_ct_to_primary
ev=$(vcrctl events)
expect_match "$ev" 'cutover .*conntrack_deleted=[1-9]' "cut-over event counts the entries looked up by tuple"
expect_match "$ev" 'conntrack walk 1 deleted [1-9][0-9]* older entries to '"$PRIMARY" \
    "the walk finds the connection made before the first failed check"
wait_for 3 "the frontend out of set suspect" not_suspect
wait_for 3 "set recent emptied of the frontend's connections" not_recent
wait $apid
wait $bpid
expect_eq "$(cat "$WORK/out-a")" standby "client A (before the first failed check)"
expect_eq "$(cat "$WORK/out-b")" standby "client B (while suspect)"
echo "PASS: conntrack entries to the old target deleted (by tuple, then by the walk); both held clients answered by the standby"
