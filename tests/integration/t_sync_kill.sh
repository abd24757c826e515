#!/bin/bash
# A sync that is killed never leaves the standby unable to start.
# The VM's disk changes (100 MB of new files, nginx's config, the page)
# before each of several syncs into its cold container; each sync's rsync
# is killed with SIGKILL at a random point of its run. Then:
#  - every killed sync is an alert, and vcrd goes on;
#  - the cold container starts and nginx in it answers;
#  - one more sync, left to finish, makes the container's files equal to
#    the VM's (the leftovers of the killed runs are gone).
# The first rounds copy into a container never started (stored as is), the
# later ones into one LXD has shifted (rsync in a user namespace).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
ROUNDS=${ROUNDS:-5}
tb_scene
VM=vcr$ID-web CT=vcr$ID-web-sb
tb_vm $VM 198.18.8.10
tb_container $CT 198.18.8.20 cold
tb_wait_http 198.18.8.10 120 || fail "VM did not answer"
vm() { tb_ssh 198.18.8.10 "$@"; }
wait_for 60 "ssh on the VM" vm true
root=/var/lib/lxd/storage-pools/default/containers/$CT/rootfs

tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 cold 'failover manual' \
	"$(printf 'sync {\n\t\tsource root@198.18.8.10\n\t\tkey %s\n\t\tinterval off\n\t\ttimeout 5m\n\t}' \
	"$TB_IMG/id_ed25519")")"
tb_start_vcrd
wait_for 30 "the primary up" status_has 'primary +198.18.8.10:80 +up'

# New content on the VM: 100 MB in 50 KB files, a new nginx header, a new page.
change() {
	vm "rm -rf /srv/bulk && mkdir -p /srv/bulk && cd /srv/bulk &&
	    head -c 100M /dev/urandom | split -b 50k - f &&
	    printf 'add_header X-Round $1 always;\n' > /etc/nginx/conf.d/round.conf &&
	    echo 'round $1' > /var/www/html/index.html"
}
# vcrd's rsync into this container (its destination: the root file system,
# or vcrd's bind mount of it for a shifted container), not one of the
# processes it forked.
rsync_pid() {
	local p pp
	for p in $(pgrep -x rsync); do
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null |
			grep -qE "containers/$CT/rootfs/|/run/vcrecovery/sync/web/root/" || continue
		pp=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ "$(ps -o comm= -p "$pp")" = rsync ] || { echo "$p"; return; }
	done
}
rsync_running() { [ -n "$(rsync_pid)" ]; }
nfailed() { vcrctl events | grep -cE 'alert +web +sync failed' || true; }

killed=0
for r in $(seq "$ROUNDS"); do
	if [ "$r" = 3 ]; then
		# From here on, the container is stored shifted (LXD shifts it at
		# its first start): the sync runs in a user namespace.
		lxc start $CT >/dev/null && lxc stop -f $CT >/dev/null || fail "start/stop $CT"
	fi
	change "$r" || fail "changing the VM's disk"
	before=$(nfailed)
	vcrctl sync web >/dev/null || fail "vcrctl sync refused (round $r)"
	wait_for 60 "rsync running (round $r)" rsync_running
	delay=$((RANDOM % 3000))
	sleep "$(printf '0.%03d' $((delay % 1000)))"; sleep $((delay / 1000))
	pid=$(rsync_pid)
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
		echo "round $r: rsync $pid killed ${delay} ms after it started" >&2
	fi
	endof() { [ "$(vcrctl events | grep -cE 'web +(ok: |sync failed)')" -ge "$r" ]; }
	wait_for 120 "the end of sync $r" endof
	[ -z "$pid" ] || [ "$(nfailed)" -gt "$before" ] || fail "round $r: killed sync not reported"
	[ -z "$pid" ] || expect_match "$(vcrctl events | grep -E 'web +sync failed' | tail -1)" \
		'rsync killed by signal 9' "round $r: the alert names the signal"
done
[ "$killed" -ge $((ROUNDS - 1)) ] || fail "only $killed of $ROUNDS syncs were killed while running"
vcrctl events | grep -E 'web +sync failed' | tail -2 >&2

# The standby starts from whatever the killed runs left.
lxc start $CT >/dev/null || fail "the cold container does not start after $killed killed syncs"
tb_wait_http 198.18.8.20 60 || fail "nginx in the container does not answer after $killed killed syncs"
hdr=$(ip netns exec $NS_V curl -s -D - -o /dev/null http://198.18.8.20/ | tr -d '\r')
expect_match "$hdr" 'HTTP/1.1 200' "the container's nginx"
lxc stop -f $CT >/dev/null

# One sync that finishes: equal to the VM, nothing left behind.
n=$(vcrctl events | grep -cE 'sync +web +ok: ' || true)
vcrctl sync web >/dev/null || fail "the last sync refused"
nf=$(nfailed)
synced() { [ "$(vcrctl events | grep -cE 'sync +web +ok: ' || true)" -gt "$n" ] ||
	[ "$(nfailed)" -gt "$nf" ]; }
wait_for 300 "the last sync" synced
[ "$(nfailed)" = "$nf" ] || fail "the last sync failed: $(vcrctl events | grep -E 'web +sync failed' | tail -1)"
expect_match "$(vcrctl events | grep -E 'sync +web +ok: ' | tail -1)" 'shifted=yes' "the last sync, into shifted storage"
sum_vm=$(vm 'cd /srv/bulk && find . -type f | sort | xargs md5sum | md5sum')
sum_ct=$(cd "$root/srv/bulk" && find . -type f | sort | xargs md5sum | md5sum)
expect_eq "$sum_ct" "$sum_vm" "the container's /srv/bulk after the last sync"
left=$(find "$root/srv" "$root/etc/nginx" "$root/var/www" -name '.*.??????' | head -3)
expect_eq "$left" "" "rsync temporary files left in the container"
expect_eq "$(cat "$root/var/www/html/index.html")" "round $ROUNDS" "the page"
echo "PASS: sync killed $killed times at random points: the cold standby starts and serves; the next sync completes"
