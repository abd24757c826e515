#!/bin/bash
# Runs every test: installs what the build and the tests need (Debian 12),
# builds with -Werror, ASan and UBSan, runs the unit tests and the root
# tests in network namespaces, and ends with "N passed, N failed".
#
#   sudo tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: run as root (it installs packages and creates network namespaces)" >&2
	exit 1
fi

. tests/deps.sh
install_deps
install_incus || echo "== Incus not installed: t_rec_incus will be skipped"

echo "== build (-Werror, ASan + UBSan)"
./autogen.sh >/dev/null 2>&1
./configure -q --enable-werror --enable-sanitizers
make clean >/dev/null
make -j"$(nproc)" >/dev/null

echo "== testbed image (built once, then cached under /var/cache/vcrecovery-testbed)"
bash tests/testbed/image.sh

echo "== make check"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
rc=0
make -j1 check || rc=$?
for f in tests/unit/*.trs tests/integration/*.trs tests/fuzz/*.trs; do
	[ -f "$f" ] || continue
	if grep -qE '^:test-result: (FAIL|ERROR)' "$f"; then
		echo "---- ${f%.trs}.log"
		tail -60 "${f%.trs}.log"
	fi
done
count() { cat tests/unit/*.trs tests/integration/*.trs tests/fuzz/*.trs 2>/dev/null | grep -cE "^:test-result: ($1)" || true; }
pass=$(count PASS)
fail=$(count 'FAIL|ERROR|XPASS')
skip=$(count SKIP)
echo "$pass passed, $fail failed, $skip skipped"
[ "$rc" = 0 ] && [ "$fail" = 0 ]
