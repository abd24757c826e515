/*
 * conf.c: the configuration file parser.
 *
 * The file is a list of statements, one per line, and blocks in braces:
 *
 *	control-socket /run/vcrd.sock
 *	service web {
 *		frontend 198.18.0.1:80
 *		check http {
 *			path /healthz
 *		}
 *	}
 *
 * '#' starts a comment; strings with spaces are written in double quotes.
 * Every error names file:line, the field and the bad value.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcr.h"
#include "conf.h"

#define CONF_MAX_SIZE	(16u << 20)
#define TOK_MAX		512

enum tok_type {
	T_EOF = 0,
	T_WORD,
	T_NL,
	T_OPEN,
	T_CLOSE,
};

struct parser {
	const char	*name;
	const char	*p, *end;
	int		 line;
	enum tok_type	 type;
	char		 tok[TOK_MAX];
	int		 tok_line;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void
perr(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *ps, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = 1;
	n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->name, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Reads the next token into ps->tok. */
static int
next(struct parser *ps)
{
	size_t n = 0;

	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
			ps->p++;
		if (ps->p < ps->end && *ps->p == '#')
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		break;
	}
	ps->tok[0] = '\0';
	ps->tok_line = ps->line;
	if (ps->p >= ps->end)
		return ps->type = T_EOF;
	switch (*ps->p) {
	case '\n':
		ps->p++;
		ps->line++;
		return ps->type = T_NL;
	case ';':
		ps->p++;
		return ps->type = T_NL;
	case '{':
		ps->p++;
		strcpy(ps->tok, "{");
		return ps->type = T_OPEN;
	case '}':
		ps->p++;
		strcpy(ps->tok, "}");
		return ps->type = T_CLOSE;
	case '"':
		ps->p++;
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\n') {
			if (*ps->p == '\\' && ps->p + 1 < ps->end && ps->p[1] != '\n')
				ps->p++;
			if (n + 1 >= sizeof(ps->tok)) {
				perr(ps, ps->line, "string longer than %d bytes", TOK_MAX - 1);
				return ps->type = T_EOF;
			}
			ps->tok[n++] = *ps->p++;
		}
		ps->tok[n] = '\0';
		if (ps->p >= ps->end || *ps->p != '"') {
			perr(ps, ps->line, "unterminated string \"%.40s\"", ps->tok);
			return ps->type = T_EOF;
		}
		ps->p++;
		ps->tok[n] = '\0';
		return ps->type = T_WORD;
	}
	while (ps->p < ps->end && !isspace((unsigned char)*ps->p) &&
	    strchr("{};#\"", *ps->p) == NULL) {
		if (n + 1 >= sizeof(ps->tok)) {
			perr(ps, ps->line, "word longer than %d bytes", TOK_MAX - 1);
			return ps->type = T_EOF;
		}
		ps->tok[n++] = *ps->p++;
	}
	ps->tok[n] = '\0';
	return ps->type = T_WORD;
}

/* Skips blank lines. */
static void
next_nonblank(struct parser *ps)
{
	do
		next(ps);
	while (ps->type == T_NL && !ps->failed);
}

int
parse_duration_ms(const char *s, unsigned *ms)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || v > 86400000ul)
		return -1;
	if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60000;
	else if (strcmp(end, "h") == 0)
		v *= 3600000;
	else
		return -1;
	if (v > 86400000ul)
		return -1;
	*ms = (unsigned)v;
	return 0;
}

int
parse_endpoint(const char *s, struct endpoint *ep)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &ep->addr) != 1)
		return -1;
	if (!isdigit((unsigned char)colon[1]))
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
		return -1;
	ep->port = (uint16_t)port;
	return 0;
}

const char *
fmt_endpoint(const struct endpoint *ep, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ep->addr, a, sizeof(a));
	snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

const char *
fwd_mode_name(enum fwd_mode m)
{
	return m == FWD_HTTP ? "http" : m == FWD_TCP ? "tcp" : "dnat";
}

static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* "80%" */
static int
parse_pct(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char buf[16];
	size_t n = strlen(s);

	if (n < 2 || n > sizeof(buf) || s[n - 1] != '%')
		return -1;
	memcpy(buf, s, n - 1);
	buf[n - 1] = '\0';
	return parse_uint(buf, lo, hi, out);
}

/* "200-299,301" */
static int
parse_status(const char *s, struct chk_conf *cc)
{
	char buf[TOK_MAX], *save = NULL, *item;

	snprintf(buf, sizeof(buf), "%s", s);
	cc->nstatus = 0;
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(item, '-');
		unsigned lo, hi;

		if (cc->nstatus == CHK_STATUS_RANGES)
			return -1;
		if (dash)
			*dash = '\0';
		if (parse_uint(item, 100, 599, &lo) == -1)
			return -1;
		hi = lo;
		if (dash && (parse_uint(dash + 1, 100, 599, &hi) == -1 || hi < lo))
			return -1;
		cc->status[cc->nstatus].lo = lo;
		cc->status[cc->nstatus].hi = hi;
		cc->nstatus++;
	}
	return cc->nstatus ? 0 : -1;
}

/* "512", "16k", "10m", "1g" (powers of 1024). */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k')
		shift = 10, end++;
	else if (*end == 'm')
		shift = 20, end++;
	else if (*end == 'g')
		shift = 30, end++;
	if (*end != '\0' || v > (1ULL << 40))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "10/20": 1 <= n <= m <= 64. */
static int
parse_ratio(const char *s, unsigned *n, unsigned *m)
{
	char buf[TOK_MAX], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (parse_uint(buf, 1, 64, n) == -1 || parse_uint(slash + 1, 1, 64, m) == -1 || *n > *m)
		return -1;
	return 0;
}

