/*
 * relay.c: mode tcp, two bufferevents per client (libevent's le-proxy).
 *
 *  - Backpressure: when one side's output holds MAX_OUTPUT bytes, stop
 *    reading the other side until it drains to half.
 *  - Half-close: an EOF from one side is passed on as shutdown(SHUT_WR)
 *    once everything before it is written; the connection ends when both
 *    directions are done.
 *  - A client whose upstream connect fails is held, not closed: it tries
 *    again every RETRY_MS, and at once after a cut-over, until hold-timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "vcr.h"
#include "conf.h"
#include "nf.h"
#include "relay.h"

#define MAX_OUTPUT	(256 * 1024)
#define RETRY_MS	100

enum conn_state {
	C_CONNECTING = 0,
	C_HELD,			/* waiting to connect again */
	C_RELAYING,
};

struct conn {
	struct relay	*r;
	struct bufferevent *client, *server;
	enum conn_state	 state;
	unsigned	 gen;		/* generation of the upstream attempt */
	unsigned	 attempts;
	uint64_t	 accepted_ms;
	struct event	*retry;
	int		 client_eof, server_eof;
	TAILQ_ENTRY(conn) entry;
};

struct relay {
	struct event_base *base;
	struct evconnlistener *listener;
	char		 name[SVC_NAME_MAX];
	struct endpoint	 frontend;
	struct relay_conf conf;
	struct relay_cbs cbs;
	unsigned	 gen;
	unsigned	 nconns;
	int		 limited;
	struct relay_stats stats;
	TAILQ_HEAD(, conn) conns;
};

static void upstream_connect(struct conn *c);

static void
conn_free(struct conn *c)
{
	struct relay *r = c->r;

	TAILQ_REMOVE(&r->conns, c, entry);
	if (c->client)
		bufferevent_free(c->client);
	if (c->server)
		bufferevent_free(c->server);
	if (c->retry)
		event_free(c->retry);
	free(c);
	r->nconns--;
	if (r->limited && r->nconns < r->conf.max_conns) {
		r->limited = 0;
		evconnlistener_enable(r->listener);
		log_info("event=relay service=%s accepting again (%u connections)", r->name,
		    r->nconns);
	}
}

static struct bufferevent *
peer_of(struct conn *c, struct bufferevent *bev)
{
	return bev == c->client ? c->server : c->client;
}

/* Both directions finished and flushed: the connection is done. */
static int
maybe_done(struct conn *c)
{
	if (c->client_eof && c->server_eof &&
	    evbuffer_get_length(bufferevent_get_output(c->client)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->server)) == 0) {
		conn_free(c);
		return 1;
	}
	return 0;
}

static void
drained_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *peer = peer_of(c, bev);
	int peer_eof = peer == c->client ? c->client_eof : c->server_eof;

	/* The peer may read again once this side's output drained to half. */
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	if (peer && !peer_eof)
		bufferevent_enable(peer, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		/* Everything the peer sent before its EOF is written: pass the EOF on. */
		if (peer_eof)
			shutdown(bufferevent_getfd(bev), SHUT_WR);
		maybe_done(c);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *peer = peer_of(c, bev);
	struct evbuffer *out;

	if (peer == NULL || c->state != C_RELAYING)
		return;		/* client data waits in its input buffer */
	out = bufferevent_get_output(peer);
	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) >= MAX_OUTPUT) {
		bufferevent_disable(bev, EV_READ);
		bufferevent_setwatermark(peer, EV_WRITE, MAX_OUTPUT / 2, MAX_OUTPUT);
	}
}

static void
set_relay_timeouts(struct conn *c)
{
	struct timeval idle = { c->r->conf.idle_timeout_ms / 1000,
	    (c->r->conf.idle_timeout_ms % 1000) * 1000 };

	bufferevent_set_timeouts(c->client, &idle, &idle);
	bufferevent_set_timeouts(c->server, &idle, &idle);
}

static void
hold_or_drop(struct conn *c, const char *reason)
{
	struct relay *r = c->r;
	struct timeval tv = { 0, RETRY_MS * 1000 };
	uint64_t waited = now_ms() - c->accepted_ms;

	if (c->server) {
		bufferevent_free(c->server);
		c->server = NULL;
	}
	if (waited + RETRY_MS > r->conf.hold_ms) {
		r->stats.dropped++;
		log_warnx("event=relay service=%s client dropped: no side answered within "
		    "hold-timeout %u ms (%u attempts, last: %s)", r->name, r->conf.hold_ms,
		    c->attempts, reason);
		conn_free(c);
		return;
	}
	c->state = C_HELD;
	evtimer_add(c->retry, &tv);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct relay *r = c->r;
	char reason[96];

	if (bev == c->server && c->state == C_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			c->state = C_RELAYING;
			if (c->attempts > 1)
				r->stats.retried++;
			set_relay_timeouts(c);
			bufferevent_enable(c->server, EV_READ | EV_WRITE);
			bufferevent_enable(c->client, EV_READ | EV_WRITE);
			if (r->cbs.ok)
				r->cbs.ok(r->cbs.arg, c->gen);
			/* What the client sent while we connected goes out now. */
			if (evbuffer_get_length(bufferevent_get_input(c->client)))
				read_cb(c->client, c);
			if (c->client_eof && evbuffer_get_length(
			    bufferevent_get_output(c->server)) == 0)
				shutdown(bufferevent_getfd(c->server), SHUT_WR);
			return;
		}
		if (what & BEV_EVENT_TIMEOUT)
			snprintf(reason, sizeof(reason), "connect timeout after %u ms",
			    r->conf.connect_timeout_ms);
		else {
			int e = evutil_socket_geterror(bufferevent_getfd(bev));
			snprintf(reason, sizeof(reason), "%s", e == ECONNREFUSED ?
			    "connection refused" : e ? strerror(e) : "connect failed");
		}
		r->stats.upstream_errors++;
		if (r->cbs.err)
			r->cbs.err(r->cbs.arg, c->gen, reason);
		hold_or_drop(c, reason);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		struct bufferevent *peer = peer_of(c, bev);
		if (bev == c->client)
			c->client_eof = 1;
		else
			c->server_eof = 1;
		bufferevent_disable(bev, EV_READ);
		/* Before the upstream exists, the EOF waits with the client's data. */
		if (peer == NULL || c->state != C_RELAYING)
			return;
		read_cb(bev, c);
		if (evbuffer_get_length(bufferevent_get_output(peer)) == 0)
			shutdown(bufferevent_getfd(peer), SHUT_WR);
		maybe_done(c);
		return;
	}
	/* An error or an idle timeout on either side ends the connection. */
	if (bev == c->server && (what & BEV_EVENT_ERROR))
		r->stats.upstream_errors++;
	conn_free(c);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	upstream_connect(arg);
}

