#!/bin/bash
# What an operator sees: vcrd -t, vcrctl without vcrd, status, --json,
# events, metrics, the socket's mode.
. "$(dirname "$0")/../lib.sh"
need_root
setup_net
start_backend $NS_P primary $PRIMARY
start_backend $NS_S standby $STANDBY
write_conf
out=$("$VCRD" -t -f "$CONF")
expect_eq "$out" "vcrd: configuration $CONF is valid (1 services)" "vcrd -t"
out=$("$VCRD" -t -f "$top_srcdir/conf/vcrd.conf.example")
expect_match "$out" "is valid \(4 services\)" "the shipped example"
printf 'service x {\n frontend 1.2.3.4:80\n}\n' > "$WORK/bad.conf"
out=$("$VCRD" -t -f "$WORK/bad.conf" 2>&1) && fail "vcrd -t accepted a bad file"
expect_eq "$out" "vcrd: $WORK/bad.conf:1: service 'x': missing field 'primary'" "vcrd -t bad"

out=$(vcrctl status 2>&1) && fail "vcrctl succeeded without vcrd"
expect_match "$out" "cannot reach vcrd at $SOCK: No such file or directory \(is vcrd running\?\)" "no vcrd"

start_vcrd
expect_eq "$(stat -c %a "$SOCK")" 600 "control socket mode"
st=$(vcrctl status)
expect_match "$st" '^SERVICE +STATE +ACTIVE +FRONTEND +TARGET' "header"
expect_match "$st" 'web +primary-active +primary +198.18.0.1:80 +198.18.1.2:80 +0 +20' "row"
expect_match "$st" '  primary +198.18.1.2:80 +up +HTTP 200 \([0-9.]+ ms, 0 of [0-9]+ checks failed\)' "primary line"
vcrctl_json status | "$PY" -c 'import json,sys; d=json.load(sys.stdin); s=d["services"][0]; assert s["name"]=="web" and s["standby"]["health"]=="up" and s["primary"]["checks"]>0, s' || fail "status --json"
vcrctl_json events | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["events"][0]["kind"]=="start"' || fail "events --json"
m=$(metrics)
expect_match "$m" 'vcr_service_state\{service="web",state="primary-active"\} 1' "state metric"
expect_match "$m" 'vcr_target_up\{service="web",side="standby"\} 1' "up metric"
expect_match "$m" 'vcr_check_latency_seconds\{service="web",side="primary"\} 0\.[0-9]+' "latency metric"
expect_match "$m" 'vcr_cutovers_total\{service="web"\} 0' "cut-over metric"
expect_match "$(cat "$LOG")" 'level=info event=start version=' "key=value log"
# A second vcrd on the same socket refuses to start.
out=$(ip netns exec $NS_V "$VCRD" -f "$CONF" 2>&1) && fail "second vcrd started"
expect_match "$out" "another vcrd is running" "second vcrd"
echo "PASS: vcrd -t, vcrctl status/events/--json, metrics, socket mode"
