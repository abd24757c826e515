/*
 * http.c: mode http, an HTTP/1.1 relay on paired bufferevents.
 *
 * One upstream connection per client connection, made like mode tcp's
 * (to the service's own frontend with NF_RELAY_MARK, so the nftables map
 * decides the side) and kept alive across the client's requests. One
 * request at a time: pipelined requests wait in the client's input
 * buffer until the response before them is done.
 *
 * Heads are parsed (http_parse.c) and written again: hop-by-hop headers
 * go, X-Forwarded-For and Forwarded get the client's address. Bodies are
 * moved between evbuffers without copying, framed by Content-Length or
 * by the chunked framing passed through as it is. When the peer's output
 * holds more than HIGH_WM bytes the other side stops being read
 * (libevent's le-proxy pattern), so memory stays bounded per connection.
 *
 * A request that got no response byte is sent again, on a new upstream
 * connection, when it is idempotent (or a POST and replay-post is on) and
 * its copy fits in REPLAY_MAX: after the upstream connection failed, and
 * at once after a cut-over (relay_retry), so a request stuck on a dead
 * primary is answered by the standby instead of waiting for a timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "vcr.h"
#include "conf.h"
#include "http_parse.h"
#include "nf.h"
#include "relay-int.h"
#include "sock.h"

#define HIGH_WM		(256 * 1024)	/* stop reading the other side above this */
#define REPLAY_MAX	(64 * 1024)	/* a request kept for replay: head and body */
#define RESP_HEAD_MAX	(64 * 1024)
#define LINGER_MS	1000		/* reading what a client still sends after our last reply */
#define METHOD_MAX	24
#define READ_CHUNK	(64 * 1024)	/* libevent 2.1 reads 4 KiB at a time: we read more */

enum hstate {
	HS_HEAD = 0,		/* reading a request head */
	HS_CONNECT,		/* upstream connect under way */
	HS_HELD,		/* waiting to connect again */
	HS_BODY,		/* sending the request body */
	HS_WAIT,		/* request sent, no response yet */
	HS_RESP,		/* relaying the response */
	HS_CLOSING,		/* last bytes to the client, then close */
};

struct hconn {
	struct relay	*r;
	struct bufferevent *cli, *srv;		/* written through, read by cli_rev and srv_rev */
	struct event	*cli_rev, *srv_rev;
	int		 cfd;
	int		 pending_fd;		/* upstream connect under way */
	struct event	*connect_ev;		/* that connect, or the hold's retry timer */
	struct event	*timer;
	uint64_t	 deadline_ms;	/* the timeout (now_ms), 0 for none; see set_timer */
	uint64_t	 armed_ms;	/* when the armed timer fires, 0 when not armed */
	enum hstate	 state;
	unsigned	 srv_gen;		/* generation the upstream connection was made in */
	int		 srv_reused;		/* carried over from an earlier request */
	unsigned	 attempts;
	unsigned	 nreq;
	char		 client[INET_ADDRSTRLEN];
	int		 head_timer;		/* HS_HEAD: request-timeout running (not keep-alive's) */
	int		 cli_eof;		/* the client half-closed: answer what it sent, then close */

	/* the request under way */
	uint64_t	 req_start_ms;
	char		 method[METHOD_MAX];
	size_t		 mlen;
	int		 client_ka;
	enum http_body	 req_body;
	uint64_t	 req_left;
	struct http_chunked req_ch;
	int		 req_done;		/* all of the body read from the client */
	struct evbuffer	*req;			/* head, and the body while replayable */
	int		 replayable;
	int		 sent;			/* the request reached an upstream connection */

	/* its response */
	int		 resp_started;		/* bytes of it went to the client */
	enum http_body	 resp_body;
	uint64_t	 resp_left;
	struct http_chunked resp_ch;
	int		 srv_ka;
	int		 close_after;
	TAILQ_ENTRY(hconn) entry;
};

/*
 * What goes out next to one peer. Written at once when that peer's output
 * is empty (the usual case), so a request or a response costs no
 * EV_WRITE add and delete (two epoll_ctl calls each); what the socket does
 * not take waits in the bufferevent's output. Filled and sent within one
 * function, before any callback that could reach another connection.
 */
static struct evbuffer *tx;

static void hc_connect(struct hconn *hc);
static void try_head(struct hconn *hc);
static void pump_req_body(struct hconn *hc);
static int pump_resp_body(struct hconn *hc);
static void send_request(struct hconn *hc);
static void srv_event_cb(struct bufferevent *bev, short what, void *arg);

static void
send_now(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(tx, bufferevent_getfd(bev));	/* errors: found by the bufferevent */
	if (evbuffer_get_length(tx) > 0)
		evbuffer_add_buffer(out, tx);
}