static void
upstream_connect(struct conn *c)
{
	struct relay *r = c->r;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = r->frontend.addr,
	    .sin_port = htons(r->frontend.port) };
	struct timeval tv = { r->conf.connect_timeout_ms / 1000,
	    (r->conf.connect_timeout_ms % 1000) * 1000 };
	int fd, mark = NF_RELAY_MARK;
	char reason[96];

	c->state = C_CONNECTING;
	c->gen = r->gen;
	c->attempts++;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		snprintf(reason, sizeof(reason), "upstream socket: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		hold_or_drop(c, reason);
		return;
	}
	c->server = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->server, read_cb, drained_cb, event_cb, c);
	/* The connect completes as a write: the write timeout bounds it. */
	bufferevent_set_timeouts(c->server, NULL, &tv);
	if (bufferevent_socket_connect(c->server, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		snprintf(reason, sizeof(reason), "connect: %s", strerror(errno));
		r->stats.upstream_errors++;
		if (r->cbs.err)
			r->cbs.err(r->cbs.arg, c->gen, reason);
		hold_or_drop(c, reason);
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct relay *r = arg;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->r = r;
	c->accepted_ms = now_ms();
	c->client = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->retry = evtimer_new(r->base, retry_cb, c);
	bufferevent_setcb(c->client, read_cb, drained_cb, event_cb, c);
	/* Read what the client sends while we connect, up to the limit. */
	bufferevent_setwatermark(c->client, EV_READ, 0, MAX_OUTPUT);
	bufferevent_enable(c->client, EV_READ);
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	r->nconns++;
	r->stats.accepted++;
	if (r->nconns >= r->conf.max_conns && !r->limited) {
		r->limited = 1;
		r->stats.limited++;
		evconnlistener_disable(r->listener);
		log_warnx("event=relay service=%s max-connections %u reached: not accepting "
		    "until one closes", r->name, r->conf.max_conns);
	}
	upstream_connect(c);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct relay *r = arg;

	/* EMFILE and friends: say so, and go on serving the open connections. */
	log_warn("event=relay service=%s accept", r->name);
}

struct relay *
relay_new(struct event_base *base, const struct svc_conf *sc, const struct relay_cbs *cbs,
    char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = sc->frontend.addr,
	    .sin_port = htons(sc->frontend.port) };
	struct relay *r;
	char a[32];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	snprintf(r->name, sizeof(r->name), "%s", sc->name);
	r->frontend = sc->frontend;
	r->conf = sc->relay;
	r->cbs = *cbs;
	TAILQ_INIT(&r->conns);
	r->listener = evconnlistener_new_bind(base, accept_cb, r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 4096,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (r->listener == NULL) {
		snprintf(err, errlen, "service '%s': cannot listen on %s: %s", sc->name,
		    fmt_endpoint(&sc->frontend, a, sizeof(a)), strerror(errno));
		free(r);
		return NULL;
	}
	evconnlistener_set_error_cb(r->listener, accept_error_cb);
	return r;
}

void
relay_set_arg(struct relay *r, void *arg)
{
	r->cbs.arg = arg;
}

void
relay_update(struct relay *r, const struct svc_conf *sc)
{
	r->conf = sc->relay;
}

void
relay_retry(struct relay *r, unsigned gen)
{
	struct conn *c, *next;

	r->gen = gen;
	for (c = TAILQ_FIRST(&r->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == C_RELAYING)
			continue;	/* established connections stay where they are */
		evtimer_del(c->retry);
		if (c->server) {
			bufferevent_free(c->server);
			c->server = NULL;
		}
		upstream_connect(c);
	}
}

void
relay_free(struct relay *r)
{
	struct conn *c;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->conns)) != NULL)
		conn_free(c);
	evconnlistener_free(r->listener);
	free(r);
}

unsigned
relay_conns(const struct relay *r)
{
	return r->nconns;
}

const struct relay_stats *
relay_stats(const struct relay *r)
{
	return &r->stats;
}
