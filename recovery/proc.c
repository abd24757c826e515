/*
 * proc.c: child processes for the sync (ssh, rsync) without blocking the
 * loop. Pipes are non-blocking and watched by libevent; the child runs in
 * its own process group so a timeout kills rsync and the ssh it started:
 * SIGTERM first (rsync deletes the temporary file it was writing, which
 * SIGKILL would leave beside the file), SIGKILL TERM_GRACE_MS later.
 * Once both output pipes are closed, the child is reaped (a short timer
 * retries waitpid until it has exited).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "vcr.h"
#include "proc.h"

#define ERR_KEEP	4096
#define TERM_GRACE_MS	2000	/* SIGTERM to SIGKILL on the loop */
#define KILL_GRACE_MS	200	/* the same in proc_kill, which waits */

struct proc {
	struct event_base *base;
	pid_t		 pid;
	int		 fd_in, fd_out, fd_err;
	struct event	*ev_in, *ev_out, *ev_err, *timer, *reap;
	char		*in;
	size_t		 in_len, in_off;
	char		*out;
	size_t		 out_len, max_out;
	int		 out_truncated;
	char		 err[ERR_KEEP + 1];
	size_t		 err_len;
	int		 timed_out;
	int		 terminating;	/* SIGTERM sent: the timer sends SIGKILL */
	uint64_t	 t0_ms;
	proc_cb		 cb;
	void		*arg;
};

static void
close_ev(struct event **ev, int *fd)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static void
proc_free(struct proc *p)
{
	close_ev(&p->ev_in, &p->fd_in);
	close_ev(&p->ev_out, &p->fd_out);
	close_ev(&p->ev_err, &p->fd_err);
	if (p->timer)
		event_free(p->timer);
	if (p->reap)
		event_free(p->reap);
	free(p->in);
	free(p->out);
	free(p);
}

static void
try_reap(struct proc *p)
{
	struct proc_result r = { 0 };
	struct timeval tv = { 0, 20000 };
	int st;
	pid_t w;

	if (p->fd_out != -1 || p->fd_err != -1)
		return;		/* output still coming */
	w = waitpid(p->pid, &st, WNOHANG);
	if (w == 0) {
		evtimer_add(p->reap, &tv);
		return;
	}
	r.status = w == p->pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.signal = w == p->pid && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	r.timed_out = p->timed_out;
	r.out = p->out ? p->out : "";
	r.out_len = p->out_len;
	r.out_truncated = p->out_truncated;
	p->err[p->err_len] = '\0';
	r.err = p->err;
	r.took_ms = (unsigned)(now_ms() - p->t0_ms);
	p->cb(p->arg, &r);
	proc_free(p);
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	try_reap(arg);
}

static void
in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	ssize_t n = write(fd, p->in + p->in_off, p->in_len - p->in_off);

	if (n > 0)
		p->in_off += (size_t)n;
	if ((n == -1 && errno != EAGAIN && errno != EINTR) || p->in_off == p->in_len)
		close_ev(&p->ev_in, &p->fd_in);
}

static void
out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		size_t keep = (size_t)n;
		if (p->out_len + keep > p->max_out) {
			keep = p->max_out - p->out_len;
			p->out_truncated = 1;
		}
		if (keep > 0) {
			char *o = realloc(p->out, p->out_len + keep + 1);
			if (o == NULL) {
				p->out_truncated = 1;
				return;
			}
			p->out = o;
			memcpy(p->out + p->out_len, buf, keep);
			p->out_len += keep;
			p->out[p->out_len] = '\0';
		}
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	close_ev(&p->ev_out, &p->fd_out);
	try_reap(p);
}

static void
err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		/* Keep the end: that is where the reason is. */
		if ((size_t)n >= ERR_KEEP) {
			memcpy(p->err, buf + n - ERR_KEEP, ERR_KEEP);
			p->err_len = ERR_KEEP;
		} else {
			if (p->err_len + (size_t)n > ERR_KEEP) {
				size_t drop = p->err_len + (size_t)n - ERR_KEEP;
				memmove(p->err, p->err + drop, p->err_len - drop);
				p->err_len -= drop;
			}
			memcpy(p->err + p->err_len, buf, (size_t)n);
			p->err_len += (size_t)n;
		}
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	close_ev(&p->ev_err, &p->fd_err);
	try_reap(p);
}

static void
terminate(struct proc *p)
{
	struct timeval tv = { TERM_GRACE_MS / 1000, (TERM_GRACE_MS % 1000) * 1000 };

	p->terminating = 1;
	kill(-p->pid, SIGTERM);
	evtimer_add(p->timer, &tv);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;

	if (p->terminating) {
		kill(-p->pid, SIGKILL);
		return;
	}
	p->timed_out = 1;
	terminate(p);
}

void
proc_term(struct proc *p, proc_cb cb, void *arg)
{
	p->cb = cb;
	p->arg = arg;
	evtimer_del(p->timer);
	terminate(p);
}

struct proc *
proc_run(struct event_base *base, const char *const argv[], const char *in, size_t in_len,
    size_t max_out, unsigned timeout_ms, proc_cb cb, void *arg)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct proc *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->cb = cb;
	p->arg = arg;
	p->max_out = max_out;
	p->t0_ms = now_ms();
	p->fd_in = p->fd_out = p->fd_err = -1;
	if (pipe2(pin, O_CLOEXEC) == -1 || pipe2(pout, O_CLOEXEC) == -1 ||
	    pipe2(perr, O_CLOEXEC) == -1)
		goto fail;
	if ((p->pid = fork()) == -1)
		goto fail;
	if (p->pid == 0) {
		setpgid(0, 0);
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(p->pid, p->pid);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	p->fd_in = pin[1];
	p->fd_out = pout[0];
	p->fd_err = perr[0];
	fcntl(p->fd_in, F_SETFL, O_NONBLOCK);
	fcntl(p->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(p->fd_err, F_SETFL, O_NONBLOCK);
	if (in && in_len) {
		if ((p->in = malloc(in_len)) == NULL)
			goto killit;
		memcpy(p->in, in, in_len);
		p->in_len = in_len;
		p->ev_in = event_new(base, p->fd_in, EV_WRITE | EV_PERSIST, in_cb, p);
		event_add(p->ev_in, NULL);
	} else
		close_ev(&p->ev_in, &p->fd_in);
	p->ev_out = event_new(base, p->fd_out, EV_READ | EV_PERSIST, out_cb, p);
	p->ev_err = event_new(base, p->fd_err, EV_READ | EV_PERSIST, err_cb, p);
	p->timer = evtimer_new(base, timeout_cb, p);
	p->reap = evtimer_new(base, reap_cb, p);
	event_add(p->ev_out, NULL);
	event_add(p->ev_err, NULL);
	evtimer_add(p->timer, &tv);
	return p;
killit:
	kill(-p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] != -1 && pin[i] != p->fd_in) close(pin[i]);
		if (pout[i] != -1 && pout[i] != p->fd_out) close(pout[i]);
		if (perr[i] != -1 && perr[i] != p->fd_err) close(perr[i]);
	}
	proc_free(p);
	return NULL;
}

void
proc_kill(struct proc *p)
{
	struct timespec ts = { 0, 10 * 1000000 };

	if (p == NULL)
		return;
	kill(-p->pid, SIGTERM);
	for (int i = 0; i < KILL_GRACE_MS / 10 && waitpid(p->pid, NULL, WNOHANG) == 0; i++)
		nanosleep(&ts, NULL);
	kill(-p->pid, SIGKILL);		/* what is left of the group */
	waitpid(p->pid, NULL, 0);
	proc_free(p);
}
