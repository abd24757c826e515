#!/usr/bin/env python3
"""A test backend: answers every GET with its name; /healthz answers 200
"ok", or 503 while the file given by --fail-file exists (and everything
else 500 while --fail-traffic-file exists: probes pass, traffic fails).

For mode http's tests, also:
  /echo           the request's headers, one per line, after the name
  POST|PUT /sum   reads the body (Content-Length or chunked): "NAME LEN SHA256"
  /big?bytes=N    N bytes of a known pattern, chunked
  /slow?ms=N      answers after N ms
  /drop?id=X      the first request with this id: connection closed, no
                  answer; the next ones: answered
Each request is logged as "METHOD PATH" to --log when given."""
import argparse
import hashlib
import http.server
import os
import socketserver
import threading
import time
import urllib.parse

PATTERN = bytes(range(256)) * 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--fail-file", default="")
    ap.add_argument("--fail-traffic-file", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args()
    dropped = set()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Head and body in one write, as real servers do (unbuffered, the
        # body waits for the ACK of the head: Nagle and delayed ACKs).
        wbufsize = 65536

        def handle_expect_100(self):
            ok = super().handle_expect_100()
            self.wfile.flush()
            return ok

        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def handle_any(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            if args.log:
                with lock, open(args.log, "a") as f:
                    f.write("%s %s\n" % (self.command, self.path))
            failing = args.fail_file and os.path.exists(args.fail_file)
            if u.path == "/healthz":
                return self.reply(503, b"failing\n") if failing else self.reply(200, b"ok\n")
            if failing or (args.fail_traffic_file and os.path.exists(args.fail_traffic_file)):
                return self.reply(500 if not failing else 503, b"failing\n")
            if u.path == "/drop":
                with lock:
                    first = q["id"][0] not in dropped
                    dropped.add(q["id"][0])
                if first:
                    self.close_connection = True
                    return
            if u.path == "/echo":
                return self.reply(200, (args.name + "\n" + str(self.headers)).encode())
            if u.path == "/sum":
                body = self.read_body()
                return self.reply(200, ("%s %d %s\n" % (args.name, len(body),
                                  hashlib.sha256(body).hexdigest())).encode())
            if u.path == "/slow":
                time.sleep(int(q["ms"][0]) / 1000.0)
            if u.path == "/big":
                left = int(q["bytes"][0])
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while left > 0:
                    piece = PATTERN[:min(left, len(PATTERN))]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    left -= len(piece)
                self.wfile.write(b"0\r\n\r\n")
                return
            self.reply(200, (args.name + "\n").encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

        def log_message(self, *a):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 1024

        def handle_error(self, request, client_address):
            pass  # resets from clients and cut links are part of the tests

        def server_bind(self):
            # HTTPServer.server_bind looks its address up in DNS
            # (getfqdn): a test network has no DNS, and must send nothing.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]

    Server((args.addr, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
