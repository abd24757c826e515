/*
 * http_parse.c: HTTP/1.x heads and chunked framing (RFC 9112), strict.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http_parse.h"

#define BAD(st, w)	do { *status = (st); *why = (w); return -1; } while (0)

/*
 * tchar (RFC 9110): ALPHA, DIGIT and !#$%&'*+-.^_`|~, one bit a byte value
 * (test_http checks the table against that definition).
 */
static const uint32_t tchar_map[8] = {
	0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff, 0, 0, 0, 0
};

static int
is_tchar(unsigned char ch)
{
	return (tchar_map[ch >> 5] >> (ch & 31)) & 1;
}

/* Field value characters: VCHAR, obs-text, SP, HTAB. */
static int
is_vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int
eq_nocase(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/*
 * The next line of buf from *off: its length without CRLF, 0 for an
 * empty one; -2 when the line is not complete yet; -1 on a bare CR or LF.
 */
static long
next_line(const char *buf, size_t len, size_t off)
{
	const char *p = buf + off, *cr = memchr(p, '\r', len - off);
	size_t n = cr ? (size_t)(cr - p) : len - off;

	if (memchr(p, '\n', n) != NULL)
		return -1;
	if (cr == NULL || cr + 1 == buf + len)
		return -2;
	return cr[1] == '\n' ? (long)n : -1;
}

/* "HTTP/1.x": the minor version, or -1 when it is not HTTP/1.x, -2 when not HTTP at all. */
static int
parse_version(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
	    p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
		return -2;
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return -1;
	return p[7] - '0';
}

static int
parse_request_line(const char *p, size_t n, struct http_head *h, int *status,
    const char **why)
{
	const char *sp1, *sp2;
	int minor;

	if ((sp1 = memchr(p, ' ', n)) == NULL)
		BAD(400, "request line without spaces");
	h->method = p;
	h->mlen = (size_t)(sp1 - p);
	if (h->mlen == 0)
		BAD(400, "empty method");
	for (size_t i = 0; i < h->mlen; i++)
		if (!is_tchar((unsigned char)p[i]))
			BAD(400, "bad character in method");
	h->target = sp1 + 1;
	if ((sp2 = memchr(h->target, ' ', n - h->mlen - 1)) == NULL)
		BAD(400, "request line without a version");
	h->tlen = (size_t)(sp2 - h->target);
	if (h->tlen == 0)
		BAD(400, "empty request target");
	for (size_t i = 0; i < h->tlen; i++) {
		unsigned char ch = (unsigned char)h->target[i];
		if (ch <= 0x20 || ch == 0x7f)
			BAD(400, "bad character in request target");
	}
	minor = parse_version(sp2 + 1, (size_t)(p + n - sp2 - 1));
	if (minor == -2)
		BAD(400, "bad HTTP version");
	if (minor == -1)
		BAD(505, "HTTP version not supported");
	h->minor = minor;
	return 0;
}

static int
parse_status_line(const char *p, size_t n, struct http_head *h, int *status,
    const char **why)
{
	int minor;

	if (n < 12 || p[8] != ' ')
		BAD(502, "bad status line");
	if ((minor = parse_version(p, 8)) < 0)
		BAD(502, "bad HTTP version in status line");
	h->minor = minor;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			BAD(502, "bad status code");
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (h->status < 100)
		BAD(502, "bad status code");
	if (n > 12 && p[12] != ' ')
		BAD(502, "bad status line");
	for (size_t i = 12; i < n; i++)
		if (!is_vchar((unsigned char)p[i]))
			BAD(502, "bad character in reason phrase");
	return 0;
}

static int
parse_header(const char *p, size_t n, struct http_head *h, int is_request, int *status,
    const char **why)
{
	const char *colon = memchr(p, ':', n), *v, *e;
	struct http_hdr *hd;
	int bad = is_request ? 400 : 502;

	if (p[0] == ' ' || p[0] == '\t')
		BAD(bad, "folded header line");
	if (colon == NULL || colon == p)
		BAD(bad, "header line without a name and colon");
	for (const char *q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			BAD(bad, "bad character in header name");
	if (h->nhdr == HTTP_MAX_HEADERS)
		BAD(is_request ? 431 : 502, "too many header lines");
	v = colon + 1;
	e = p + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (const char *q = v; q < e; q++)
		if (!is_vchar((unsigned char)*q))
			BAD(bad, "bad character in header value");
	hd = &h->hdr[h->nhdr++];
	hd->name = p;
	hd->nlen = (size_t)(colon - p);
	hd->val = v;
	hd->vlen = (size_t)(e - v);
	return 0;
}

int
http_next_token(const char *val, size_t vlen, size_t *i, const char **tok, size_t *tlen)
{
	size_t s, e;

	while (*i < vlen && (val[*i] == ' ' || val[*i] == '\t' || val[*i] == ','))
		(*i)++;
	if (*i == vlen)
		return 0;
	for (s = *i; *i < vlen && val[*i] != ','; (*i)++)
		;
	for (e = *i; e > s && (val[e - 1] == ' ' || val[e - 1] == '\t'); e--)
		;
	*tok = val + s;
	*tlen = e - s;
	return 1;
}

int
http_has_token(const char *val, size_t vlen, const char *token)
{
	size_t tl = strlen(token), i = 0, n;
	const char *t;

	while (http_next_token(val, vlen, &i, &t, &n))
		if (n == tl && strncasecmp(t, token, tl) == 0)
			return 1;
	return 0;
}

/* Is the last transfer-coding of the list "chunked"? */
static int
ends_chunked(const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n < 7 || strncasecmp(v + n - 7, "chunked", 7) != 0)
		return 0;
	return n == 7 || v[n - 8] == ',' || v[n - 8] == ' ' || v[n - 8] == '\t';
}

/* Content-Length, Transfer-Encoding, Connection, Host: how the body is framed. */
static int
framing(struct http_head *h, int is_request, const char *req_method, size_t req_mlen,
    int *status, const char **why)
{
	int bad = is_request ? 400 : 502, have_len = 0, te = 0, close = 0, ka = 0;
	uint64_t len = 0;

	for (unsigned i = 0; i < h->nhdr; i++) {
		const struct http_hdr *hd = &h->hdr[i];

		if (eq_nocase(hd->name, hd->nlen, "content-length")) {
			uint64_t v = 0;

			if (hd->vlen == 0 || hd->vlen > 18)
				BAD(bad, "bad Content-Length");
			for (size_t k = 0; k < hd->vlen; k++) {
				if (hd->val[k] < '0' || hd->val[k] > '9')
					BAD(bad, "bad Content-Length");
				v = v * 10 + (uint64_t)(hd->val[k] - '0');
			}
			if (have_len && v != len)
				BAD(bad, "two different Content-Length values");
			have_len = 1;
			len = v;
		} else if (eq_nocase(hd->name, hd->nlen, "transfer-encoding")) {
			if (te)
				BAD(bad, "Transfer-Encoding given twice");
			te = 1;
			if (!ends_chunked(hd->val, hd->vlen))
				BAD(is_request ? 501 : 502, "transfer coding not supported");
			if (is_request && !eq_nocase(hd->val, hd->vlen, "chunked"))
				BAD(501, "transfer coding not supported");
		} else if (eq_nocase(hd->name, hd->nlen, "connection")) {
			if (http_has_token(hd->val, hd->vlen, "close"))
				close = 1;
			if (http_has_token(hd->val, hd->vlen, "keep-alive"))
				ka = 1;
		} else if (is_request && eq_nocase(hd->name, hd->nlen, "host")) {
			if (h->has_host)
				BAD(400, "Host given twice");
			h->has_host = 1;
		}
	}
	if (te && have_len)
		BAD(bad, "both Content-Length and Transfer-Encoding");
	if (te && h->minor == 0)
		BAD(bad, "Transfer-Encoding in an HTTP/1.0 message");
	if (is_request && h->minor == 1 && !h->has_host)
		BAD(400, "HTTP/1.1 request without Host");
	h->keep_alive = h->minor == 1 ? !close : ka && !close;

	if (!is_request && (h->status < 200 || h->status == 204 || h->status == 304 ||
	    eq_nocase(req_method, req_mlen, "HEAD")))
		h->body = HTTP_BODY_NONE;
	else if (te)
		h->body = HTTP_BODY_CHUNKED;
	else if (have_len) {
		h->body = len ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		h->length = len;
	} else if (is_request)
		h->body = HTTP_BODY_NONE;
	else {
		h->body = HTTP_BODY_CLOSE;
		h->keep_alive = 0;
	}
	return 0;
}

long
http_parse_head(const char *buf, size_t len, int is_request, const char *req_method,
    size_t req_mlen, struct http_head *h, int *status, const char **why)
{
	size_t off = 0;
	long n;

	/* All but hdr[], which is filled as far as nhdr says (3 KiB not cleared each time). */
	memset(h, 0, offsetof(struct http_head, hdr));
	memset(&h->nhdr, 0, sizeof(*h) - offsetof(struct http_head, nhdr));
	*status = 0;
	*why = NULL;
	if ((n = next_line(buf, len, 0)) == -2)
		return 0;
	if (n <= 0)
		BAD(is_request ? 400 : 502, n == 0 ? "empty first line" : "bare CR or LF");
	if ((is_request ? parse_request_line(buf, (size_t)n, h, status, why) :
	    parse_status_line(buf, (size_t)n, h, status, why)) == -1)
		return -1;
	off = (size_t)n + 2;
	for (;;) {
		if ((n = next_line(buf, len, off)) == -2)
			return 0;
		if (n == -1)
			BAD(is_request ? 400 : 502, "bare CR or LF");
		if (n == 0)
			break;
		if (parse_header(buf + off, (size_t)n, h, is_request, status, why) == -1)
			return -1;
		off += (size_t)n + 2;
	}
	h->len = off + 2;
	if (framing(h, is_request, req_method, req_mlen, status, why) == -1)
		return -1;
	return (long)h->len;
}

const struct http_hdr *
http_find(const struct http_head *h, const char *name)
{
	for (unsigned i = 0; i < h->nhdr; i++)
		if (eq_nocase(h->hdr[i].name, h->hdr[i].nlen, name))
			return &h->hdr[i];
	return NULL;
}

int
http_idempotent(const char *m, size_t n)
{
	static const char *const ok[] = { "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (n == strlen(ok[i]) && memcmp(m, ok[i], n) == 0)
			return 1;
	return 0;
}

enum {
	CH_SIZE = 0,		/* hex digits of the chunk size */
	CH_EXT,			/* ";ext" up to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER,		/* start of a trailer line, or the final CRLF */
	CH_TRAILER_LINE,
	CH_TRAILER_LF,
	CH_END_LF,
};

void
http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

long
http_chunked_feed(struct http_chunked *c, const char *p, size_t n, unsigned max_line)
{
	size_t i = 0;

	while (i < n && !c->done) {
		char ch = p[i];
		int v;

		switch (c->state) {
		case CH_SIZE:
			if ((v = hexval(ch)) >= 0) {
				if (++c->digits > 15)
					return -1;	/* would overflow */
				c->left = c->left * 16 + (uint64_t)v;
			} else if (c->digits == 0)
				return -1;
			else if (ch == ';' || ch == ' ' || ch == '\t')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else
				return -1;
			if (++c->line > max_line)
				return -1;
			i++;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!is_vchar((unsigned char)ch) || ++c->line > max_line)
				return -1;
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
			i++;
			c->line = c->digits = 0;
			c->state = c->left ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t take = n - i;

			if (take > c->left)
				take = (size_t)c->left;
			c->left -= take;
			c->data += take;
			i += take;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch != '\r')
				return -1;
			c->state = CH_DATA_LF;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_END_LF;
			else if (ch == ' ' || ch == '\t' || ch == ':' || !is_tchar((unsigned char)ch))
				return -1;
			else {
				c->state = CH_TRAILER_LINE;
				c->line = 1;
			}
			i++;
			break;
		case CH_TRAILER_LINE:
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (!is_vchar((unsigned char)ch) || ++c->line > max_line)
				return -1;
			i++;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_TRAILER;
			c->line = 0;
			i++;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -1;
			c->done = 1;
			i++;
			break;
		}
	}
	return (long)i;
}
