#!/bin/bash
# The LXD client over HTTPS, as for a remote standby host: LXD listens on
# the testbed bridge, trusts a client certificate made here, and vcrd pins
# LXD's own server certificate.
#  - a cold standby is seen and, when the primary fails, started through
#    HTTPS and switched to;
#  - a wrong pinned certificate and an untrusted client certificate show
#    as DEGRADED with the TLS or LXD error, verbatim, and nothing is
#    switched to those standbys.
# (The primary is an HTTP server in a namespace: what is tested here is
# the LXD transport; the VMs are in the other t_rec_* tests.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
tb_scene
CT=vcr$ID-https-sb
tb_container $CT 198.18.8.20 cold
start_backend $NS_P primary $PRIMARY

LXD_ADDR=$TB_NET.1:$((8443 + ID % 1000))
tb_mkcert client
tb_mkcert stranger
tb_https lxc "$LXD_ADDR" "$WORK/client.crt" || fail "LXD does not listen on $LXD_ADDR or take the client certificate"

lxd_block() {	# lxd_block NAME CERT SERVER_CERT
	printf 'lxd %s https://%s {\n\tclient-cert %s\n\tclient-key %s\n\tserver-cert %s\n}\n' \
		"$1" "$LXD_ADDR" "$WORK/$2.crt" "$WORK/$2.key" "$3"
}
cat > "$CONF" <<EOC
control-socket $SOCK
state-dir $WORK/state
log-level info
$(lxd_block remote client /var/lib/lxd/server.crt)
$(lxd_block wrongpin client "$WORK/stranger.crt")
$(lxd_block untrusted stranger /var/lib/lxd/server.crt)
$(tb_ns_service web 80 remote $CT 198.18.8.20 cold)
$(tb_ns_service pin 81 wrongpin $CT 198.18.8.21 cold)
$(tb_ns_service trust 82 untrusted $CT 198.18.8.22 cold)
EOC
"$VCRD" -t -f "$CONF" >/dev/null || fail "config rejected: $("$VCRD" -t -f "$CONF" 2>&1)"
tb_start_vcrd
wait_status "container +remote/$CT cold: Stopped" 15
wait_status "DEGRADED +wrongpin/$CT cold: .*(certificate|SSL)" 15
wait_status "DEGRADED +untrusted/$CT cold: .*(not authorized|Forbidden|403|certificate)" 15
vcrctl status | grep -E "remote/|wrongpin/|untrusted/" >&2

# The primary fails: the cold standby is started through HTTPS.
touch "$WORK/primary.fail"
wait_for 60 "the cold cut-over through HTTPS" active_is standby web
lxc info $CT | grep -q 'Status: RUNNING' || fail "the container is not running"
hdr=$(ip netns exec $NS_C curl -s -m 2 -D - -o /dev/null http://$FRONTEND:80/ | tr -d '\r')
expect_match "$hdr" "X-Served-By: $CT" "the container answers through the frontend"
expect_match "$(vcrctl events)" "recovery +web +step=start container=remote/$CT result=ok" "start event"
# The other two are not switched: their standby cannot be started.
expect_eq "$(svc_field active pin)" primary "pin not switched"
expect_eq "$(svc_field active trust)" primary "trust not switched"
echo "PASS: LXD over HTTPS: cold start and cut-over; wrong pin and untrusted client DEGRADED with the error"
