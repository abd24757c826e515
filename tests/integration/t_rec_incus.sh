#!/bin/bash
# The LXD client against Incus (6.0, from bookworm-backports), which speaks
# the same REST API: vcrd's lxd block points at Incus's unix socket.
#  - a warm standby seen running, a cold one seen stopped;
#  - the primary fails: the warm container takes over at once, the cold
#    one is started through Incus's API, answers, and is switched to.
# (The primary is an HTTP server in a namespace: what is tested here is
# the API; the VMs are in the other t_rec_* tests.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
[ -x /usr/libexec/incus/incusd ] || { echo "SKIP: Incus not installed (tests/deps.sh install_incus)"; exit 77; }
tb_scene
tb_incus || fail "Incus's daemon"
CTW=vcr$ID-iw CTC=vcr$ID-ic
TB_CT_CLI=incus tb_container $CTW 198.18.8.20 warm
TB_CT_CLI=incus tb_container $CTC 198.18.8.21 cold
tb_wait_http 198.18.8.20 60 || fail "the warm Incus container does not answer"
start_backend $NS_P primary $PRIMARY

svc_block() {	# svc_block NAME PORT CONTAINER ADDR warm|cold
	cat <<EOS
service $1 {
	frontend $FRONTEND:$2
	primary $PRIMARY:80
	standby $4:80
	standby-container incus $3 $5
	check http {
		path /healthz
		interval 200ms
		timeout 150ms
		fall 3
	}
}
EOS
}
cat > "$CONF" <<EOC
control-socket $SOCK
state-dir $WORK/state
log-level info
lxd incus unix:/var/lib/incus/unix.socket
$(svc_block warm 80 $CTW 198.18.8.20 warm)
$(svc_block cold 81 $CTC 198.18.8.21 cold)
EOC
"$VCRD" -t -f "$CONF" >/dev/null || fail "config rejected: $("$VCRD" -t -f "$CONF" 2>&1)"
tb_start_vcrd
wait_status "container +incus/$CTW warm: Running" 15
wait_status "container +incus/$CTC cold: Stopped" 15
wait_for 15 "the warm standby up" status_has 'standby +198.18.8.20:80 +up'
vcrctl status | grep -E "incus/" >&2

touch "$WORK/primary.fail"
wait_for 15 "the warm cut-over" active_is standby warm
wait_for 60 "the cold cut-over through Incus" active_is standby cold
incus info $CTC | grep -q 'Status: RUNNING' || fail "the cold container is not running"
for p in 80:$CTW 81:$CTC; do
	hdr=$(ip netns exec $NS_C curl -s -m 2 -D - -o /dev/null http://$FRONTEND:${p%%:*}/ | tr -d '\r')
	expect_match "$hdr" "X-Served-By: ${p#*:}" "the container answers on port ${p%%:*}"
done
expect_match "$(vcrctl events)" "recovery +cold +step=start container=incus/$CTC result=ok" "start event"
vcrctl events | grep -E "recovery|cutover" >&2
echo "PASS: Incus $(incus version | awk '/Server version/ {print $3}'): warm and cold standbys seen, the cold one started through its API, both switched to"
