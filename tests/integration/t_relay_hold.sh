#!/bin/bash
# mode tcp with both sides down: clients are held for hold-timeout, then
# closed; the drops are counted, and logged at most once a second however
# many clients there are.
. "$(dirname "$0")/../lib.sh"
scene "mode tcp" "hold-timeout 1s"
kill $PID_primary $PID_standby
wait_status 'standby-down|primary-down' 5
t0=$(date +%s%N)
cpids=()
for i in $(seq 20); do client_get / 5 > "$WORK/c$i" & cpids+=($!); done
wait "${cpids[@]}"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for i in $(seq 20); do expect_eq "$(cat "$WORK/c$i")" "" "client $i gets nothing"; done
[ "$ms" -ge 900 ] && [ "$ms" -lt 4000 ] || fail "clients were closed after $ms ms, hold-timeout is 1s"
dropped=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["dropped"])')
expect_eq "$dropped" 20 "drops counted"
lines=$(grep -c "clients dropped" "$LOG")
[ "$lines" -ge 1 ] && [ "$lines" -le 3 ] || fail "$lines log lines for 20 drops"
expect_match "$(metrics)" 'vcr_relay_dropped_total\{service="web"\} 20' "metric"
echo "PASS: both sides down: 20 held clients closed after $ms ms, counted, $lines log line(s)"
