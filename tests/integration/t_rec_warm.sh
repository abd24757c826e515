#!/bin/bash
# Warm standby on real parts: the primary is a libvirt VM, the standby a
# running LXD container made from the same image. The VM is destroyed
# (virsh destroy): the probes or libvirt's lifecycle event, whichever is
# first, mark the primary down; vcrd fences it (virDomainDestroy, which
# returns once the VM is really off) and switches. Also: a warm standby
# found stopped at start is started, and a service whose container does
# not exist is reported degraded at start without stopping vcrd.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_scene
VM=vcr$ID-web CT=vcr$ID-web-sb
tb_vm $VM 198.18.8.10
tb_container $CT 198.18.8.20 warm
tb_wait_http 198.18.8.20 60 || fail "container did not answer"
lxc stop -f $CT >/dev/null 2>&1		# a warm standby found stopped must be started by vcrd
tb_wait_http 198.18.8.10 120 || fail "VM did not answer"
tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm)" \
	"$(tb_service ghost 81 $VM 198.18.8.10 vcr$ID-missing 198.18.8.21 cold 'failover manual')"
tb_start_vcrd
wait_event "warm standby local/$CT is stopped: starting it" 10
wait_event "step=start container=local/$CT result=ok" 30
wait_status 'DEGRADED +local/vcr'"$ID"'-missing cold: .*not found' 10
wait_for 60 "both sides up" first_checks_done
expect_match "$(svc_field state)" '^primary-(active|suspect)$' "state before the fault"
expect_eq "$(client_get /healthz)" ok "answer before the fault"
expect_match "$(metrics)" 'vcr_standby_degraded\{service="ghost"\} 1' "metrics"

t0=$(date +%s%N)
$VIRSH destroy $VM >/dev/null
wait_for 10 "the cut-over" active_is standby
expect_eq "$(client_get /healthz)" ok "answer after the cut-over"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ev=$(vcrctl events)
expect_match "$ev" "step=fence domain=$VM result=ok" "fence"
expect_match "$ev" 'cutover +web +from=primary to=standby .*fenced=yes' "cut-over"
expect_match "$(nft_table)" "198.18.0.1 . 80 counter packets [0-9]+ bytes [0-9]+ comment \"web -> standby 198.18.8.20:80 since [^\"]+\" : 198.18.8.20 . 80" "nft map"
expect_eq "$(svc_field active ghost)" primary "ghost (standby missing) stays on its primary"
wait_event "libvirt +web +domain $VM stopped \(destroyed\)" 5
echo "PASS: warm cut-over after virsh destroy (destroy to answer seen by the test: $ms ms)"
