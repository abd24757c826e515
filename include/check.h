/*
 * check.h: health checks on the event loop. TCP connect checks use
 * non-blocking sockets; HTTP checks use libcurl's multi-socket API.
 */
#ifndef CHECK_H
#define CHECK_H

#include "conf-t.h"

struct event_base;
struct chk;
struct chk_http;

/*
 * Called once per check. ok: 1 passed, 0 failed; reason says why in
 * words an SRE reads ("connection refused", "HTTP 503").
 */
typedef void (*chk_cb)(struct chk *c, int ok, const char *reason,
    unsigned latency_us, void *arg);

/* One libcurl multi handle shared by every HTTP check. */
struct chk_http	*chk_http_new(struct event_base *base);
void		 chk_http_free(struct chk_http *h);

/* conf and target are copied. */
struct chk	*chk_new(struct event_base *base, struct chk_http *http,
		    const struct chk_conf *conf, const struct endpoint *target,
		    chk_cb cb, void *arg);
/* First check after delay_ms, then every interval. */
void		 chk_start(struct chk *c, unsigned delay_ms);
/* Check now and restart the interval (passive detection and tests). */
void		 chk_now(struct chk *c);
void		 chk_free(struct chk *c);

#endif
