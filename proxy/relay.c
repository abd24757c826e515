/*
 * relay.c: mode tcp.
 *
 * Each client gets an upstream connection made to the service's own
 * frontend with NF_RELAY_MARK; the nftables map sends it to the side the
 * service points at.
 *
 * The data path reads up to SCRATCH bytes into one shared buffer and
 * writes them to the peer at once; only what the peer could not take is
 * kept, and reading that direction stops until it is written (so a slow
 * reader bounds memory at one chunk per direction, and an idle connection
 * holds no buffer at all). An EOF is passed on as shutdown(SHUT_WR) once
 * everything before it is written; the connection ends when both
 * directions are done.
 *
 * A client whose upstream connect fails is held, not closed: it tries
 * again every RELAY_RETRY_MS, and at once after a cut-over, until hold-timeout.
 * Its data waits in the kernel meanwhile: we do not read it before there
 * is somewhere to send it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "vcr.h"
#include "conf.h"
#include "nf.h"
#include "relay.h"
#include "relay-int.h"
#include "sock.h"

#define SCRATCH		(64 * 1024)

enum conn_state {
	C_CONNECTING = 0,
	C_HELD,			/* waiting to connect again */
	C_RELAYING,
};

struct conn;

/* One direction: bytes read from `from` are written to `to`. */
struct half {
	struct conn	*c;
	int		*from, *to;
	struct event	*rev;		/* readable `from` */
	struct event	*wev;		/* writable `to`, only while pending */
	char		*pending;	/* what `to` has not taken yet */
	size_t		 len, off;
	int		 eof;		/* `from` said EOF */
	int		 shut;		/* EOF passed on to `to` */
};

struct conn {
	struct relay	*r;
	int		 cfd, sfd;
	enum conn_state	 state;
	unsigned	 gen;		/* generation of the upstream attempt */
	unsigned	 attempts;
	uint64_t	 accepted_ms, active_ms;
	struct event	*connect_ev;	/* upstream connect, and the hold's retry timer */
	struct event	*idle;
	struct half	 up, down;	/* client -> server, server -> client */
	TAILQ_ENTRY(conn) entry;
};


static char scratch[SCRATCH];

static void upstream_connect(struct conn *c);

static void
half_clear(struct half *h)
{
	if (h->rev)
		event_free(h->rev);
	if (h->wev)
		event_free(h->wev);
	free(h->pending);
	h->rev = h->wev = NULL;
	h->pending = NULL;
	h->len = h->off = 0;
}

static void
close_server(struct conn *c)
{
	half_clear(&c->up);
	half_clear(&c->down);
	if (c->sfd != -1) {
		close(c->sfd);
		c->sfd = -1;
	}
}

static void
conn_free(struct conn *c)
{
	struct relay *r = c->r;

	close_server(c);
	if (c->cfd != -1)
		close(c->cfd);
	if (c->connect_ev)
		event_free(c->connect_ev);
	if (c->idle)
		event_free(c->idle);
	TAILQ_REMOVE(&r->conns, c, entry);
	free(c);
	relay_conn_closed(r);
}

void
relay_conn_closed(struct relay *r)
{
	r->nconns--;
	if (r->limited && r->nconns < r->conf.max_conns) {
		r->limited = 0;
		if (r->listener)
			evconnlistener_enable(r->listener);
		log_info("event=relay service=%s accepting again (%u connections)", r->name,
		    r->nconns);
	}
}

/* Both directions finished and flushed: the connection is done. */
static int
maybe_done(struct conn *c)
{
	if (c->up.shut && c->down.shut) {
		conn_free(c);
		return 1;
	}
	return 0;
}

static void
pass_eof(struct half *h)
{
	if (!h->shut) {
		shutdown(*h->to, SHUT_WR);
		h->shut = 1;
	}
}

/* Writes what is pending; returns -1 when the peer is gone. */
static int
half_flush(struct half *h)
{
	while (h->len > 0) {
		ssize_t n = write(*h->to, h->pending + h->off, h->len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		h->off += (size_t)n;
		h->len -= (size_t)n;
	}
	free(h->pending);
	h->pending = NULL;
	h->off = 0;
	return 0;
}

static void
half_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half *h = arg;
	struct conn *c = h->c;

	c->active_ms = now_ms();
	if (half_flush(h) == -1) {
		conn_free(c);
		return;
	}
	if (h->len > 0) {
		event_add(h->wev, NULL);
		return;
	}
	/* Drained: read this direction again, or pass its EOF on. */
	if (h->eof) {
		pass_eof(h);
		maybe_done(c);
	} else
		event_add(h->rev, NULL);
}

