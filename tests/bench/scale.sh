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
start_nginx $NS_P primary $PRIMARY
start_nginx $NS_S standby $STANDBY
{
	echo "control-socket $SOCK"
	echo "state-dir $WORK/state"
	for i in $(seq 0 $((N - 1))); do
		if [ "$i" -lt 10 ]; then iv=100ms; to=80ms; else iv=1s; to=500ms; fi
		printf 'service svc-%04d {\n\tfrontend %s:%d\n\tprimary %s:80\n\tstandby %s:80\n\tcheck tcp {\n\t\tinterval %s\n\t\ttimeout %s\n\t}\n}\n' \
		    "$i" "$FRONTEND" $((10000 + i)) "$PRIMARY" "$STANDBY" "$iv" "$to"
	done
} > "$CONF"
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

svc=svc-$(printf %04d $((N / 2)))
for i in $(seq "$CUTS"); do
	vcrctl failover "$svc" >/dev/null || fail "failover $i"
	vcrctl failback "$svc" >/dev/null || fail "failback $i"
done
vcrctl_json events | "$PY" -c '
import json, re, statistics, sys
ev = [e["text"] for e in json.load(sys.stdin)["events"] if e["kind"] == "cutover"]
nft = [int(re.search(r"nft_us=(\d+)", t).group(1)) / 1000 for t in ev]
tot = [int(re.search(r"applied_us=(\d+)", t).group(1)) / 1000 for t in ev]
print("cut-overs measured: %d" % len(ev))
print("  decision -> nft batch ACKed:          median %.3f ms  max %.3f ms" % (statistics.median(nft), max(nft)))
print("  decision -> ACKed -> conntrack clean: median %.3f ms  max %.3f ms" % (statistics.median(tot), max(tot)))
'
echo "conntrack table size (the dump walks every bucket): $(sysctl -n net.netfilter.nf_conntrack_buckets 2>/dev/null || echo '?') buckets"
