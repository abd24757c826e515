#!/bin/bash
# Cut-over gap: a client opens a new connection every 5 ms (connect
# timeout 3 s); the primary's link goes down. Per run: the time from the
# fault to the first answer from the standby, and the failed requests.
# vcrd and HAProxy (primary + backup server, same check timing) alternate
# in one run on the same network and backends.
#
#   sudo tests/bench/cutover.sh [RUNS]     (default 10 each)
. "$(dirname "$0")/../lib.sh"
need_root
command -v haproxy >/dev/null || { echo "needs haproxy (apt-get install haproxy)"; exit 1; }
RUNS=${1:-10}
bench_build
setup_net
start_backend $NS_P primary $PRIMARY
start_backend $NS_S standby $STANDBY
INTERVAL=100ms TIMEOUT=80ms FALL=3 RISE=2 write_conf

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

one_run() {	# one_run vcrd|haproxy -> "gap failed total"
	local who=$1 pid out=$WORK/client.$1.out
	rm -rf "$WORK/state"
	if [ "$who" = vcrd ]; then
		start_vcrd -x
	else
		ip netns exec $NS_V haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
		pid=$!
		wait_for 5 haproxy ip netns exec $NS_C curl -sf -o /dev/null "http://$FRONTEND/"
		sleep 0.5
	fi
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" \
	    --seconds 3 --interval-ms 5 --timeout 3 > "$out" &
	local cpid=$!
	sleep 1
	local fault=$(date +%s.%N)
	ip -n $NS_P link set eth0 down
	wait $cpid
	if [ "$who" = vcrd ]; then stop_vcrd TERM; else kill $pid; wait $pid 2>/dev/null; fi
	restore_primary
	"$PY" "$top_srcdir/tests/bench/gap.py" "$out" "$fault" standby
}

: > "$WORK/vcrd.gap"; : > "$WORK/haproxy.gap"
vf=0; hf=0; vt=0; ht=0
printf '%-4s %-8s %10s %8s %8s  %s\n' run who gap_ms failed requests "failed requests started at (ms from the fault)"
for i in $(seq "$RUNS"); do
	for who in vcrd haproxy; do
		read -r gap failed total at < <(one_run $who)
		printf '%-4s %-8s %10s %8s %8s  %s\n' "$i" "$who" "$gap" "$failed" "$total" "$at"
		echo "$gap" >> "$WORK/$who.gap"
		if [ $who = vcrd ]; then vf=$((vf + failed)); vt=$((vt + total));
		else hf=$((hf + failed)); ht=$((ht + total)); fi
	done
done
read -r vmed vmax vn < <(stats "$WORK/vcrd.gap")
read -r hmed hmax hn < <(stats "$WORK/haproxy.gap")
echo
echo "cut-over gap, fault -> first answer from the standby (check interval 100 ms, fall 3; $RUNS runs each)"
printf '  %-8s median %7s ms  max %7s ms  failed %d of %d requests\n' vcrd "$vmed" "$vmax" $vf $vt
printf '  %-8s median %7s ms  max %7s ms  failed %d of %d requests\n' haproxy "$hmed" "$hmax" $hf $ht
