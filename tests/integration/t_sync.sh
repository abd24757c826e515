#!/bin/bash
# Disk sync on real parts: the primary VM's disk is copied into its warm,
# unprivileged LXD container (stored shifted by LXD) with vcrd's
# exclusion list, over ssh with the image's key.
#  - a file added, one changed, one removed and one whose owner changed on
#    the VM show up in the container after one `vcrctl sync`, with the
#    owners the VM has as seen inside the container (shifted on disk);
#  - the container keeps its own identity (hostname, network config);
#  - a changed nginx config reloads nginx in the container;
#  - a primary that cannot be reached and a key that is refused give a
#    clear error and leave the standby as it was;
#  - a planned failover (vcrctl failover) runs a final sync first, so the
#    container serves what the VM wrote just before; a failing final sync
#    keeps the service on the primary.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
tb_scene
VM=vcr$ID-web CT=vcr$ID-web-sb CT2=vcr$ID-other-sb
tb_vm $VM 198.18.8.10
tb_container $CT 198.18.8.20 warm
tb_container $CT2 198.18.8.21 cold
tb_wait_http 198.18.8.10 120 || fail "VM did not answer"
tb_wait_http 198.18.8.20 60 || fail "container did not answer"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/wrong_key"
vm() { tb_ssh 198.18.8.10 "$@"; }
ct() { lxc exec $CT -- "$@"; }
wait_for 60 "ssh on the VM" vm true

sync_block() {
	printf 'sync {\n\t\tsource %s\n\t\tkey %s\n\t\tinterval off\n\t\ttimeout 2m\n\t}' "$1" "$2"
}
write_tb_conf() {
	tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm 'failover manual' \
		"$(sync_block root@198.18.8.10 "$TB_IMG/id_ed25519")")" \
		"$(tb_service other 81 $VM 198.18.8.10 $CT2 198.18.8.21 cold 'failover manual' \
		"$(sync_block "$1" "$2")")"
}
write_tb_conf root@198.18.8.99 "$TB_IMG/id_ed25519"
tb_start_vcrd
wait_for 30 "both sides up" status_has 'standby +198.18.8.20:80 +up'

# Changes on the primary.
vm 'mkdir -p /srv/data && echo added > /srv/data/new.txt &&
    echo changed > /var/www/html/index.html &&
    rm /var/www/html/index.nginx-debian.html &&
    echo www > /srv/data/owned.txt && chown www-data:www-data /srv/data/owned.txt &&
    printf "add_header X-Sync-Test v2 always;\n" > /etc/nginx/conf.d/synctest.conf'
expect_eq "$(ct cat /var/www/html/index.html)" "vcr-testbed page" "container before the sync"
before_hostname=$(ct cat /etc/hostname)

vcrctl sync web >/dev/null || fail "vcrctl sync refused"
wait_event 'sync +web +ok: ' 120
ev=$(vcrctl events | grep -E 'sync +web +ok')
expect_match "$ev" 'shifted=yes' "the container is stored shifted"
expect_match "$ev" 'restarted="nginx.service"' "nginx restarted"
expect_eq "$(ct cat /srv/data/new.txt)" added "added file"
expect_eq "$(ct cat /var/www/html/index.html)" changed "changed file"
ct test ! -e /var/www/html/index.nginx-debian.html || fail "removed file still there"
expect_eq "$(ct stat -c %u:%g /srv/data/owned.txt)" "$(vm stat -c %u:%g /srv/data/owned.txt)" \
	"owner inside the container"
expect_eq "$(ct stat -c %A /usr/bin/passwd)" "$(vm stat -c %A /usr/bin/passwd)" "setuid bit"
root=/var/lib/lxd/storage-pools/default/containers/$CT/rootfs
host_uid=$(stat -c %u "$root/srv/data/owned.txt")
[ "$host_uid" -gt 33 ] || fail "on disk the owner should be shifted, is $host_uid"
expect_eq "$(ct cat /etc/hostname)" "$before_hostname" "container keeps its hostname"
expect_eq "$(ct cat /etc/vcr-net)" "198.18.8.20/24 198.18.8.1" "container keeps its network config"
hdr=$(ip netns exec $NS_V curl -s -D - -o /dev/null http://198.18.8.20/ | tr -d '\r')
expect_match "$hdr" 'X-Sync-Test: v2' "nginx reloaded with the new config"
expect_match "$(vcrctl status)" 'sync +from root@198.18.8.10: last .*, ok, ' "status"
vcrctl status | grep -E '^web|sync +from' >&2
expect_match "$(metrics)" 'vcr_sync_files_changed\{service="web"\} [1-9]' "metrics"

# A second sync: only what the running VM wrote meanwhile (its journal,
# logs), so few files and no restart.
vcrctl sync web >/dev/null || fail "second sync refused"
two_syncs() { [ "$(vcrctl events | grep -cE 'sync +web +ok')" -ge 2 ]; }
wait_for 60 "the second sync" two_syncs
expect_match "$(vcrctl events | grep -E 'sync +web +ok' | tail -1)" \
	'files_changed=[0-9] deleted=[0-9] .*restarted=""' "second sync"

# The other service: an unreachable primary, then a refused key.
marker=$(stat -c %Y "$root/etc/passwd")
vcrctl sync other >/dev/null || fail "sync other refused"
wait_event 'alert +other +sync failed: primary root@198.18.8.99: ssh: connect to host 198.18.8.99' 30
write_tb_conf root@198.18.8.10 "$WORK/wrong_key"
vcrctl reload >/dev/null || fail "reload"
vcrctl sync other >/dev/null || fail "sync other refused (2)"
wait_event 'alert +other +sync failed: primary root@198.18.8.10: .*Permission denied' 30
lxc info $CT2 | grep -q 'Status: STOPPED' || fail "the cold standby should be untouched"
expect_eq "$(stat -c %Y "$root/etc/passwd")" "$marker" "web's container untouched"

# Planned failover of "other" (its key is refused): the final sync fails,
# the service stays on the primary.
out=$(vcrctl failover other) || fail "failover other: $out"
expect_match "$out" 'final sync running' "vcrctl failover answers at once"
wait_event 'alert +other +planned failover not carried out: its final sync failed' 30
expect_eq "$(svc_field active other)" primary "other stays on the primary"

# Planned failover of web: a write on the VM just before reaches the
# container through the final sync, then the cut-over (a healthy primary
# is not fenced).
vm 'echo "written before the planned failover" > /var/www/html/index.html'
out=$(vcrctl failover web) || fail "failover web: $out"
expect_match "$out" 'final sync running' "failover web"
wait_for 120 "the planned failover" active_is standby
evs=$(vcrctl events | grep -E ' web ')
expect_match "$evs" 'final sync before the planned failover started|final sync first \(started\)' "final sync started"
expect_match "$evs" 'command +web +final sync done: failover' "final sync done, then the failover"
# The order: the final sync's ok, then the cut-over.
order=$(echo "$evs" | grep -oE 'sync +web +ok|final sync done|cutover' | tail -3 | tr '\n' ' ')
expect_match "$order" 'ok.*final sync done.*cutover' "order of events"
body=$(ip netns exec $NS_C curl -s -m 2 http://$FRONTEND/)
expect_eq "$body" "written before the planned failover" "the container serves the last write"
echo "PASS: sync: added/changed/removed/owner in the container, nginx reloaded, errors clear, final sync before a planned failover"
