#!/bin/bash
# Reload: a bad file is rejected whole (rules, state, traffic unchanged);
# a good one applies only the differences (an untouched service keeps its
# element, and its traffic sees no failure).
. "$(dirname "$0")/../lib.sh"
scene
before=$(nft_map)
cp "$CONF" "$WORK/good.conf"

CLIENT_INTERVAL_MS=20 client_loop 4 "$WORK/client.out"

# 1. A bad file through vcrctl reload.
sed -i 's/interval 100ms/interval 10x/' "$CONF"
out=$(vcrctl reload 2>&1) && fail "bad reload accepted"
expect_match "$out" "^vcrctl: $CONF:[0-9]+: service 'web': field 'interval': bad value '10x'" "message"
expect_eq "$(nft_map)" "$before" "table after a rejected reload"
# 2. The same through SIGHUP.
kill -HUP $VCRD_PID
sleep 0.3
expect_match "$(vcrctl events)" "reload +- +rejected, nothing changed: $CONF:[0-9]+" "SIGHUP event"
expect_eq "$(nft_map)" "$before" "table after a rejected SIGHUP"
expect_eq "$(svc_field state)" primary-active "state after rejected reloads"

# 3. A good reload that adds a service: web's element is not touched.
cp "$WORK/good.conf" "$CONF"
cat >> "$CONF" <<EOC
service api {
	frontend $FRONTEND:8080
	primary $PRIMARY:80
	standby $STANDBY:80
	check tcp
}
EOC
web_elem=$(nft_table | grep -o 'comment "web -> primary[^"]*"')
out=$(vcrctl reload)
expect_eq "$out" "vcrd: configuration reloaded" "reload"
expect_match "$(vcrctl events)" 'applied: added=1 removed=0 changed=0 unchanged=1' "diff"
expect_match "$(nft_table)" "$web_elem" "web's element kept"
expect_match "$(nft_table)" 'comment "api -> primary 198.18.1.2:80 since' "api added"
expect_eq "$(ip netns exec $NS_C curl -s --max-time 2 http://$FRONTEND:8080/)" primary "api answers"

wait $CLIENT_PID
total=$(grep -vc '^#' "$WORK/client.out")
bad=$(grep -v '^#' "$WORK/client.out" | grep -vc ' primary$')
[ "$total" -gt 100 ] || fail "client made only $total requests"
expect_eq "$bad" 0 "failed requests during reloads (of $total)"

# 4. Removing it again.
cp "$WORK/good.conf" "$CONF"
vcrctl reload >/dev/null
expect_nomatch "$(nft_table)" 'api ->' "api removed"
expect_match "$(vcrctl events)" 'applied: added=0 removed=1 changed=0 unchanged=1' "diff"
echo "PASS: bad reload rejected whole; good reload applies only the difference ($total requests, 0 failed)"