static void
set_timer(struct hconn *hc, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	/*
	 * Lazily: a timer armed to fire no later than the new deadline is
	 * left as it is, and timer_cb re-arms it for what is left. A request
	 * sets its timer four times or so; re-adding it to libevent's heap
	 * each time cost more than the rest of the timer work.
	 */
	hc->deadline_ms = now_ms() + ms;
	if (hc->armed_ms && hc->armed_ms <= hc->deadline_ms)
		return;
	hc->armed_ms = hc->deadline_ms;
	evtimer_add(hc->timer, &tv);
}

/* No timeout: an armed timer is left to fire, and timer_cb does nothing. */
static void
clear_timer(struct hconn *hc)
{
	hc->deadline_ms = 0;
}

static void
srv_close(struct hconn *hc)
{
	if (hc->srv_rev) {
		event_free(hc->srv_rev);
		hc->srv_rev = NULL;
	}
	if (hc->srv) {
		bufferevent_free(hc->srv);
		hc->srv = NULL;
	}
	if (hc->pending_fd != -1) {
		close(hc->pending_fd);
		hc->pending_fd = -1;
	}
	if (hc->connect_ev) {
		event_free(hc->connect_ev);
		hc->connect_ev = NULL;
	}
}

static void
hc_free(struct hconn *hc)
{
	struct relay *r = hc->r;

	srv_close(hc);
	if (hc->cli_rev)
		event_free(hc->cli_rev);
	if (hc->cli)
		bufferevent_free(hc->cli);
	if (hc->timer)
		event_free(hc->timer);
	if (hc->req)
		evbuffer_free(hc->req);
	TAILQ_REMOVE(&r->hconns, hc, entry);
	free(hc);
	relay_conn_closed(r);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/*
 * The last response is on its way: once the client has it all, shut our
 * side down and read what the client still sends for LINGER_MS, so that
 * closing with unread bytes does not reset the connection under the reply.
 */
static void
closing(struct hconn *hc)
{
	hc->state = HS_CLOSING;
	if (!hc->cli_eof)
		event_add(hc->cli_rev, NULL);
	if (evbuffer_get_length(bufferevent_get_output(hc->cli)) == 0) {
		shutdown(hc->cfd, SHUT_WR);
		set_timer(hc, LINGER_MS);
	} else
		set_timer(hc, hc->r->conf.idle_timeout_ms);	/* cli_write_cb goes on */
}

/*
 * vcrd's own answer, then close: 4xx for what the client sent, 502/504
 * for what no side could answer. Once response bytes went out, all that
 * is left is to cut the connection.
 */
static void
hc_reply(struct hconn *hc, int status, const char *why)
{
	struct relay *r = hc->r;
	const char *text = status_text(status);

	srv_close(hc);
	if (hc->resp_started || hc->state == HS_CLOSING) {
		hc_free(hc);
		return;
	}
	if (status >= 500 && status != 501 && status != 505)
		r->stats.gateway_errors++;
	else
		r->stats.rejected++;
	log_debug("event=http service=%s client=%s answered %d: %s", r->name, hc->client,
	    status, why);
	evbuffer_drain(tx, evbuffer_get_length(tx));	/* what was under way is dropped */
	evbuffer_add_printf(tx, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
	    "%d %s\n", status, text, strlen(text) + 5, status, text);
	send_now(hc->cli);
	hc->resp_started = 1;
	/* Read (and drop) what the client still sends, so closing does not reset the reply. */
	evbuffer_drain(bufferevent_get_input(hc->cli),
	    evbuffer_get_length(bufferevent_get_input(hc->cli)));
	closing(hc);
}

/*
 * An upstream failure, for the health view. The report can move the
 * service at once, and http_retry then sends this very request to the
 * new side: 1 says so, and the caller leaves hc alone.
 */
static int
upstream_error(struct hconn *hc, const char *reason)
{
	struct relay *r = hc->r;
	unsigned gen = r->gen, srv_gen = hc->srv_gen;

	r->stats.upstream_errors++;
	if (r->cbs.err)
		r->cbs.err(r->cbs.arg, hc->srv_gen, reason);
	return r->gen != gen && hc->srv_gen != srv_gen;
}

static void
request_reset(struct hconn *hc)
{
	hc->mlen = 0;
	hc->method[0] = '\0';
	hc->req_body = HTTP_BODY_NONE;
	hc->req_left = 0;
	hc->req_done = 0;
	hc->replayable = 0;
	hc->sent = 0;
	hc->attempts = 0;
	hc->resp_started = 0;
	hc->close_after = 0;
	hc->srv_ka = 0;
	evbuffer_drain(hc->req, evbuffer_get_length(hc->req));
}

static void
head_state(struct hconn *hc)
{
	hc->state = HS_HEAD;
	if (!hc->cli_eof)
		event_add(hc->cli_rev, NULL);
	set_timer(hc, hc->nreq ? hc->r->conf.keepalive_timeout_ms : hc->r->conf.request_timeout_ms);
	hc->head_timer = hc->nreq == 0;
	try_head(hc);
}

static void
response_done(struct hconn *hc)
{
	if (!hc->srv_ka)
		srv_close(hc);
	if (hc->close_after || (hc->cli_eof &&
	    evbuffer_get_length(bufferevent_get_input(hc->cli)) == 0)) {
		closing(hc);
		return;
	}
	hc->nreq++;
	request_reset(hc);
	if (hc->srv)
		hc->srv_reused = 1;
	head_state(hc);
}

/*
 * Reads what the socket has, READ_CHUNK at a time, into bev's input while
 * it and `held` (what waits for the peer) stay under limit. libevent 2.1's
 * bufferevents read 4 KiB at a time, after an ioctl: 64 KiB reads saved
 * two thirds of the time of a 100 KiB response. Returns the bytes read, or -1 at EOF (errno 0) or on an
 * error when nothing was read: after data, EOF waits for the next read.
 */
static ssize_t
slurp(struct bufferevent *bev, size_t held, size_t limit)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t total = 0, n = 0;

	/* A bufferevent keeps its input's end frozen except while it reads itself. */
	evbuffer_unfreeze(in, 0);
	while (evbuffer_get_length(in) + held < limit) {
		struct evbuffer_iovec v;

		if (evbuffer_reserve_space(in, READ_CHUNK, &v, 1) < 1)
			break;
		n = recv(fd, v.iov_base, v.iov_len, MSG_DONTWAIT);
		v.iov_len = n > 0 ? (size_t)n : 0;
		evbuffer_commit_space(in, &v, 1);
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < READ_CHUNK)
			break;		/* the socket is empty */
	}
	evbuffer_freeze(in, 0);
	if (total == 0 && (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))) {
		if (n == 0)
			errno = 0;
		return -1;
	}
	return total;
}

