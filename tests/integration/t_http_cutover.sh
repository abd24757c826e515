#!/bin/bash
# mode http: the primary's link goes down under two clients, one opening a
# connection per request and one keeping 4 connections alive. No request
# fails, not even those already sent to the primary when it went silent:
# they had no answer yet, so at the cut-over vcrd sends them again to the
# standby. The backend sees the client's address in X-Forwarded-For.
. "$(dirname "$0")/../lib.sh"
scene "mode http"
expect_eq "$(client_get /)" primary "through the relay"
expect_eq "$(svc_field mode)" http "mode in status"
expect_match "$(nft_table | sed -n '/set relayed/,/}/p')" 'elements = \{ 198.18.0.1 . 80 \}' "relayed set"
echo=$(client_get /echo)
expect_match "$echo" '^X-Forwarded-For: 198.18.0.2$' "X-Forwarded-For at the backend"
expect_match "$echo" '^Forwarded: for=198.18.0.2;proto=http$' "Forwarded at the backend"
echo=$(ip netns exec $NS_C curl -s -H 'X-Forwarded-For: 203.0.113.7' -H 'Connection: close, X-Secret' \
    -H 'X-Secret: hop' "http://$FRONTEND/echo")
expect_match "$echo" '^X-Forwarded-For: 203.0.113.7, 198.18.0.2$' "X-Forwarded-For appended"
expect_nomatch "$echo" 'X-Secret|Connection: close' "hop-by-hop headers removed"

CLIENT_INTERVAL_MS=20 client_loop 4 "$WORK/client.out"
ip netns exec $NS_C "$PY" "$top_srcdir/tests/client.py" --url "http://$FRONTEND/" --seconds 4 \
    --interval-ms 10 --keep-alive 4 > "$WORK/ka.out" &
KA_PID=$!
sleep 1
ip -n $NS_P link set eth0 down
wait $CLIENT_PID $KA_PID
expect_match "$(nft_table)" 'comment "web -> standby 198.18.2.2:80 since' "map after"
for f in client ka; do
	total=$(grep -vc '^#' "$WORK/$f.out")
	bad=$(grep -v '^#' "$WORK/$f.out" | awk '$3 != "primary" && $3 != "standby"' | wc -l)
	sb=$(grep -v '^#' "$WORK/$f.out" | awk '$3 == "standby"' | wc -l)
	[ "$total" -gt 150 ] || fail "$f: only $total requests"
	[ "$sb" -gt 0 ] || fail "$f: no request reached the standby"
	[ "$bad" -eq 0 ] || fail "$f: $bad of $total requests failed: $(grep -v '^#' "$WORK/$f.out" | awk '$3 != "primary" && $3 != "standby"' | head -3)"
	log "$f: $total requests, $sb answered by the standby, none failed"
done
replayed=$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["replayed"])')
[ "$replayed" -ge 1 ] || fail "no request was replayed on the standby"
# the slowest keep-alive request: the one that waited for the cut-over
slow=$(grep -v '^#' "$WORK/ka.out" | sort -k2 -n -r | head -1 | awk '{print $2}')
echo "PASS: mode http cut-over: no failed request (per-request and keep-alive clients), $replayed replayed on the standby, slowest $slow ms"