/* One of two words: *out = 1 for the first, 0 for the second. */
static int
parse_pair(const char *s, const char *one, const char *zero, int *out)
{
	if (strcmp(s, one) == 0)
		*out = 1;
	else if (strcmp(s, zero) == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_bool(const char *s, int *out)
{
	return parse_pair(s, "yes", "no", out) == -1 ? parse_pair(s, "on", "off", out) : 0;
}

/*
 * Reads the value of "field" (one word, then end of line) into ps->tok.
 * ctx names the enclosing block for the message.
 */
static int
value(struct parser *ps, const char *ctx, const char *field)
{
	int line = ps->tok_line;

	if (next(ps) != T_WORD) {
		perr(ps, line, "%sfield '%s': missing value", ctx, field);
		return -1;
	}
	return 0;
}

/* A word follows on this line (an optional last value)? */
static int
more_on_line(const struct parser *ps)
{
	const char *p = ps->p;

	while (p < ps->end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p < ps->end && strchr("\n;{}#", *p) == NULL;
}

static int
end_of_statement(struct parser *ps, const char *ctx, const char *field)
{
	char extra[TOK_MAX];
	int line = ps->tok_line;

	snprintf(extra, sizeof(extra), "%s", ps->tok);
	if (next(ps) == T_NL || ps->type == T_EOF)
		return 0;
	if (ps->type == T_CLOSE) {
		/* "}" right after a value closes the block: give it back. */
		ps->p--;
		return 0;
	}
	perr(ps, line, "%sfield '%s': unexpected '%s' after value '%s'", ctx, field,
	    ps->tok, extra);
	return -1;
}

#define BAD(ps, line, ctx, field, val, expect)					\
	perr(ps, line, "%sfield '%s': bad value '%s': expected %s", ctx, field, val, expect)

static void
chk_defaults(struct chk_conf *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->type = CHK_TCP;
	snprintf(cc->path, sizeof(cc->path), "/");
	cc->status[0].lo = 200;
	cc->status[0].hi = 399;
	cc->nstatus = 1;
	cc->interval_ms = 1000;
	cc->timeout_ms = 500;
	cc->rise = 2;
	cc->fall = 3;
}

static int
parse_check(struct parser *ps, struct svc_conf *sc, const char *ctx)
{
	struct chk_conf *cc = &sc->check;
	char field[TOK_MAX];
	int line;

	line = ps->tok_line;
	if (value(ps, ctx, "check") == -1)
		return -1;
	if (strcmp(ps->tok, "tcp") == 0)
		cc->type = CHK_TCP;
	else if (strcmp(ps->tok, "http") == 0)
		cc->type = CHK_HTTP;
	else {
		BAD(ps, line, ctx, "check", ps->tok, "tcp or http");
		return -1;
	}
	if (next(ps) == T_NL || ps->type == T_EOF)
		return 0;
	if (ps->type == T_CLOSE) {
		ps->p--;	/* "check tcp }" closes the service block */
		return 0;
	}
	if (ps->type != T_OPEN) {
		perr(ps, line, "%sfield 'check': unexpected '%s' (expected '{' or end of line)",
		    ctx, ps->tok);
		return -1;
	}
	for (;;) {
		next_nonblank(ps);
		if (ps->failed)
			return -1;
		if (ps->type == T_CLOSE)
			break;
		if (ps->type != T_WORD) {
			perr(ps, ps->tok_line, "%scheck block not closed (missing '}')", ctx);
			return -1;
		}
		snprintf(field, sizeof(field), "%s", ps->tok);
		line = ps->tok_line;
		if (value(ps, ctx, field) == -1)
			return -1;
		if (strcmp(field, "path") == 0) {
			if (ps->tok[0] != '/' || strlen(ps->tok) >= sizeof(cc->path) ||
			    strpbrk(ps->tok, " \t\r\n")) {
				BAD(ps, line, ctx, field, ps->tok, "an absolute URL path such as /healthz");
				return -1;
			}
			snprintf(cc->path, sizeof(cc->path), "%s", ps->tok);
		} else if (strcmp(field, "host") == 0) {
			if (strlen(ps->tok) >= sizeof(cc->host) || strpbrk(ps->tok, " \t\r\n/")) {
				BAD(ps, line, ctx, field, ps->tok, "a host name such as www.example.com");
				return -1;
			}
			snprintf(cc->host, sizeof(cc->host), "%s", ps->tok);
		} else if (strcmp(field, "expect-status") == 0) {
			if (parse_status(ps->tok, cc) == -1) {
				BAD(ps, line, ctx, field, ps->tok,
				    "status codes or ranges such as 200-299,301 (at most 8)");
				return -1;
			}
		} else if (strcmp(field, "expect-body") == 0) {
			if (strlen(ps->tok) >= sizeof(cc->expect_body)) {
				BAD(ps, line, ctx, field, ps->tok, "at most 255 bytes");
				return -1;
			}
			snprintf(cc->expect_body, sizeof(cc->expect_body), "%s", ps->tok);
		} else if (strcmp(field, "interval") == 0) {
			if (parse_duration_ms(ps->tok, &cc->interval_ms) == -1 ||
			    cc->interval_ms < 10) {
				BAD(ps, line, ctx, field, ps->tok,
				    "a duration of at least 10ms, such as 100ms or 2s");
				return -1;
			}
		} else if (strcmp(field, "timeout") == 0) {
			if (parse_duration_ms(ps->tok, &cc->timeout_ms) == -1 ||
			    cc->timeout_ms < 1) {
				BAD(ps, line, ctx, field, ps->tok, "a duration such as 150ms or 1s");
				return -1;
			}
		} else if (strcmp(field, "rise") == 0 || strcmp(field, "fall") == 0) {
			if (parse_uint(ps->tok, 1, 100, field[0] == 'r' ? &cc->rise : &cc->fall) == -1) {
				BAD(ps, line, ctx, field, ps->tok, "a whole number from 1 to 100");
				return -1;
			}
		} else {
			perr(ps, line, "%sunknown check field '%s'", ctx, field);
			return -1;
		}
		if (end_of_statement(ps, ctx, field) == -1)
			return -1;
	}
	if (cc->type == CHK_TCP && (cc->host[0] || cc->expect_body[0])) {
		perr(ps, line, "%scheck tcp: 'host' and 'expect-body' need 'check http'", ctx);
		return -1;
	}
	if (cc->timeout_ms > cc->interval_ms) {
		perr(ps, line, "%scheck: timeout %ums is longer than interval %ums",
		    ctx, cc->timeout_ms, cc->interval_ms);
		return -1;
	}
	return 0;
}

static int parse_bool(const char *s, int *out);

/*
 * The next "field value" line of a block: 1 with the field's name in
 * field, its line in *l and its value in ps->tok; 0 at the closing '}';
 * -1 on an error (reported).
 */
static int
block_next(struct parser *ps, const char *ctx, const char *block, char *field, size_t len,
    int *l)
{
	next_nonblank(ps);
	if (ps->failed)
		return -1;
	if (ps->type == T_CLOSE)
		return 0;
	if (ps->type != T_WORD) {
		perr(ps, ps->tok_line, "%s%s block not closed (missing '}')", ctx, block);
		return -1;
	}
	snprintf(field, len, "%s", ps->tok);
	*l = ps->tok_line;
	return value(ps, ctx, field) == -1 ? -1 : 1;
}

/* sync { source user@host; key /path; interval 60s|off; timeout 10m; exclude P; restart yes|no } */
static int
parse_sync(struct parser *ps, struct svc_conf *sc, const char *ctx)
{
	struct sync_conf *y = &sc->sync;
	char field[TOK_MAX];
	int line = ps->tok_line, l, rc;

	sc->sync_line = line;
	y->enabled = 1;
	if (next(ps) != T_OPEN) {
		perr(ps, line, "%sfield 'sync': expected '{'", ctx);
		return -1;
	}
	while ((rc = block_next(ps, ctx, "sync", field, sizeof(field), &l)) == 1) {
		if (strcmp(field, "source") == 0) {
			if (strlen(ps->tok) >= sizeof(y->source) || strchr(ps->tok, '@') == NULL ||
			    strpbrk(ps->tok, " \t;'\"$`\\") || ps->tok[0] == '-') {
				BAD(ps, l, ctx, "sync source", ps->tok, "USER@HOST of the primary, "
				    "such as root@10.10.1.2");
				return -1;
			}
			snprintf(y->source, sizeof(y->source), "%s", ps->tok);
		} else if (strcmp(field, "key") == 0) {
			if (ps->tok[0] != '/' || strlen(ps->tok) >= sizeof(y->key)) {
				BAD(ps, l, ctx, "sync key", ps->tok, "the absolute path of an ssh "
				    "private key");
				return -1;
			}
			snprintf(y->key, sizeof(y->key), "%s", ps->tok);
		} else if (strcmp(field, "interval") == 0) {
			if (strcmp(ps->tok, "off") == 0)
				y->interval_ms = 0;
			else if (parse_duration_ms(ps->tok, &y->interval_ms) == -1 ||
			    y->interval_ms < 1000) {
				BAD(ps, l, ctx, "sync interval", ps->tok, "a duration of at least 1s, "
				    "such as 60s, or off (only vcrctl sync)");
				return -1;
			}
		} else if (strcmp(field, "timeout") == 0) {
			if (parse_duration_ms(ps->tok, &y->timeout_ms) == -1 || y->timeout_ms < 1000) {
				BAD(ps, l, ctx, "sync timeout", ps->tok, "a duration of at least 1s, "
				    "such as 10m");
				return -1;
			}
		} else if (strcmp(field, "exclude") == 0) {
			if ((ps->tok[0] != '+' && ps->tok[0] != '-' && ps->tok[0] != '/') ||
			    strlen(ps->tok) >= sizeof(y->patterns[0]) || ps->tok[1] == '\0') {
				BAD(ps, l, ctx, "sync exclude", ps->tok, "+PACKAGE-PATTERN (also "
				    "exclude), -PACKAGE-PATTERN (keep) or /PATH");
				return -1;
			}
			if (y->npatterns == SYNC_PATTERNS) {
				perr(ps, l, "%ssync: more than %d exclude lines", ctx, SYNC_PATTERNS);
				return -1;
			}
			snprintf(y->patterns[y->npatterns++], sizeof(y->patterns[0]), "%s", ps->tok);
		} else if (strcmp(field, "restart") == 0) {
			if (parse_bool(ps->tok, &y->restart) == -1) {
				BAD(ps, l, ctx, "sync restart", ps->tok, "yes or no");
				return -1;
			}
		} else {
			perr(ps, l, "%sunknown sync field '%s'", ctx, field);
			return -1;
		}
		if (end_of_statement(ps, ctx, field) == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	if (!y->source[0] || !y->key[0]) {
		perr(ps, line, "%ssync: missing '%s'", ctx, !y->source[0] ? "source" : "key");
		return -1;
	}
	return 0;
}

static int valid_name(const char *s);

/* A user@host for ssh, as 'sync source' takes it. */
static int
valid_ssh(const char *s, size_t max)
{
	return strlen(s) < max && strchr(s, '@') != NULL && strpbrk(s, " \t;'\"$`\\") == NULL &&
	    s[0] != '-';
}

/*
 * relieve {
 *	migrate-to LXD INSTANCE ADDR:PORT [USER@HOST]	the other LXD server, the
 *						instance there, its address, ssh into it
 *	set-file PATH "CONTENT"			written into it there before it starts
 *	promote-to LIBVIRT DOMAIN ADDR:PORT USER@HOST	a defined VM, its address, ssh to it
 *	strategy migrate|vm			the load watch's choice
 *	cpu 80%; memory 512m; for 30s		the load watch
 *	timeout 5m				each step's bound
 * }
 */
static int
parse_relieve(struct parser *ps, struct svc_conf *sc, const char *ctx)
{
	struct relieve_conf *rl = &sc->relieve;
	char field[TOK_MAX];
	int line = ps->tok_line, l, rc, strategy_line = 0;

	rl->enabled = 1;
	sc->relieve_line = line;
	rl->for_ms = 30000;
	rl->timeout_ms = 300000;
	if (next(ps) != T_OPEN) {
		perr(ps, line, "%sfield 'relieve': expected '{'", ctx);
		return -1;
	}
	while ((rc = block_next(ps, ctx, "relieve", field, sizeof(field), &l)) == 1) {
		if (strcmp(field, "migrate-to") == 0) {
			sc->migrate_line = l;
			if (!valid_name(ps->tok) || strlen(ps->tok) >= sizeof(rl->to_lxd)) {
				BAD(ps, l, ctx, "relieve migrate-to", ps->tok, "an LXD server name "
				    "(see 'lxd NAME URL'), an instance name and its address there, "
				    "such as 'migrate-to lxd2 web-b 10.0.2.20:80'");
				return -1;
			}
			snprintf(rl->to_lxd, sizeof(rl->to_lxd), "%s", ps->tok);
			if (next(ps) != T_WORD || !valid_name(ps->tok) ||
			    strlen(ps->tok) >= sizeof(rl->to_container)) {
				BAD(ps, l, ctx, "relieve migrate-to", ps->type == T_WORD ? ps->tok : "",
				    "an instance name after the LXD server name");
				return -1;
			}
			snprintf(rl->to_container, sizeof(rl->to_container), "%s", ps->tok);
			if (next(ps) != T_WORD || parse_endpoint(ps->tok, &rl->to_addr) == -1) {
				BAD(ps, l, ctx, "relieve migrate-to", ps->type == T_WORD ? ps->tok : "",
				    "the container's ADDRESS:PORT on that server");
				return -1;
			}
			if (more_on_line(ps)) {
				if (next(ps) != T_WORD || !valid_ssh(ps->tok, sizeof(rl->to_ssh))) {
					BAD(ps, l, ctx, "relieve migrate-to", ps->tok, "USER@HOST "
					    "for ssh into the copy after its address, or nothing");
					return -1;
				}
				snprintf(rl->to_ssh, sizeof(rl->to_ssh), "%s", ps->tok);
			}
		} else if (strcmp(field, "set-file") == 0) {
			if (ps->tok[0] != '/' || strlen(ps->tok) >= sizeof(rl->file_path)) {
				BAD(ps, l, ctx, "relieve set-file", ps->tok, "an absolute path in "
				    "the container, then its content in quotes");
				return -1;
			}
			snprintf(rl->file_path, sizeof(rl->file_path), "%s", ps->tok);
			if (next(ps) != T_WORD || strlen(ps->tok) >= sizeof(rl->file_content)) {
				BAD(ps, l, ctx, "relieve set-file", ps->type == T_WORD ? ps->tok : "",
				    "the file's content in quotes (at most 255 bytes)");
				return -1;
			}
			snprintf(rl->file_content, sizeof(rl->file_content), "%s", ps->tok);
		} else if (strcmp(field, "promote-to") == 0) {
			sc->promote_line = l;
			if (!valid_name(ps->tok) || strlen(ps->tok) >= sizeof(rl->vm_conn)) {
				BAD(ps, l, ctx, "relieve promote-to", ps->tok, "a libvirt connection "
				    "name (see 'libvirt NAME URI'), a defined domain, its address and "
				    "ssh to it, such as 'promote-to hv1 web-vm2 10.0.1.30:80 "
				    "root@10.0.1.30'");
				return -1;
			}
			snprintf(rl->vm_conn, sizeof(rl->vm_conn), "%s", ps->tok);
			if (next(ps) != T_WORD || !valid_name(ps->tok) ||
			    strlen(ps->tok) >= sizeof(rl->vm)) {
				BAD(ps, l, ctx, "relieve promote-to", ps->type == T_WORD ? ps->tok : "",
				    "a domain name after the libvirt connection name");
				return -1;
			}
			snprintf(rl->vm, sizeof(rl->vm), "%s", ps->tok);
			if (next(ps) != T_WORD || parse_endpoint(ps->tok, &rl->vm_addr) == -1) {
				BAD(ps, l, ctx, "relieve promote-to", ps->type == T_WORD ? ps->tok : "",
				    "the VM's service ADDRESS:PORT after the domain");
				return -1;
			}
			if (next(ps) != T_WORD || !valid_ssh(ps->tok, sizeof(rl->vm_ssh))) {
				BAD(ps, l, ctx, "relieve promote-to", ps->type == T_WORD ? ps->tok : "",
				    "USER@HOST for ssh to the VM after its address");
				return -1;
			}
			snprintf(rl->vm_ssh, sizeof(rl->vm_ssh), "%s", ps->tok);
		} else if (strcmp(field, "strategy") == 0) {
			strategy_line = l;
			if (strcmp(ps->tok, "migrate") == 0)
				rl->strategy = RELIEVE_MIGRATE;
			else if (strcmp(ps->tok, "vm") == 0)
				rl->strategy = RELIEVE_VM;
			else {
				BAD(ps, l, ctx, "relieve strategy", ps->tok, "migrate or vm");
				return -1;
			}
		} else if (strcmp(field, "cpu") == 0) {
			if (parse_pct(ps->tok, 1, 100000, &rl->cpu_pct) == -1) {
				BAD(ps, l, ctx, "relieve cpu", ps->tok, "a percentage of one CPU, "
				    "such as 80% (200% is two CPUs)");
				return -1;
			}
		} else if (strcmp(field, "memory") == 0) {
			if (parse_size(ps->tok, &rl->memory) == -1 || rl->memory < (1 << 20)) {
				BAD(ps, l, ctx, "relieve memory", ps->tok, "a size of at least 1m, "
				    "such as 512m or 2g");
				return -1;
			}
		} else if (strcmp(field, "host-memory") == 0) {
			if (parse_pct(ps->tok, 1, 100, &rl->host_mem_pct) == -1) {
				BAD(ps, l, ctx, "relieve host-memory", ps->tok, "a percentage of "
				    "the LXD server's memory, 1% to 100%, such as 90%");
				return -1;
			}
		} else if (strcmp(field, "for") == 0) {
			if (parse_duration_ms(ps->tok, &rl->for_ms) == -1) {
				BAD(ps, l, ctx, "relieve for", ps->tok, "a duration such as 30s");
				return -1;
			}
		} else if (strcmp(field, "timeout") == 0) {
			if (parse_duration_ms(ps->tok, &rl->timeout_ms) == -1 || rl->timeout_ms < 1000) {
				BAD(ps, l, ctx, "relieve timeout", ps->tok, "a duration of at least "
				    "1s, such as 5m");
				return -1;
			}
		} else {
			perr(ps, l, "%sunknown relieve field '%s'", ctx, field);
			return -1;
		}
		if (end_of_statement(ps, ctx, field) == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	if (!sc->migrate_line && !sc->promote_line) {
		perr(ps, line, "%srelieve: needs 'migrate-to' or 'promote-to' (where the "
		    "service goes)", ctx);
		return -1;
	}
	if (rl->strategy == 0)
		rl->strategy = sc->migrate_line ? RELIEVE_MIGRATE : RELIEVE_VM;
	if (rl->strategy == RELIEVE_MIGRATE && !sc->migrate_line) {
		perr(ps, strategy_line, "%srelieve: strategy migrate needs 'migrate-to'", ctx);
		return -1;
	}
	if (rl->strategy == RELIEVE_VM && !sc->promote_line) {
		perr(ps, strategy_line, "%srelieve: strategy vm needs 'promote-to'", ctx);
		return -1;
	}
	if (rl->file_path[0] && !sc->migrate_line) {
		perr(ps, line, "%srelieve: 'set-file' is for 'migrate-to'", ctx);
		return -1;
	}
	return 0;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SVC_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

static int
parse_service(struct parser *ps, struct vcr_conf *conf)
{
	struct svc_conf *sc;
	char ctx[SVC_NAME_MAX + 32], field[TOK_MAX];
	int line = ps->tok_line, have_fe = 0, have_pri = 0, have_sb = 0, l;
	struct svc_conf *o;
	char a[32], b[32];

	if (value(ps, "", "service") == -1)
		return -1;
	if (!valid_name(ps->tok)) {
		BAD(ps, line, "", "service", ps->tok,
		    "a name of 1 to 47 letters, digits, '-', '_' or '.'");
		return -1;
	}
	if ((o = conf_find(conf, ps->tok)) != NULL) {
		perr(ps, line, "service '%s' is already defined at line %d", ps->tok, o->line);
		return -1;
	}
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		perr(ps, line, "out of memory");
		return -1;
	}
	snprintf(sc->name, sizeof(sc->name), "%s", ps->tok);
	sc->line = line;
	sc->snat = 1;
	sc->failover_auto = 1;
	sc->failback_auto = 0;
	sc->failback_hold_ms = 60000;
	sc->relay.connect_timeout_ms = 1000;
	sc->relay.idle_timeout_ms = 300000;
	sc->relay.hold_ms = 3000;
	sc->relay.max_conns = 10000;
	sc->relay.observe_errors = 3;
	sc->relay.max_header = 16384;
	sc->relay.request_timeout_ms = 10000;
	sc->relay.response_timeout_ms = 30000;
	sc->relay.keepalive_timeout_ms = 15000;
	sc->relay.forwarded = 1;
	sc->rec.start_timeout_ms = 30000;
	sc->sync.interval_ms = 60000;
	sc->sync.timeout_ms = 600000;
	sc->sync.restart = 1;
	chk_defaults(&sc->check);
	TAILQ_INSERT_TAIL(&conf->services, sc, entry);
	conf->nservices++;
	snprintf(ctx, sizeof(ctx), "service '%s': ", sc->name);

	if (next(ps) != T_OPEN) {
		perr(ps, line, "service '%s': expected '{' after the name", sc->name);
		return -1;
	}
	for (;;) {
		next_nonblank(ps);
		if (ps->failed)
			return -1;
		if (ps->type == T_CLOSE)
			break;
		if (ps->type != T_WORD) {
			perr(ps, ps->tok_line, "%sblock not closed (missing '}' for line %d)",
			    ctx, line);
			return -1;
		}
		snprintf(field, sizeof(field), "%s", ps->tok);
		l = ps->tok_line;
		if (strcmp(field, "check") == 0) {
			if (parse_check(ps, sc, ctx) == -1)
				return -1;
			continue;
		}
		if (strcmp(field, "sync") == 0) {
			if (parse_sync(ps, sc, ctx) == -1)
				return -1;
			continue;
		}
		if (strcmp(field, "relieve") == 0) {
			if (sc->relieve.enabled) {
				perr(ps, l, "%sa second relieve block (the first is at line %d)",
				    ctx, sc->relieve_line);
				return -1;
			}
			if (parse_relieve(ps, sc, ctx) == -1)
				return -1;
			continue;
		}
		if (value(ps, ctx, field) == -1)
			return -1;
		if (strcmp(field, "frontend") == 0 || strcmp(field, "primary") == 0 ||
		    strcmp(field, "standby") == 0) {
			struct endpoint *ep = field[0] == 'f' ? &sc->frontend :
			    field[0] == 'p' ? &sc->primary : &sc->standby;
			if (parse_endpoint(ps->tok, ep) == -1) {
				BAD(ps, l, ctx, field, ps->tok,
				    "an IPv4 address and port such as 198.18.0.1:80");
				return -1;
			}
			*(field[0] == 'f' ? &have_fe : field[0] == 'p' ? &have_pri : &have_sb) = l;
		} else if (strcmp(field, "protocol") == 0) {
			if (strcmp(ps->tok, "tcp") != 0) {
				BAD(ps, l, ctx, field, ps->tok, "tcp (the only protocol so far)");
				return -1;
			}
		} else if (strcmp(field, "mode") == 0) {
			if (strcmp(ps->tok, "dnat") == 0)
				sc->mode = FWD_DNAT;
			else if (strcmp(ps->tok, "tcp") == 0)
				sc->mode = FWD_TCP;
			else if (strcmp(ps->tok, "http") == 0)
				sc->mode = FWD_HTTP;
			else {
				BAD(ps, l, ctx, field, ps->tok, "dnat, tcp or http");
				return -1;
			}
		} else if (strcmp(field, "connect-timeout") == 0 ||
		    strcmp(field, "idle-timeout") == 0 || strcmp(field, "hold-timeout") == 0) {
			unsigned *ms = field[0] == 'c' ? &sc->relay.connect_timeout_ms :
			    field[0] == 'i' ? &sc->relay.idle_timeout_ms : &sc->relay.hold_ms;
			if (parse_duration_ms(ps->tok, ms) == -1 || *ms == 0) {
				BAD(ps, l, ctx, field, ps->tok, "a duration such as 500ms or 5m");
				return -1;
			}
		} else if (strcmp(field, "total-timeout") == 0) {
			sc->total_line = l;
			if (strcmp(ps->tok, "off") == 0)
				sc->relay.total_timeout_ms = 0;
			else if (parse_duration_ms(ps->tok, &sc->relay.total_timeout_ms) == -1 ||
			    sc->relay.total_timeout_ms == 0) {
				BAD(ps, l, ctx, field, ps->tok, "a duration such as 1h, or off");
				return -1;
			}
		} else if (strcmp(field, "max-connections") == 0) {
			if (parse_uint(ps->tok, 1, 1000000, &sc->relay.max_conns) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "a whole number from 1 to 1000000");
				return -1;
			}
		} else if (strcmp(field, "observe-errors") == 0) {
			if (parse_uint(ps->tok, 0, 1000, &sc->relay.observe_errors) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "a whole number from 0 (off) to 1000");
				return -1;
			}
		} else if (strcmp(field, "request-timeout") == 0 ||
		    strcmp(field, "response-timeout") == 0 ||
		    strcmp(field, "keepalive-timeout") == 0) {
			unsigned *ms = field[2] == 'q' ? &sc->relay.request_timeout_ms :
			    field[2] == 's' ? &sc->relay.response_timeout_ms :
			    &sc->relay.keepalive_timeout_ms;
			sc->http_line = l;
			if (parse_duration_ms(ps->tok, ms) == -1 || *ms == 0) {
				BAD(ps, l, ctx, field, ps->tok, "a duration such as 10s");
				return -1;
			}
		} else if (strcmp(field, "max-header-size") == 0) {
			uint64_t v;
			sc->http_line = l;
			if (parse_size(ps->tok, &v) == -1 || v < 1024 || v > 1048576) {
				BAD(ps, l, ctx, field, ps->tok, "a size from 1k to 1m, such as 16k");
				return -1;
			}
			sc->relay.max_header = (unsigned)v;
		} else if (strcmp(field, "max-body-size") == 0) {
			sc->http_line = l;
			if (strcmp(ps->tok, "off") == 0)
				sc->relay.max_body = 0;
			else if (parse_size(ps->tok, &sc->relay.max_body) == -1 ||
			    sc->relay.max_body == 0) {
				BAD(ps, l, ctx, field, ps->tok, "a size such as 10m, or off");
				return -1;
			}
		} else if (strcmp(field, "replay-post") == 0 ||
		    strcmp(field, "forwarded-headers") == 0) {
			int *v = field[0] == 'r' ? &sc->relay.replay_post : &sc->relay.forwarded;
			sc->http_line = l;
			if (parse_pair(ps->tok, "on", "off", v) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "on or off");
				return -1;
			}
		} else if (strcmp(field, "observe-5xx") == 0) {
			sc->http_line = l;
			if (strcmp(ps->tok, "off") == 0)
				sc->relay.observe_5xx = sc->relay.observe_5xx_of = 0;
			else if (parse_ratio(ps->tok, &sc->relay.observe_5xx,
			    &sc->relay.observe_5xx_of) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "N/M (N 5xx among the last M "
				    "responses, M at most 64) such as 10/20, or off");
				return -1;
			}
		} else if (strcmp(field, "primary-vm") == 0) {
			if (!valid_name(ps->tok)) {
				BAD(ps, l, ctx, field, ps->tok, "a libvirt connection name "
				    "(see 'libvirt NAME URI') then a domain name");
				return -1;
			}
			snprintf(sc->rec.vm_conn, sizeof(sc->rec.vm_conn), "%s", ps->tok);
			if (next(ps) != T_WORD || !valid_name(ps->tok) ||
			    strlen(ps->tok) >= sizeof(sc->rec.vm)) {
				BAD(ps, l, ctx, field, ps->type == T_WORD ? ps->tok : "",
				    "a domain name after the connection name, such as "
				    "'primary-vm hv1 web-vm'");
				return -1;
			}
			snprintf(sc->rec.vm, sizeof(sc->rec.vm), "%s", ps->tok);
			sc->rec.fence = 1;
			sc->vm_line = l;
		} else if (strcmp(field, "standby-container") == 0) {
			if (!valid_name(ps->tok)) {
				BAD(ps, l, ctx, field, ps->tok, "an LXD server name "
				    "(see 'lxd NAME URL'), an instance name, then warm or cold");
				return -1;
			}
			snprintf(sc->rec.lxd, sizeof(sc->rec.lxd), "%s", ps->tok);
			if (next(ps) != T_WORD || !valid_name(ps->tok) ||
			    strlen(ps->tok) >= sizeof(sc->rec.container)) {
				BAD(ps, l, ctx, field, ps->type == T_WORD ? ps->tok : "",
				    "an instance name after the LXD server name, such as "
				    "'standby-container lxd1 web-standby warm'");
				return -1;
			}
			snprintf(sc->rec.container, sizeof(sc->rec.container), "%s", ps->tok);
			if (next(ps) != T_WORD ||
			    parse_pair(ps->tok, "cold", "warm", &sc->rec.cold) == -1) {
				BAD(ps, l, ctx, field, ps->type == T_WORD ? ps->tok : "",
				    "warm or cold after the instance name");
				return -1;
			}
			sc->ct_line = l;
		} else if (strcmp(field, "fencing") == 0) {
			sc->fence_line = l;
			if (strcmp(ps->tok, "refuse") == 0)
				sc->rec.fence_proceed = 0, sc->fence_set = 1;
			else if (strcmp(ps->tok, "proceed") == 0)
				sc->rec.fence_proceed = 1, sc->fence_set = 1;
			else if (strcmp(ps->tok, "off") == 0)
				sc->fence_set = -1;
			else {
				BAD(ps, l, ctx, field, ps->tok, "refuse (no cut-over when fencing "
				    "fails), proceed, or off");
				return -1;
			}
		} else if (strcmp(field, "start-timeout") == 0) {
			if (parse_duration_ms(ps->tok, &sc->rec.start_timeout_ms) == -1 ||
			    sc->rec.start_timeout_ms < 100) {
				BAD(ps, l, ctx, field, ps->tok, "a duration of at least 100ms, such as 30s");
				return -1;
			}
		} else if (strcmp(field, "snat") == 0) {
			if (parse_pair(ps->tok, "masquerade", "off", &sc->snat) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "masquerade or off");
				return -1;
			}
		} else if (strcmp(field, "failover") == 0) {
			if (parse_pair(ps->tok, "automatic", "manual", &sc->failover_auto) == -1) {
				BAD(ps, l, ctx, field, ps->tok, "automatic or manual");
				return -1;
			}
		} else if (strcmp(field, "failback") == 0) {
			if (strcmp(ps->tok, "manual") == 0)
				sc->failback_auto = 0;
			else if (strcmp(ps->tok, "automatic") == 0) {
				sc->failback_auto = 1;
				sc->failback_line = l;
				if (next(ps) == T_WORD) {
					if (parse_duration_ms(ps->tok, &sc->failback_hold_ms) == -1) {
						BAD(ps, l, ctx, "failback automatic", ps->tok,
						    "a hold-down duration such as 60s");
						return -1;
					}
				} else if (ps->type == T_CLOSE) {
					ps->p--;
					continue;
				} else
					continue;
			} else {
				BAD(ps, l, ctx, field, ps->tok,
				    "manual, or automatic followed by a hold-down such as 60s");
				return -1;
			}
		} else {
			perr(ps, l, "%sunknown field '%s'", ctx, field);
			return -1;
		}
		if (end_of_statement(ps, ctx, field) == -1)
			return -1;
	}
	if (sc->fence_set == -1)
		sc->rec.fence = 0;
	else if (sc->fence_set == 1 && !sc->vm_line) {
		perr(ps, sc->fence_line, "%sfield 'fencing' needs 'primary-vm' (the VM to power off)",
		    ctx);
		return -1;
	}
	if (sc->sync.enabled && !sc->ct_line) {
		perr(ps, sc->sync_line, "%ssync needs 'standby-container' (where the copy goes)", ctx);
		return -1;
	}
	if (sc->relieve.enabled && !sc->ct_line) {
		perr(ps, sc->relieve_line, "%srelieve needs 'standby-container' (the container "
		    "it moves or replaces)", ctx);
		return -1;
	}
	if (sc->promote_line && !sc->sync.enabled) {
		perr(ps, sc->promote_line, "%srelieve promote-to needs a 'sync' block "
		    "(its key copies the container into the VM)", ctx);
		return -1;
	}
	if (sc->relieve.to_ssh[0] && !sc->sync.enabled) {
		perr(ps, sc->migrate_line, "%srelieve migrate-to %s needs a 'sync' block (its "
		    "key copies the container into its copy)", ctx, sc->relieve.to_ssh);
		return -1;
	}
	if (sc->sync.enabled && sc->failback_auto) {
		perr(ps, sc->failback_line, "%sfield 'failback': automatic with a 'sync' block "
		    "would leave what the standby wrote behind; use 'failback manual' and "
		    "'vcrctl failback', which syncs it back first", ctx);
		return -1;
	}
	if (sc->total_line && sc->mode == FWD_HTTP) {
		perr(ps, sc->total_line, "%sfield 'total-timeout' is for mode tcp; mode http has "
		    "request-timeout, response-timeout and keepalive-timeout", ctx);
		return -1;
	}
	if (sc->http_line && sc->mode != FWD_HTTP) {
		perr(ps, sc->http_line, "%sthis field is for mode http, and the service is "
		    "mode %s", ctx, fwd_mode_name(sc->mode));
		return -1;
	}
	if (!have_fe || !have_pri || !have_sb) {
		perr(ps, line, "%smissing field '%s'", ctx,
		    !have_fe ? "frontend" : !have_pri ? "primary" : "standby");
		return -1;
	}
	if (sc->primary.addr.s_addr == sc->standby.addr.s_addr &&
	    sc->primary.port == sc->standby.port) {
		perr(ps, have_sb, "%sfield 'standby': same target as the primary (%s)", ctx,
		    fmt_endpoint(&sc->standby, a, sizeof(a)));
		return -1;
	}
	TAILQ_FOREACH(o, &conf->services, entry) {
		if (o == sc)
			continue;
		if (o->frontend.addr.s_addr == sc->frontend.addr.s_addr &&
		    o->frontend.port == sc->frontend.port) {
			perr(ps, have_fe, "%sfield 'frontend': %s is already the frontend of "
			    "service '%s' (line %d)", ctx,
			    fmt_endpoint(&sc->frontend, a, sizeof(a)), o->name, o->line);
			return -1;
		}
		/* The masquerade set is keyed by target: one answer per target. */
		if (o->snat != sc->snat) {
			const struct endpoint *t[2] = { &sc->primary, &sc->standby };
			const struct endpoint *u[2] = { &o->primary, &o->standby };
			for (int i = 0; i < 2; i++)
				for (int j = 0; j < 2; j++)
					if (t[i]->addr.s_addr == u[j]->addr.s_addr &&
					    t[i]->port == u[j]->port) {
						perr(ps, line, "%sfield 'snat': target %s is shared "
						    "with service '%s' (line %d), whose snat differs",
						    ctx, fmt_endpoint(t[i], b, sizeof(b)),
						    o->name, o->line);
						return -1;
					}
		}
	}
	return 0;
}

static struct lxd_conf *
lxd_find(struct vcr_conf *conf, const char *name)
{
	struct lxd_conf *lc;

	TAILQ_FOREACH(lc, &conf->lxds, entry)
		if (strcmp(lc->name, name) == 0)
			return lc;
	return NULL;
}

static struct virt_conf *
virt_find(struct vcr_conf *conf, const char *name)
{
	struct virt_conf *vc;

	TAILQ_FOREACH(vc, &conf->virts, entry)
		if (strcmp(vc->name, name) == 0)
			return vc;
	return NULL;
}

static int
parse_path(struct parser *ps, int line, const char *ctx, const char *field, char *out,
    size_t len)
{
	if (ps->tok[0] != '/' || strlen(ps->tok) >= len) {
		BAD(ps, line, ctx, field, ps->tok, "an absolute path of at most 255 bytes");
		return -1;
	}
	snprintf(out, len, "%s", ps->tok);
	return 0;
}

/* lxd NAME URL [{ client-cert F; client-key F; server-cert F }] */
static int
parse_lxd(struct parser *ps, struct vcr_conf *conf)
{
	struct lxd_conf *lc;
	char ctx[REC_NAME_MAX + 16], field[TOK_MAX];
	int line = ps->tok_line, l;

	if (value(ps, "", "lxd") == -1)
		return -1;
	if (!valid_name(ps->tok)) {
		BAD(ps, line, "", "lxd", ps->tok, "a name of 1 to 47 letters, digits, '-', '_' or '.'");
		return -1;
	}
	if ((lc = lxd_find(conf, ps->tok)) != NULL) {
		perr(ps, line, "lxd '%s' is already defined at line %d", ps->tok, lc->line);
		return -1;
	}
	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		perr(ps, line, "out of memory");
		return -1;
	}
	snprintf(lc->name, sizeof(lc->name), "%s", ps->tok);
	lc->line = line;
	TAILQ_INSERT_TAIL(&conf->lxds, lc, entry);
	snprintf(ctx, sizeof(ctx), "lxd '%s': ", lc->name);
	if (value(ps, ctx, "url") == -1)
		return -1;
	if (!((strncmp(ps->tok, "unix:/", 6) == 0 || strncmp(ps->tok, "https://", 8) == 0) &&
	    strlen(ps->tok) < sizeof(lc->url))) {
		BAD(ps, line, ctx, "url", ps->tok, "unix:/var/lib/lxd/unix.socket or "
		    "https://HOST:8443");
		return -1;
	}
	snprintf(lc->url, sizeof(lc->url), "%s", ps->tok);
	if (next(ps) == T_NL || ps->type == T_EOF)
		goto check;
	if (ps->type != T_OPEN) {
		perr(ps, line, "%sunexpected '%s' after the URL (expected '{' or end of line)",
		    ctx, ps->tok);
		return -1;
	}
	for (;;) {
		next_nonblank(ps);
		if (ps->failed)
			return -1;
		if (ps->type == T_CLOSE)
			break;
		if (ps->type != T_WORD) {
			perr(ps, ps->tok_line, "%sblock not closed (missing '}')", ctx);
			return -1;
		}
		snprintf(field, sizeof(field), "%s", ps->tok);
		l = ps->tok_line;
		if (value(ps, ctx, field) == -1)
			return -1;
		if (strcmp(field, "client-cert") == 0) {
			if (parse_path(ps, l, ctx, field, lc->client_cert,
			    sizeof(lc->client_cert)) == -1)
				return -1;
		} else if (strcmp(field, "client-key") == 0) {
			if (parse_path(ps, l, ctx, field, lc->client_key,
			    sizeof(lc->client_key)) == -1)
				return -1;
		} else if (strcmp(field, "server-cert") == 0) {
			if (parse_path(ps, l, ctx, field, lc->server_cert,
			    sizeof(lc->server_cert)) == -1)
				return -1;
		} else {
			perr(ps, l, "%sunknown field '%s'", ctx, field);
			return -1;
		}
		if (end_of_statement(ps, ctx, field) == -1)
			return -1;
	}
check:
	if (strncmp(lc->url, "unix:", 5) == 0 &&
	    (lc->client_cert[0] || lc->client_key[0] || lc->server_cert[0])) {
		perr(ps, line, "%scertificates are for an https:// URL, not %s", ctx, lc->url);
		return -1;
	}
	if (!lc->client_cert[0] != !lc->client_key[0]) {
		perr(ps, line, "%sclient-cert and client-key go together", ctx);
		return -1;
	}
	if (strncmp(lc->url, "https:", 6) == 0 && !lc->client_cert[0]) {
		perr(ps, line, "%san https:// URL needs client-cert and client-key "
		    "(LXD trusts clients by certificate)", ctx);
		return -1;
	}
	return 0;
}

/* libvirt NAME URI */
static int
parse_libvirt(struct parser *ps, struct vcr_conf *conf)
{
	struct virt_conf *vc;
	char ctx[REC_NAME_MAX + 16];
	int line = ps->tok_line;

	if (value(ps, "", "libvirt") == -1)
		return -1;
	if (!valid_name(ps->tok)) {
		BAD(ps, line, "", "libvirt", ps->tok,
		    "a name of 1 to 47 letters, digits, '-', '_' or '.'");
		return -1;
	}
	if ((vc = virt_find(conf, ps->tok)) != NULL) {
		perr(ps, line, "libvirt '%s' is already defined at line %d", ps->tok, vc->line);
		return -1;
	}
	if ((vc = calloc(1, sizeof(*vc))) == NULL) {
		perr(ps, line, "out of memory");
		return -1;
	}
	snprintf(vc->name, sizeof(vc->name), "%s", ps->tok);
	vc->line = line;
	TAILQ_INSERT_TAIL(&conf->virts, vc, entry);
	snprintf(ctx, sizeof(ctx), "libvirt '%s': ", vc->name);
	if (value(ps, ctx, "uri") == -1)
		return -1;
	if (strstr(ps->tok, ":///") == NULL && strstr(ps->tok, "://") == NULL) {
		BAD(ps, line, ctx, "uri", ps->tok, "a libvirt URI such as qemu:///system or "
		    "qemu+ssh://host/system");
		return -1;
	}
	if (strlen(ps->tok) >= sizeof(vc->uri)) {
		BAD(ps, line, ctx, "uri", ps->tok, "at most 255 bytes");
		return -1;
	}
	snprintf(vc->uri, sizeof(vc->uri), "%s", ps->tok);
	return end_of_statement(ps, ctx, "uri");
}

/* Names a service uses must be defined somewhere in the file. */
static int
check_references(struct parser *ps, struct vcr_conf *conf)
{
	struct svc_conf *sc, *o;

	TAILQ_FOREACH(sc, &conf->services, entry) {
		if (sc->rec.vm_conn[0] && virt_find(conf, sc->rec.vm_conn) == NULL) {
			perr(ps, sc->vm_line, "service '%s': field 'primary-vm': no 'libvirt %s "
			    "URI' line in the file", sc->name, sc->rec.vm_conn);
			return -1;
		}
		if (sc->migrate_line && lxd_find(conf, sc->relieve.to_lxd) == NULL) {
			perr(ps, sc->migrate_line, "service '%s': relieve migrate-to: no "
			    "'lxd %s URL' line in the file", sc->name, sc->relieve.to_lxd);
			return -1;
		}
		if (sc->migrate_line && strcmp(sc->relieve.to_lxd, sc->rec.lxd) == 0) {
			perr(ps, sc->migrate_line, "service '%s': relieve migrate-to: %s "
			    "is the standby's own LXD server; name another one", sc->name,
			    sc->rec.lxd);
			return -1;
		}
		if (sc->migrate_line && strcmp(sc->relieve.to_lxd, sc->rec.lxd) != 0 &&
		    strncmp(lxd_find(conf, sc->relieve.to_lxd)->url, "https://", 8) != 0) {
			perr(ps, sc->migrate_line, "service '%s': relieve migrate-to: lxd %s is "
			    "reached at %s; the source pushes the container to it, so it needs an "
			    "https:// URL", sc->name, sc->relieve.to_lxd,
			    lxd_find(conf, sc->relieve.to_lxd)->url);
			return -1;
		}
		if (sc->promote_line && virt_find(conf, sc->relieve.vm_conn) == NULL) {
			perr(ps, sc->promote_line, "service '%s': relieve promote-to: no "
			    "'libvirt %s URI' line in the file", sc->name, sc->relieve.vm_conn);
			return -1;
		}
		if (sc->rec.lxd[0] && lxd_find(conf, sc->rec.lxd) == NULL) {
			perr(ps, sc->ct_line, "service '%s': field 'standby-container': no "
			    "'lxd %s URL' line in the file", sc->name, sc->rec.lxd);
			return -1;
		}
		TAILQ_FOREACH(o, &conf->services, entry) {
			if (o == sc)
				break;
			if (sc->rec.lxd[0] && strcmp(o->rec.lxd, sc->rec.lxd) == 0 &&
			    strcmp(o->rec.container, sc->rec.container) == 0) {
				perr(ps, sc->ct_line, "service '%s': field 'standby-container': "
				    "%s/%s is already the standby of service '%s' (line %d)",
				    sc->name, sc->rec.lxd, sc->rec.container, o->name, o->line);
				return -1;
			}
		}
	}
	return 0;
}

static int
parse_global(struct parser *ps, struct vcr_conf *conf)
{
	char field[TOK_MAX];
	int line = ps->tok_line, lvl;
	struct endpoint ep;

	snprintf(field, sizeof(field), "%s", ps->tok);
	if (value(ps, "", field) == -1)
		return -1;
	if (strcmp(field, "control-socket") == 0) {
		if (ps->tok[0] != '/' || strlen(ps->tok) >= sizeof(conf->control_socket)) {
			BAD(ps, line, "", field, ps->tok, "an absolute path of at most 107 bytes");
			return -1;
		}
		snprintf(conf->control_socket, sizeof(conf->control_socket), "%s", ps->tok);
	} else if (strcmp(field, "state-dir") == 0) {
		if (ps->tok[0] != '/' || strlen(ps->tok) >= sizeof(conf->state_dir)) {
			BAD(ps, line, "", field, ps->tok, "an absolute path of at most 255 bytes");
			return -1;
		}
		snprintf(conf->state_dir, sizeof(conf->state_dir), "%s", ps->tok);
	} else if (strcmp(field, "metrics-listen") == 0) {
		if (strcmp(ps->tok, "off") == 0)
			conf->metrics_listen[0] = '\0';
		else if (parse_endpoint(ps->tok, &ep) == -1) {
			BAD(ps, line, "", field, ps->tok, "an IPv4 address and port such as "
			    "127.0.0.1:9107, or off");
			return -1;
		} else
			fmt_endpoint(&ep, conf->metrics_listen, sizeof(conf->metrics_listen));
	} else if (strcmp(field, "log-level") == 0) {
		if ((lvl = log_level_parse(ps->tok)) == -1) {
			BAD(ps, line, "", field, ps->tok, "error, warn, info or debug");
			return -1;
		}
		conf->log_level = lvl;
	} else if (strcmp(field, "log-target") == 0) {
		if (parse_pair(ps->tok, "syslog", "stderr", &conf->log_syslog) == -1) {
			BAD(ps, line, "", field, ps->tok, "stderr or syslog");
			return -1;
		}
	} else if (strcmp(field, "keep-rules-on-exit") == 0) {
		if (parse_bool(ps->tok, &conf->keep_rules_on_exit) == -1) {
			BAD(ps, line, "", field, ps->tok, "yes or no");
			return -1;
		}
	} else {
		perr(ps, line, "unknown field '%s'", field);
		return -1;
	}
	return end_of_statement(ps, "", field);
}

struct vcr_conf *
conf_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	struct parser ps = { .name = name, .p = buf, .end = buf + len, .line = 1,
	    .err = err, .errlen = errlen };
	struct vcr_conf *conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	TAILQ_INIT(&conf->services);
	TAILQ_INIT(&conf->lxds);
	TAILQ_INIT(&conf->virts);
	snprintf(conf->path, sizeof(conf->path), "%s", name);
	snprintf(conf->control_socket, sizeof(conf->control_socket), "%s", VCR_DEFAULT_SOCKET);
	snprintf(conf->state_dir, sizeof(conf->state_dir), "%s", VCR_DEFAULT_STATEDIR);
	conf->log_level = LOG_LVL_INFO;
	conf->keep_rules_on_exit = 1;

	if (memchr(buf, '\0', len) != NULL) {
		perr(&ps, 1, "file contains a NUL byte: not a text file");
		goto fail;
	}
	for (;;) {
		next_nonblank(&ps);
		if (ps.failed)
			goto fail;
		if (ps.type == T_EOF)
			break;
		if (ps.type != T_WORD) {
			perr(&ps, ps.tok_line, "unexpected '%s'", ps.tok);
			goto fail;
		}
		if (strcmp(ps.tok, "service") == 0) {
			if (parse_service(&ps, conf) == -1)
				goto fail;
		} else if (strcmp(ps.tok, "lxd") == 0) {
			if (parse_lxd(&ps, conf) == -1)
				goto fail;
		} else if (strcmp(ps.tok, "libvirt") == 0) {
			if (parse_libvirt(&ps, conf) == -1)
				goto fail;
		} else if (parse_global(&ps, conf) == -1)
			goto fail;
	}
	if (ps.failed || check_references(&ps, conf) == -1)
		goto fail;
	return conf;
fail:
	conf_free(conf);
	return NULL;
}