/* Chunked framing at the start of buf: how many bytes belong to the body; -1 if malformed. */
static long
chunked_scan(struct evbuffer *buf, struct http_chunked *ch, unsigned max_line)
{
	struct evbuffer_iovec v[16];
	int n = evbuffer_peek(buf, -1, NULL, v, 16);
	long total = 0;

	if (n > 16)
		n = 16;
	for (int i = 0; i < n && !ch->done; i++) {
		long k = http_chunked_feed(ch, v[i].iov_base, v[i].iov_len, max_line);

		if (k == -1)
			return -1;
		total += k;
	}
	return total;
}

static int
named(const struct http_hdr *hd, const char *name)
{
	return hd->nlen == strlen(name) && strncasecmp(hd->name, name, hd->nlen) == 0;
}

/* Does this Connection value name anything but keep-alive (a fixed one)? */
static int
names_headers(const char *v, size_t n)
{
	size_t i = 0, tl;
	const char *t;

	while (http_next_token(v, n, &i, &t, &tl))
		if (!(tl == 10 && strncasecmp(t, "keep-alive", 10) == 0))
			return 1;
	return 0;
}

/*
 * Where hop_by_hop looks for the headers Connection names: the index of
 * the first Connection header that names any but keep-alive, or nhdr when
 * none does (the usual "Connection: keep-alive": nothing to look up).
 */
static unsigned
first_connection(const struct http_head *h)
{
	unsigned i;

	for (i = 0; i < h->nhdr; i++)
		if (named(&h->hdr[i], "connection") && names_headers(h->hdr[i].val, h->hdr[i].vlen))
			break;
	return i;
}

/*
 * Is this header for this hop only: one of the fixed names, or a name the
 * Connection headers (from index conn on) list?
 */
static int
hop_by_hop(const struct http_head *h, unsigned conn, const struct http_hdr *hd)
{
	char name[64];

	if (named(hd, "connection") || named(hd, "keep-alive") ||
	    named(hd, "proxy-connection") || named(hd, "te") || named(hd, "upgrade"))
		return 1;
	if (conn == h->nhdr || hd->nlen >= sizeof(name))
		return 0;
	memcpy(name, hd->name, hd->nlen);
	name[hd->nlen] = '\0';
	for (unsigned i = conn; i < h->nhdr; i++) {
		const struct http_hdr *c = &h->hdr[i];

		if (named(c, "connection") && http_has_token(c->val, c->vlen, name))
			return 1;
	}
	return 0;
}

/*
 * A head is written into one buffer and added to the evbuffer in one
 * piece: an evbuffer_add a header cost more than the rest of the relay's
 * work on a small request (tests/bench/relay.sh). Without memory for the
 * buffer, the pieces go to the evbuffer one by one.
 */
static struct {
	char	*p;
	size_t	 len, cap;
} hb;

/* hb_add's slow path: a bigger buffer; 0 when there is none. */
static int
hb_grow(struct evbuffer *out, size_t n)
{
	size_t cap = hb.cap ? hb.cap : 4096;
	char *p;

	while (cap < hb.len + n)
		cap *= 2;
	if ((p = realloc(hb.p, cap)) == NULL) {
		evbuffer_add(out, hb.p, hb.len);
		hb.len = 0;
		return 0;
	}
	hb.p = p;
	hb.cap = cap;
	return 1;
}

