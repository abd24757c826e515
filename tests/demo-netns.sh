#!/bin/bash
# The demonstration: a protected service, its standby, a failure, the
# measured cut-over. Everything runs in network namespaces on this machine:
#
#   client 198.18.0.2 --> 198.18.0.1:80 (vcrd's frontend: nftables DNAT)
#                            |-- primary 198.18.1.2:80 (stands in for the VM)
#                            `-- standby 198.18.2.2:80 (stands in for its container)
#
# A client opens a new connection every 5 ms; after 1 s the primary's link
# goes down; the demo prints when the standby answered and what failed.
#
#   sudo tests/demo-netns.sh   (the quick variant of tests/demo.sh: no VMs)
set -e
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: sudo tests/demo-netns.sh" >&2; exit 1; }
. tests/deps.sh
install_deps
. tests/lib.sh
bench_build
set +e
need_root
setup_net
start_backend $NS_P primary $PRIMARY
start_backend $NS_S standby $STANDBY
INTERVAL=100ms TIMEOUT=80ms FALL=3 RISE=2 write_conf
cat <<EOT

== vcrd.conf
$(sed -n '/^service/,$p' "$CONF")

EOT
start_vcrd
echo "== before: vcrctl status"; vcrctl status
echo; echo "== before: nft list table inet vcrecovery"; nft_table | sed -n '/map services/,/^	}/p'
echo; echo "== client: $(client_get /)"

ip netns exec $NS_C "$PY" tests/client.py --url "http://$FRONTEND/" --seconds 4 \
    --interval-ms 5 --timeout 3 > "$WORK/client.out" &
cpid=$!
sleep 1
fault=$(date +%s.%N)
echo; echo "== $(date +%T.%3N) FAULT: the primary's link goes down (ip link set eth0 down)"
ip -n $NS_P link set eth0 down
wait $cpid
read -r gap failed total _ < <("$PY" tests/bench/gap.py "$WORK/client.out" "$fault" standby)
echo
echo "== after: vcrctl events"; vcrctl events | tail -4
echo; echo "== after: vcrctl status"; vcrctl status
echo; echo "== after: nft list table inet vcrecovery"; nft_table | sed -n '/map services/,/^	}/p'
echo
echo "== RESULT: first answer from the standby $gap ms after the fault;" \
    "$failed of $total client requests failed (one new connection every 5 ms)."
echo "   (check interval 100 ms, fall 3; vcrd's own switch: $(vcrctl_json status |
    "$PY" -c 'import json,sys; print("%.2f ms" % json.load(sys.stdin)["services"][0]["last_cutover_ms"])')" \
    "from decision to batch ACKed and conntrack cleaned)"
