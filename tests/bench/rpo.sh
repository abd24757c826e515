#!/bin/bash
# Benchmark: the recovery point, end to end. vcrd syncs a testbed VM into
# its warm container on its own schedule; a file is written on the VM
# (ssh) at a random moment and the time until the container holds it is
# measured (polled every 100 ms in the container's root filesystem).
# With the interval I, the expected value is about I/2 + one sync's
# duration and the worst case I + one sync's duration.
#
#   sudo tests/bench/rpo.sh        INTERVALS="default 10s" RUNS=5
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
RUNS=${RUNS:-5}
INTERVALS=${INTERVALS:-default 10s}
bench_build
tb_scene
VM=vcr$ID-web CT=vcr$ID-web-sb
tb_vm $VM 198.18.8.10
tb_container $CT 198.18.8.20 warm
tb_wait_http 198.18.8.10 180 || fail "VM did not answer"
vm() { tb_ssh 198.18.8.10 "$@"; }
wait_for 60 "ssh on the VM" vm true
root=/var/lib/lxd/storage-pools/default/containers/$CT/rootfs
R=$WORK/results

for iv in $INTERVALS; do
	line=
	[ "$iv" = default ] || line=$(printf '\n\t\tinterval %s' "$iv")
	tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover manual' \
		"$(printf 'sync {\n\t\tsource root@198.18.8.10\n\t\tkey %s%s\n\t}' \
		"$TB_IMG/id_ed25519" "$line")")"
	if [ -n "${VCRD_PID:-}" ]; then
		vcrctl reload >/dev/null || fail "reload"
	else
		tb_start_vcrd
	fi
	first() { vcrctl events | grep -qE 'sync +web +ok: '; }
	wait_for 200 "the first sync" first
	# The writes land at a uniformly random point of the sync cycle
	# (interval + one sync), not just after the last sync ended.
	case $iv in default) cyc=70 ;; *s) cyc=$(( ${iv%s} + 10 )) ;; *) cyc=70 ;; esac
	for i in $(seq "$RUNS"); do
		sleep "$((RANDOM % cyc)).$((RANDOM % 10))"
		f=rpo-$iv-$i
		vm "echo $i > /var/www/html/$f" || fail "write on the VM"
		t0=$(date +%s%N)
		until [ -e "$root/var/www/html/$f" ]; do
			sleep 0.1
			[ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 600 ] || fail "$f never reached the container"
		done
		t=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "rpo-$iv $t" >> "$R"
		echo "interval $iv, run $i: the write reached the container after $t ms" >&2
	done
done
vcrctl events | grep -E 'sync +web +ok: ' | grep -oE 'took_ms=[0-9]+' | cut -d= -f2 > "$WORK/took"
read -r smed smax n < <(stats "$WORK/took")
echo
echo "== recovery point: a write on the VM until the container holds it ($RUNS runs each)"
printf '  %-34s %10s %10s\n' "" median max
for iv in $INTERVALS; do
	awk -v k="rpo-$iv" '$1==k {print $2}' "$R" > "$WORK/v"
	read -r med max n < <(stats "$WORK/v")
	label="interval $iv"; [ "$iv" = default ] && label="interval default (60 s)"
	awk -v l="$label" -v m="$med" -v x="$max" 'BEGIN { printf "  %-34s %8.1f s %8.1f s\n", l, m / 1000, x / 1000 }' 
done
awk -v m="$smed" -v x="$smax" -v n="$n" 'BEGIN {
	printf "  %-34s %8.1f s %8.1f s  (the last %d syncs in the events)\n", "one sync (snapshot + rsync)", m / 1000, x / 1000, n }' 
