#!/bin/bash
# Benchmark: recovery on the testbed's real VMs and LXD containers.
#
#   warm      virsh destroy of the primary VM -> first answer from the
#             running container (fencing on: the switch waits until
#             libvirt says the VM is off)
#   warm-nofence   the same with 'fencing off' (detection + switch only)
#   warm-crash     the VM's qemu is killed (kill -9): libvirt's event
#   warm-hang      the VM hangs (virsh suspend): the probes fail, the
#                  fencing's pause is a no-op, the power-off follows the switch
#   warm-split     the VM's network is cut (its tap down) while it runs:
#                  the case fencing is for; the pause takes milliseconds
#   cold      virsh destroy -> container started, answering, switched
#   reference VM boot: virsh start of the same image -> first answer (the
#             conventional cold standby), measured at every restart here
#   reference virsh destroy: how long libvirt takes to power a VM off
#
# A client makes a new connection every 5 ms through the frontend and
# records which machine answered (X-Served-By). Prints each run, then
# median and max per kind.  RUNS=5 and KINDS="warm warm-nofence warm-crash
# cold" by default.
#
#   sudo tests/bench/recovery.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
RUNS=${RUNS:-5}
INTERVAL=100ms TIMEOUT=80ms FALL=3
bench_build
tb_scene
VM=vcr$ID-web CTW=vcr$ID-warm CTC=vcr$ID-cold
tb_vm $VM 198.18.8.10
tb_container $CTW 198.18.8.20 warm
tb_container $CTC 198.18.8.21 cold
tb_wait_http 198.18.8.10 180 || fail "VM did not answer"
tb_wait_http 198.18.8.20 60 || fail "container did not answer"
# A VM just booted (qemu without KVM) answers slowly for a while: three
# answers slower than the checks' 80 ms would be a failure, fenced.
fast() { for _ in 1 2 3 4 5 6 7 8 9 10; do ip netns exec "$NS_V" curl -s -m 0.08 -o /dev/null http://198.18.8.10/healthz || return 1; sleep 0.1; done; }
settle() { wait_for 120 "the VM answering within 80 ms" fast; }
settle
R=$WORK/results
: > "$R"

# set_conf KIND: one service "web", its standby and fencing per kind
set_conf() {
	case $1 in
	warm|warm-crash|warm-hang|warm-split) tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CTW 198.18.8.20 warm)" ;;
	warm-nofence) tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CTW 198.18.8.20 warm 'fencing off')" ;;
	cold) tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CTC 198.18.8.21 cold)" ;;
	esac
}

# The VM back, vcrd back on it, the cold container stopped.
restore() {
	local t0 st
	# The fencing's power-off follows the switch.
	off_or_running() { case "$($VIRSH domstate $VM)" in running|"shut off") ;; *) false ;; esac; }
	wait_for 30 "the VM powered off" off_or_running
	if [ "$($VIRSH domstate $VM)" != running ]; then
		t0=$(date +%s%N)
		$VIRSH start $VM >/dev/null
		tb_wait_http 198.18.8.10 180 || fail "VM did not come back"
		echo "vm-boot $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$R"
		settle
	fi
	lxc stop -f $CTC >/dev/null 2>&1
	st=$(svc_field active 2>/dev/null || true)
	if [ "$st" = standby ]; then
		wait_for 20 "the primary up" status_has 'primary +198.18.8.10:80 +up'
		vcrctl failback web >/dev/null || fail "failback refused"
	fi
}

one_run() {
	local kind=$1 want fault out=$WORK/client.$1.out pid
	want=$([ "$kind" = cold ] && echo $CTC || echo $CTW)
	wait_for 30 "both sides checked" first_checks_done
	wait_for 30 "the primary up" status_has 'primary +198.18.8.10:80 +up'
	ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --served-by \
	    --url "http://$FRONTEND/healthz" --seconds 12 --interval-ms 5 --timeout 5 > "$out" &
	pid=$!
	sleep 1
	fault=$(date +%s.%N)
	if [ "$kind" = warm-crash ]; then
		kill -KILL "$(pgrep -f "guest=$VM,")"
	elif [ "$kind" = warm-hang ]; then
		$VIRSH suspend $VM >/dev/null
	elif [ "$kind" = warm-split ]; then
		ip link set "$(tb_tap $VM)" down
	else
		t0=$(date +%s%N)
		$VIRSH destroy $VM >/dev/null
		echo "virsh-destroy $(( ($(date +%s%N) - t0) / 1000000 ))" >> "$R"
	fi
	wait_for 30 "the cut-over" active_is standby
	wait "$pid"
	vcrctl events | grep -E 'step=(fence|power-off) .*result=' | tail -2 | sed 's/^/    /' >&2
	read -r gap failed total _ maxok < <("$PY" "$top_srcdir/tests/bench/gap.py" "$out" \
	    "$fault" "$want" "$VM")
	printf '%-14s fault -> first answer from the container %7.0f ms   failed %d/%d\n' \
	    "$kind" "$gap" "$failed" "$total" >&2
	echo "$kind $gap $failed $total" >> "$R"
}

KINDS=${KINDS:-warm warm-nofence warm-crash cold}
for kind in $KINDS; do
	set_conf $kind
	[ -n "$VCRD_PID" ] && stop_vcrd
	rm -rf "$WORK/state"
	tb_start_vcrd
	for i in $(seq "$RUNS"); do
		one_run $kind
		restore
	done
done

echo
echo "== recovery on this machine ($(nproc) cores, qemu without KVM), $RUNS runs each"
printf '%-34s %9s %9s %s\n' "" "median" "max" "failed requests"
for kind in $KINDS; do
	awk -v k=$kind '$1==k {print $2}' "$R" > "$WORK/v"
	read -r med max n < <(stats "$WORK/v")
	f=$(awk -v k=$kind '$1==k {f+=$3; t+=$4} END {printf "%d/%d", f, t}' "$R")
	printf '%-34s %7.0f ms %7.0f ms %s\n' "$kind (fault -> container answers)" "$med" "$max" "$f"
done
for ref in vm-boot virsh-destroy; do
	awk -v k=$ref '$1==k {print $2}' "$R" > "$WORK/v"
	read -r med max n < <(stats "$WORK/v")
	printf '%-34s %7.0f ms %7.0f ms (n=%d)\n' "reference: $ref" "$med" "$max" "$n"
done
