/*
 * relay.h: modes tcp and http. vcrd accepts the tenants' connections on the
 * frontend and relays each to an upstream connection made to the same
 * frontend with NF_RELAY_MARK, which the nftables map sends to the side
 * the service points at. vcrd so sees every connection error on live
 * traffic, and holds a client while the service has no working side.
 * Mode http (http.c) reads each request and response, so it can also
 * replay a request that got no answer, and report status codes.
 */
#ifndef RELAY_H
#define RELAY_H

#include <stdint.h>
#include "conf-t.h"

struct event_base;
struct relay;

/*
 * Upstream results, reported with the generation the connection was
 * started in (the caller bumps it at each cut-over and ignores reports
 * of older ones): err: connect refused, reset or timed out (mode http:
 * also no response in time, or a malformed one); ok: connected; status:
 * mode http, the status of each response from upstream.
 */
struct relay_cbs {
	void	(*err)(void *arg, unsigned gen, const char *reason);
	void	(*ok)(void *arg, unsigned gen);
	void	(*status)(void *arg, unsigned gen, int status);
	void	*arg;
};

/* Listens on sc->frontend; sc is not kept (its relay settings are copied). */
struct relay *relay_new(struct event_base *base, const struct svc_conf *sc,
	    const struct relay_cbs *cbs, char *err, size_t errlen);
/* Closes the listener and every connection. */
void	relay_free(struct relay *r);
/* A relay made before its owner (reload): the callbacks' argument and the
 * owner's current cut-over generation. */
void	relay_adopt(struct relay *r, void *arg, unsigned gen);
/* New settings from a reload (the listener stays). */
void	relay_update(struct relay *r, const struct svc_conf *sc);
/*
 * After a cut-over: held and connecting clients connect again, now.
 * left_frozen: the side left is a frozen container, which LXD thaws for a
 * moment to stop it: what still waits on it must not get its answer then
 * (a write there would not be on the new side). Connections relaying to it
 * are closed, and its HTTP requests that cannot be sent again get a 502.
 */
void	relay_retry(struct relay *r, unsigned gen, int left_frozen);
unsigned relay_conns(const struct relay *r);
/*
 * Modes tcp and http while the side they reach is a frozen container (a
 * final sync before a switch): on, no new upstream connection is made and
 * no HTTP request is sent upstream; clients and requests wait in vcrd,
 * without hold-timeout (the relieve or failback that froze the container
 * ends the pause, by its switch or its undo). Off: they connect now, where
 * the map points (the switch's relay_retry does that itself).
 */
void	relay_pause(struct relay *r, int on);

/*
 * A mode dnat service's hold (svc_hold): while its standby container is
 * frozen, its frontend is in the held set, and vcrd accepts its new
 * connections here (a listener with SO_MARK NF_HOLD_MARK, which the held
 * set's accept rule looks for), relaying them (bytes, as mode tcp) once
 * the switch is made, instead of the clients' SYNs being dropped and sent
 * again a second later. relay_hold_new makes it without a listener;
 * relay_hold_begin listens on the frontend (fails when the address is not
 * local or the port is taken: the SYNs are dropped then); relay_hold_end
 * connects what it holds to where the map points now, and stops listening
 * a few seconds later (connections already on their way to the listener
 * when the hold ended would be reset by closing it at once). Its
 * connections live on after the hold, until they end.
 */
struct relay *relay_hold_new(struct event_base *base, const struct svc_conf *sc);
int	relay_hold_begin(struct relay *r, const struct svc_conf *sc, char *err, size_t errlen);
/* Returns how many clients it held. */
unsigned relay_hold_end(struct relay *r, unsigned gen);

struct relay_stats {
	uint64_t	accepted;
	uint64_t	upstream_errors;
	uint64_t	retried;	/* clients that needed more than one upstream connect */
	uint64_t	dropped;	/* clients closed after hold-timeout with no working side */
	uint64_t	limited;	/* times max-connections stopped accepting */
	/* mode http */
	uint64_t	requests;	/* sent upstream */
	uint64_t	replayed;	/* sent again after no answer from a side */
	uint64_t	responses_5xx;	/* from upstream */
	uint64_t	rejected;	/* bad requests answered by vcrd (400, 408, 413, 431, 501, 505) */
	uint64_t	gateway_errors;	/* 502 and 504 answered by vcrd */
};
const struct relay_stats *relay_stats(const struct relay *r);

#endif
