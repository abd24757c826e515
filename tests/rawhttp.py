#!/usr/bin/env python3
"""Sends raw bytes to addr:port (Python escapes such as \\r\\n are
interpreted; --pad N appends N bytes of header filler), keeps the
connection open (or half-closes it: --half-close), reads until the server closes it or --timeout, and prints
the status code of each response found in what came back, in order
("400", "200 200"), or "none". With --body-sha it prints, after the codes,
the SHA-256 of the last response's body (chunked framing removed)."""
import argparse
import hashlib
import re
import socket


def dechunk(b):
    out = b""
    while True:
        line, _, b = b.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out
        out += b[:size]
        b = b[size + 2:]


def parse(data, methods):
    codes, body = [], b""
    while data.startswith(b"HTTP/1."):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        codes.append(lines[0].split(b" ")[1].decode())
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(b":") for l in lines[1:])}
        head_req = not codes[-1].startswith("1") and methods and methods.pop(0) == b"HEAD"
        if head_req:
            body, data = b"", rest
        elif b"content-length" in hdrs:
            n = int(hdrs[b"content-length"])
            body, data = rest[:n], rest[n:]
        elif hdrs.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, data = dechunk(rest), b""
        elif codes[-1].startswith("1"):
            data = rest
        else:
            body, data = rest, b""
    return codes, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--body-sha", action="store_true")
    ap.add_argument("--half-close", action="store_true", help="shutdown(SHUT_WR) after sending")
    ap.add_argument("request")
    a = ap.parse_args()
    req = a.request.encode().decode("unicode_escape").encode("latin-1")
    if a.pad:
        head, sep, rest = req.partition(b"\r\n\r\n")
        req = head + b"\r\nX-Pad: " + b"a" * a.pad + sep + rest
    s = socket.create_connection((a.addr, a.port), timeout=a.timeout)
    s.sendall(req)
    if a.half_close:
        s.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    codes, body = parse(data, re.findall(rb"(?:^|\r\n\r\n)([A-Z]+) ", req))
    out = " ".join(codes) if codes else "none"
    if a.body_sha:
        out += " " + hashlib.sha256(body).hexdigest()
    print(out)


if __name__ == "__main__":
    main()
