#!/usr/bin/env python3
"""Opens N connections at once to addr:port, keeps them all open, then
sends one HTTP request on each and reads each answer. Prints
"ok=N failed=N" and, with --hold SECONDS, keeps them idle that long
first (for memory per idle connection)."""
import argparse
import asyncio
import collections


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--ready-file", default="")
    a = ap.parse_args()
    sem = asyncio.Semaphore(500)  # connects in flight at once

    async def opener():
        async with sem:
            return await asyncio.wait_for(asyncio.open_connection(a.addr, a.port), 10)

    conns = await asyncio.gather(*[opener() for _ in range(a.n)], return_exceptions=True)
    errors = collections.Counter(type(c).__name__ for c in conns if isinstance(c, BaseException))
    live = [c for c in conns if not isinstance(c, BaseException)]
    if a.ready_file:
        open(a.ready_file, "w").write("%d\n" % len(live))
    if a.hold:
        await asyncio.sleep(a.hold)

    async def one(rw):
        r, w = rw
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await w.drain()
        data = await asyncio.wait_for(r.read(), 20)
        w.close()
        return data.startswith(b"HTTP/1.1 200")

    res = await asyncio.gather(*[one(c) for c in live], return_exceptions=True)
    ok = sum(1 for x in res if x is True)
    print("ok=%d failed=%d %s" % (ok, a.n - ok, dict(errors) if errors else ""))


asyncio.run(main())