struct vcr_conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct vcr_conf *conf;
	struct stat sb;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size > CONF_MAX_SIZE) {
		snprintf(err, errlen, "%s: not a regular file of at most 16 MiB", path);
		close(fd);
		return NULL;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)sb.st_size && (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	conf = conf_parse(path, buf, got, err, errlen);
	free(buf);
	return conf;
}

void
conf_free(struct vcr_conf *conf)
{
	struct svc_conf *sc;
	struct lxd_conf *lc;
	struct virt_conf *vc;

	if (conf == NULL)
		return;
	while ((sc = TAILQ_FIRST(&conf->services)) != NULL) {
		TAILQ_REMOVE(&conf->services, sc, entry);
		free(sc);
	}
	while ((lc = TAILQ_FIRST(&conf->lxds)) != NULL) {
		TAILQ_REMOVE(&conf->lxds, lc, entry);
		free(lc);
	}
	while ((vc = TAILQ_FIRST(&conf->virts)) != NULL) {
		TAILQ_REMOVE(&conf->virts, vc, entry);
		free(vc);
	}
	free(conf);
}

struct svc_conf *
conf_find(struct vcr_conf *conf, const char *name)
{
	struct svc_conf *sc;

	TAILQ_FOREACH(sc, &conf->services, entry)
		if (strcmp(sc->name, name) == 0)
			return sc;
	return NULL;
}

