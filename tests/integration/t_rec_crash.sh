#!/bin/bash
# The VM's qemu process dies (kill -9). libvirt reports the domain
# stopped (failed); vcrd takes that as the primary down at once and
# switches long before its slow probes (3 s apart, fall 3) could notice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../testbed/lib.sh"
INTERVAL=3s TIMEOUT=1s
tb_scene
tb_web
tb_conf "$(tb_service web 80 $VM 198.18.8.10 $CT 198.18.8.20 warm)"
tb_start_vcrd
wait_for 30 "both sides up" first_checks_done
pid=$(pgrep -f "guest=$VM,")
[ -n "$pid" ] || fail "no qemu process for $VM"
t0=$(date +%s%N)
kill -KILL "$pid"
# The probes alone would need at least 2 more intervals (6 s).
wait_for 5 "the cut-over on libvirt's event" active_is standby
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ev=$(vcrctl events)
expect_match "$ev" "libvirt +web +domain $VM stopped \(failed\)" "lifecycle event"
expect_match "$ev" 'check +web +side=primary target=198.18.8.10:80 health=down reason="libvirt: domain stopped"' "down from libvirt"
expect_match "$ev" 'cutover +web +from=primary to=standby .*reason="primary down, fenced \(libvirt: domain stopped\)"' "cut-over"
expect_eq "$(client_get /healthz)" ok "answer from the standby"
echo "$ev" | grep -E "fence|cutover|libvirt" >&2
echo "PASS: qemu killed -> libvirt event -> cut-over in $ms ms, without waiting for the probes"
