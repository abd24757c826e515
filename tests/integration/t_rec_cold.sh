#!/bin/bash
# Cold standby on real parts: the container exists but is stopped. The VM
# is destroyed: vcrd fences it, starts the container through LXD, polls
# its service fast, and switches once it answers. Then vcrd is killed in
# the middle of a second cold start and restarted: it finishes the job
# (fence again, start again: already running counts) and switches.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_scene
VM=vcr$ID-web CT=vcr$ID-web-sb
tb_vm $VM 198.18.8.10
tb_container $CT 198.18.8.20 cold
tb_wait_http 198.18.8.10 120 || fail "VM did not answer"
tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 cold)"
tb_start_vcrd
wait_status 'container +local/'"$CT"' cold: Stopped' 10
expect_eq "$(client_get /healthz)" ok "answer before the fault"

$VIRSH destroy $VM >/dev/null
wait_for 60 "the cut-over" active_is standby
expect_eq "$(client_get /healthz)" ok "answer from the cold standby"
ev=$(vcrctl events)
expect_match "$ev" "step=fence domain=$VM result=ok" "fence"
expect_match "$ev" "step=start container=local/$CT result=ok" "start"
# The container starts while the VM is fenced: whichever ends last switches.
expect_match "$ev" 'cutover +web +from=primary to=standby .*reason="(cold standby started and answering|primary down, fenced[^"]*)".*fenced=yes container_started_ms=[0-9]+' "cut-over"
expect_eq "$(lxc list -c s --format csv $CT)" RUNNING "container state"

# Back to the primary, the container stopped again: the cold standby.
$VIRSH start $VM >/dev/null
tb_wait_http 198.18.8.10 120 || fail "VM did not come back"
wait_for 10 "the primary up" status_has 'primary +198.18.8.10:80 +up'
vcrctl failback web >/dev/null || fail "failback refused"
lxc stop -f $CT >/dev/null 2>&1
wait_status 'container +local/'"$CT"' cold: Stopped' 10

# Second fault; vcrd dies while the container starts.
$VIRSH destroy $VM >/dev/null &
wait_event "step=start container=local/$CT timeout_ms" 30
stop_vcrd KILL
tb_start_vcrd
wait_for 60 "the cut-over after the restart" active_is standby
expect_eq "$(client_get /healthz)" ok "answer after the restart"
echo "PASS: cold standby started and switched to; vcrd restarted mid-start finished the job"
