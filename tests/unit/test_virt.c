/*
 * test_virt.c: recovery/virt.c against libvirt's test driver
 * (test:///default, a fake hypervisor in this process with one running
 * domain, "test"): jobs run on the worker thread, results and lifecycle
 * events come back on the event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "virt.h"

struct got {
	struct event_base *base;
	int		 done, ok;
	char		 text[512];
	char		 event[64];
};

static void
done_cb(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct got *g = arg;

	g->done = 1;
	g->ok = ok;
	snprintf(g->text, sizeof(g->text), "%s", text);
	event_base_loopbreak(g->base);
}

static void
event_cb(struct virt *v, const struct virt_event *ev, void *arg)
{
	struct got *g = arg;

	if (strcmp(ev->domain, "test") == 0 && ev->down)
		snprintf(g->event, sizeof(g->event), "%s", ev->what);
}

/* Runs the loop until the job's callback (or 10 s). */
static void
run(struct got *g)
{
	struct timeval tv = { 10, 0 };

	g->done = 0;
	event_base_loopexit(g->base, &tv);
	event_base_dispatch(g->base);
	assert_true(g->done);
}

static void
test_destroy_and_events(void **state)
{
	struct virt_conf vc = { .name = "t", .uri = "test:///default" };
	struct got g = { 0 };
	struct virt *v;
	char err[128];

	g.base = event_base_new();
	assert_int_equal(virt_init(err, sizeof(err)), 0);
	v = virt_new(g.base, &vc, event_cb, &g);
	assert_non_null(v);

	assert_int_equal(virt_domain_state(v, "test", done_cb, &g), 0);
	run(&g);
	assert_true(g.ok);
	assert_string_equal(g.text, "running");
	assert_true(virt_connected(v));

	assert_int_equal(virt_destroy(v, "test", done_cb, &g), 0);
	run(&g);
	assert_true(g.ok);
	assert_string_equal(g.text, "destroyed");

	/* Fencing a domain that is already off succeeds. */
	assert_int_equal(virt_destroy(v, "test", done_cb, &g), 0);
	run(&g);
	assert_true(g.ok);
	assert_string_equal(g.text, "already shut off");
	/* The lifecycle event of the first destroy arrives on its own (up to 5 s). */
	for (int i = 0; i < 50 && g.event[0] == '\0'; i++) {
		struct timeval tv = { 0, 100000 };
		event_base_loopexit(g.base, &tv);
		event_base_dispatch(g.base);
	}
	assert_string_equal(g.event, "stopped (destroyed)");

	assert_int_equal(virt_destroy(v, "no-such-vm", done_cb, &g), 0);
	run(&g);
	assert_false(g.ok);
	assert_non_null(strstr(g.text, "no-such-vm"));

	/* A forgotten job never calls back. */
	assert_int_equal(virt_domain_state(v, "test", done_cb, &g), 0);
	virt_forget(v, &g);
	{
		struct timeval tv = { 0, 300000 };
		g.done = 0;
		event_base_loopexit(g.base, &tv);
		event_base_dispatch(g.base);
		assert_false(g.done);
	}
	virt_free(v);
	event_base_free(g.base);
}

static void
test_unreachable(void **state)
{
	struct virt_conf vc = { .name = "gone",
	    .uri = "qemu:///system?socket=/nonexistent/libvirt-sock" };
	struct got g = { 0 };
	struct virt *v;
	char err[128], st[300];

	g.base = event_base_new();
	assert_int_equal(virt_init(err, sizeof(err)), 0);
	v = virt_new(g.base, &vc, event_cb, &g);
	assert_int_equal(virt_destroy(v, "web", done_cb, &g), 0);
	run(&g);
	assert_false(g.ok);
	assert_non_null(strstr(g.text, "unreachable"));
	virt_status(v, st, sizeof(st));
	assert_non_null(strstr(st, "disconnected since"));
	assert_false(virt_connected(v));
	virt_free(v);
	event_base_free(g.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destroy_and_events),
		cmocka_unit_test(test_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
