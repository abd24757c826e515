#!/usr/bin/env python3
"""Reads client.py output; prints "gap_ms failed total max_ok_ms": the
longest time between two answers (the service's silence), the requests
that failed (an error, or an answer not among GOOD), how many were made,
and the slowest answer.
The first failed requests go to stderr, with what the client saw.
    silence.py CLIENT_OUT GOOD_ANSWER..."""
import sys

good = set(sys.argv[2:])
done, failed, n, maxok = [], 0, 0, 0.0
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    start, lat, ans = line.split(None, 2)
    n += 1
    if ans.strip() in good:
        done.append(float(start) + float(lat))
        maxok = max(maxok, float(lat))
    else:
        failed += 1
        if failed <= 3:
            sys.stderr.write("failed request: started at %s ms, after %s ms: %s\n" % (
                start, lat, ans.strip()))
done.sort()
gap = max((b - a for a, b in zip(done, done[1:])), default=0.0)
print("%.0f %d %d %.0f" % (gap, failed, n, maxok))
