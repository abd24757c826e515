/*
 * sync.h: keeping a standby container's root file system in step with its
 * primary VM (rsync over SSH, the exclusion list of exclude.h).
 */
#ifndef SYNC_H
#define SYNC_H

#include <stdint.h>

#include "conf-t.h"

struct event_base;
struct lxd;
struct sync;

struct sync_stats {
	unsigned	 runs, failures;
	uint64_t	 last_wall_ms;		/* last attempt ended */
	uint64_t	 last_ok_wall_ms;	/* last success ended: the recovery point */
	uint64_t	 last_ok_start_wall_ms;	/* ... and began */
	unsigned	 last_ms;		/* how long it took */
	unsigned	 snapshot_ms, rules_ms, rsync_ms;
	unsigned	 rules, file_rules;	/* exclusion list, collapsed and not */
	unsigned	 files_changed, deleted, other_changes;
	char		 deleted_paths[200];	/* the first few deleted, "/path" */
	uint64_t	 bytes;			/* received by rsync */
	int		 shifted;		/* owners shifted by LXD's idmap */
	char		 error[300];		/* the last failure, "" after a success */
	char		 restarted[200];	/* units or "container" restarted by the last run */
	unsigned	 conflicts;		/* back: files both sides changed: nothing copied */
	char		 conflict_paths[200];	/* the first few */
	int		 by_list;		/* back, final pass: only the paths listed */
	unsigned	 listed;		/* ... changed in the container since the last pass */
	int		 partial;		/* back, live pass: rsync's 23, a file changed while
					   read; the final pass walks the whole tree */
};

/* Called once per run. */
typedef void (*sync_cb)(void *arg, int ok, const struct sync_stats *st);

/* sh script: lists a primary for excl_parse() (see snapshot.c). */
extern const char sync_snapshot_script[];

/*
 * One per service and direction (back: container -> primary, for the
 * failback). conf is copied; workdir holds the run's files (rules, a copy
 * of the key readable in the user namespace).
 */
struct sync	*sync_new(struct event_base *base, struct lxd *lxd, const char *instance,
		    int warm, int back, const struct sync_conf *conf, const char *workdir,
		    sync_cb cb, void *arg);
void		 sync_free(struct sync *y);
/* -1 with the reason when a run is going on or cannot start. */
int		 sync_start(struct sync *y, char *err, size_t errlen);
/*
 * Back only: the same run again, reusing the last successful run's
 * container path and exclusion list (no LXD or snapshot round trip): the
 * failback's final pass, while the container is frozen. It sends only what
 * changed in the container since that run began (by_list, listed).
 */
int		 sync_start_again(struct sync *y, char *err, size_t errlen);
int		 sync_running(const struct sync *y);
/*
 * Back: when the last forward sync began (wall ms; 0 unknown: every change
 * conflicts; SYNC_SINCE_NONE: no conflict check, the container wins: a
 * fresh VM the service is promoted to).
 */
#define SYNC_SINCE_NONE	UINT64_MAX
void		 sync_set_since(struct sync *y, uint64_t wall_ms);
/*
 * Back: the runs go into a new place the service moves to (a relieve): the
 * units whose files changed are restarted there over ssh; with delete,
 * what the container does not have is deleted there (a copy of it).
 */
void		 sync_set_place(struct sync *y, int delete);
/* Stops a run (its callback is not called). */
void		 sync_stop(struct sync *y);
const struct sync_stats *sync_get_stats(const struct sync *y);

#endif
