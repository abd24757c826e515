#!/usr/bin/env python3
"""A test backend: answers every GET with its name; /healthz answers 200
"ok", or 503 while the file given by --fail-file exists."""
import argparse
import http.server
import os
import socketserver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--fail-file", default="")
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            failing = args.fail_file and os.path.exists(args.fail_file)
            if self.path == "/healthz":
                code, body = (503, b"failing\n") if failing else (200, b"ok\n")
            else:
                code, body = (503, b"failing\n") if failing else (200, (args.name + "\n").encode())
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
