#!/bin/bash
# mode http: what vcrd answers itself. Malformed and oversized requests
# get 400, 413, 431, 501 or 505 and never reach a backend; a slow head gets
# 408, a slow backend 504; a GET whose connection died before the answer
# is sent again, a POST is not (502); pipelined and kept-alive requests are
# answered in order; bodies stream both ways (chunked upload, 32 MiB
# download to a slow reader with memory bounded). None of it moves the
# service. Last, with no side up, 502 after hold-timeout.
. "$(dirname "$0")/../lib.sh"
# Freed memory back at once, so the peak RSS measures what vcrd holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
scene "mode http" "request-timeout 1s" "response-timeout 1s" "max-body-size 1m" \
    "max-header-size 4k" "hold-timeout 1500ms"
raw() { ip netns exec $NS_C "$PY" "$top_srcdir/tests/rawhttp.py" --addr $FRONTEND "$@"; }
H='Host: a\r\n'
bad() {	# bad EXPECTED REQUEST [rawhttp options]
	local want=$1 got
	shift
	got=$(raw "$@")
	[ "$got" = "$want" ] || fail "request $(printf '%q' "${@: -1}"): expected $want, got $got"
}
served() { grep -vc " /healthz$" "$WORK/primary.requests"; }
before=$(served)
bad 400 'GET / HTTP/1.1\r\n\r\n'					# no Host
bad 400 "GET / HTTP/1.1\n${H}\n"					# bare LF
bad 400 "GET / HTTP/1.1\r\n${H} folded\r\n\r\n"
bad 400 "GET / HTTP/1.1\r\nHost : a\r\n\r\n"
bad 400 "POST /sum HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
bad 400 "POST /sum HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\n"
bad 400 'GARBAGE\r\n\r\n'
bad 400 "POST /sum HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n"	# bad chunk size
bad 505 "GET / HTTP/2.0\r\n${H}\r\n"
bad 501 "POST /sum HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
bad 431 "GET / HTTP/1.1\r\n${H}\r\n" --pad 5000
bad 413 "POST /sum HTTP/1.1\r\n${H}Content-Length: 2000000\r\n\r\n"
t0=$(date +%s%N)
bad 408 "GET / HTTP/1.1\r\n${H}"					# head never ends
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ] || fail "408 after $ms ms, request-timeout is 1s"
expect_eq "$(served)" "$before" "requests that reached the primary"
log "bad requests answered by vcrd itself, none reached the backend"

bad "504" "GET /slow?ms=3000 HTTP/1.1\r\n${H}\r\n"
expect_eq "$(raw "GET /drop?id=g1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n")" 200 "GET whose first try got no answer"
expect_eq "$(grep -c '^GET /drop?id=g1$' "$WORK/primary.requests")" 2 "tries of the GET"
expect_eq "$(raw "POST /drop?id=p1 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nab")" 502 "POST whose connection died"
expect_eq "$(grep -c '^POST /drop?id=p1$' "$WORK/primary.requests")" 1 "tries of the POST (never replayed)"
log "504 for a slow backend; GET replayed, POST not"

# Pipelined and kept-alive: answered in order on one connection.
expect_eq "$(raw "GET / HTTP/1.1\r\n${H}\r\nHEAD / HTTP/1.1\r\n${H}\r\nGET /echo HTTP/1.1\r\n${H}Connection: close\r\n\r\n")" \
    "200 200 200" "three pipelined requests (HEAD in the middle)"
acc0=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["accepted"])')
out=$(ip netns exec $NS_C curl -s "http://$FRONTEND/" "http://$FRONTEND/echo" "http://$FRONTEND/")
acc1=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["accepted"])')
expect_eq "$((acc1 - acc0))" 1 "connections for three requests with keep-alive"
expect_match "$out" 'X-Forwarded-For' "the second of three kept-alive answers"
expect_eq "$(raw --half-close "GET / HTTP/1.1\r\n${H}\r\nGET /echo HTTP/1.1\r\n${H}\r\n")" "200 200" \
    "two requests from a client that half-closed after sending them"
# HTTP/1.0 with keep-alive
expect_eq "$(raw 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n')" "200 200" "HTTP/1.0 keep-alive"

# Bodies: a chunked upload (900 KiB, under max-body-size), one over it, Expect: 100-continue.
head -c 921600 /dev/urandom > "$WORK/up"
want=$(sha256sum < "$WORK/up" | cut -d' ' -f1)
got=$(ip netns exec $NS_C curl -s -T - -H 'Transfer-Encoding: chunked' "http://$FRONTEND/sum" < "$WORK/up")
expect_eq "$got" "primary 921600 $want" "chunked upload"
got=$(ip netns exec $NS_C curl -s -H 'Expect: 100-continue' --data-binary @"$WORK/up" "http://$FRONTEND/sum")
expect_eq "$got" "primary 921600 $want" "upload with Expect: 100-continue"
head -c 1200000 /dev/urandom > "$WORK/up2"
code=$(ip netns exec $NS_C curl -s -o /dev/null -w '%{http_code}' -T - -H 'Transfer-Encoding: chunked' \
    "http://$FRONTEND/sum" < "$WORK/up2")
expect_eq "$code" 413 "chunked upload over max-body-size"

# A 32 MiB chunked download to a client reading 1 MiB/s... for 4 s: memory stays bounded.
want=$("$PY" -c 'import hashlib,sys; p=bytes(range(256))*256; n=32<<20; h=hashlib.sha256(); [h.update(p) for _ in range(n//len(p))]; print(h.hexdigest())')
hwm0=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
got=$(ip netns exec $NS_C curl -s "http://$FRONTEND/big?bytes=$((32 << 20))" | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$want" "32 MiB download"
ip netns exec $NS_C curl -s --limit-rate 2M -o /dev/null --max-time 3 "http://$FRONTEND/big?bytes=$((32 << 20))" || true
hwm1=$(awk '/VmHWM/ {print $2}' /proc/$VCRD_PID/status)
log "vcrd peak RSS before $hwm0 KiB, after 32 MiB fast and a slow reader: $hwm1 KiB"
[ $((hwm1 - hwm0)) -lt 8192 ] || fail "peak RSS grew by $((hwm1 - hwm0)) KiB"

expect_eq "$(svc_field active)" primary "the service did not move"
st=$(vcrctl_json status | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["services"][0]["relay"]; print(r["rejected"], r["gateway_errors"], r["replayed"])')
log "rejected, gateway errors, replayed: $st"

# Nothing up: 502 once hold-timeout (1.5 s) has passed.
kill $PID_primary $PID_standby
wait_status 'standby +198.18.2.2:80 +down' 5
t0=$(date +%s%N)
expect_eq "$(raw "GET / HTTP/1.1\r\n${H}\r\n")" 502 "no side up"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 1300 ] || fail "502 after $ms ms, before hold-timeout 1.5s"
echo "PASS: mode http answers bad requests itself (400/413/431/501/505/408), 504 and 502 from the gateway after ${ms} ms, GET replayed and POST not, pipelining, keep-alive, bodies both ways, RSS +$((hwm1 - hwm0)) KiB"
