/*
 * test_http.c: the HTTP/1.x head parser and chunked framing. A corpus of
 * malformed requests, each with the status a client gets; well-formed
 * requests and responses with their framing; every head parsed again from
 * each of its prefixes (incomplete until the last byte); chunked bodies
 * fed in every split, which must agree with feeding them whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_parse.h"

static long
req(const char *s, struct http_head *h, int *status, const char **why)
{
	return http_parse_head(s, strlen(s), 1, NULL, 0, h, status, why);
}

static void
test_bad_requests(void **state)
{
	static const struct {
		const char	*in;
		int		 status;
	} bad[] = {
		{ "GET / HTTP/1.1\nHost: a\r\n\r\n", 400 },		/* bare LF */
		{ "GET / HTTP/1.1\r\nHost: a\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400 },		/* bare CR */
		{ "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400 },		/* two spaces */
		{ "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400 },
		{ "GET\r\n\r\n", 400 },
		{ "GET /\r\n\r\n", 400 },					/* HTTP/0.9 */
		{ " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505 },
		{ "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
		{ "GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 },				/* no Host */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },		/* space before colon */
		{ "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 400 },			/* smuggling */
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501 },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 400 },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "\r\n", 400 },
	};
	struct http_head h;
	const char *why;
	int status;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long n = req(bad[i].in, &h, &status, &why);

		if (n != -1 || status != bad[i].status) {
			print_error("case %zu: got %ld status %d for %s\n", i, n, status, bad[i].in);
			fail();
		}
		assert_non_null(why);
	}
}

static void
test_too_many_headers(void **state)
{
	char buf[8192];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	struct http_head h;
	const char *why;
	int status;

	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "X-%d: y\r\n", i);
	snprintf(buf + off, sizeof(buf) - off, "\r\n");
	assert_int_equal(req(buf, &h, &status, &why), -1);
	assert_int_equal(status, 431);
}

static void
test_good(void **state)
{
	const char *a = "POST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
	    "X-Empty:\r\nConnection: keep-alive, Foo\r\n\r\nbody...";
	const char *b = "PUT / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: Chunked\r\n"
	    "Connection: close\r\n\r\n";
	const char *c = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
	const char *d = "GET / HTTP/1.0\r\n\r\n";
	struct http_head h;
	const char *why;
	int status;
	long n;

	n = req(a, &h, &status, &why);
	assert_int_equal(n, strstr(a, "body") - a);
	assert_int_equal(h.body, HTTP_BODY_LENGTH);
	assert_int_equal(h.length, 12);
	assert_int_equal(h.keep_alive, 1);
	assert_int_equal(h.nhdr, 4);
	assert_int_equal(h.hdr[2].vlen, 0);
	assert_true(h.mlen == 4 && memcmp(h.method, "POST", 4) == 0);
	assert_true(h.tlen == 7 && memcmp(h.target, "/up?x=1", 7) == 0);
	assert_non_null(http_find(&h, "content-length"));
	assert_true(http_has_token(http_find(&h, "connection")->val,
	    http_find(&h, "connection")->vlen, "foo"));

	assert_int_equal(req(b, &h, &status, &why), (long)strlen(b));
	assert_int_equal(h.body, HTTP_BODY_CHUNKED);
	assert_int_equal(h.keep_alive, 0);

	assert_int_equal(req(c, &h, &status, &why), (long)strlen(c));
	assert_int_equal(h.keep_alive, 1);
	assert_int_equal(h.minor, 0);
	assert_int_equal(req(d, &h, &status, &why), (long)strlen(d));
	assert_int_equal(h.keep_alive, 0);

	/* Every strict prefix asks for more bytes. */
	for (size_t k = 0; k < strlen(b); k++)
		assert_int_equal(http_parse_head(b, k, 1, NULL, 0, &h, &status, &why), 0);
}

static void
test_responses(void **state)
{
	static const struct {
		const char	*in;
		const char	*method;
		long		 status;
		enum http_body	 body;
		int		 ka;
	} r[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", 200, HTTP_BODY_LENGTH, 1 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD", 200, HTTP_BODY_NONE, 1 },
		{ "HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, HTTP_BODY_NONE, 1 },
		{ "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET", 304, HTTP_BODY_NONE, 1 },
		{ "HTTP/1.1 100 Continue\r\n\r\n", "POST", 100, HTTP_BODY_NONE, 1 },
		{ "HTTP/1.1 200 OK\r\n\r\n", "GET", 200, HTTP_BODY_CLOSE, 0 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", 200, HTTP_BODY_NONE, 0 },
		{ "HTTP/1.1 503\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 503, HTTP_BODY_CHUNKED, 1 },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", 200,
		  HTTP_BODY_CHUNKED, 1 },
	};
	static const char *const bad[] = {
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTX/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n",
	};
	struct http_head h;
	const char *why;
	int status;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		long n = http_parse_head(r[i].in, strlen(r[i].in), 0, r[i].method,
		    strlen(r[i].method), &h, &status, &why);

		if (n != (long)strlen(r[i].in) || h.status != r[i].status || h.body != r[i].body ||
		    h.keep_alive != r[i].ka) {
			print_error("response %zu: n %ld status %d body %d ka %d\n", i, n, h.status,
			    h.body, h.keep_alive);
			fail();
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_parse_head(bad[i], strlen(bad[i]), 0, "GET", 3, &h, &status,
		    &why), -1);
		assert_int_equal(status, 502);
	}
}

