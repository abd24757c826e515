#!/bin/bash
# Fuzzes the HTTP/1.x head parser and the chunked framing (what the relay
# runs on every request and response) for a bounded time.
. "$(dirname "$0")/lib.sh"
printf 'GET /a?b=c HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nX-Forwarded-For: 198.18.0.9\r\n\r\n' > "$work/corpus/get"
printf 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n' > "$work/corpus/post"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' > "$work/corpus/resp"
printf '1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n' > "$work/corpus/chunks"
fuzz_run fuzz_http "the HTTP parser" proxy/http_parse.c
