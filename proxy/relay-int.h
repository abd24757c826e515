/*
 * relay-int.h: what the two relay modes share, inside proxy/ only. The
 * listener, the connection limit, the hold and the statistics are the
 * relay's (relay.c); mode http's connections are http.c's.
 */
#ifndef RELAY_INT_H
#define RELAY_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include "relay.h"

#define RELAY_RETRY_MS	100	/* a held client tries to connect again this often */
#define HOLD_LINGER_MS	3000	/* a hold's listener stays this long after it ends */

struct conn;
struct hconn;

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
	uint64_t	 drop_logged_ms;
	unsigned	 drops_unlogged;
	struct relay_stats stats;
	int		 http;		/* new connections: mode http */
	int		 parked;	/* a hold: accepted clients wait for relay_hold_end */
	int		 hold;		/* relay_hold_new's */
	struct event	*linger;	/* a hold's listener closed after it ends */
	unsigned	 late;		/* accepted after the hold ended */
	TAILQ_HEAD(, conn) conns;
	TAILQ_HEAD(, hconn) hconns;
};

/* Connection accounting, and the listener paused and resumed at max-connections. */
void	relay_conn_opened(struct relay *r);
void	relay_conn_closed(struct relay *r);
/* A client given up after hold-timeout: counted, and logged once a second at most. */
void	relay_dropped(struct relay *r, const char *reason, unsigned attempts);

/* http.c: takes the accepted socket fd (closes it on failure, -1). */
int	http_accept(struct relay *r, int fd, const struct sockaddr *sa);
/* After a cut-over (r->gen is the new one). */
void	http_retry(struct relay *r, int left_frozen);
void	http_free_all(struct relay *r);

#endif
