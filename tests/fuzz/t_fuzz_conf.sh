#!/bin/bash
# Fuzzes the configuration parser with libFuzzer (ASan + UBSan) for a
# bounded time, seeded with the shipped example. No root needed.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
SECS=${FUZZ_SECONDS:-30}
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
work=$(mktemp -d /tmp/vcrfuzz.XXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$top_srcdir/conf/vcrd.conf.example" "$work/corpus/example"
printf 'service a { frontend 198.18.0.1:80; primary 198.18.1.2:80; standby 198.18.2.2:80; check tcp }\n' > "$work/corpus/oneline"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top_srcdir/include" -D_GNU_SOURCE "$top_srcdir/proxy/conf.c" "$top_srcdir/proxy/log.c" \
    "$top_srcdir/tests/fuzz/fuzz_conf.c" -o "$work/fuzz_conf" || { echo "FAIL: build"; exit 1; }
if ! "$work/fuzz_conf" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
    "$work/corpus" > "$work/log" 2>&1; then
	tail -40 "$work/log"
	echo "FAIL: the configuration parser crashed or broke its error format (input above)"
	exit 1
fi
grep -E '^stat::(number_of_executed_units|new_units_added)' "$work/log"
echo "PASS: configuration parser fuzzed for ${SECS}s"
