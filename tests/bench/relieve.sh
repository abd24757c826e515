#!/bin/bash
# Benchmark: the service interruption and the time of each relieve
# strategy, on the testbed's real VMs, LXD containers and a second LXD
# server (issue 6), beside the time to boot the same service as a fresh VM.
#
# The primary VM is destroyed and its warm container takes over; a file is
# written in it. Then, while a client makes a new connection every
# CLIENT_MS (5) ms through the frontend:
#   migrate  vcrctl relieve web --to b: with ssh into the copy (LIVE=1,
#            the default) the prepared copy started with its new address,
#            the container's files synced into it live, the container
#            frozen for a final pass, the copy probed, switched to (one map
#            element), the old one deleted; LIVE=0: the container frozen,
#            the changes sent by LXD's refresh, the copy started, probed,
#            switched to;
#   vm       vcrctl relieve web --to vm: a defined VM started, the
#            container's files synced into it (live, then frozen), probed,
#            switched to as the new primary.
# Per strategy: the longest time without an answer (gap), failed requests,
# the slowest answer, the frozen window and the whole relieve as vcrd
# reports them, and whether the write is still served. The reference: a
# fresh VM of the same image, from virsh start to its first HTTP answer.
# MODE=http (or tcp) relays the clients instead of DNAT (held and, for
# idempotent requests, replayed across the switch).
# PREPARE=1 (the default) runs 'vcrctl relieve --prepare' first, while the
# service is on its primary, so that the migration sends only the changes;
# PREPARE=0 measures a whole copy (LXD's dir storage freezes the container
# for all of it; there is no copy to start first, so LIVE does not apply).
#
#   sudo tests/bench/relieve.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
INTERVAL=2s TIMEOUT=1500ms FALL=3	# the switches measured are commands, not probes
bench_build
tb_scene
CT2=vcr$ID-web-b VM2=vcr$ID-web-vm2 VM3=vcr$ID-fresh
tb_lxd2 b || fail "second LXD server"
TB_VM_DEFINE_ONLY=1 tb_vm $VM2 198.18.8.40
TB_VM_DEFINE_ONLY=1 tb_vm $VM3 198.18.8.50
TB_BOOT_S=180 tb_web
tb_conf "$(cat "$WORK/lxd2.conf")" \
	"$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover automatic' "mode ${MODE:-dnat}" \
	"$(tb_sync_block)" \
	"$(printf 'relieve {\n\t\tmigrate-to b %s 198.18.8.30:80 %s\n\t\tset-file /etc/vcr-net "198.18.8.30/24 198.18.8.1"\n\t\tpromote-to hv %s 198.18.8.40:80 root@198.18.8.40\n\t\ttimeout 5m\n\t}' \
	"$CT2" "$([ "${LIVE:-1}" = 1 ] && echo root@198.18.8.30)" "$VM2")")"
tb_start_vcrd
wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'
if [ "${PREPARE:-1}" = 1 ]; then
	vcrctl relieve web --to b --prepare >/dev/null || fail "--prepare refused"
	wait_event 'relieve +web +done: prepared' 300
	wait_for 60 "the standby up" status_has 'standby +198.18.8.20:80 +up'
fi
$VIRSH destroy $VM >/dev/null
wait_for 30 "the cut-over" active_is standby
lxc exec $CT -- sh -c 'echo "written before the relieve" > /var/www/html/rl.txt'

R=$WORK/results
: > "$R"
printf '%-8s %8s %7s %9s %10s %9s %9s %s\n' strategy gap_ms failed requests max_ok_ms frozen_ms total_ms "write served"
for to in b vm; do
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" \
	    --seconds 400 --interval-ms "${CLIENT_MS:-5}" --timeout 10 --served-by > "$WORK/client.$to" &
	cpid=$!
	sleep 2
	n0=$(vcrctl events | grep -cE 'relieve +web +(done|undone): ' || true)
	tb_relieve --to $to
	rl_end() { [ "$(vcrctl events | grep -cE 'relieve +web +(done|undone): ')" -gt "$n0" ]; }
	wait_for 400 "the relieve to $to" rl_end
	sleep 3
	kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
	vcrctl events | grep -qE 'relieve +web +done: ' || fail "relieve to $to undone"
	sw=$(vcrctl events | grep -E 'relieve +web +switched to' | tail -1)
	frozen=$(printf '%s' "$sw" | sed -nE 's/.*frozen_ms=([0-9]+).*/\1/p')
	total=$(printf '%s' "$sw" | sed -nE 's/.*total_ms=([0-9]+).*/\1/p')
	served=$(ip netns exec $NS_C curl -s -m 3 "http://$FRONTEND/rl.txt")
	read -r gap failed n maxok < <("$PY" "$top_srcdir/tests/bench/silence.py" \
	    "$WORK/client.$to" "$VM" "$CT" "$VM2")
	name=$([ $to = b ] && echo migrate || echo vm)
	ok=$([ "$served" = "written before the relieve" ] && echo yes || echo "NO ($served)")
	printf '%-8s %8s %7s %9s %10s %9s %9s %s\n' $name "$gap" "$failed" "$n" "$maxok" "${frozen:-?}" "${total:-?}" "$ok"
	echo "$name $gap $failed $n $maxok ${frozen:-0} ${total:-0} $ok" >> "$R"
	# The steps inside the frozen window, as vcrd's events tell them.
	vcrctl events | grep -E 'relieve +web +(freezing|synced into|final pass|switched to|changes since|started )' |
	    tail -4 | sed -E 's/^([^ ]+) +relieve +web +/    \1 /' | cut -c1-220
	if [ $to = b ]; then
		wait_for 60 "the moved standby up" status_has 'standby +198.18.8.30:80 +up'
		wait_for 60 "the moved container seen" status_has "container b/$CT2 warm: Running"
	fi
done

# The reference: the same service booted as a fresh VM.
t0=$(date +%s%N)
$VIRSH start $VM3 >/dev/null
tb_wait_http 198.18.8.50 300 || fail "the fresh VM did not answer"
boot_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo
echo "relieve, client every ${CLIENT_MS:-5} ms through the frontend (mode ${MODE:-dnat}), LXD dir storage, qemu without KVM, prepared copy: $([ "${PREPARE:-1}" = 1 ] && echo yes || echo no), live sync into the copy: $([ "${LIVE:-1}" = 1 ] && echo yes || echo no)"
while read -r name gap failed n maxok frozen total ok; do
	printf '  %-7s gap %s ms, %s of %s requests failed, slowest answer %s ms; frozen %s ms, whole relieve %.1f s (%.2fx a fresh VM boot); write served: %s\n' \
	    "$name" "$gap" "$failed" "$n" "$maxok" "$frozen" "$(echo "$total / 1000" | bc -l)" \
	    "$(echo "$total / $boot_ms" | bc -l)" "$ok"
done < "$R"
echo "  reference: a fresh VM of the same image, virsh start to first HTTP answer: $boot_ms ms"