static inline void
hb_add(struct evbuffer *out, const void *s, size_t n)
{
	if (hb.len + n > hb.cap && !hb_grow(out, n)) {
		evbuffer_add(out, s, n);
		return;
	}
	memcpy(hb.p + hb.len, s, n);
	hb.len += n;
}

static void
hb_flush(struct evbuffer *out)
{
	evbuffer_add(out, hb.p, hb.len);
	hb.len = 0;
}

static void
add_str(struct evbuffer *out, const char *s)
{
	hb_add(out, s, strlen(s));
}

/* A header line as it came ("Name: value"), in one piece. */
static void
add_header(struct evbuffer *out, const struct http_hdr *hd)
{
	const char *end = hd->vlen ? hd->val + hd->vlen : hd->name + hd->nlen + 1;

	hb_add(out, hd->name, (size_t)(end - hd->name));
	hb_add(out, "\r\n", 2);
}

/* The request as it goes upstream. */
static void
write_request_head(struct hconn *hc, const struct http_head *h, struct evbuffer *out)
{
	const struct relay_conf *rc = &hc->r->conf;
	const struct http_hdr *xff = NULL, *fwd = NULL;
	unsigned conn = first_connection(h);

	/* No printf here: this runs for every request (see tests/bench/relay.sh). */
	hb_add(out, h->method, h->mlen);
	hb_add(out, " ", 1);
	hb_add(out, h->target, h->tlen);
	add_str(out, h->minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	for (unsigned i = 0; i < h->nhdr; i++) {
		const struct http_hdr *hd = &h->hdr[i];

		if (hop_by_hop(h, conn, hd))
			continue;
		if (rc->forwarded && named(hd, "x-forwarded-for")) {
			xff = hd;	/* the last one wins, as in nginx */
			continue;
		}
		if (rc->forwarded && named(hd, "forwarded")) {
			fwd = hd;
			continue;
		}
		add_header(out, hd);
	}
	if (rc->forwarded) {
		add_str(out, "X-Forwarded-For: ");
		if (xff) {
			hb_add(out, xff->val, xff->vlen);
			add_str(out, ", ");
		}
		add_str(out, hc->client);
		add_str(out, "\r\nForwarded: ");
		if (fwd) {
			hb_add(out, fwd->val, fwd->vlen);
			add_str(out, ", ");
		}
		add_str(out, "for=");
		add_str(out, hc->client);
		add_str(out, ";proto=http\r\n");
	}
	if (h->minor == 0)
		add_str(out, "Connection: keep-alive\r\n");
	hb_add(out, "\r\n", 2);
	hb_flush(out);
}

static void
try_head(struct hconn *hc)
{
	struct relay *r = hc->r;
	struct evbuffer *in = bufferevent_get_input(hc->cli);
	size_t len = evbuffer_get_length(in), n;
	struct http_head h;
	const char *p, *why;
	long hl;
	int status;

	if (len == 0)
		return;
	if (!hc->head_timer) {
		/* The first byte of a request: it now has request-timeout to arrive whole. */
		hc->head_timer = 1;
		set_timer(hc, r->conf.request_timeout_ms);
	}
	n = len < r->conf.max_header ? len : r->conf.max_header;
	p = (const char *)evbuffer_pullup(in, (ssize_t)n);
	hl = http_parse_head(p, n, 1, NULL, 0, &h, &status, &why);
	if (hl == 0) {
		if (n >= r->conf.max_header)
			hc_reply(hc, 431, "request head over max-header-size");
		else if (hc->cli_eof)
			hc_free(hc);	/* half a request, and the client has closed */
		return;
	}
	if (hl < 0) {
		hc_reply(hc, status, why);
		return;
	}
	if (r->conf.max_body && h.body == HTTP_BODY_LENGTH && h.length > r->conf.max_body) {
		hc_reply(hc, 413, "Content-Length over max-body-size");
		return;
	}
	hc->req_start_ms = now_ms();
	hc->mlen = h.mlen < METHOD_MAX - 1 ? h.mlen : METHOD_MAX - 1;
	memcpy(hc->method, h.method, hc->mlen);
	hc->method[hc->mlen] = '\0';
	hc->client_ka = h.keep_alive;
	hc->req_body = h.body;
	hc->req_left = h.length;
	hc->req_done = h.body == HTTP_BODY_NONE;
	http_chunked_init(&hc->req_ch);
	hc->replayable = (h.mlen < METHOD_MAX && http_idempotent(h.method, h.mlen)) ||
	    (r->conf.replay_post && h.mlen == 4 && memcmp(h.method, "POST", 4) == 0);
	write_request_head(hc, &h, hc->req);
	evbuffer_drain(in, (size_t)hl);
	clear_timer(hc);
	if (hc->srv && (hc->srv_gen != r->gen || r->parked))
		srv_close(hc);		/* kept alive to the side the service left, or frozen */
	if (hc->srv) {
		hc->srv_reused = 1;
		send_request(hc);
	} else
		hc_connect(hc);
}

/* The request (what is kept of it) to a fresh upstream connection, or the body's next bytes. */
static void
send_request(struct hconn *hc)
{
	struct relay *r = hc->r;

	if (!hc->sent)
		r->stats.requests++;
	else
		r->stats.replayed++;
	evbuffer_add(tx, evbuffer_pullup(hc->req, -1), evbuffer_get_length(hc->req));
	hc->sent = 1;
	if (!hc->replayable)
		evbuffer_drain(hc->req, evbuffer_get_length(hc->req));
	hc->state = HS_BODY;
	if (!hc->cli_eof)
		event_add(hc->cli_rev, NULL);
	pump_req_body(hc);
}

static void
pump_req_body(struct hconn *hc)
{
	struct relay *r = hc->r;
	struct evbuffer *in = bufferevent_get_input(hc->cli), *out;
	size_t len;

	out = bufferevent_get_output(hc->srv);
	while (!hc->req_done && (len = evbuffer_get_length(in)) > 0) {
		size_t take;

		if (hc->req_body == HTTP_BODY_LENGTH) {
			take = len < hc->req_left ? len : (size_t)hc->req_left;
			hc->req_left -= take;
			hc->req_done = hc->req_left == 0;
		} else {
			long k = chunked_scan(in, &hc->req_ch, r->conf.max_header);

			if (k == -1) {
				hc_reply(hc, 400, "bad chunked framing in the request body");
				return;
			}
			if (r->conf.max_body && hc->req_ch.data > r->conf.max_body) {
				hc_reply(hc, 413, "chunked body over max-body-size");
				return;
			}
			take = (size_t)k;
			hc->req_done = hc->req_ch.done;
			if (take == 0)
				break;
		}
		if (hc->replayable && evbuffer_get_length(hc->req) + take > REPLAY_MAX) {
			hc->replayable = 0;
			evbuffer_drain(hc->req, evbuffer_get_length(hc->req));
		}
		if (hc->replayable)
			evbuffer_add(hc->req, evbuffer_pullup(in, (ssize_t)take), take);
		evbuffer_remove_buffer(in, tx, take);
	}
	send_now(hc->srv);
	if (hc->req_done) {
		/* Reading goes on: pipelined requests wait in the input (read high watermark). */
		if (hc->state == HS_BODY) {
			hc->state = HS_WAIT;
			set_timer(hc, r->conf.response_timeout_ms);
		}
	} else {
		if (evbuffer_get_length(out) > HIGH_WM)
			event_del(hc->cli_rev);		/* until srv_write_cb */
		set_timer(hc, r->conf.request_timeout_ms);
	}
}

/* The response as it goes to the client. */
static void
write_response_head(struct hconn *hc, const char *p, const struct http_head *h)
{
	struct evbuffer *out = tx;
	const char *eol = memchr(p, '\r', h->len);
	unsigned conn = first_connection(h);

	hb_add(out, p, (size_t)(eol - p));
	hb_add(out, "\r\n", 2);
	for (unsigned i = 0; i < h->nhdr; i++) {
		const struct http_hdr *hd = &h->hdr[i];

		if (hop_by_hop(h, conn, hd))
			continue;
		add_header(out, hd);
	}
	if (hc->close_after)
		add_str(out, "Connection: close\r\n");
	else if (hc->client_ka && !h->minor)
		add_str(out, "Connection: keep-alive\r\n");
	hb_add(out, "\r\n", 2);
	hb_flush(out);
}

static void
bad_response(struct hconn *hc, const char *why)
{
	char reason[128];

	snprintf(reason, sizeof(reason), "bad response: %s", why);
	if (upstream_error(hc, reason))
		return;
	hc_reply(hc, 502, reason);
}

static void
read_response_head(struct hconn *hc)
{
	struct relay *r = hc->r;
	struct evbuffer *in = bufferevent_get_input(hc->srv);
	unsigned gen;

	for (;;) {
		size_t len = evbuffer_get_length(in), n = len < RESP_HEAD_MAX ? len : RESP_HEAD_MAX;
		struct http_head h;
		const char *p, *why;
		int status;
		long hl;

		if (len == 0)
			return;
		p = (const char *)evbuffer_pullup(in, (ssize_t)n);
		hl = http_parse_head(p, n, 0, hc->method, hc->mlen, &h, &status, &why);
		if (hl == 0) {
			if (n >= RESP_HEAD_MAX)
				bad_response(hc, "response head over 64 KiB");
			return;
		}
		if (hl < 0) {
			bad_response(hc, why);
			return;
		}
		if (h.status == 101) {
			bad_response(hc, "101 Switching Protocols: upgrades are not relayed");
			return;
		}
		if (h.status < 200) {
			/* 100 Continue and friends: passed on, the final response follows. */
			evbuffer_remove_buffer(in, tx, (size_t)hl);
			send_now(hc->cli);
			continue;
		}
		if (h.status >= 500)
			r->stats.responses_5xx++;
		hc->resp_started = 1;
		hc->close_after = !hc->client_ka || h.body == HTTP_BODY_CLOSE || !hc->req_done;
		hc->srv_ka = h.keep_alive && hc->req_done;
		hc->resp_body = h.body;
		hc->resp_left = h.length;
		http_chunked_init(&hc->resp_ch);
		write_response_head(hc, p, &h);
		evbuffer_drain(in, (size_t)hl);
		/* An early response (the body not all read): the rest is not read either. */
		hc->state = HS_RESP;
		set_timer(hc, r->conf.idle_timeout_ms);
		gen = hc->srv_gen;
		status = h.status;
		(void)pump_resp_body(hc);	/* sends the head with what came of the body */
		/* Last, hc untouched: a cut-over it causes can reach every connection. */
		if (r->cbs.status)
			r->cbs.status(r->cbs.arg, gen, status);
		return;
	}
}

/* Returns -1 when hc is gone. */
static int
pump_resp_body(struct hconn *hc)
{
	struct evbuffer *in = bufferevent_get_input(hc->srv), *out =
	    bufferevent_get_output(hc->cli);
	int done = hc->resp_body == HTTP_BODY_NONE;
	size_t len;

	while (!done && (len = evbuffer_get_length(in)) > 0) {
		size_t take = len;

		if (hc->resp_body == HTTP_BODY_LENGTH) {
			if (take > hc->resp_left)
				take = (size_t)hc->resp_left;
			hc->resp_left -= take;
			done = hc->resp_left == 0;
		} else if (hc->resp_body == HTTP_BODY_CHUNKED) {
			long k = chunked_scan(in, &hc->resp_ch, RESP_HEAD_MAX);

			if (k == -1) {
				evbuffer_drain(tx, evbuffer_get_length(tx));
				upstream_error(hc, "bad response: bad chunked framing");
				hc_free(hc);
				return -1;
			}
			take = (size_t)k;
			done = hc->resp_ch.done;
			if (take == 0)
				break;
		}
		evbuffer_remove_buffer(in, tx, take);
	}
	send_now(hc->cli);
	if (done) {
		if (evbuffer_get_length(in) > 0)
			hc->srv_ka = 0;	/* bytes after the response: not a connection to reuse */
		response_done(hc);
		return 0;
	}
	if (evbuffer_get_length(out) > HIGH_WM)
		event_del(hc->srv_rev);		/* until cli_write_cb */
	set_timer(hc, hc->r->conf.idle_timeout_ms);
	return 0;
}

static void
cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *hc = arg;

	switch (hc->state) {
	case HS_HEAD:
		try_head(hc);
		break;
	case HS_BODY:
		pump_req_body(hc);
		break;
	case HS_CLOSING:
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(
		    bufferevent_get_input(bev)));
		break;
	default:
		break;
	}
}

