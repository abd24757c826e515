/*
 * check.c: health checks, all on the event loop.
 *
 * tcp:  a non-blocking connect(); writable means connected. The socket is
 *       closed with a RST (SO_LINGER 0), as HAProxy does, so a thousand
 *       checks a second leave no TIME_WAIT behind.
 * http: libcurl's multi-socket API, its sockets and timer driven by libevent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "vcr.h"
#include "check.h"
#include "curl_ev.h"
#include "conf.h"
#include "sock.h"

#define BODY_MAX	(64 * 1024)

struct chk {
	struct event_base *base;
	struct curl_ev	*http;
	struct curl_ev_req req;
	struct chk_conf	 conf;
	struct endpoint	 target;
	chk_cb		 cb;
	void		*arg;
	struct event	*tick;		/* interval timer */
	unsigned	 fast_ms;	/* chk_fast: interval for now; 0: the configured one */
	/* running check */
	int		 running;
	uint64_t	 started_us;
	int		 fd;		/* tcp */
	struct event	*io;		/* tcp */
	CURL		*easy;		/* http */
	struct curl_slist *headers;
	char		*body;
	size_t		 body_len;
	char		 url[320];
};

static void chk_finish(struct chk *c, int ok, const char *reason);

/* ---- http: libcurl multi, driven by libevent (curl_ev.c) ---- */

static void
http_done(CURL *easy, CURLcode result, void *arg)
{
	struct chk *c = arg;
	char reason[96];
	long code = 0;
	int ok = 0;

	if (result != CURLE_OK) {
		if (result == CURLE_OPERATION_TIMEDOUT)
			snprintf(reason, sizeof(reason), "HTTP timeout after %u ms",
			    c->conf.timeout_ms);
		else if (result == CURLE_COULDNT_CONNECT) {
			long oserr = 0;
			curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
			snprintf(reason, sizeof(reason), "%s", oserr ?
			    sock_error_name((int)oserr) : "cannot connect");
		} else
			snprintf(reason, sizeof(reason), "HTTP: %s", curl_easy_strerror(result));
	} else {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		for (unsigned i = 0; i < c->conf.nstatus; i++)
			if ((unsigned long)code >= c->conf.status[i].lo &&
			    (unsigned long)code <= c->conf.status[i].hi)
				ok = 1;
		if (!ok)
			snprintf(reason, sizeof(reason), "HTTP %ld", code);
		else if (c->conf.expect_body[0] && (c->body == NULL ||
		    memmem(c->body, c->body_len, c->conf.expect_body,
		    strlen(c->conf.expect_body)) == NULL)) {
			ok = 0;
			snprintf(reason, sizeof(reason), "HTTP %ld without \"%.40s\" in the body",
			    code, c->conf.expect_body);
		} else
			snprintf(reason, sizeof(reason), "HTTP %ld", code);
	}
	chk_finish(c, ok, reason);
}

static size_t
curl_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct chk *c = arg;
	size_t n = size * nmemb, room;

	if (c->conf.expect_body[0] == '\0')
		return n;
	room = BODY_MAX - c->body_len;
	if (n > room)
		n = room;
	if (n > 0) {
		char *b = realloc(c->body, c->body_len + n);
		if (b == NULL)
			return 0;
		memcpy(b + c->body_len, ptr, n);
		c->body = b;
		c->body_len += n;
	}
	return size * nmemb;
}

static int
http_start(struct chk *c)
{
	char addr[INET_ADDRSTRLEN], host[300];

	inet_ntop(AF_INET, &c->target.addr, addr, sizeof(addr));
	snprintf(c->url, sizeof(c->url), "http://%s:%u%s", addr, c->target.port, c->conf.path);
	if ((c->easy = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)c->conf.timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "vcrd-check/" VCR_VERSION);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, curl_write_cb);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	/* A check must see a fresh connection fail, not a pooled one. */
	curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
	if (c->conf.host[0]) {
		snprintf(host, sizeof(host), "Host: %s", c->conf.host);
		c->headers = curl_slist_append(NULL, host);
		curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	}
	c->req.cb = http_done;
	c->req.arg = c;
	if (curl_ev_add(c->http, c->easy, &c->req) == -1)
		return -1;
	return 0;
}

static void
http_cleanup(struct chk *c)
{
	if (c->easy) {
		curl_ev_remove(c->http, c->easy);
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	curl_slist_free_all(c->headers);
	c->headers = NULL;
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
}

/* ---- tcp ---- */

static void
tcp_cleanup(struct chk *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->io) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->fd != -1) {
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(c->fd);
		c->fd = -1;
	}
}

static void
tcp_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chk *c = arg;
	char reason[96];

	if (sock_connected(fd, what, c->conf.timeout_ms, reason, sizeof(reason)) == -1)
		chk_finish(c, 0, reason);
	else
		chk_finish(c, 1, "connected");
}

static int
tcp_start(struct chk *c, char *reason, size_t len)
{
	struct timeval tv = { c->conf.timeout_ms / 1000, (c->conf.timeout_ms % 1000) * 1000 };
	int fd;

	if ((fd = sock_connect(&c->target, 0, reason, len)) < 0)
		return fd;
	c->fd = fd;
	c->io = event_new(c->base, c->fd, EV_WRITE, tcp_event_cb, c);
	event_add(c->io, &tv);
	return 0;
}

/* ---- common ---- */

static void
chk_finish(struct chk *c, int ok, const char *reason)
{
	unsigned latency = (unsigned)(now_us() - c->started_us);

	if (c->conf.type == CHK_HTTP)
		http_cleanup(c);
	else
		tcp_cleanup(c);
	c->running = 0;
	c->cb(c, ok, reason, latency, c->arg);
}

static void
chk_run(struct chk *c)
{
	char reason[96];
	int rc;

	if (c->running)
		return;		/* a slow check never overlaps itself */
	c->running = 1;
	c->started_us = now_us();
	if (c->conf.type == CHK_HTTP) {
		rc = http_start(c);
		snprintf(reason, sizeof(reason), "cannot start HTTP check");
	} else
		rc = tcp_start(c, reason, sizeof(reason));
	if (rc == -2) {
		/* This host could not even try: no verdict on the target. */
		c->running = 0;
		log_warnx("event=check-skipped %s", reason);
	} else if (rc == -1)
		chk_finish(c, 0, reason);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chk *c = arg;
	unsigned ms = c->fast_ms ? c->fast_ms : c->conf.interval_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->tick, &tv);
	chk_run(c);
}

struct chk *
chk_new(struct event_base *base, struct curl_ev *http, const struct chk_conf *conf,
    const struct endpoint *target, chk_cb cb, void *arg)
{
	struct chk *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->base = base;
	c->http = http;
	c->conf = *conf;
	c->target = *target;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->tick = evtimer_new(base, tick_cb, c);
	return c;
}

void
chk_start(struct chk *c, unsigned delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	evtimer_add(c->tick, &tv);
}

void
chk_now(struct chk *c)
{
	evtimer_del(c->tick);
	tick_cb(-1, 0, c);
}

void
chk_fast(struct chk *c, unsigned interval_ms)
{
	if (c->fast_ms == interval_ms)
		return;
	c->fast_ms = interval_ms;
	if (interval_ms)
		chk_now(c);
}

void
chk_free(struct chk *c)
{
	if (c == NULL)
		return;
	if (c->conf.type == CHK_HTTP)
		http_cleanup(c);
	else
		tcp_cleanup(c);
	event_free(c->tick);
	free(c);
}
