/*
 * state.h: where each service points and the recent events, kept in the
 * state directory across restarts (temp file, fsync, rename).
 */
#ifndef STATE_H
#define STATE_H

#include <stdint.h>
#include "conf-t.h"
#include "decide.h"

struct saved_svc {
	char		name[48];
	enum side	active;
	uint64_t	since_wall_ms;
	unsigned	cutovers;
	uint64_t	sync_ok_start_ms;	/* the last good sync into the standby began */
	int		fb_frozen;	/* vcrd stopped while a failback had the container frozen */
	struct moved	moved[2];	/* relieves not yet in the file: [0] promoted, [1] moved */
};

struct saved_state {
	struct saved_svc *svc;
	unsigned	 n;
};

/* A missing file is an empty state. Restores the events too. */
int	state_load(const char *dir, struct saved_state *st, char *err, size_t errlen);
const struct saved_svc *state_find(const struct saved_state *st, const char *name);
void	state_free(struct saved_state *st);

#endif