static void
cli_write_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *hc = arg;

	/* The client's output is empty. */
	if (hc->state == HS_CLOSING) {
		shutdown(hc->cfd, SHUT_WR);
		set_timer(hc, LINGER_MS);
	} else if (hc->srv_rev)
		event_add(hc->srv_rev, NULL);	/* room again for what the server sends */
}

static void
cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hconn *hc = arg;
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));

	if ((what & BEV_EVENT_ERROR) || hc->state == HS_BODY ||
	    (hc->state == HS_HEAD && evbuffer_get_length(bufferevent_get_input(bev)) > 0) ||
	    (out == 0 && (hc->state == HS_HEAD || hc->state == HS_CLOSING))) {
		hc_free(hc);	/* gone, or gone with a request cut short */
		return;
	}
	/* Half-closed after whole requests: answer them, then close. */
	event_del(hc->cli_rev);
	hc->cli_eof = 1;
	if (hc->state == HS_HEAD)
		closing(hc);
}

/*
 * The client socket is readable. Pipelined requests wait in the input up
 * to max-header-size + HIGH_WM; then reading stops until a response is
 * done (head_state), or the server took the body (srv_write_cb).
 */
static void
cli_rev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *hc = arg;
	struct bufferevent *bev = hc->cli;
	size_t held = hc->srv ? evbuffer_get_length(bufferevent_get_output(hc->srv)) : 0;
	ssize_t n = slurp(bev, held, hc->r->conf.max_header + HIGH_WM);

	if (n > 0)
		cli_read_cb(bev, hc);
	else if (n == -1)
		cli_event_cb(bev, BEV_EVENT_READING | (errno ? BEV_EVENT_ERROR : BEV_EVENT_EOF), hc);
	else if (evbuffer_get_length(bufferevent_get_input(bev)) + held >=
	    hc->r->conf.max_header + HIGH_WM)
		event_del(hc->cli_rev);
}