static int
ep_eq(const struct endpoint *a, const struct endpoint *b)
{
	return a->addr.s_addr == b->addr.s_addr && a->port == b->port;
}

int
svc_conf_equal(const struct svc_conf *a, const struct svc_conf *b)
{
	return strcmp(a->name, b->name) == 0 && ep_eq(&a->frontend, &b->frontend) &&
	    ep_eq(&a->primary, &b->primary) && ep_eq(&a->standby, &b->standby) &&
	    a->mode == b->mode && a->snat == b->snat &&
	    memcmp(&a->check, &b->check, sizeof(a->check)) == 0 &&
	    memcmp(&a->relay, &b->relay, sizeof(a->relay)) == 0 &&
	    memcmp(&a->rec, &b->rec, sizeof(a->rec)) == 0 &&
	    memcmp(&a->sync, &b->sync, sizeof(a->sync)) == 0 &&
	    memcmp(&a->relieve, &b->relieve, sizeof(a->relieve)) == 0 &&
	    a->failover_auto == b->failover_auto && a->failback_auto == b->failback_auto &&
	    a->failback_hold_ms == b->failback_hold_ms;
}

static void
side_fields(struct svc_conf *sc, int side, struct endpoint **ep, char **a, char **b,
    char **src)
{
	if (side) {
		*ep = &sc->standby;
		*a = sc->rec.lxd;
		*b = sc->rec.container;
		*src = NULL;
	} else {
		*ep = &sc->primary;
		*a = sc->rec.vm_conn;
		*b = sc->rec.vm;
		*src = sc->sync.source;
	}
}

