#!/bin/bash
# Benchmark: the service interruption of a failback with sync, on the
# testbed's real VM and LXD container (issue 6).
#
# Each run: the VM is destroyed and its warm container takes over; a file
# is written in the container; the VM is started again; then, while a
# client makes a new connection every 5 ms through the frontend,
# `vcrctl failback` syncs the container's changes back (live pass, then a
# final pass with the container frozen), switches, and restarts the
# container as the warm standby. Per run: the longest time without an
# answer (gap), the failed requests, the slowest answered request, the
# frozen window and the whole failback as vcrd reports them, and whether
# the write is on the VM. RUNS=3 by default; MODE=http (or tcp) relays
# the clients instead of DNAT; CLIENT_MS=20 sends a request every 20 ms
# instead of 5 (under qemu without KVM the VM cannot serve 200 new
# connections a second, and mode http's passive detection then calls it
# down).
#
#   sudo tests/bench/failback.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
RUNS=${RUNS:-3}
# Slow checks: the VM runs under qemu without KVM, and the client's 200
# connections a second saturate it once it serves again, so tight probes
# would call it down (and fence it). The switches measured here are
# commands and libvirt events, not probes.
INTERVAL=2s TIMEOUT=1500ms FALL=3
bench_build
tb_scene
TB_BOOT_S=180 tb_web
wait_for 60 "ssh on the VM" vm true
MODE=${MODE:-dnat}
tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover automatic' "mode $MODE" \
	"$(tb_sync_block)")"
tb_start_vcrd
wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'
vcrctl sync web >/dev/null || fail "first sync refused"
wait_event 'sync +web +ok: ' 180
R=$WORK/results
: > "$R"
printf '%-4s %8s %7s %9s %10s %9s %9s %9s %9s %s\n' run gap_ms failed requests max_ok_ms frozen_ms freeze_ms final_ms total_ms "write on the VM"
for i in $(seq "$RUNS"); do
	$VIRSH destroy $VM >/dev/null
	wait_for 30 "the cut-over" active_is standby
	lxc exec $CT -- sh -c "echo 'run $i' > /var/www/html/fb-$i.txt"
	$VIRSH start $VM >/dev/null
	tb_wait_http 198.18.8.10 180 || fail "VM did not come back"
	wait_for 30 "the primary up" status_has 'primary +198.18.8.10:80 +up'
	wait_for 60 "ssh on the VM" vm true
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" \
	    --seconds 300 --interval-ms "${CLIENT_MS:-5}" --timeout 10 --served-by > "$WORK/client.$i" &
	cpid=$!
	sleep 2
	n0=$(vcrctl events | grep -cE 'failback +web +done: ' || true)
	vcrctl failback web >/dev/null || fail "failback refused"
	fb_end() { [ "$(vcrctl events | grep -cE 'failback +web +done: ')" -gt "$n0" ] ||
		vcrctl events | grep -qE 'alert +web +failback'; }
	wait_for 300 "the failback" fb_end
	sleep 3
	kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
	sw=$(vcrctl events | grep -E 'failback +web +switched to the primary' | tail -1)
	frozen=$(printf '%s' "$sw" | sed -nE 's/.*frozen_ms=([0-9]+).*/\1/p')
	total=$(printf '%s' "$sw" | sed -nE 's/.*total_ms=([0-9]+).*/\1/p')
	# the frozen window's parts: LXD's freeze, and the final pass
	freeze=$(printf '%s' "$sw" | sed -nE 's/.*\(freeze ([0-9]+)\).*/\1/p')
	final=$(vcrctl events | grep -E 'failback +web +final pass' | tail -1 |
		sed -nE 's/.*took_ms=([0-9]+).*/\1/p')
	on_vm=$(vm cat /var/www/html/fb-$i.txt 2>/dev/null || echo MISSING)
	read -r gap failed n maxok < <("$PY" "$top_srcdir/tests/bench/silence.py" \
	    "$WORK/client.$i" "$VM" "$CT")
	printf '%-4s %8s %7s %9s %10s %9s %9s %9s %9s %s\n' "$i" "$gap" "$failed" "$n" "$maxok" \
	    "${frozen:-?}" "${freeze:-?}" "${final:-?}" "${total:-?}" "$on_vm"
	echo "$gap $failed $n $maxok ${frozen:-0} ${total:-0} $([ "$on_vm" = "run $i" ] && echo 1 || echo 0)" >> "$R"
	wait_for 60 "the standby up again" status_has 'standby +198.18.8.20:80 +up'
done
echo
"$PY" - "$R" "$MODE" "${CLIENT_MS:-5}" <<'EOPY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
col = lambda k: [r[k] for r in rows]
print("failback with sync, client every %s ms through the frontend (mode %s), %d runs" % (sys.argv[3], sys.argv[2], len(rows)))
print("  gap (longest time without an answer) median %.0f ms, max %.0f ms" % (statistics.median(col(0)), max(col(0))))
print("  frozen window median %.0f ms, max %.0f ms; whole failback median %.1f s" % (
    statistics.median(col(4)), max(col(4)), statistics.median(col(5)) / 1000))
print("  failed requests %d of %d; slowest answered %.0f ms; writes on the VM after the failback: %d of %d" % (
    sum(col(1)), sum(col(2)), max(col(3)), sum(col(6)), len(rows)))
EOPY