static void
half_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half *h = arg;
	struct conn *c = h->c;
	ssize_t n, w;

	c->active_ms = now_ms();
	n = read(*h->from, scratch, sizeof(scratch));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (h == &c->down)
			c->r->stats.upstream_errors++;
		conn_free(c);
		return;
	}
	if (n == 0) {
		h->eof = 1;
		event_del(h->rev);
		pass_eof(h);
		maybe_done(c);
		return;
	}
	do
		w = write(*h->to, scratch, (size_t)n);
	while (w == -1 && errno == EINTR);
	if (w == -1 && errno != EAGAIN) {
		conn_free(c);
		return;
	}
	if (w == -1)
		w = 0;
	if (w < n) {
		/* The peer is slow: keep the rest, and stop reading until it is written. */
		if ((h->pending = malloc((size_t)(n - w))) == NULL) {
			conn_free(c);
			return;
		}
		memcpy(h->pending, scratch + w, (size_t)(n - w));
		h->len = (size_t)(n - w);
		h->off = 0;
		event_del(h->rev);
		event_add(h->wev, NULL);
	}
}

/* Idle and total timeouts, on one timer set to whichever comes first. */
static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct relay_conf *rc = &c->r->conf;
	uint64_t now = now_ms(), quiet = now - c->active_ms, age = now - c->accepted_ms;
	uint64_t next;
	struct timeval tv;

	if (quiet >= rc->idle_timeout_ms ||
	    (rc->total_timeout_ms && age >= rc->total_timeout_ms)) {
		conn_free(c);
		return;
	}
	next = rc->idle_timeout_ms - quiet;
	if (rc->total_timeout_ms && rc->total_timeout_ms - age < next)
		next = rc->total_timeout_ms - age;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)((next % 1000) * 1000);
	evtimer_add(c->idle, &tv);
}

static void
half_init(struct conn *c, struct half *h, int *from, int *to)
{
	struct event_base *base = c->r->base;

	h->c = c;
	h->from = from;
	h->to = to;
	h->rev = event_new(base, *from, EV_READ | EV_PERSIST, half_read_cb, h);
	h->wev = event_new(base, *to, EV_WRITE, half_write_cb, h);
	event_add(h->rev, NULL);
}

static void
start_relaying(struct conn *c)
{
	struct relay *r = c->r;

	c->state = C_RELAYING;
	c->active_ms = now_ms();
	if (c->attempts > 1)
		r->stats.retried++;
	half_init(c, &c->up, &c->cfd, &c->sfd);
	half_init(c, &c->down, &c->sfd, &c->cfd);
	c->idle = evtimer_new(r->base, idle_cb, c);
	if (r->cbs.ok)
		r->cbs.ok(r->cbs.arg, c->gen);
	/* Last: it frees c when the total timeout already ran out. */
	idle_cb(-1, 0, c);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	upstream_connect(arg);
}

void
relay_dropped(struct relay *r, const char *reason, unsigned attempts)
{
	uint64_t now = now_ms();

	r->stats.dropped++;
	r->drops_unlogged++;
	/* One line a second at most: an outage must not flood the log. */
	if (now - r->drop_logged_ms >= 1000) {
		log_warnx("event=relay service=%s clients dropped: %u since the last such "
		    "line, no side answered within hold-timeout %u ms (last: %s after %u "
		    "attempts)", r->name, r->drops_unlogged, r->conf.hold_ms, reason, attempts);
		r->drops_unlogged = 0;
		r->drop_logged_ms = now;
	}
}

static void
hold_or_drop(struct conn *c, const char *reason)
{
	struct relay *r = c->r;
	struct timeval tv = { 0, RELAY_RETRY_MS * 1000 };
	uint64_t waited = now_ms() - c->accepted_ms;

	close_server(c);
	if (waited + RELAY_RETRY_MS > r->conf.hold_ms) {
		relay_dropped(r, reason, c->attempts);
		conn_free(c);
		return;
	}
	c->state = C_HELD;
	event_free(c->connect_ev);
	c->connect_ev = evtimer_new(r->base, retry_cb, c);
	evtimer_add(c->connect_ev, &tv);
}

