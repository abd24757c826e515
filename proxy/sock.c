/*
 * sock.c: non-blocking TCP connects and what their errors are called.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "sock.h"

const char *
sock_error_name(int err)
{
	return err == ECONNREFUSED ? "connection refused" : strerror(err);
}

static void
why(int err, char *reason, size_t len)
{
	snprintf(reason, len, "%s", sock_error_name(err));
}

int
sock_connect(const struct endpoint *ep, int mark, char *reason, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = ep->addr,
	    .sin_port = htons(ep->port) };
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(reason, len, "socket: %s", strerror(errno));
		return -2;
	}
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		snprintf(reason, len, "SO_MARK: %s", strerror(errno));
		close(fd);
		return -2;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 && errno != EINPROGRESS) {
		why(errno, reason, len);
		close(fd);
		return -1;
	}
	return fd;
}

int
sock_connected(int fd, short what, unsigned timeout_ms, char *reason, size_t len)
{
	socklen_t sl = sizeof(int);
	int soerr = 0;

	if (what & EV_TIMEOUT) {
		snprintf(reason, len, "connect timeout after %u ms", timeout_ms);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		soerr = errno;
	if (soerr != 0) {
		why(soerr, reason, len);
		return -1;
	}
	return 0;
}
