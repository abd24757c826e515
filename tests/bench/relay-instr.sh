#!/bin/bash
# vcrd's own work per request in mode http (or MODE=tcp), counted in
# instructions by callgrind: unlike req/s, the count does not move with the
# machine's load, so a change to the relay shows in it run after run.
# vcrd runs under callgrind (instrumented only while wrk runs), nginx
# behind it, wrk -t1 -c16 with keep-alive on /1k; printed: instructions per
# request and the functions that take most of them.
#
#   sudo [MODE=tcp] tests/bench/relay-instr.sh [SECONDS]   (default 10)
. "$(dirname "$0")/../lib.sh"
need_root
for t in wrk nginx valgrind callgrind_control callgrind_annotate; do
	command -v $t >/dev/null || { echo "needs $t (apt-get install wrk nginx-light valgrind)"; exit 1; }
done
SECS=${1:-10}
MODE=${MODE:-http}
bench_build
setup_net
nginx_backends
INTERVAL=1s TIMEOUT=500ms write_conf "mode $MODE"
sed -i 's/check http {/check tcp {/; /path \/healthz/d' "$CONF"
OUT=$WORK/callgrind.out
VCRD_WRAP="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$OUT" start_vcrd -x
ip netns exec $NS_C curl -sf -o /dev/null "http://$FRONTEND/1k" || fail "vcrd does not answer /1k"
callgrind_control -i on "$VCRD_PID" >/dev/null || fail "callgrind_control"
n=$(ip netns exec $NS_C wrk -t1 -c16 -d"${SECS}s" "http://$FRONTEND/1k" |
	awk '/requests in/ {print $1} /Non-2xx|Socket errors/ {print "ERRORS"; exit}')
callgrind_control -i off "$VCRD_PID" >/dev/null
[[ "$n" =~ ^[0-9]+$ ]] || fail "wrk: $n"
stop_vcrd TERM
total=$(callgrind_annotate "$OUT" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(/,/, "", $1); print $1}')
echo "== mode $MODE, /1k keep-alive, wrk -t1 -c16 for ${SECS}s under callgrind"
echo "  requests: $n   instructions: $total   per request: $((total / n))"
echo "  the functions with most of them (self):"
callgrind_annotate "$OUT" 2>/dev/null | awk '/file:function/ {on = 1; getline; next} on && NF' |
	head -8 | sed 's/^/    /'
