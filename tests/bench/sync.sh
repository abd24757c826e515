#!/bin/bash
# Benchmark: the exclusion list and the sync's rsync, on two Debian 12 trees:
#   testbed   the testbed image (a kernel and initramfs-tools)
#   server    tests/bench/server-image.sh: a server install with a generic
#             kernel, its headers, firmware and GRUB (the paper's case)
# For each tree:
#   snapshot    the one-round-trip script run locally on the tree (what
#               ssh runs on the primary: dpkg database, file lists, tree)
#   generation  vcr-exclude on the tree's snapshot: time and size,
#               collapsed against one rule per excluded file
#   unchanged   rsync -aHAX --no-inc-recursive --numeric-ids --delete of the tree into an
#               up-to-date copy, with the collapsed list and with the
#               one-per-file list (the reference), alternated
#   changed     (server) CHANGED_MB of new content written into the tree
#               (1 MB files), then the sync with the collapsed list, against
#               a plain rsync -a of only those files (the reference); each run
#               writes new content under the same names, so both copies
#               replace the previous run's files; alternated
# By default all local (no ssh): what is measured is the lists' own cost
# and rsync's walk, not a network. SSH=1 runs the snapshot, the syncs and
# the references over ssh, as vcrd does: to a private sshd on 127.0.0.1
# (its own host key, port and authorized key in the work directory,
# nothing off the machine). RUNS times each (default 5).
#
#   sudo tests/bench/sync.sh                IMAGES="testbed server" RUNS=5 CHANGED_MB=600 SSH=0
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
RUNS=${RUNS:-5}
IMAGES=${IMAGES:-testbed server}
CHANGED_MB=${CHANGED_MB:-600}
need_root
SSHD_PID=
trap '[ -n "$SSHD_PID" ] && kill $SSHD_PID; rm -rf "$WORK"' EXIT
bench_build
EXCL=$top_builddir/vcr-exclude
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
SYNC=(rsync -aHAX --no-inc-recursive --numeric-ids --delete --sparse --exclude="/var/tmp/systemd-private-*/")	# as recovery/sync.c

FROM=		# what rsync pulls from: "" (local) or "root@127.0.0.1:"
RSH=()
if [ "${SSH:-0}" = 1 ]; then
	command -v sshd >/dev/null || fail "SSH=1 needs openssh-server"
	mkdir -p -m 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/host"
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/id"
	cp "$WORK/id.pub" "$WORK/authorized_keys"
	port=$((20000 + $$ % 20000))
	/usr/sbin/sshd -D -f /dev/null -h "$WORK/host" -p $port -o ListenAddress=127.0.0.1 \
		-o AuthorizedKeysFile="$WORK/authorized_keys" -o StrictModes=no \
		-o PermitRootLogin=prohibit-password -o PidFile=none 2>"$WORK/sshd.log" &
	SSHD_PID=$!
	SSH_CMD="ssh -F /dev/null -i $WORK/id -p $port -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$WORK/known_hosts"
	for i in $(seq 50); do $SSH_CMD root@127.0.0.1 true 2>/dev/null && break; sleep 0.1; done
	$SSH_CMD root@127.0.0.1 true || { cat "$WORK/sshd.log" >&2; fail "private sshd"; }
	FROM=root@127.0.0.1:
	RSH=(-e "$SSH_CMD")
fi

row() {		# row LABEL KEY FILE
	awk -v k="$2" '$1==k {print $2}' "$3" > "$WORK/v"
	read -r med max n < <(stats "$WORK/v")
	printf '  %-44s %8.0f ms %8.0f ms\n' "$1" "$med" "$max"
}

