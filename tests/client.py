#!/usr/bin/env python3
"""A client that opens a new connection for every request, at a fixed
rate, and prints one line per request: start (ms since launch), the
latency in ms, and the answer (or the error). Used by tests and benchmarks
to see what a tenant sees during a cut-over. With --keep-alive N, N
connections instead, each sending its requests one after the other on the
same connection (reconnecting only after an error), as browsers and
HTTP client libraries do."""
import argparse
import http.client
import socket
import sys
import threading
import time
import urllib.parse


def one(host, port, path, timeout, served_by=False):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.settimeout(timeout)
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head else "none"
    if status != "200":
        return "HTTP" + status
    if served_by:
        # Which machine answered: the testbed's nginx names itself.
        for h in head.split(b"\r\n")[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"x-served-by":
                return v.strip().decode()
        return "unnamed"
    return body.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--interval-ms", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--served-by", action="store_true",
                    help="print the X-Served-By header instead of the body")
    ap.add_argument("--keep-alive", type=int, default=0, metavar="N")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    lock = threading.Lock()
    t0 = time.monotonic()
    print("# t0_epoch %.6f" % (time.time() - (time.monotonic() - t0)))
    sys.stdout.flush()
    threads = []

    def out(start, ans):
        lat = (time.monotonic() - t0 - start) * 1000
        with lock:
            print("%.1f %.1f %s" % (start * 1000, lat, ans))
            sys.stdout.flush()

    def keeper(k):
        conn = None
        n = 0
        while True:
            start = (n * args.keep_alive + k) * args.interval_ms / 1000.0
            if start >= args.seconds:
                break
            n += 1
            delay = t0 + start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            start = time.monotonic() - t0
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=args.timeout)
                conn.request("GET", u.path or "/")
                r = conn.getresponse()
                body = r.read().decode().strip()
                ans = body if r.status == 200 else "HTTP%d" % r.status
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # a failed request is data here
                ans = "ERROR:" + type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            out(start, ans)

    if args.keep_alive:
        threads = [threading.Thread(target=keeper, args=(k,), daemon=True)
                   for k in range(args.keep_alive)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return

    def worker(start):
        try:
            ans = one(u.hostname, u.port or 80, u.path or "/", args.timeout, args.served_by)
        except Exception as e:  # a failed request is data here, not a crash
            ans = "ERROR:" + type(e).__name__
        lat = (time.monotonic() - t0 - start) * 1000
        with lock:
            print("%.1f %.1f %s" % (start * 1000, lat, ans))
            sys.stdout.flush()

    n = 0
    while True:
        start = n * args.interval_ms / 1000.0
        if start >= args.seconds:
            break
        delay = t0 + start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        th = threading.Thread(target=worker, args=(start,), daemon=True)
        th.start()
        threads.append(th)
        n += 1
    for th in threads:
        th.join(args.timeout + 1)


if __name__ == "__main__":
    main()
