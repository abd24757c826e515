#!/bin/bash
# Scale: N services (default 1000) checked every second (tcp), ten of them
# every 100 ms. Reports vcrd's RSS and CPU while it checks them, and the
# time one operator cut-over takes inside vcrd (decision -> nft batch
# ACKed, and -> conntrack cleaned), over repeated failovers and failbacks.
#
#   sudo tests/bench/scale.sh [SERVICES] [CUTOVERS]
. "$(dirname "$0")/../lib.sh"
need_root
command -v nginx >/dev/null || { echo "needs nginx (apt-get install nginx-light)"; exit 1; }
N=${1:-1000}
CUTS=${2:-20}
bench_build
setup_net
nginx_backends
{
	echo "control-socket $SOCK"
	echo "state-dir $WORK/state"
	for i in $(seq 0 $((N - 1))); do
		if [ "$i" -lt 10 ]; then iv=100ms; to=80ms; else iv=1s; to=500ms; fi
		printf 'service svc-%04d {\n\tfrontend %s:%d\n\tprimary %s:80\n\tstandby %s:80\n\tcheck tcp {\n\t\tinterval %s\n\t\ttimeout %s\n\t}\n}\n' \
		    "$i" "$FRONTEND" $((10000 + i)) "$PRIMARY" "$STANDBY" "$iv" "$to"
	done
	# The one that fails for real (its primary alone stops answering).
	printf 'service svc-fail {\n\tfrontend %s:9999\n\tprimary %s:8080\n\tstandby %s:80\n\tcheck tcp {\n\t\tinterval 100ms\n\t\ttimeout 80ms\n\t}\n}\n' \
	    "$FRONTEND" "$PRIMARY" "$STANDBY"
} > "$CONF"
start_backend $NS_P primary $PRIMARY 8080
t0=$(date +%s%N)
start_vcrd
echo "started with $N services (table written, first checks done) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
echo "map elements in the kernel: $(nft_table | grep -c 'comment "svc-')"
sleep 5
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$VCRD_PID/stat; }
ucpu() { awk '{print $14}' /proc/$VCRD_PID/stat; }
c0=$(cpu); u0=$(ucpu); w0=$(date +%s%N)
sleep 10
c1=$(cpu); u1=$(ucpu); w1=$(date +%s%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/$VCRD_PID/status)
checks=$(vcrctl_json status | "$PY" -c 'import json,sys; print(sum(s["primary"]["checks"]+s["standby"]["checks"] for s in json.load(sys.stdin)["services"]))')
cpu_pct=$("$PY" -c "print('%.1f' % (100.0 * ($c1 - $c0) / $hz / (($w1 - $w0) / 1e9)))")
user_pct=$("$PY" -c "print('%.1f' % (100.0 * ($u1 - $u0) / $hz / (($w1 - $w0) / 1e9)))")
echo "vcrd RSS: $((rss / 1024)) MiB ($rss KiB); CPU while checking: $cpu_pct% of one core ($user_pct% in user space, the rest in the kernel's TCP); checks so far: $checks"

# The reference: HAProxy 2.6 running the same checks (N backends, a
# primary and a backup server each, the same intervals), measured the
# same way, while vcrd is stopped.
if command -v haproxy >/dev/null; then
	stop_vcrd TERM
	{
		printf 'global\n\tmaxconn 4000\ndefaults\n\tmode tcp\n\ttimeout connect 500ms\n\ttimeout client 10s\n\ttimeout server 10s\n'
		for i in $(seq 0 $((N - 1))); do
			if [ "$i" -lt 10 ]; then iv=100ms; to=80ms; else iv=1s; to=500ms; fi
			printf 'listen svc-%04d\n\tbind %s:%d\n\ttimeout check %s\n\tserver p %s:80 check inter %s\n\tserver s %s:80 check inter %s backup\n' \
			    "$i" "$FRONTEND" $((10000 + i)) "$to" "$PRIMARY" "$iv" "$STANDBY" "$iv"
		done
	} > "$WORK/haproxy.cfg"
	ip netns exec $NS_V haproxy -f "$WORK/haproxy.cfg" -db >/dev/null 2>&1 &
	hpid=$!
	sleep 5
	hc0=$(awk '{print $14 + $15}' /proc/$hpid/stat); hu0=$(awk '{print $14}' /proc/$hpid/stat); hw0=$(date +%s%N)
	sleep 10
	hc1=$(awk '{print $14 + $15}' /proc/$hpid/stat); hu1=$(awk '{print $14}' /proc/$hpid/stat); hw1=$(date +%s%N)
	hrss=$(awk '/VmRSS/ {print $2}' /proc/$hpid/status)
	kill $hpid; wait $hpid 2>/dev/null
	"$PY" -c "