static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *hc = arg;

	switch (hc->state) {
	case HS_BODY:
	case HS_WAIT:
		read_response_head(hc);
		break;
	case HS_RESP:
		(void)pump_resp_body(hc);
		break;
	default:
		/* An idle kept-alive server that speaks: it cannot be trusted with a request. */
		srv_close(hc);
		break;
	}
}

/* The upstream socket is readable: what the bufferevent would do, with bigger reads. */
static void
srv_rev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *hc = arg;
	struct bufferevent *bev = hc->srv;
	ssize_t n = slurp(bev, evbuffer_get_length(bufferevent_get_output(hc->cli)), HIGH_WM);

	if (n > 0)
		srv_read_cb(bev, hc);
	else if (n == -1)
		srv_event_cb(bev, BEV_EVENT_READING | (errno ? BEV_EVENT_ERROR : BEV_EVENT_EOF), hc);
	else if (evbuffer_get_length(bufferevent_get_output(hc->cli)) >= HIGH_WM)
		event_del(hc->srv_rev);	/* no room: cli_write_cb reads again */
}

static void
srv_write_cb(struct bufferevent *bev, void *arg)
{
	struct hconn *hc = arg;

	if (hc->state == HS_BODY && !hc->cli_eof)
		event_add(hc->cli_rev, NULL);
}

