#!/bin/bash
# LXD's daemon dies, then both primaries (VMs) are destroyed.
#  - warm: its container runs without LXD's daemon, and takes over.
#  - cold: it cannot be started, so vcrd does not switch to it (no traffic
#    to a target that is down) and says so loudly; once LXD is back, the
#    container is started and the service switches.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
# Two VMs without KVM load both cores: slower answers are not failures here.
INTERVAL=500ms TIMEOUT=400ms
tb_scene
VMW=vcr$ID-w CTW=vcr$ID-w-sb VMC=vcr$ID-c CTC=vcr$ID-c-sb
tb_vm $VMW 198.18.8.10
tb_vm $VMC 198.18.8.11
tb_container $CTW 198.18.8.20 warm
tb_container $CTC 198.18.8.21 cold
tb_wait_http 198.18.8.10 180 || fail "VM $VMW did not answer"
tb_wait_http 198.18.8.11 180 || fail "VM $VMC did not answer"
tb_wait_http 198.18.8.20 60 || fail "container $CTW did not answer"
tb_conf "$(tb_service warm 80 $VMW 198.18.8.10 $CTW 198.18.8.20 warm)" \
	"$(tb_service cold 81 $VMC 198.18.8.11 $CTC 198.18.8.21 cold)"
tb_start_vcrd
wait_status "container +local/$CTC cold: Stopped" 10
wait_for 30 "the warm standby up" status_has 'standby +198.18.8.20:80 +up'

# The daemon only: each container's monitor is an "lxd forkstart" process.
pkill -KILL -f '^lxd --group'
wait_status "DEGRADED +local/$CTC cold: LXD unreachable" 15
$VIRSH destroy $VMW >/dev/null &
d=$!
$VIRSH destroy $VMC >/dev/null
wait $d
wait_for 20 "the warm cut-over" active_is standby warm
wait_event 'alert +cold +reason="primary down and the cold standby cannot be started' 20
expect_eq "$(svc_field active cold)" primary "cold service not switched"
expect_eq "$(ip netns exec $NS_C curl -s -m 1 http://$FRONTEND:80/healthz)" ok "warm service answers"

tb_services || fail "LXD did not start again"
wait_for 60 "the cold cut-over after LXD came back" active_is standby cold
expect_eq "$(ip netns exec $NS_C curl -s -m 2 http://$FRONTEND:81/healthz)" ok "cold service answers"
expect_match "$(vcrctl events)" "recovery +cold +standby container local/$CTC usable again" "recovered"
echo "PASS: LXD down: warm standby took over, cold one waited (loudly) for LXD and then took over"
