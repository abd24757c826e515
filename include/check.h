/*
 * check.h: health checks on the event loop. TCP connect checks use
 * non-blocking sockets; HTTP checks use libcurl's multi-socket API.
 */
#ifndef CHECK_H
#define CHECK_H

#include "conf-t.h"

struct event_base;
struct chk;
struct curl_ev;

/*
 * Called once per check. ok: 1 passed, 0 failed; reason says why in
 * words an SRE reads ("connection refused", "HTTP 503").
 */
typedef void (*chk_cb)(struct chk *c, int ok, const char *reason,
    unsigned latency_us, void *arg);

/* conf and target are copied. */
/* http: the libcurl multi handle every HTTP check shares (curl_ev.h). */
struct chk	*chk_new(struct event_base *base, struct curl_ev *http,
		    const struct chk_conf *conf, const struct endpoint *target,
		    chk_cb cb, void *arg);
/* First check after delay_ms, then every interval. */
void		 chk_start(struct chk *c, unsigned delay_ms);
/* Check now and restart the interval (passive detection and tests). */
void		 chk_now(struct chk *c);
/* Checks every interval_ms for now (a cold standby starting); 0: back to normal. */
void		 chk_fast(struct chk *c, unsigned interval_ms);
void		 chk_free(struct chk *c);

#endif
