#!/bin/bash
# The exclusion list on a real image (the testbed's Debian 12, with a
# kernel and initramfs-tools), checked with the real rsync: the files
# rsync would copy with the collapsed rules are exactly the image's
# files minus those the file-level list excludes (one rule per file).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
need_root
command -v mmdebstrap >/dev/null || { echo "SKIP: mmdebstrap not installed"; exit 77; }
trap 'rm -rf "$WORK"' EXIT
tb_image || fail "testbed image"
EXCL=$top_builddir/vcr-exclude
root=$TB_IMG/rootfs
sh -c "$("$EXCL" -s)" sh "$root" > "$WORK/snap"
"$EXCL" -c -0 < "$WORK/snap" > "$WORK/rules" 2> "$WORK/stats" || { cat "$WORK/stats"; fail "check"; }
"$EXCL" -f -c < "$WORK/snap" > "$WORK/file-rules" 2>> "$WORK/stats" || fail "file-level check"
cat "$WORK/stats" >&2
n=$(tr -cd '\0' < "$WORK/rules" | wc -c)
nf=$(wc -l < "$WORK/file-rules")
[ "$n" -lt 200 ] || fail "collapsed list has $n rules"
[ "$nf" -gt $((n * 10)) ] || fail "collapsing saved little: $n against $nf"
grep -qx -- '- /usr/lib/modules/' "$WORK/file-rules" && fail "file-level list collapsed"
tr '\0' '\n' < "$WORK/rules" | grep -qx -- '- /usr/lib/modules/' || fail "no /usr/lib/modules/ rule"

# What rsync copies with the collapsed rules (files and links only).
mkdir "$WORK/empty"
rsync -a --dry-run --from0 --exclude-from="$WORK/rules" --out-format='%n' "$root/" "$WORK/empty/" |
	grep -v '/$' | sort > "$WORK/copied"
# What it must copy: everything but the file-level list's entries and the path rules.
(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
	-o -path ./tmp -o -path ./boot \) -prune -o ! -type d -printf '%P\n') | sort > "$WORK/all"
sed -n 's|^- /||p' "$WORK/file-rules" | sort > "$WORK/excluded"
comm -23 "$WORK/all" "$WORK/excluded" > "$WORK/want"
if ! diff -q "$WORK/want" "$WORK/copied" >/dev/null; then
	diff "$WORK/want" "$WORK/copied" | head -20 >&2
	fail "rsync with the collapsed rules does not copy exactly the kept files"
fi
echo "PASS: real image: $n collapsed rules (file-level $nf) make rsync copy exactly the $(wc -l < "$WORK/want") kept files"
