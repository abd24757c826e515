#!/bin/bash
# Benchmark: what N idle standbys cost on one host. N warm LXD containers
# against N idle VMs of the same image (libvirt, qemu without KVM here),
# N = 4 (the paper) and 20. Measured from the processes once every
# standby answers HTTP and has been idle for 20 s:
#   memory  containers: the RSS of their processes; VMs: qemu's RSS (which
#           holds the guest's kernel and page cache too)
#   CPU     over 30 s: LXD's cgroup CPU time / qemu's utime+stime
#
#   sudo tests/bench/cost.sh          (NS="4 20", VM_MB=256)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
NS_LIST=${NS:-4 20}
KINDS=${KINDS:-ct vm}
VM_MB=${VM_MB:-256}
IDLE=${IDLE:-20}
WINDOW=${WINDOW:-30}
tb_scene
HZ=$(getconf CLK_TCK)
# All unprivileged containers share one host uid for their root, and each
# systemd takes several inotify instances: Debian's default of 128 stops
# the 16th container's init. LXD's production settings raise it; so does
# this benchmark, for its run only.
old_inotify=$(sysctl -n fs.inotify.max_user_instances)
restore_inotify() { sysctl -qw fs.inotify.max_user_instances="$old_inotify"; }
CLEANUP_HOOKS+=(restore_inotify)
[ "$old_inotify" -ge 1024 ] || sysctl -qw fs.inotify.max_user_instances=1024

# Containers: the RSS of their processes (found by their cgroup, v1 or v2),
# and the CPU time LXD's state API reports (cgroup accounting, ns).
ct_pids() { grep -l "lxc.payload.$1\b" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3; }
ct_mem() {
	local kb=0 p
	for p in $(ct_pids "$1"); do
		# (a zombie or a process gone meanwhile has no VmRSS: 0)
		kb=$(( kb + $(awk 'BEGIN {v = 0} /VmRSS/ {v = $2} END {print v}' /proc/"$p"/status 2>/dev/null) ))
	done
	echo $(( kb * 1024 ))
}
ct_cpu_us() { lxc query "/1.0/instances/$1/state" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cpu"]["usage"] / 1000)'; }
vm_pid() { pgrep -f "guest=$1,"; }
vm_mem() { echo $(( $(awk '/VmRSS/ {print $2}' /proc/"$(vm_pid "$1")"/status) * 1024 )); }
vm_cpu_us() { awk -v hz=$HZ '{print ($14 + $15) * 1000000 / hz}' /proc/"$(vm_pid "$1")"/stat; }

# measure KIND N names...: "mem_MiB cpu_percent_of_one_core"
measure() {
	local kind=$1 n=$2; shift 2
	local mem=0 c0=0 c1=0 x
	sleep "$IDLE"
	for x in "$@"; do mem=$(( mem + $(${kind}_mem "$x") )); done
	for x in "$@"; do c0=$(echo "$c0 + $(${kind}_cpu_us "$x")" | "$PY" -c 'print(eval(input()))'); done
	sleep "$WINDOW"
	for x in "$@"; do c1=$(echo "$c1 + $(${kind}_cpu_us "$x")" | "$PY" -c 'print(eval(input()))'); done
	"$PY" -c "print('%.0f %.2f' % ($mem / 1048576, ($c1 - $c0) / ($WINDOW * 1e6) * 100))"
}

printf '%-4s %-26s %12s %14s %12s\n' N standby "memory MiB" "per standby" "CPU % of 1 core" > "$WORK/table"
for n in $NS_LIST; do
	if [[ " $KINDS " == *" ct "* ]]; then
		names=()
		for i in $(seq "$n"); do
			names+=("vcr$ID-c$i")
			tb_container "vcr$ID-c$i" "198.18.8.$((100 + i))" warm
		done
		for i in $(seq "$n"); do tb_wait_http "198.18.8.$((100 + i))" 120 || fail "container $i"; done
		read -r mem cpu < <(measure ct "$n" "${names[@]}")
		printf '%-4s %-26s %12s %14s %12s\n' "$n" "LXD containers (warm)" "$mem" "$((mem / n))" \
		    "$cpu" >> "$WORK/table"
		for c in "${names[@]}"; do lxc delete -f "$c" >/dev/null 2>&1; done
		TB_CONTAINERS=()
	fi
	if [[ " $KINDS " == *" vm "* ]]; then
		names=()
		for i in $(seq "$n"); do
			names+=("vcr$ID-v$i")
			tb_vm "vcr$ID-v$i" "198.18.8.$((100 + i))" "$VM_MB"
		done
		for i in $(seq "$n"); do tb_wait_http "198.18.8.$((100 + i))" 900 || fail "VM $i"; done
		read -r mem cpu < <(measure vm "$n" "${names[@]}")
		printf '%-4s %-26s %12s %14s %12s\n' "$n" "VMs (${VM_MB} MiB, qemu TCG)" "$mem" \
		    "$((mem / n))" "$cpu" >> "$WORK/table"
		for v in "${names[@]}"; do
			$VIRSH destroy "$v" >/dev/null 2>&1
			$VIRSH undefine "$v" >/dev/null 2>&1
		done
		TB_DOMAINS=()
	fi
	cat "$WORK/table" >&2
done
echo
echo "== cost of idle standbys on this machine ($(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB)"
cat "$WORK/table"
