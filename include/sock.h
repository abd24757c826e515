/*
 * sock.h: non-blocking TCP connects, shared by the health checks and the
 * relay. Helpers fill the caller's reason buffer and never log.
 */
#ifndef SOCK_H
#define SOCK_H

#include <stddef.h>
#include "conf-t.h"

/* What a connect error is called in checks, events and logs. */
const char *sock_error_name(int err);
/*
 * Starts a non-blocking connect to ep, with SO_MARK mark when not 0.
 * Returns the socket (caller closes; the connect may still be under way),
 * -1 with the reason when the connect failed ("connection refused"), or
 * -2 when this host could not even try (no descriptor left): that is not
 * the target's fault.
 */
int	sock_connect(const struct endpoint *ep, int mark, char *reason, size_t len);
/*
 * How the connect of fd ended, from the event that woke us: 0 connected,
 * -1 with the reason ("connect timeout after 80 ms", "connection refused").
 */
int	sock_connected(int fd, short what, unsigned timeout_ms, char *reason, size_t len);

#endif