static void
test_chunked_splits(void **state)
{
	const char *body = "5\r\nhello\r\n1a;name=val\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	    "0\r\nTrailer: x\r\n\r\nNEXT";
	size_t len = strlen(body), framed = len - 4;
	struct http_chunked c;

	http_chunked_init(&c);
	assert_int_equal(http_chunked_feed(&c, body, len, 1024), (long)framed);
	assert_true(c.done);
	assert_int_equal(c.data, 31);
	/* Any split into two pieces gives the same answer. */
	for (size_t k = 0; k <= len; k++) {
		long a, b = 0;

		http_chunked_init(&c);
		a = http_chunked_feed(&c, body, k, 1024);
		assert_true(a >= 0);
		if (!c.done)
			b = http_chunked_feed(&c, body + a, len - (size_t)a, 1024);
		assert_int_equal(a + b, (long)framed);
		assert_true(c.done);
		assert_int_equal(c.data, 31);
	}
	/* Byte by byte. */
	http_chunked_init(&c);
	for (size_t k = 0; k < framed; k++)
		assert_int_equal(http_chunked_feed(&c, body + k, 1, 1024), 1);
	assert_true(c.done);
}

static void
test_chunked_bad(void **state)
{
	static const char *const bad[] = {
		"x\r\n",
		"\r\n",
		"5\nhello\r\n",
		"5\r\nhelloX\r\n",
		"5\r\nhello\rX",
		"1000000000000000\r\n",		/* 16 hex digits */
		"0\r\n bad trailer\r\n\r\n",
		"0\r\n\rX",
		"5;\x01\r\n",
	};
	struct http_chunked c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_chunked_init(&c);
		if (http_chunked_feed(&c, bad[i], strlen(bad[i]), 1024) != -1) {
			print_error("chunked case %zu accepted\n", i);
			fail();
		}
	}
	/* A size line longer than the limit. */
	http_chunked_init(&c);
	assert_int_equal(http_chunked_feed(&c, "5;aaaaaaaaaaaaaaaaaaaa\r\n", 24, 16), -1);
}

static void
test_idempotent(void **state)
{
	assert_true(http_idempotent("GET", 3));
	assert_true(http_idempotent("PUT", 3));
	assert_true(http_idempotent("DELETE", 6));
	assert_false(http_idempotent("POST", 4));
	assert_false(http_idempotent("PATCH", 5));
	assert_false(http_idempotent("get", 3));	/* methods are case-sensitive */
}

/*
 * Every byte value in a header name and in a method: accepted exactly when
 * it is a tchar (RFC 9110: ALPHA, DIGIT, !#$%&'*+-.^_`|~).
 */
static void
test_tchar(void **state)
{
	struct http_head h;
	const char *why;
	char buf[64];
	int status;

	for (int c = 0; c < 256; c++) {
		int tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
		size_t n = (size_t)snprintf(buf, sizeof(buf),
		    "GET / HTTP/1.1\r\nHost: a\r\nX%cY: v\r\n\r\n", c ? c : '@');
		long got;

		if (c == 0)
			buf[sizeof("GET / HTTP/1.1\r\nHost: a\r\nX") - 1] = '\0';
		got = http_parse_head(buf, n, 1, NULL, 0, &h, &status, &why);
		/* (a colon ends the name "X": then "Y: v" is a good value) */
		if (c != ':' && (got > 0) != tchar) {
			print_error("byte 0x%02x in a header name: %s\n", c,
			    got > 0 ? "accepted" : "refused");
			fail();
		}
		n = (size_t)snprintf(buf, sizeof(buf), "G%cT / HTTP/1.1\r\nHost: a\r\n\r\n",
		    c ? c : '@');
		if (c == 0)
			buf[1] = '\0';
		got = http_parse_head(buf, n, 1, NULL, 0, &h, &status, &why);
		if ((got > 0) != tchar) {
			print_error("byte 0x%02x in a method: %s\n", c, got > 0 ? "accepted" : "refused");
			fail();
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_chunked_splits),
		cmocka_unit_test(test_chunked_bad),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_tchar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
