/*
 * http_parse.h: HTTP/1.x message heads and chunked framing, as pure
 * functions over a buffer (no I/O, no allocation), so that unit tests and
 * the fuzzer drive them directly. The relay (proxy/http.c) calls them on
 * what its bufferevents have read.
 *
 * Strict on purpose: a proxy that reads a message differently from the
 * server behind it is how request smuggling happens. Bare LF line ends,
 * folded header lines, spaces before the colon, two different
 * Content-Length values, or Content-Length together with
 * Transfer-Encoding are all refused.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS	100

struct http_hdr {
	const char	*name;
	size_t		 nlen;
	const char	*val;		/* without the spaces around it */
	size_t		 vlen;
};

enum http_body {
	HTTP_BODY_NONE = 0,
	HTTP_BODY_LENGTH,		/* Content-Length bytes */
	HTTP_BODY_CHUNKED,
	HTTP_BODY_CLOSE,		/* responses only: until the server closes */
};

/* Points into the parsed buffer: valid while the buffer is. */
struct http_head {
	/* request line */
	const char	*method;
	size_t		 mlen;
	const char	*target;
	size_t		 tlen;
	/* status line */
	int		 status;
	int		 minor;		/* HTTP/1.minor */
	struct http_hdr	 hdr[HTTP_MAX_HEADERS];
	unsigned	 nhdr;
	size_t		 len;		/* of the head, with its blank line */
	enum http_body	 body;
	uint64_t	 length;	/* HTTP_BODY_LENGTH */
	int		 keep_alive;	/* the sender keeps the connection after this message */
	int		 has_host;
};

/*
 * Parses a request (is_request) or a response head at the start of buf.
 * Returns the head's length, 0 when more bytes are needed, or -1 when it
 * is malformed: then *status is the status to answer (400, 501) and *why
 * a short reason for the log. A response's body framing depends on the
 * request it answers: pass its method (NULL for a request).
 */
long	http_parse_head(const char *buf, size_t len, int is_request,
	    const char *req_method, size_t req_mlen, struct http_head *h,
	    int *status, const char **why);

/* Header lookup, case-insensitive; NULL when absent. */
const struct http_hdr *http_find(const struct http_head *h, const char *name);
/* Does a comma-separated header value hold this token (case-insensitive)? */
int	http_has_token(const char *val, size_t vlen, const char *token);
/*
 * The next token of a comma-separated header value from *i on, without the
 * spaces around it: 1 with *tok and *tlen set (never empty), 0 at the end.
 */
int	http_next_token(const char *val, size_t vlen, size_t *i, const char **tok,
	    size_t *tlen);
/* GET, HEAD, OPTIONS, PUT, DELETE, TRACE: safe to send twice. */
int	http_idempotent(const char *method, size_t mlen);

/* Chunked body framing, fed in pieces. */
struct http_chunked {
	int		 state;
	uint64_t	 left;		/* of the current chunk's data */
	uint64_t	 data;		/* data bytes so far (the body's real size) */
	unsigned	 line;		/* length of the size or trailer line so far */
	unsigned	 digits;
	int		 done;
};

void	http_chunked_init(struct http_chunked *c);
/*
 * Reads up to n bytes of chunked framing. Returns how many belong to the
 * body (stops at its end: c->done), or -1 when the framing is malformed.
 * Lines longer than max_line are malformed.
 */
long	http_chunked_feed(struct http_chunked *c, const char *p, size_t n, unsigned max_line);

#endif