/* The upstream connection failed before any response byte: replay, or 502. */
static void
no_response(struct hconn *hc, const char *reason)
{
	srv_close(hc);
	if (hc->replayable) {
		hc_connect(hc);
		return;
	}
	hc_reply(hc, 502, reason);
}

static void
srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct hconn *hc = arg;
	char reason[96];

	if (what & BEV_EVENT_ERROR)
		snprintf(reason, sizeof(reason), "%s before the response",
		    sock_error_name(EVUTIL_SOCKET_ERROR()));
	else
		snprintf(reason, sizeof(reason), "connection closed before the response");
	switch (hc->state) {
	case HS_RESP:
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
		    pump_resp_body(hc) == -1)
			return;
		if (hc->state != HS_RESP || hc->srv != bev)
			return;
		if (hc->resp_body == HTTP_BODY_CLOSE && !(what & BEV_EVENT_ERROR)) {
			hc->srv_ka = 0;
			response_done(hc);
			return;
		}
		upstream_error(hc, "connection lost in the middle of a response");
		hc_free(hc);
		return;
	case HS_BODY:
	case HS_WAIT:
		/* A kept-alive connection the server had just closed is not its failure. */
		if (!hc->srv_reused && upstream_error(hc, reason))
			return;
		no_response(hc, reason);
		return;
	default:
		srv_close(hc);
		return;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *hc = arg;
	char reason[96];
	uint64_t now = now_ms();

	hc->armed_ms = 0;
	if (hc->deadline_ms == 0)	/* cleared since it was armed */
		return;
	if (hc->deadline_ms > now) {	/* moved on since it was armed */
		set_timer(hc, (unsigned)(hc->deadline_ms - now));
		return;
	}
	hc->deadline_ms = 0;
	switch (hc->state) {
	case HS_HEAD:
		/* Nothing at all after keep-alive or accept: close quietly. */
		if (evbuffer_get_length(bufferevent_get_input(hc->cli)) == 0)
			hc_free(hc);
		else
			hc_reply(hc, 408, "request head not complete within request-timeout");
		return;
	case HS_BODY:
		hc_reply(hc, 408, "request body stalled for request-timeout");
		return;
	case HS_WAIT:
		snprintf(reason, sizeof(reason), "no response within %u ms",
		    hc->r->conf.response_timeout_ms);
		if (upstream_error(hc, reason))
			return;
		hc_reply(hc, 504, reason);
		return;
	default:
		hc_free(hc);
		return;
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	hc_connect(arg);
}

