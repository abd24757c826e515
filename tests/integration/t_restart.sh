#!/bin/bash
# vcrd killed with SIGKILL after a cut-over: traffic keeps flowing through
# the rules it left; restarted with the primary healthy, it stays on the
# standby (no flip back on its own). -x removes the table on exit.
. "$(dirname "$0")/../lib.sh"
scene
touch "$WORK/primary.fail"
wait_answer standby 5
rm -f "$WORK/primary.fail"
expect_eq "$(svc_field cutovers)" 1 "cut-overs"

# A client keeps connecting across the kill and the restart (which
# rewrites the table in one transaction): not one request may fail.
CLIENT_INTERVAL_MS=10 client_loop 4 "$WORK/client.out"
sleep 0.5
stop_vcrd KILL
for i in 1 2 3; do expect_eq "$(client_get /)" standby "while vcrd is dead ($i)"; done
expect_match "$(nft_table)" 'web -> standby' "rules left in place"

start_vcrd
wait $CLIENT_PID
total=$(grep -vc '^#' "$WORK/client.out")
[ "$total" -gt 200 ] || fail "client made only $total requests"
expect_eq "$(grep -v '^#' "$WORK/client.out" | grep -vc ' standby$')" 0 "failed or misrouted requests across kill and restart (of $total)"
expect_eq "$(svc_field active)" standby "after restart"
expect_eq "$(svc_field state)" standby-active "state after restart"
expect_eq "$(svc_field cutovers)" 1 "cut-overs survive the restart"
expect_eq "$(client_get /)" standby "after restart"
expect_match "$(vcrctl events)" 'cutover +web +from=primary to=standby' "events survive the restart"

stop_vcrd TERM
expect_match "$(nft_table)" 'web -> standby' "SIGTERM keeps the rules"
# A state file that cannot be read: vcrd refuses to guess where services point.
cp "$WORK/state/state.json" "$WORK/state.good"
echo '{ "services": [' > "$WORK/state/state.json"
out=$(ip netns exec $NS_V "$VCRD" -f "$CONF" 2>&1) && fail "vcrd started on a corrupt state file"
expect_match "$out" "state.json: unreadable state file .*move the file away" "corrupt state file"
expect_match "$(nft_table)" 'web -> standby' "rules untouched by the refused start"
cp "$WORK/state.good" "$WORK/state/state.json"
start_vcrd -x
stop_vcrd TERM
ip netns exec $NS_V nft list table inet vcrecovery >/dev/null 2>&1 && fail "-x left the table"
echo "PASS: SIGKILL + restart keeps the standby; rules survive; -x removes them"
