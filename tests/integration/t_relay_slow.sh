#!/bin/bash
# mode tcp: a slow client (the server sends 8 MiB, the client reads 16 KiB
# every 5 ms) keeps vcrd's memory bounded, and total-timeout ends a
# connection that lives too long even while data flows.
. "$(dirname "$0")/../lib.sh"
need_root
setup_net
ip netns exec $NS_P "$PY" "$top_srcdir/tests/digest.py" source --addr $PRIMARY --port 80 --size $((8 << 20)) &
PIDS+=($!)
ip netns exec $NS_S "$PY" "$top_srcdir/tests/digest.py" source --addr $STANDBY --port 80 --size $((8 << 20)) &
PIDS+=($!)
sleep 0.5
INTERVAL=1s TIMEOUT=500ms write_conf "mode tcp"
sed -i 's/check http {/check tcp {/; /path \/healthz/d' "$CONF"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
start_vcrd
hwm0=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
out=$(ip netns exec $NS_C "$PY" "$top_srcdir/tests/digest.py" slow-reader --addr $FRONTEND --port 80 \
    --size $((8 << 20)) --slow-ms 5 --timeout 60)
expect_eq "$out" match "8 MiB to a slow client"
hwm1=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
log "vcrd peak RSS before $hwm0 KiB, after 8 MiB to a slow client: $hwm1 KiB"
[ $((hwm1 - hwm0)) -lt 6144 ] || fail "peak RSS grew by $((hwm1 - hwm0)) KiB for a slow client"

# total-timeout 1s: the same slow transfer (over 2 s) is cut after about 1 s.
stop_vcrd
sed -i 's/^\tmode tcp$/\tmode tcp\n\ttotal-timeout 1s/' "$CONF"
start_vcrd
t0=$(date +%s%N)
out=$(ip netns exec $NS_C "$PY" "$top_srcdir/tests/digest.py" slow-reader --addr $FRONTEND --port 80 \
    --size $((8 << 20)) --slow-ms 5 --timeout 60)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_match "$out" "^MISMATCH got=" "a transfer cut by total-timeout"
[ "$ms" -lt 5000 ] || fail "total-timeout 1s let the connection live $ms ms"
echo "PASS: slow client: peak RSS +$((hwm1 - hwm0)) KiB for 8 MiB; total-timeout cut a connection after $ms ms"
