#!/bin/bash
# The LXD client against Incus (6.0, from bookworm-backports), which speaks
# the same REST API, through both transports: the warm standby's lxd block
# is Incus's unix socket, the cold one's HTTPS on the testbed bridge with a
# client certificate Incus trusts and Incus's server certificate pinned.
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

command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
INCUS_ADDR=$TB_NET.1:$((28443 + ID % 1000))
tb_mkcert incus-client
tb_https incus "$INCUS_ADDR" "$WORK/incus-client.crt" ||
	fail "Incus does not listen on $INCUS_ADDR or take the client certificate"

cat > "$CONF" <<EOC
control-socket $SOCK
state-dir $WORK/state
log-level info
lxd incus unix:/var/lib/incus/unix.socket
lxd incus-https https://$INCUS_ADDR {
	client-cert $WORK/incus-client.crt
	client-key $WORK/incus-client.key
	server-cert /var/lib/incus/server.crt
}
$(tb_ns_service warm 80 incus $CTW 198.18.8.20 warm)
$(tb_ns_service cold 81 incus-https $CTC 198.18.8.21 cold)
EOC
"$VCRD" -t -f "$CONF" >/dev/null || fail "config rejected: $("$VCRD" -t -f "$CONF" 2>&1)"
tb_start_vcrd
wait_status "container +incus/$CTW warm: Running" 15
wait_status "container +incus-https/$CTC cold: Stopped" 15
wait_for 15 "the warm standby up" status_has 'standby +198.18.8.20:80 +up'
vcrctl status | grep -E "incus(-https)?/" >&2

touch "$WORK/primary.fail"
wait_for 15 "the warm cut-over" active_is standby warm
wait_for 60 "the cold cut-over through Incus" active_is standby cold
incus info $CTC | grep -q 'Status: RUNNING' || fail "the cold container is not running"
for p in 80:$CTW 81:$CTC; do
	hdr=$(ip netns exec $NS_C curl -s -m 2 -D - -o /dev/null http://$FRONTEND:${p%%:*}/ | tr -d '\r')
	expect_match "$hdr" "X-Served-By: ${p#*:}" "the container answers on port ${p%%:*}"
done
expect_match "$(vcrctl events)" "recovery +cold +step=start container=incus-https/$CTC result=ok" "start event"
vcrctl events | grep -E "recovery|cutover" >&2
echo "PASS: Incus $(incus version | awk '/Server version/ {print $3}'): warm (unix socket) and cold (HTTPS) standbys seen, the cold one started through its API, both switched to"
