#!/usr/bin/env python3
"""Reads client.py output and the fault time; prints
"gap_ms failed total failed_at max_ms": the time from the fault to the
first answer from the standby, the requests that failed (error or not
200), when each failed request started relative to the fault (ms, "-" if
none), and the longest latency of a request that succeeded.
    gap.py CLIENT_OUT FAULT_EPOCH WANT [OTHER_GOOD_ANSWERS...]"""
import sys

out, fault_epoch, want = sys.argv[1], float(sys.argv[2]), sys.argv[3]
# Answers that count as served (default: the namespace backends' bodies).
served = set(sys.argv[4:]) or {"primary", "standby"}
served.add(want)
t0 = None
first = None
failed = total = 0
failed_at = []
max_ok = 0.0
for line in open(out):
    if line.startswith("# t0_epoch"):
        t0 = float(line.split()[2])
        continue
    start, lat, ans = line.split(None, 2)
    ans = ans.strip()
    total += 1
    if ans not in served:
        failed += 1
        failed_at.append("%+.0f" % ((t0 + float(start) / 1000.0 - fault_epoch) * 1000.0))
        continue
    max_ok = max(max_ok, float(lat))
    done = t0 + (float(start) + float(lat)) / 1000.0
    if ans == want and done >= fault_epoch and (first is None or done < first):
        first = done
gap = (first - fault_epoch) * 1000.0 if first is not None else float("nan")
print("%.1f %d %d %s %.1f" % (gap, failed, total, ",".join(failed_at) or "-", max_ok))