static void
upstream_failed(struct conn *c, const char *reason)
{
	struct relay *r = c->r;

	r->stats.upstream_errors++;
	if (r->cbs.err)
		r->cbs.err(r->cbs.arg, c->gen, reason);
	hold_or_drop(c, reason);
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char reason[96];

	if (sock_connected(fd, what, c->r->conf.connect_timeout_ms, reason,
	    sizeof(reason)) == -1) {
		upstream_failed(c, reason);
		return;
	}
	event_free(c->connect_ev);
	c->connect_ev = NULL;
	start_relaying(c);
}

static void
upstream_connect(struct conn *c)
{
	struct relay *r = c->r;
	struct timeval tv = { r->conf.connect_timeout_ms / 1000,
	    (r->conf.connect_timeout_ms % 1000) * 1000 };
	char reason[96];
	int one = 1;

	if (c->connect_ev) {
		event_free(c->connect_ev);
		c->connect_ev = NULL;
	}
	if (r->parked) {
		c->state = C_HELD;	/* relay_pause: connects when it ends */
		return;
	}
	c->state = C_CONNECTING;
	c->gen = r->gen;
	c->attempts++;
	/* To our own frontend, marked: the DNAT map sends it where the service points. */
	if ((c->sfd = sock_connect(&r->frontend, NF_RELAY_MARK, reason, sizeof(reason))) < 0) {
		if (c->sfd == -2) {
			c->sfd = -1;
			log_warnx("event=relay service=%s upstream: %s", r->name, reason);
			hold_or_drop(c, reason);
		} else
			upstream_failed(c, reason);
		return;
	}
	setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The connect completes as a write; the timeout bounds it. */
	c->connect_ev = event_new(r->base, c->sfd, EV_WRITE, connect_cb, c);
	event_add(c->connect_ev, &tv);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct relay *r = arg;
	struct conn *c;
	int one = 1;

	if (r->http) {
		if (http_accept(r, fd, sa) == -1)
			return;
		relay_conn_opened(r);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->r = r;
	c->cfd = fd;
	c->sfd = -1;
	c->accepted_ms = now_ms();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	TAILQ_INSERT_TAIL(&r->conns, c, entry);
	relay_conn_opened(r);
	if (r->parked) {
		/* a hold (relay_hold_begin): connects at relay_hold_end */
		c->state = C_HELD;
		return;
	}
	if (r->hold)
		r->late++;
	upstream_connect(c);
}

void
relay_conn_opened(struct relay *r)
{
	r->nconns++;
	r->stats.accepted++;
	if (r->nconns >= r->conf.max_conns && !r->limited) {
		r->limited = 1;
		r->stats.limited++;
		if (r->listener)
			evconnlistener_disable(r->listener);
		log_warnx("event=relay service=%s max-connections %u reached: not accepting "
		    "until one closes", r->name, r->conf.max_conns);
	}
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct relay *r = arg;

	/* EMFILE and friends: say so, and go on serving the open connections. */
	log_warn("event=relay service=%s accept", r->name);
}

/* mark: the listener's SO_MARK (a hold's, which the held set's accept rule looks for), or 0 */
static int
relay_listen(struct relay *r, int mark, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = r->frontend.addr,
	    .sin_port = htons(r->frontend.port) };
	char a[32];

	/* Accepted sockets are non-blocking already (libevent sets them so). */
	r->listener = evconnlistener_new_bind(r->base, accept_cb, r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 4096,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (r->listener == NULL) {
		snprintf(err, errlen, "service '%s': cannot listen on %s: %s", r->name,
		    fmt_endpoint(&r->frontend, a, sizeof(a)), strerror(errno));
		return -1;
	}
	if (mark && setsockopt(evconnlistener_get_fd(r->listener), SOL_SOCKET, SO_MARK, &mark,
	    sizeof(mark)) == -1) {
		snprintf(err, errlen, "service '%s': SO_MARK on the hold listener: %s", r->name,
		    strerror(errno));
		evconnlistener_free(r->listener);
		r->listener = NULL;
		return -1;
	}
	evconnlistener_set_error_cb(r->listener, accept_error_cb);
	if (r->limited)
		evconnlistener_disable(r->listener);
	return 0;
}

static struct relay *
relay_alloc(struct event_base *base, const struct svc_conf *sc, const struct relay_cbs *cbs)
{
	struct relay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->base = base;
	snprintf(r->name, sizeof(r->name), "%s", sc->name);
	r->frontend = sc->frontend;
	r->conf = sc->relay;
	r->http = sc->mode == FWD_HTTP;
	if (cbs)
		r->cbs = *cbs;
	TAILQ_INIT(&r->conns);
	TAILQ_INIT(&r->hconns);
	return r;
}

struct relay *
relay_new(struct event_base *base, const struct svc_conf *sc, const struct relay_cbs *cbs,
    char *err, size_t errlen)
{
	struct relay *r;

	if ((r = relay_alloc(base, sc, cbs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (relay_listen(r, 0, err, errlen) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

struct relay *
relay_hold_new(struct event_base *base, const struct svc_conf *sc)
{
	struct relay *r = relay_alloc(base, sc, NULL);

	if (r) {
		r->http = 0;	/* bytes only: a hold knows nothing of the protocol */
		r->hold = 1;
	}
	return r;
}

int
relay_hold_begin(struct relay *r, const struct svc_conf *sc, char *err, size_t errlen)
{
	if (r->linger)
		evtimer_del(r->linger);	/* a listener from the last hold, still open */
	if (r->listener && (r->frontend.addr.s_addr != sc->frontend.addr.s_addr ||
	    r->frontend.port != sc->frontend.port)) {
		evconnlistener_free(r->listener);	/* a reload moved the frontend */
		r->listener = NULL;
	}
	/* the settings of now (a reload since an earlier hold) */
	r->frontend = sc->frontend;
	r->conf = sc->relay;
	/* a listener still open from the last hold has its mark already */
	if (r->listener == NULL && relay_listen(r, NF_HOLD_MARK, err, errlen) == -1)
		return -1;
	r->parked = 1;
	return 0;
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	if (r->listener && !r->parked) {
		evconnlistener_free(r->listener);
		r->listener = NULL;
		if (r->late)
			log_info("event=hold service=%s the hold listener closed: %u connections "
			    "reached it after the hold ended (sent on)", r->name, r->late);
		r->late = 0;
	}
}

unsigned
relay_hold_end(struct relay *r, unsigned gen)
{
	struct timeval tv = { HOLD_LINGER_MS / 1000, (HOLD_LINGER_MS % 1000) * 1000 };
	struct conn *c;
	unsigned held = 0;

	/*
	 * No new connection reaches the listener once the frontend left the
	 * held set, but some are on their way: accepted by the kernel and not
	 * yet by us, or half-open. Closing it now would reset them; it closes
	 * a little later, and what it still accepts connects at once.
	 */
	r->parked = 0;
	if (r->listener) {
		if (r->linger == NULL)
			r->linger = evtimer_new(r->base, linger_cb, r);
		if (r->linger == NULL || evtimer_add(r->linger, &tv) == -1)
			linger_cb(-1, 0, r);
	}
	TAILQ_FOREACH(c, &r->conns, entry)
		held += c->state == C_HELD && c->attempts == 0;
	relay_retry(r, gen, 0);
	return held;
}

void
relay_adopt(struct relay *r, void *arg, unsigned gen)
{
	r->cbs.arg = arg;
	r->gen = gen;
}

void
relay_update(struct relay *r, const struct svc_conf *sc)
{
	/* Open connections keep the mode they were accepted in. */
	r->conf = sc->relay;
	r->http = sc->mode == FWD_HTTP;
}

void
relay_retry(struct relay *r, unsigned gen, int left_frozen)
{
	struct conn *c, *next;

	r->gen = gen;
	for (c = TAILQ_FIRST(&r->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == C_RELAYING) {
			/* established connections stay where they are, unless frozen there */
			if (left_frozen && c->gen != gen)
				conn_free(c);
			continue;
		}
		close_server(c);
		upstream_connect(c);
	}
	http_retry(r, left_frozen);
}

void
relay_pause(struct relay *r, int on)
{
	r->parked = on;
}

void
relay_free(struct relay *r)
{
	struct conn *c;

	if (r == NULL)
		return;
	while ((c = TAILQ_FIRST(&r->conns)) != NULL)
		conn_free(c);
	http_free_all(r);
	if (r->listener)
		evconnlistener_free(r->listener);
	if (r->linger)
		event_free(r->linger);
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
