#!/bin/bash
# Benchmark: the exclusion list and an unchanged sync, on the testbed's
# Debian 12 image (a kernel and initramfs-tools installed).
#   generation   vcr-exclude on the image's snapshot: time and size,
#                collapsed against one rule per excluded file
#   unchanged    rsync -aHAX --numeric-ids --delete of the image into an
#                up-to-date copy: with the collapsed list and with the
#                one-per-file list (the reference), alternated, RUNS times
#                (local: no ssh, so the list's own cost shows)
#
#   sudo tests/bench/sync.sh            (RUNS=5)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
RUNS=${RUNS:-5}
need_root
trap 'rm -rf "$WORK"' EXIT
bench_build
tb_image || fail "testbed image"
EXCL=$top_builddir/vcr-exclude
root=$TB_IMG/rootfs
sh -c "$("$EXCL" -s)" sh "$root" > "$WORK/snap"
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
for i in $(seq "$RUNS"); do
	t0=$(date +%s%N); "$EXCL" -0 < "$WORK/snap" > "$WORK/rules" 2>/dev/null; echo "gen-collapsed $(ms $t0)" >> "$WORK/r"
	t0=$(date +%s%N); "$EXCL" -0 -f < "$WORK/snap" > "$WORK/frules" 2>/dev/null; echo "gen-file $(ms $t0)" >> "$WORK/r"
done
nr=$(tr -cd '\0' < "$WORK/rules" | wc -c)
nf=$(tr -cd '\0' < "$WORK/frules" | wc -c)
mkdir "$WORK/copy"
rsync -aHAX --numeric-ids --delete --from0 --exclude-from="$WORK/rules" "$root/" "$WORK/copy/"
for i in $(seq "$RUNS"); do
	for kind in collapsed file-level; do
		case $kind in
		collapsed) opt=(--from0 "--exclude-from=$WORK/rules") ;;
		file-level) opt=(--from0 "--exclude-from=$WORK/frules") ;;
		esac
		t0=$(date +%s%N)
		rsync -aHAX --numeric-ids --delete "${opt[@]}" "$root/" "$WORK/copy/" >/dev/null
		echo "sync-$kind $(ms $t0)" >> "$WORK/r"
	done
done
echo
echo "== exclusion list and unchanged sync, testbed image ($(du -sh "$root" | cut -f1), $RUNS runs)"
printf '%-28s %8s %8s\n' "" median max
for k in gen-collapsed gen-file sync-collapsed sync-file-level; do
	awk -v k=$k '$1==k {print $2}' "$WORK/r" > "$WORK/v"
	read -r med max n < <(stats "$WORK/v")
	printf '%-28s %6.0f ms %6.0f ms\n' "$k" "$med" "$max"
done
echo "rules: collapsed $nr, one per file $nf"