bench_tree() {		# bench_tree NAME ROOT
	local name=$1 root=$2 r=$WORK/$1.r kind opt i t0
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		if [ -n "$FROM" ]; then
			"$EXCL" -s | $SSH_CMD root@127.0.0.1 sh -s "$root" > "$WORK/snap"
		else
			sh -c "$("$EXCL" -s)" sh "$root" > "$WORK/snap"
		fi
		echo "snapshot $(ms $t0)" >> "$r"
		t0=$(date +%s%N); "$EXCL" -0 < "$WORK/snap" > "$WORK/rules" 2>/dev/null
		echo "gen-collapsed $(ms $t0)" >> "$r"
		t0=$(date +%s%N); "$EXCL" -0 -f < "$WORK/snap" > "$WORK/frules" 2>/dev/null
		echo "gen-file $(ms $t0)" >> "$r"
	done
	local nr nf npk nent
	nr=$(tr -cd '\0' < "$WORK/rules" | wc -c)
	nf=$(tr -cd '\0' < "$WORK/frules" | wc -c)
	npk=$(ls "$root/var/lib/dpkg/info/"*.list | wc -l)
	nent=$(cat "$root/var/lib/dpkg/info/"*.list | wc -l)
	rm -rf "$WORK/copy"; mkdir "$WORK/copy"
	"${SYNC[@]}" --from0 --exclude-from="$WORK/rules" "$root/" "$WORK/copy/"
	for i in $(seq "$RUNS"); do
		for kind in collapsed file-level; do
			case $kind in
			collapsed) opt=(--from0 "--exclude-from=$WORK/rules") ;;
			file-level) opt=(--from0 "--exclude-from=$WORK/frules") ;;
			esac
			t0=$(date +%s%N)
			"${SYNC[@]}" "${RSH[@]}" "${opt[@]}" "$FROM$root/" "$WORK/copy/" >/dev/null
			echo "sync-$kind $(ms $t0)" >> "$r"
		done
	done
	echo
	echo "== $name tree: $(du -sh --exclude=./vcr-bench-changed "$root" | cut -f1), $npk packages, $nent package file entries; $RUNS runs; $([ -n "$FROM" ] && echo "over ssh to 127.0.0.1" || echo "local, no ssh")"
	printf '  %-44s %11s %11s\n' "" median max
	row "snapshot: dpkg database + tree ($([ -n "$FROM" ] && echo ssh || echo local sh))" snapshot "$r"
	row "exclusion list, collapsed ($nr rules)" gen-collapsed "$r"
	row "exclusion list, one rule per file ($nf rules)" gen-file "$r"
	row "unchanged sync, collapsed list" sync-collapsed "$r"
	row "unchanged sync, one rule per file" sync-file-level "$r"
	if [ "$name" = server ] && [ "$CHANGED_MB" -gt 0 ]; then
		local data=$root/srv/vcr-bench-changed
		mkdir -p "$data" "$WORK/plain"
		for i in $(seq "$RUNS"); do
			# New content under the same names: both copies replace
			# what the previous run left (as a sync does).
			rm -rf "$data"; mkdir -p "$data"
			head -c "${CHANGED_MB}M" /dev/urandom | (cd "$data" && split -b 1M - f)
			sync
			for kind in $( ((i % 2)) && echo vcr plain || echo plain vcr); do
				t0=$(date +%s%N)
				if [ $kind = vcr ]; then
					"${SYNC[@]}" "${RSH[@]}" --from0 --exclude-from="$WORK/rules" \
					    "$FROM$root/" "$WORK/copy/" >/dev/null
				else
					rsync -a "${RSH[@]}" "$FROM$data/" "$WORK/plain/" >/dev/null
				fi
				echo "changed-$kind $(ms $t0)" >> "$r"
			done
		done
		rm -rf "$data" "$WORK/plain"
		row "$CHANGED_MB MB changed: sync, collapsed list" changed-vcr "$r"
		row "$CHANGED_MB MB changed: plain rsync of those files" changed-plain "$r"
		awk '$1=="changed-vcr"{v[++a]=$2} $1=="changed-plain"{p[++b]=$2}
		    END { for (i = 1; i <= a; i++) printf "%.2f\n", v[i] / p[i] }' "$r" > "$WORK/v"
		read -r med max n < <(stats "$WORK/v")
		printf '  %-44s %8.2f    %8.2f\n' "ratio sync / plain (per run)" "$med" "$max"
	fi
}

for img in $IMAGES; do
	case $img in
	testbed) tb_image || fail "testbed image"; bench_tree testbed "$TB_IMG/rootfs" ;;
	server) root=$(bash "$top_srcdir/tests/bench/server-image.sh") || fail "server image"
		bench_tree server "$root" ;;
	*) fail "IMAGES: unknown image '$img' (testbed, server)" ;;
	esac
done
