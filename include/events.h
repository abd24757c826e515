/*
 * events.h: the recent transitions, kept in memory for vcrctl events and
 * persisted with the state.
 */
#ifndef EVENTS_H
#define EVENTS_H

#include <stdint.h>

#define EVENTS_MAX	512

struct vcr_event {
	uint64_t	wall_ms;
	char		service[48];
	char		kind[24];	/* cutover, check, alert, command, reload, error */
	char		text[320];
};

void	events_add(const char *service, const char *kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* i = 0 is the oldest of the n kept. */
unsigned events_count(void);
const struct vcr_event *events_get(unsigned i);
void	events_restore(const struct vcr_event *ev);
void	events_clear(void);

#endif
