#!/bin/bash
# mode tcp (or MODE=http) against HAProxy 2.6 in the same mode, alternated
# on the same frontend, network and nginx backend: wrk throughput and p99
# latency with 1 KiB and 100 KiB responses (keep-alive), and memory per
# idle connection. HAProxy runs with its defaults (one thread per CPU);
# HAPROXY_NBTHREAD=1 compares it single-threaded, like vcrd. In mode http
# both add X-Forwarded-For (HAProxy: option forwardfor).
#
#   sudo [MODE=http] tests/bench/relay.sh [ROUNDS] [SECONDS]   (default 5 rounds of 5 s)
. "$(dirname "$0")/../lib.sh"
need_root
for t in wrk nginx haproxy; do command -v $t >/dev/null || { echo "needs $t (apt-get install wrk nginx-light haproxy)"; exit 1; }; done
ROUNDS=${1:-5}
SECS=${2:-5}
bench_build
setup_net
nginx_backends
ip netns exec $NS_V curl -sf -o /dev/null "http://$PRIMARY/100k" || fail "nginx /100k"
MODE=${MODE:-tcp}
INTERVAL=1s TIMEOUT=500ms write_conf "mode $MODE"
sed -i 's/check http {/check tcp {/; /path \/healthz/d' "$CONF"
cat > "$WORK/haproxy.cfg" <<EOC
global
	maxconn 8000
	${HAPROXY_NBTHREAD:+nbthread $HAPROXY_NBTHREAD}
defaults
	mode $MODE
	$([ "$MODE" = http ] && printf 'option forwardfor\n\ttimeout http-keep-alive 15s')
	timeout connect 1s
	timeout client 5m
	timeout server 5m
listen web
	bind $FRONTEND:80
	server primary $PRIMARY:80 check inter 1s
	server standby $STANDBY:80 check inter 1s backup
EOC
ulimit -n "$(ulimit -Hn)"

up() {	# up vcrd|haproxy: start it; its pid in UP_PID
	if [ "$1" = vcrd ]; then
		rm -rf "$WORK/state"; start_vcrd -x; UP_PID=$VCRD_PID
	else
		ip netns exec $NS_V haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
		UP_PID=$!
		wait_for 5 haproxy ip netns exec $NS_C curl -sf -o /dev/null "http://$FRONTEND/"
	fi
}
down() { if [ "$1" = vcrd ]; then stop_vcrd TERM; else kill "$UP_PID"; wait "$UP_PID" 2>/dev/null; fi; }

wrk_run() {	# wrk_run PATH -> "rps p99_ms"
	ip netns exec $NS_C wrk -t2 -c64 -d"${SECS}s" --latency "http://$FRONTEND$1" 2>&1 | "$PY" -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
bad = re.search(r"Non-2xx|Socket errors", t)
print("%.0f %.2f%s" % (rps, p99, " ERRORS" if bad else ""))'
}

for who in vcrd haproxy; do : > "$WORK/$who.1k"; : > "$WORK/$who.100k"; done
printf '%-6s %-8s %12s %10s %12s %10s\n' round who "1k req/s" "1k p99 ms" "100k req/s" "100k p99"
for i in $(seq "$ROUNDS"); do
	for who in vcrd haproxy; do
		up $who
		read -r r1 l1 e1 < <(wrk_run /1k)
		read -r r2 l2 e2 < <(wrk_run /100k)
		down $who
		printf '%-6s %-8s %12s %10s %12s %10s %s\n' "$i" $who "$r1" "$l1" "$r2" "$l2" "$e1$e2"
		echo "$r1 $l1" >> "$WORK/$who.1k"; echo "$r2 $l2" >> "$WORK/$who.100k"
	done
done
"$PY" - "$WORK" "$MODE" <<'EOPY'
import statistics, sys
w, mode = sys.argv[1], sys.argv[2]
def load(name):
    rows = [tuple(map(float, l.split()[:2])) for l in open("%s/%s" % (w, name))]
    return statistics.median(r for r, _ in rows), statistics.median(l for _, l in rows)
print()
print("mode %s vs HAProxy mode %s, wrk -t2 -c64 keep-alive, medians" % (mode, mode))
for size in ("1k", "100k"):
    vr, vl = load("vcrd." + size)
    hr, hl = load("haproxy." + size)
    print("  %-5s vcrd %9.0f req/s p99 %7.2f ms | haproxy %9.0f req/s p99 %7.2f ms | ratio req/s %.2f, p99 %.2f"
          % (size, vr, vl, hr, hl, vr / hr, vl / hl))
EOPY

# Memory per idle connection: 2000 idle clients held open through each.
echo
for who in vcrd haproxy; do
	up $who
	pid=$UP_PID
	sleep 0.5
	r0=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	rm -f "$WORK/ready"
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/many.py" --addr $FRONTEND -n 2000 --hold 3 \
	    --ready-file "$WORK/ready" > /dev/null &
	mp=$!
	wait_for 30 "2000 idle connections" test -s "$WORK/ready"
	sleep 1
	r1=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	wait $mp
	down $who
	"$PY" -c "print('  %-8s RSS per idle connection: %.1f KiB (%d KiB for 2000)' % ('$who', ($r1 - $r0) / 2000.0, $r1 - $r0))"
done
