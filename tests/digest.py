#!/usr/bin/env python3
"""Bulk and half-close checks for mode tcp.

server: reads until the client's EOF, answers with the SHA-256 of what it
read and its length, then closes. --slow-ms makes it read slowly (a slow
server, for backpressure).
client: sends N bytes, shuts down its write side (half-close), prints the
answer and whether it matches."""
import argparse
import hashlib
import os
import socket
import threading
import time


def serve(addr, port, slow_ms):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)

    def one(c):
        h, n = hashlib.sha256(), 0
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                h.update(d)
                n += len(d)
                if slow_ms:
                    time.sleep(slow_ms / 1000.0)
            c.sendall(("%s %d\n" % (h.hexdigest(), n)).encode())
        except OSError:
            pass  # health checks connect and reset
        c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def source(addr, port, size):
    """Sends size bytes to each client, then closes."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    chunk = b"z" * 65536

    def one(c):
        try:
            left = size
            while left > 0:
                c.sendall(chunk[:min(left, len(chunk))])
                left -= min(left, len(chunk))
        except OSError:
            pass
        c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def slow_reader(addr, port, size, slow_ms, timeout):
    """Reads size bytes in 16 KiB steps with a pause between reads."""
    s = socket.create_connection((addr, port), timeout=timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    got = 0
    while True:
        d = s.recv(16384)
        if not d:
            break
        got += len(d)
        time.sleep(slow_ms / 1000.0)
    print("match" if got == size else "MISMATCH got=%d" % got)


def client(addr, port, size, timeout):
    data = os.urandom(size)
    s = socket.create_connection((addr, port), timeout=timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ans = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        ans += d
    want = "%s %d" % (hashlib.sha256(data).hexdigest(), size)
    print("match" if ans.decode().strip() == want else "MISMATCH got=%r" % ans[:80])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client", "source", "slow-reader"])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--slow-ms", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    if a.role == "server":
        serve(a.addr, a.port, a.slow_ms)
    elif a.role == "source":
        source(a.addr, a.port, a.size)
    elif a.role == "slow-reader":
        slow_reader(a.addr, a.port, a.size, a.slow_ms, a.timeout)
    else:
        client(a.addr, a.port, a.size, a.timeout)


if __name__ == "__main__":
    main()
