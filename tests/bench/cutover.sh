#!/bin/bash
# Cut-over gap: a client opens a new connection every 5 ms (connect
# timeout 3 s); the primary's link goes down. Per run: the time from the
# fault to the first answer from the standby, the failed requests, and the
# longest latency of a request that succeeded. vcrd in mode dnat, tcp and
# http, and HAProxy in mode http (primary + backup server, same check
# timing) alternate in one run on the same network and backends.
# KEEPALIVE=N: N kept-alive connections instead, each sending a request
# every N x 5 ms (what browsers and HTTP client libraries do).
#
#   sudo tests/bench/cutover.sh [RUNS]     (default 10 each)
#   WHO="vcrd-dnat" sudo tests/bench/cutover.sh 20    (only some of them)
. "$(dirname "$0")/../lib.sh"
need_root
command -v haproxy >/dev/null || { echo "needs haproxy (apt-get install haproxy)"; exit 1; }
RUNS=${1:-10}
bench_build
setup_net
start_backend $NS_P primary $PRIMARY
start_backend $NS_S standby $STANDBY
INTERVAL=100ms TIMEOUT=80ms FALL=3 RISE=2 write_conf
cp "$CONF" "$WORK/dnat.conf"
# Tuned like the HAProxy reference: a 100 ms connect timeout, so live
# traffic finds a black-holed primary before the probes do.
INTERVAL=100ms TIMEOUT=80ms FALL=3 RISE=2 write_conf "mode tcp" "connect-timeout 100ms"
cp "$CONF" "$WORK/tcp.conf"
INTERVAL=100ms TIMEOUT=80ms FALL=3 RISE=2 write_conf "mode http" "connect-timeout 100ms"
cp "$CONF" "$WORK/http.conf"

cat > "$WORK/haproxy.cfg" <<EOC
global
	maxconn 8000
defaults
	mode http
	timeout client 10s
	timeout server 10s
	# Tuned for fast failover: short connect timeout, retries that
	# redispatch, and live traffic errors marking the server down.
	timeout connect 100ms
	retries 3
	option redispatch 1
backend web
	option httpchk GET /healthz
	default-server inter 100ms fastinter 100ms downinter 100ms fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down
	timeout check 80ms
	server primary $PRIMARY:80 check
	server standby $STANDBY:80 check backup
frontend fe
	bind $FRONTEND:80
	default_backend web
EOC

restore_primary() {
	ip -n $NS_P link set eth0 up
	ip -n $NS_P route replace default via 198.18.1.1
	wait_for 10 "primary reachable" ip netns exec $NS_V curl -sf -o /dev/null "http://$PRIMARY/healthz"
}

one_run() {	# one_run vcrd-dnat|vcrd-tcp|vcrd-http|haproxy -> "gap failed total at max"
	local who=$1 pid out=$WORK/client.$1.out
	rm -rf "$WORK/state"
	if [ "$who" != haproxy ]; then
		cp "$WORK/${who#vcrd-}.conf" "$CONF"
		start_vcrd -x
	else
		ip netns exec $NS_V haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
		pid=$!
		wait_for 5 haproxy ip netns exec $NS_C curl -sf -o /dev/null "http://$FRONTEND/"
		sleep 0.5
	fi
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" \
	    --seconds 3 --interval-ms 5 --timeout 3 ${KEEPALIVE:+--keep-alive $KEEPALIVE} > "$out" &
	local cpid=$!
	sleep 1
	local fault=$(date +%s.%N)
	ip -n $NS_P link set eth0 down
	wait $cpid
	if [ "$who" != haproxy ]; then
		stop_vcrd TERM
		# vcrd's own errors during the run go with the results
		grep -E 'level=(warn|error)' "$LOG" | sed "s/^/# $who: /" >&2
		: > "$LOG"
	else kill $pid; wait $pid 2>/dev/null; fi
	restore_primary
	"$PY" "$top_srcdir/tests/bench/gap.py" "$out" "$fault" standby
}

: > "$WORK/totals"
printf '%-4s %-9s %10s %8s %8s %10s  %s\n' run who gap_ms failed requests max_ok_ms "failed requests started at (ms from the fault)"
for i in $(seq "$RUNS"); do
	for who in ${WHO:-vcrd-dnat vcrd-tcp vcrd-http haproxy}; do
		read -r gap failed total at maxok < <(one_run $who)
		printf '%-4s %-9s %10s %8s %8s %10s  %s\n' "$i" "$who" "$gap" "$failed" "$total" "$maxok" "$at"
		echo "$who $gap $failed $total $maxok" >> "$WORK/totals"
	done
done
echo
echo "cut-over, fault -> first answer from the standby (check interval 100 ms, timeout 80 ms, fall 3; $RUNS runs each${KEEPALIVE:+; $KEEPALIVE kept-alive connections})"
"$PY" - "$WORK/totals" <<'EOPY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for who in ("vcrd-dnat", "vcrd-tcp", "vcrd-http", "haproxy"):
    r = [x for x in rows if x[0] == who]
    if not r:
        continue
    gaps = [float(x[1]) for x in r]
    print("  %-9s gap median %7.1f ms  max %7.1f ms | failed %d of %d requests | slowest answered request %.0f ms"
          % (who, statistics.median(gaps), max(gaps), sum(int(x[2]) for x in r),
             sum(int(x[3]) for x in r), max(float(x[4]) for x in r)))
EOPY
