#!/bin/bash
# Data path: wrk through the frontend (nftables DNAT + masquerade) against
# wrk straight to the backend (the same forwarding hop, no NAT), alternated
# in one run. nginx is the backend. Keep-alive, as wrk does.
#
#   sudo tests/bench/datapath.sh [ROUNDS] [SECONDS]     (default 5 rounds of 5 s)
. "$(dirname "$0")/../lib.sh"
need_root
for t in wrk nginx; do command -v $t >/dev/null || { echo "needs $t (apt-get install wrk nginx-light)"; exit 1; }; done
ROUNDS=${1:-5}
SECS=${2:-5}
bench_build
setup_net
nginx_backends
INTERVAL=1s TIMEOUT=500ms write_conf
start_vcrd

rps() {	# rps URL -> requests/s
	ip netns exec $NS_C wrk -t2 -c64 -d"${SECS}s" --latency "$1" 2>&1 |
	    awk '/Requests\/sec/ {print $2} /Socket errors|Non-2xx/ {print "ERR " $0 > "/dev/stderr"}'
}
: > "$WORK/direct"; : > "$WORK/frontend"; : > "$WORK/ratio"
printf '%-6s %14s %14s %8s\n' round direct_rps frontend_rps ratio
for i in $(seq "$ROUNDS"); do
	d=$(rps "http://$PRIMARY/1k")
	f=$(rps "http://$FRONTEND/1k")
	r=$("$PY" -c "print('%.3f' % ($f / $d))")
	printf '%-6s %14s %14s %8s\n' "$i" "$d" "$f" "$r"
	echo "$d" >> "$WORK/direct"; echo "$f" >> "$WORK/frontend"; echo "$r" >> "$WORK/ratio"
done
read -r dmed dmax _ < <(stats "$WORK/direct")
read -r fmed fmax _ < <(stats "$WORK/frontend")
rmin=$(sort -n "$WORK/ratio" | head -1)
read -r rmed _ _ < <("$PY" -c "
import statistics,sys; v=[float(x) for x in open('$WORK/ratio')]; print('%.3f 0 0' % statistics.median(v))")
echo
echo "data path, 1 KiB responses, wrk -t2 -c64, $ROUNDS rounds of ${SECS}s alternated"
echo "  direct   median $dmed req/s (max $dmax)"
echo "  frontend median $fmed req/s (max $fmax)"
echo "  ratio frontend/direct: median $rmed, worst $rmin"
grep -o 'web -> primary[^"]*" : [0-9. ]*' <(nft_table) >/dev/null || fail "traffic did not go through the map"
nft_table | grep -o 'counter packets [0-9]* bytes [0-9]*' | sed 's/^/  map element /'
