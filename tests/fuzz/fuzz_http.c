/*
 * fuzz_http.c: libFuzzer target for the HTTP/1.x parser the relay runs on
 * every request and response. Whatever the bytes: no crash, no read
 * outside them, headers inside the head, a malformed head answered with a
 * status the relay knows, the same framing verdict whether the bytes come
 * whole or one at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_head(const char *p, size_t n, int is_request)
{
	struct http_head h;
	const char *why;
	int status;
	long r = http_parse_head(p, n, is_request, "GET", 3, &h, &status, &why);

	if (r > 0) {
		if ((size_t)r > n || (size_t)r != h.len || h.nhdr > HTTP_MAX_HEADERS)
			abort();
		for (unsigned i = 0; i < h.nhdr; i++)
			if (h.hdr[i].name < p || h.hdr[i].name + h.hdr[i].nlen > p + r ||
			    h.hdr[i].val < p || h.hdr[i].val + h.hdr[i].vlen > p + r ||
			    h.hdr[i].nlen == 0)
				abort();
		if (is_request && (h.mlen == 0 || h.tlen == 0))
			abort();
		if (h.body == HTTP_BODY_CLOSE && (is_request || h.keep_alive))
			abort();
		/* A complete head stays complete, and the same, with bytes after it. */
		if (http_parse_head(p, (size_t)r, is_request, "GET", 3, &h, &status, &why) != r)
			abort();
	} else if (r == -1) {
		if (why == NULL || (is_request && status != 400 && status != 431 &&
		    status != 501 && status != 505) || (!is_request && status != 502))
			abort();
	} else if (r != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_chunked a, b;
	long whole, parts = 0;

	check_head(p, size, 1);
	check_head(p, size, 0);

	http_chunked_init(&a);
	whole = http_chunked_feed(&a, p, size, 256);
	if (whole > (long)size)
		abort();
	http_chunked_init(&b);
	for (size_t i = 0; i < size && !b.done; i++) {
		long k = http_chunked_feed(&b, p + i, 1, 256);
		if (k == -1) {
			parts = -1;
			break;
		}
		parts += k;
	}
	if (whole != -1 && (parts != whole || a.done != b.done || a.data != b.data))
		abort();
	if (whole == -1 && parts != -1)
		abort();
	return 0;
}
