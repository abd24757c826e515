#!/bin/bash
# mode tcp (or MODE=http): 5,000 client connections open at once through
# the relay, each answered; vcrd's status counts them while they are open.
. "$(dirname "$0")/../lib.sh"
need_root
command -v nginx >/dev/null || { echo "SKIP: nginx not installed"; exit 77; }
setup_net
nginx_backends
MODE=${MODE:-tcp}
write_conf "mode $MODE"
start_vcrd
ulimit -n "$(ulimit -Hn)"
ip netns exec $NS_C "$PY" "$top_srcdir/tests/many.py" --addr $FRONTEND -n 5000 --hold 2 \
    --ready-file "$WORK/ready" > "$WORK/many.out" &
mpid=$!
wait_for 30 "5000 connections open" test -s "$WORK/ready"
expect_eq "$(cat "$WORK/ready")" 5000 "connections the client opened"
conns=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["connections"])')
expect_eq "$conns" 5000 "connections vcrd relays"
wait $mpid
expect_eq "$(cat "$WORK/many.out" | tr -d ' ')" "ok=5000failed=0" "answers"
echo "PASS: 5000 concurrent connections through the mode $MODE relay, all answered"