static void
hold(struct hconn *hc, const char *reason)
{
	struct relay *r = hc->r;
	struct timeval tv = { 0, RELAY_RETRY_MS * 1000 };

	srv_close(hc);
	if (now_ms() - hc->req_start_ms + RELAY_RETRY_MS > r->conf.hold_ms) {
		relay_dropped(r, reason, hc->attempts);
		hc_reply(hc, 502, reason);
		return;
	}
	hc->state = HS_HELD;
	hc->connect_ev = evtimer_new(r->base, retry_cb, hc);
	evtimer_add(hc->connect_ev, &tv);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hconn *hc = arg;
	struct relay *r = hc->r;
	char reason[96];

	if (sock_connected(fd, what, r->conf.connect_timeout_ms, reason, sizeof(reason)) == -1) {
		if (!upstream_error(hc, reason))
			hold(hc, reason);
		return;
	}
	event_free(hc->connect_ev);
	hc->connect_ev = NULL;
	hc->pending_fd = -1;
	if ((hc->srv = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		hc_reply(hc, 502, "out of memory");
		return;
	}
	hc->srv_reused = 0;
	bufferevent_set_max_single_write(hc->srv, HIGH_WM);
	bufferevent_setcb(hc->srv, NULL, srv_write_cb, srv_event_cb, hc);	/* reads: srv_rev */
	/* Read by srv_rev with 64 KiB reads; the bufferevent only writes. */
	bufferevent_disable(hc->srv, EV_READ);
	bufferevent_enable(hc->srv, EV_WRITE);
	if ((hc->srv_rev = event_new(r->base, fd, EV_READ | EV_PERSIST, srv_rev_cb, hc)) == NULL) {
		hc_reply(hc, 502, "out of memory");
		return;
	}
	event_add(hc->srv_rev, NULL);
	if (r->cbs.ok)
		r->cbs.ok(r->cbs.arg, hc->srv_gen);
	send_request(hc);
}

static void
hc_connect(struct hconn *hc)
{
	struct relay *r = hc->r;
	struct timeval tv = { r->conf.connect_timeout_ms / 1000,
	    (r->conf.connect_timeout_ms % 1000) * 1000 };
	char reason[96];
	int fd, one = 1;

	srv_close(hc);
	clear_timer(hc);
	if (r->parked) {
		hc->state = HS_HELD;	/* relay_pause: sent when it ends */
		return;
	}
	hc->state = HS_CONNECT;
	hc->srv_gen = r->gen;
	hc->attempts++;
	if (hc->attempts == 2)
		r->stats.retried++;
	/* To our own frontend, marked: the DNAT map sends it where the service points. */
	if ((fd = sock_connect(&r->frontend, NF_RELAY_MARK, reason, sizeof(reason))) < 0) {
		if (fd == -1 && upstream_error(hc, reason))
			return;
		if (fd == -2)
			log_warnx("event=relay service=%s upstream: %s", r->name, reason);
		hold(hc, reason);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	hc->pending_fd = fd;
	hc->connect_ev = event_new(r->base, fd, EV_WRITE, connect_cb, hc);
	event_add(hc->connect_ev, &tv);
}

int
http_accept(struct relay *r, int fd, const struct sockaddr *sa)
{
	struct hconn *hc;
	int one = 1;

	if (tx == NULL && (tx = evbuffer_new()) == NULL)
		goto fail;
	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		goto fail;
	hc->r = r;
	hc->cfd = fd;
	hc->pending_fd = -1;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, hc->client,
		    sizeof(hc->client));
	if ((hc->req = evbuffer_new()) == NULL ||
	    (hc->timer = evtimer_new(r->base, timer_cb, hc)) == NULL ||
	    (hc->cli = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (hc->req)
			evbuffer_free(hc->req);
		if (hc->timer)
			event_free(hc->timer);
		free(hc);
		goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bufferevent_set_max_single_write(hc->cli, HIGH_WM);
	if ((hc->cli_rev = event_new(r->base, fd, EV_READ | EV_PERSIST, cli_rev_cb, hc)) == NULL) {
		bufferevent_free(hc->cli);
		evbuffer_free(hc->req);
		event_free(hc->timer);
		free(hc);
		goto fail_closed;
	}
	bufferevent_setcb(hc->cli, NULL, cli_write_cb, cli_event_cb, hc);	/* reads: cli_rev */
	TAILQ_INSERT_TAIL(&r->hconns, hc, entry);
	head_state(hc);
	return 0;
fail:
	close(fd);
fail_closed:
	log_warnx("event=relay service=%s out of memory for a client", r->name);
	return -1;
}

void
http_retry(struct relay *r, int left_frozen)
{
	struct hconn *hc, *next;

	for (hc = TAILQ_FIRST(&r->hconns); hc; hc = next) {
		next = TAILQ_NEXT(hc, entry);
		switch (hc->state) {
		case HS_CONNECT:
		case HS_HELD:
			hc_connect(hc);
			break;
		case HS_HEAD:
			if (hc->srv && hc->srv_gen != r->gen)
				srv_close(hc);
			break;
		case HS_BODY:
		case HS_WAIT:
			/* Stuck on the side the service left: ask the new one. */
			if (hc->srv_gen != r->gen && hc->replayable) {
				log_debug("event=http service=%s client=%s %s sent again after "
				    "the cut-over (no answer yet)", r->name, hc->client, hc->method);
				hc_connect(hc);
			} else if (hc->srv_gen != r->gen && left_frozen)
				hc_reply(hc, 502, "its side was frozen and left at a cut-over");
			break;
		default:
			break;
		}
	}
}

void
http_free_all(struct relay *r)
{
	struct hconn *hc;

	while ((hc = TAILQ_FIRST(&r->hconns)) != NULL)
		hc_free(hc);
}