w = ($hw1 - $hw0) / 1e9
print('haproxy (same checks) RSS: %d MiB; CPU: %.1f%% of one core (%.1f%% in user space)' % ($hrss // 1024, 100.0 * ($hc1 - $hc0) / $hz / w, 100.0 * ($hu1 - $hu0) / $hz / w))"
	start_vcrd
fi

svc=svc-$(printf %04d $((N / 2)))
for i in $(seq "$CUTS"); do
	vcrctl failover "$svc" >/dev/null || fail "failover $i"
	vcrctl failback "$svc" >/dev/null || fail "failback $i"
done
vcrctl_json events | "$PY" -c '
import json, re, statistics, sys
ev = [e["text"] for e in json.load(sys.stdin)["events"] if e["kind"] == "cutover" and "applied_us=" in e["text"]]
nft = [int(re.search(r"nft_us=(\d+)", t).group(1)) / 1000 for t in ev]
tot = [int(re.search(r"applied_us=(\d+)", t).group(1)) / 1000 for t in ev]
print("cut-overs measured: %d" % len(ev))
print("  decision -> nft batch ACKed:          median %.3f ms  max %.3f ms" % (statistics.median(nft), max(nft)))
print("  decision -> ACKed -> entries in set recent deleted (none: primary fine): median %.3f ms  max %.3f ms" % (statistics.median(tot), max(tot)))
'
echo "conntrack table: $(sysctl -n net.netfilter.nf_conntrack_buckets 2>/dev/null || echo '?') buckets, $(ip netns exec $NS_V sysctl -n net.netfilter.nf_conntrack_count 2>/dev/null || echo '?') entries in vcrd's namespace"

# Real failures: svc-fail's primary stops answering (its packets dropped)
# while a client opens a new connection to it every 5 ms. The connections
# made while it is suspect are in set recent; the cut-over deletes their
# entries by tuple, and the walk of the whole table follows.
FAILS=${FAILS:-10}
svc_json() { vcrctl_json status | "$PY" -c 'import json,sys
s = [x for x in json.load(sys.stdin)["services"] if x["name"] == "svc-fail"][0]
print(s["state"], s["last_cutover_ms"], s["last_conntrack_walk_ms"])'; }
on_standby() { svc_json | grep -q '^standby-active'; }
failed_back() { vcrctl failback svc-fail >/dev/null 2>&1; }
: > "$WORK/fail.txt"
for i in $(seq "$FAILS"); do
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND:9999/" \
	    --seconds 2 --interval-ms 5 > "$WORK/fail-client.$i" &
	cpid=$!
	sleep 0.3
	ip netns exec $NS_P nft add table inet hang
	ip netns exec $NS_P nft add chain inet hang input '{ type filter hook input priority 0; policy accept; }'
	ip netns exec $NS_P nft add rule inet hang input tcp dport 8080 drop
	wait_for 5 "svc-fail on its standby" on_standby
	sleep 0.5	# the walk runs at the next turn of the loop
	ip netns exec $NS_P nft delete table inet hang
	echo "$(svc_json) $(vcrctl events | grep -E 'svc-fail +from=primary' | tail -1 | grep -oE 'conntrack_deleted=[0-9]+')" >> "$WORK/fail.txt"
	wait $cpid
	wait_for 10 "svc-fail back on its primary" failed_back
done
"$PY" - "$WORK/fail.txt" <<'EOP'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cut = [float(r[1]) for r in rows]
walk = [float(r[2]) for r in rows]
dele = [int(r[3].split("=")[1]) for r in rows]
print("real failures of svc-fail (a new connection every 5 ms): %d" % len(rows))
print("  decision -> ACKed -> entries in set recent deleted: median %.3f ms  max %.3f ms  (entries deleted: median %d, max %d)"
      % (statistics.median(cut), max(cut), statistics.median(dele), max(dele)))
print("  the walk of the whole conntrack table after it:    median %.3f ms  max %.3f ms"
      % (statistics.median(walk), max(walk)))
EOP