void
conf_moved_init(struct moved *m, const struct svc_conf *sc, int side)
{
	struct endpoint *ep;
	char *a, *b, *src;

	side_fields((struct svc_conf *)sc, side, &ep, &a, &b, &src);
	memset(m, 0, sizeof(*m));
	m->from_ep = *ep;
	snprintf(m->from_a, sizeof(m->from_a), "%s", a);
	snprintf(m->from_b, sizeof(m->from_b), "%s", b);
	if (src)
		snprintf(m->from_src, sizeof(m->from_src), "%s", src);
}

void
conf_move(struct svc_conf *sc, int side, const struct moved *m)
{
	struct endpoint *ep;
	char *a, *b, *src;

	side_fields(sc, side, &ep, &a, &b, &src);
	*ep = m->to_ep;
	snprintf(a, REC_NAME_MAX, "%s", m->to_a);
	snprintf(b, REC_OBJ_MAX, "%s", m->to_b);
	if (src)
		snprintf(src, sizeof(sc->sync.source), "%s", m->to_src);
}

int
conf_moved_from(const struct svc_conf *sc, int side, const struct moved *m)
{
	struct endpoint *ep;
	char *a, *b, *src;

	side_fields((struct svc_conf *)sc, side, &ep, &a, &b, &src);
	if (ep_eq(ep, &m->from_ep) && strcmp(a, m->from_a) == 0 && strcmp(b, m->from_b) == 0 &&
	    (src == NULL || strcmp(src, m->from_src) == 0))
		return 1;
	if (ep_eq(ep, &m->to_ep) && strcmp(a, m->to_a) == 0 && strcmp(b, m->to_b) == 0)
		return 0;
	return -1;
}
