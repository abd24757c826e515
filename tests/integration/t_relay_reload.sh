#!/bin/bash
# Reload into and out of mode tcp, and from tcp to http on the same
# listener (a kept-alive connection opened in mode tcp stays a byte
# relay; new connections are mode http's); a relayed frontend vcrd cannot
# listen on rejects the whole reload, and nothing changes.
. "$(dirname "$0")/../lib.sh"
scene
cp "$CONF" "$WORK/dnat.conf"
sed -i 's/^}$/\tmode tcp\n}/' "$CONF"
cp "$CONF" "$WORK/tcp.conf"
expect_eq "$(vcrctl reload)" "vcrd: configuration reloaded" "to mode tcp"
expect_eq "$(svc_field mode)" tcp "mode"
expect_match "$(nft_table | sed -n '/set relayed/,/}/p')" 'elements = \{ 198.18.0.1 . 80 \}' "relayed set"
expect_eq "$(client_get /)" primary "through the relay"
expect_eq "$(vcrctl_json status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["relay"]["accepted"])')" 1 "the relay took it"

before=$(nft_map)
cat >> "$CONF" <<EOC
service elsewhere {
	frontend 198.19.9.9:80
	primary $PRIMARY:80
	standby $STANDBY:80
	mode tcp
}
EOC
out=$(vcrctl reload 2>&1) && fail "reload with an unbindable frontend accepted"
expect_eq "$out" "vcrctl: service 'elsewhere': cannot listen on 198.19.9.9:80: Cannot assign requested address" "message"
expect_eq "$(nft_map)" "$before" "table unchanged"
expect_eq "$(client_get /)" primary "traffic unchanged"

# tcp -> http, with a connection open across the reload
cp "$WORK/tcp.conf" "$CONF"
expect_eq "$(vcrctl reload)" "vcrd: configuration reloaded" "the bad reload's file undone"
ip netns exec $NS_C "$PY" - "$FRONTEND" "$WORK/fifo.out" <<'EOPY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80))
def get():
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
    d = b""
    while b"\r\n\r\n" not in d or len(d.split(b"\r\n\r\n", 1)[1]) < int(d.split(b"Content-Length: ")[1].split(b"\r\n")[0]):
        d += s.recv(65536)
    return d
a = get()
time.sleep(1.5)
b = get()
open(sys.argv[2], "w").write("%d %d\n" % (b"X-Forwarded-For" in a, b"X-Forwarded-For" in b))
EOPY
kpid=$!
sleep 0.5
sed -i 's/^\tmode tcp$/\tmode http/' "$CONF"
expect_eq "$(vcrctl reload)" "vcrd: configuration reloaded" "to mode http"
expect_eq "$(svc_field mode)" http "mode"
wait $kpid
expect_eq "$(cat "$WORK/fifo.out")" "0 0" "X-Forwarded-For on the connection opened in mode tcp (before, after)"
expect_match "$(client_get /echo)" 'X-Forwarded-For: 198.18.0.2' "a new connection in mode http"

cp "$WORK/dnat.conf" "$CONF"
expect_eq "$(vcrctl reload)" "vcrd: configuration reloaded" "back to dnat"
expect_eq "$(svc_field mode)" dnat "mode"
expect_nomatch "$(nft_table | sed -n '/set relayed/,/}/p')" 'elements' "relayed set empty"
expect_eq "$(client_get /)" primary "through DNAT again"
echo "PASS: reload into and out of mode tcp, tcp to http with a connection kept; an unbindable frontend rejects the reload whole"
