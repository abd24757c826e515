#!/bin/bash
# mode tcp data path: 8 MiB each way through the relay with half-close
# (the client shuts down writing, the server answers after EOF), a slow
# server (backpressure keeps vcrd's memory bounded), and max-connections.
. "$(dirname "$0")/../lib.sh"
need_root
setup_net
ip netns exec $NS_P "$PY" "$top_srcdir/tests/digest.py" server --addr $PRIMARY --port 80 --slow-ms 5 &
PIDS+=($!)
ip netns exec $NS_S "$PY" "$top_srcdir/tests/digest.py" server --addr $STANDBY --port 80 &
PIDS+=($!)
sleep 0.5
INTERVAL=1s TIMEOUT=500ms write_conf "mode tcp" "max-connections 3"
sed -i 's/check http {/check tcp {/; /path \/healthz/d' "$CONF"
# Under ASan freed memory waits in a quarantine: turn it off, so RSS says
# what vcrd holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
start_vcrd
rss0=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
for i in 1 2 3; do
	out=$(ip netns exec $NS_C "$PY" "$top_srcdir/tests/digest.py" client --addr $FRONTEND --port 80 --size $((8 << 20)))
	expect_eq "$out" match "8 MiB through the relay with half-close ($i)"
done
rss1=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
log "vcrd peak RSS before $rss0 KiB, after three 8 MiB transfers to a slow server: $rss1 KiB"
[ $((rss1 - rss0)) -lt 6144 ] || fail "peak RSS grew by $((rss1 - rss0)) KiB: no backpressure"

# max-connections 3: three idle clients fill it; the fourth waits in the
# kernel's accept queue until one closes, and is served then.
for i in 1 2 3; do
	ip netns exec $NS_C "$PY" -c "import socket,time; s=socket.create_connection(('$FRONTEND',80)); time.sleep(3)" &
	PIDS+=($!)
done
wait_for 5 "three relayed connections" sh -c "ip netns exec $NS_V $VCRCTL_BIN -s $SOCK --json status | grep -q '\"connections\":3'"
wait_for 5 "the limit in the log" grep -q "max-connections 3 reached: not accepting" "$LOG"
out=$(ip netns exec $NS_C "$PY" "$top_srcdir/tests/digest.py" client --addr $FRONTEND --port 80 --size 1000 --timeout 10)
expect_eq "$out" match "a client beyond the limit, served once one closed"
expect_match "$(cat "$LOG")" "event=relay service=web accepting again" "accepting again"
echo "PASS: relay streams 8 MiB with half-close and backpressure (peak RSS +$((rss1 - rss0)) KiB); max-connections holds"
