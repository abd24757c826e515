/*
 * events.c: a ring of the most recent events, each also logged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vcr.h"
#include "events.h"

static struct vcr_event	ring[EVENTS_MAX];
static unsigned		head, count;	/* head: next slot to write */

static void
push(const struct vcr_event *ev)
{
	ring[head] = *ev;
	head = (head + 1) % EVENTS_MAX;
	if (count < EVENTS_MAX)
		count++;
}

void
events_add(const char *service, const char *kind, const char *fmt, ...)
{
	struct vcr_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.wall_ms = wall_ms();
	snprintf(ev.service, sizeof(ev.service), "%s", service ? service : "");
	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	va_start(ap, fmt);
	vsnprintf(ev.text, sizeof(ev.text), fmt, ap);
	va_end(ap);
	push(&ev);
	char svc[64] = "";

	if (ev.service[0])
		snprintf(svc, sizeof(svc), " service=%s", ev.service);
	if (strcmp(kind, "alert") == 0 || strcmp(kind, "error") == 0)
		log_warnx("event=%s%s %s", kind, svc, ev.text);
	else
		log_info("event=%s%s %s", kind, svc, ev.text);
}

void
events_restore(const struct vcr_event *ev)
{
	push(ev);
}

unsigned
events_count(void)
{
	return count;
}

const struct vcr_event *
events_get(unsigned i)
{
	if (i >= count)
		return NULL;
	return &ring[(head + EVENTS_MAX - count + i) % EVENTS_MAX];
}

void
events_clear(void)
{
	head = count = 0;
}
