/*
 * test_proc.c: recovery/proc.c with real children (sh): how a child is
 * stopped. SIGTERM comes first, so that rsync deletes the temporary file
 * it was writing (here, a shell's trap deletes a file); a child that
 * ignores SIGTERM gets SIGKILL after the grace time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "proc.h"

struct got {
	struct event_base *base;
	int		 done, status, sig, timed_out;
	unsigned	 took_ms;
};

static void
done_cb(void *arg, const struct proc_result *r)
{
	struct got *g = arg;

	g->done = 1;
	g->status = r->status;
	g->sig = r->signal;
	g->timed_out = r->timed_out;
	g->took_ms = r->took_ms;
	event_base_loopbreak(g->base);
}

static void
run(struct got *g, int secs)
{
	struct timeval tv = { secs, 0 };

	event_base_loopexit(g->base, &tv);
	event_base_dispatch(g->base);
}

/* A child that makes FILE, deletes it on SIGTERM (as rsync its temporary file), and waits. */
static struct proc *
start_child(struct got *g, const char *file, int trap_term, unsigned timeout_ms)
{
	char script[600];
	const char *argv[] = { "sh", "-c", script, NULL };
	struct timespec ts = { 0, 10 * 1000000 };
	struct proc *p;

	/* "sleep & wait": the shell's wait returns on a trapped signal, its trap runs at once. */
	if (trap_term)
		snprintf(script, sizeof(script), "trap 'rm -f %s; exit 0' TERM; : > %s; "
		    "while :; do sleep 5 & wait; done", file, file);
	else
		snprintf(script, sizeof(script), "trap '' TERM; : > %s; while :; do sleep 5 & "
		    "wait; done", file);
	p = proc_run(g->base, argv, NULL, 0, 4096, timeout_ms, done_cb, g);
	assert_non_null(p);
	for (int i = 0; i < 500 && access(file, F_OK) != 0; i++)
		nanosleep(&ts, NULL);
	assert_int_equal(access(file, F_OK), 0);
	return p;
}

static void
tmpname(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s/vcr-test-proc-%ld-%s", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp", (long)getpid(), what);
	unlink(buf);
}

/* proc_term: SIGTERM, no wait; the callback comes once the child is gone. */
static void
test_term(void **state)
{
	struct got g = { 0 };
	char f[300];
	struct proc *p;

	tmpname(f, sizeof(f), "term");
	g.base = event_base_new();
	p = start_child(&g, f, 1, 60000);
	proc_term(p, done_cb, &g);
	run(&g, 5);
	assert_true(g.done);
	assert_int_equal(g.status, 0);		/* its trap ran: exit 0 */
	assert_false(g.timed_out);
	assert_int_not_equal(access(f, F_OK), 0);	/* and deleted the file */
	event_base_free(g.base);
}

/* The timeout: SIGTERM (the trap deletes the file), reported as timed out. */
static void
test_timeout_term(void **state)
{
	struct got g = { 0 };
	char f[300];

	tmpname(f, sizeof(f), "timeout");
	g.base = event_base_new();
	start_child(&g, f, 1, 200);
	run(&g, 5);
	assert_true(g.done);
	assert_true(g.timed_out);
	assert_int_not_equal(access(f, F_OK), 0);
	event_base_free(g.base);
}

/* A child that ignores SIGTERM: SIGKILL after the grace time (2 s). */
static void
test_timeout_kill(void **state)
{
	struct got g = { 0 };
	char f[300];

	tmpname(f, sizeof(f), "kill");
	g.base = event_base_new();
	start_child(&g, f, 0, 200);
	run(&g, 10);
	assert_true(g.done);
	assert_true(g.timed_out);
	assert_int_equal(g.sig, SIGKILL);
	assert_true(g.took_ms >= 2000);
	assert_int_equal(access(f, F_OK), 0);	/* no trap ran */
	unlink(f);
	event_base_free(g.base);
}

/* proc_kill waits: SIGTERM, then SIGKILL; the callback is dropped. */
static void
test_kill(void **state)
{
	struct got g = { 0 };
	char f[300];
	struct proc *p;

	tmpname(f, sizeof(f), "killwait");
	g.base = event_base_new();
	p = start_child(&g, f, 1, 60000);
	proc_kill(p);
	assert_int_not_equal(access(f, F_OK), 0);	/* SIGTERM's trap ran */
	run(&g, 1);
	assert_false(g.done);
	event_base_free(g.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_term),
		cmocka_unit_test(test_timeout_term),
		cmocka_unit_test(test_timeout_kill),
		cmocka_unit_test(test_kill),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
