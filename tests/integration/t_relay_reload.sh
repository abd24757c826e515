#!/bin/bash
# Reload into and out of mode tcp; a relayed frontend vcrd cannot listen
# on rejects the whole reload, and nothing changes.
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

cp "$WORK/dnat.conf" "$CONF"
expect_eq "$(vcrctl reload)" "vcrd: configuration reloaded" "back to dnat"
expect_eq "$(svc_field mode)" dnat "mode"
expect_nomatch "$(nft_table | sed -n '/set relayed/,/}/p')" 'elements' "relayed set empty"
expect_eq "$(client_get /)" primary "through DNAT again"
echo "PASS: reload into and out of mode tcp; an unbindable frontend rejects the reload whole"
