# Shared by the fuzz tests: fuzz_run NAME WHAT SOURCES... builds
# tests/fuzz/NAME.c with the sources under test (ASan + UBSan, libFuzzer)
# and runs it for FUZZ_SECONDS (30) from the seeds the caller put in
# $work/corpus. No root needed.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SECS=${FUZZ_SECONDS:-30}
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
work=$(mktemp -d /tmp/vcrfuzz.XXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"

fuzz_run() {
	local name=$1 what=$2 srcs=() f
	shift 2
	for f in "$@"; do srcs+=("$top_srcdir/$f"); done
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -I"$top_srcdir/include" -D_GNU_SOURCE "${srcs[@]}" \
	    "$top_srcdir/tests/fuzz/$name.c" -o "$work/$name" || { echo "FAIL: build"; exit 1; }
	if ! "$work/$name" -max_total_time="$SECS" -max_len=4096 -artifact_prefix="$work/" -print_final_stats=1 \
	    "$work/corpus" > "$work/log" 2>&1; then
		tail -40 "$work/log"; [ -n "${FUZZ_KEEP:-}" ] && cp "$work"/crash-* "$FUZZ_KEEP"/ 2>/dev/null
		echo "FAIL: $what crashed or broke an invariant (input above)"
		exit 1
	fi
	grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/log"
	echo "PASS: $what fuzzed for ${SECS}s"
}
