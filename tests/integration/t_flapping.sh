#!/bin/bash
# A flapping primary with automatic failback after a 2 s hold-down: one
# cut-over while it flaps, one failback once it has been up for the hold-down.
. "$(dirname "$0")/../lib.sh"
scene "failback automatic 2s"
for i in $(seq 12); do
	touch "$WORK/primary.fail"; sleep 0.5
	rm -f "$WORK/primary.fail"; sleep 0.5
done
touch "$WORK/primary.fail"; sleep 0.5
expect_eq "$(svc_field cutovers)" 1 "cut-overs while flapping"
expect_eq "$(svc_field active)" standby "active while flapping"
rm -f "$WORK/primary.fail"
wait_answer primary 6
expect_eq "$(svc_field cutovers)" 2 "cut-overs in all"
expect_match "$(vcrctl events)" 'reason="primary up for the whole hold-down: automatic failback"' "reason"
echo "PASS: flapping primary -> one cut-over, one failback after the hold-down"
