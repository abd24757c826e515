/*
 * proc.h: a child process on the event loop (ssh, rsync): its stdin fed
 * from memory, its stdout and stderr collected, a timeout that kills its
 * whole process group. Nothing waits outside the loop.
 */
#ifndef PROC_H
#define PROC_H

#include <stddef.h>

struct event_base;
struct proc;

struct proc_result {
	int		 status;	/* exit code, or -1 killed (signal, timeout) */
	int		 signal;	/* the signal that killed it, or 0 */
	int		 timed_out;
	const char	*out;		/* stdout (NUL-terminated), up to max_out bytes */
	size_t		 out_len;
	int		 out_truncated;
	const char	*err;		/* the last 4 KiB of stderr */
	unsigned	 took_ms;
};

typedef void (*proc_cb)(void *arg, const struct proc_result *r);

/* argv is copied; in (may be NULL) is written to the child's stdin. */
struct proc	*proc_run(struct event_base *base, const char *const argv[], const char *in,
		    size_t in_len, size_t max_out, unsigned timeout_ms, proc_cb cb, void *arg);
/*
 * Kills the child (its process group: SIGTERM, SIGKILL after 200 ms) and
 * drops the callback; waits, for vcrd's end and the like.
 */
void		 proc_kill(struct proc *p);
/* Stops the child without waiting (SIGTERM, SIGKILL 2 s later); cb is called once it is gone. */
void		 proc_term(struct proc *p, proc_cb cb, void *arg);

#endif
