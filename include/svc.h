/*
 * svc.h: vcrd's runtime: the services with their checks and decisions, and
 * the actions that follow (netfilter, state file, events).
 */
#ifndef SVC_H
#define SVC_H

#include <sys/queue.h>
#include "conf-t.h"
#include "decide.h"

struct event_base;
struct chk;
struct nf;

struct svc;

struct target_view {
	struct svc	*owner;
	enum side	 which;
	struct chk	*chk;
	struct health_ctr ctr;
	char		last_reason[96];
	unsigned	last_latency_us;
	uint64_t	checks;
	uint64_t	failures;
	uint64_t	traffic_errors;	/* modes tcp and http: upstream failures */
};

/* A service's recovery at runtime (svc_rec.c); all zero without recovery. */
struct rec_view {
	struct lxd	*lxd;		/* borrowed from struct vcrd */
	struct virt	*virt;
	struct lxd_req	*req;		/* the LXD request running, if any */
	char		 container[256];	/* "Running", "Stopped", or why it is not usable */
	int		 startable;	/* cold: exists and its LXD answers */
	int		 degraded;	/* the standby is missing or broken */
	char		 vm[128];	/* the primary's domain state, or why unknown */
	struct event	*refresh;	/* periodic LXD look */
	struct event	*fence_timer;
	unsigned	 fence_seq;	/* ignores results of a fence given up on */
	uint64_t	 t0_us;		/* the recovery's decision */
	unsigned	 fence_ms, start_ms;
	int		 fenced;	/* this recovery powered the primary off */
	int		 started;	/* this recovery asked LXD to start the standby */
	unsigned	 retries;	/* failed recoveries in a row, for the same reason */
	struct sync	*sync;		/* disk sync into the standby container */
	struct event	*sync_timer;
	int		 final_sync;	/* planned failover: FINAL_* in svc_rec.c */
	struct sync	*back;		/* container -> primary, for the failback */
	uint64_t	 sync_ok_start_ms;	/* the last good sync began (saved in the state) */
	int		 fb;		/* failback with sync: FB_* in svc_rec.c */
	struct lxd_req	*fb_req;	/* its LXD request (freeze, stop, start) */
	uint64_t	 fb_t0_us, fb_frozen_us;	/* ... and when the freeze was asked for */
	unsigned	 fb_freeze_ms;	/* how long LXD took to freeze it */
	int		 thaw_at_start;	/* the state file says a failback froze the container */
};

enum hold {
	HOLD_NONE = 0,
	HOLD_DROPPED,	/* frontend in the held set, SYNs dropped */
	HOLD_RELAYED,	/* frontend in the held set, vcrd's hold listener takes them */
	HOLD_PAUSED,	/* modes tcp, http: the relay sends nothing upstream (relay_pause) */
};

struct svc {
	struct svc_conf	*conf;		/* points into vcrd.conf */
	struct target_view side[2];
	struct dec_state dec;
	uint64_t	since_wall_ms;	/* pointing at dec.active since */
	unsigned	cutovers;
	unsigned	last_cutover_us;	/* decision -> batch ACKed -> set recent's entries deleted */
	unsigned	last_walk_us;	/* the first walk of the conntrack table after it */
	char		alert[160];	/* current loud condition, empty when fine */
	struct relay	*relay;		/* modes tcp and http */
	struct event	*ct_sweep;	/* the conntrack walks after a cut-over */
	struct endpoint	 ct_old;	/* the target it cleans up after */
	unsigned	ct_walks;	/* of the conntrack table since the cut-over */
	int		suspect;	/* the frontend is in set suspect */
	unsigned	gen;		/* bumped at each cut-over */
	int		held;		/* enum hold (svc_hold) */
	struct relay	*hold_relay;	/* mode dnat: vcrd's own hold (HOLD_RELAYED) */
	unsigned	error_run;	/* traffic errors in a row on the active side */
	uint64_t	resp_5xx;	/* mode http: of the last responses from the active side, */
	unsigned	resp_seen;	/* which were 5xx (bit 0 the newest), and how many so far */
	struct rec_view	rec;
	struct moved	moved[2];	/* relieves on top of the file: [0] promoted, [1] moved */
	struct relieve	*rl;		/* relieve.c: one running, the load watch */
	struct vcrd	*d;
	TAILQ_ENTRY(svc) entry;
};

TAILQ_HEAD(svc_list, svc);

struct vcrd {
	struct event_base *base;
	struct vcr_conf	*conf;
	struct svc_list	 services;
	struct nf	*nf;
	struct curl_ev	*http;		/* one libcurl multi handle: checks and LXD */
	struct ctl	*ctl;
	struct metrics	*metrics;
	uint64_t	 started_wall_ms;
	uint64_t	 reloads, reload_failures;
	struct lxd	**lxds;		/* one per 'lxd' line */
	unsigned	 nlxds;
	struct virt	**virts;	/* one per 'libvirt' line */
	unsigned	 nvirts;
};

/* Start: restore state, replace the table, start every check. */
int	vcrd_start(struct vcrd *d, struct vcr_conf *conf, char *err, size_t errlen);
/* Reload from conf->path; on error nothing changes. */
int	vcrd_reload(struct vcrd *d, char *err, size_t errlen);
void	vcrd_stop(struct vcrd *d);
struct svc *vcrd_find(struct vcrd *d, const char *name);
/* Operator command; 0 done, -1 refused with the reason in err. */
int	vcrd_command(struct vcrd *d, struct svc *s, enum dec_cmd cmd, char *err, size_t errlen);
/*
 * Operator failover. With final_sync, a service whose standby is synced
 * and whose primary is up gets one last sync first: 1 means the cut-over
 * waits for it (vcrctl events shows both), 0 done, -1 refused.
 */
int	vcrd_failover(struct vcrd *d, struct svc *s, int final_sync, char *err, size_t errlen);
/*
 * Operator failback. With sync_back, a service whose standby is synced
 * gets the standby's changes copied to the primary first (live, then with
 * the container frozen): 1 means the failback follows them, 0 done, -1
 * refused.
 */
int	vcrd_failback(struct vcrd *d, struct svc *s, int sync_back, char *err, size_t errlen);
int	vcrd_save_state(struct vcrd *d);
const struct endpoint *svc_target(const struct svc *s, enum side side);
/* Feeds a report (CMD_FENCED, ...) or a changed health into the decision. */
void	svc_evaluate(struct svc *s, enum dec_cmd cmd);
/* A health verdict that does not wait for the probes (traffic, libvirt events). */
void	svc_mark_down(struct svc *s, enum side side, const char *reason);

/*
 * A relieve's switch: m applied to the service's side (conf_move), its map
 * element rewritten when that side is active (old conntrack entries
 * deleted), its checks and recovery attached again, the state saved. -1
 * (err set) when the kernel refused: nothing changed.
 */
int	svc_repoint(struct svc *s, int side, const struct moved *m, char *err, size_t errlen);
/*
 * Mode dnat: new connections held while the active standby is frozen
 * (accepted by vcrd and relayed after the switch, or where vcrd cannot
 * listen on the frontend, their SYNs dropped); the switch or
 * svc_hold(s, 0, ...) lets them through.
 */
void	svc_hold(struct svc *s, int on, const char *why);

/* relieve.c: a loaded standby relieved (issue 6). */
void	relieve_attach(struct svc *s);
void	relieve_detach(struct svc *s);
/* Drops the load watch's LXD request in flight (a reload may free its server). */
void	relieve_quiesce(struct svc *s);
/*
 * vcrctl relieve NAME --to LXD|vm [--prepare]: 0 started, -1 refused (err).
 * prepare: the container (a standby, not serving) copied to LXD ahead.
 */
int	relieve_start(struct svc *s, const char *to, int prepare, const char *why, char *err,
	    size_t errlen);
int	relieve_running(const struct svc *s);
/* 1 while a relieve holds the standby container frozen. */
int	relieve_frozen(const struct svc *s);
struct relieve_stats {
	int		running;
	unsigned	done, failed;	/* relieves ended since vcrd started */
	int		have_load;	/* the load watch has a CPU reading */
	unsigned	cpu_pct;
	uint64_t	memory;
	int		host_mem_pct;	/* the LXD server's memory in use, %; -1: not read */
};
/* 0 with st filled, -1 without a relieve block. */
int	relieve_stats(const struct svc *s, struct relieve_stats *st);
struct json_object;
/* Its status for vcrctl status ("relieve": {...}), or NULL without a relieve block. */
struct json_object *relieve_json(const struct svc *s);

/* svc_rec.c: the recovery module (recovery/) wired to the services. */
int	rec_open(struct vcrd *d, char *err, size_t errlen);
/* After a reload: new connections made, unused ones closed, services rebound. */
int	rec_reload(struct vcrd *d, char *err, size_t errlen);
/* 1 when both files name the same lxd and libvirt connections. */
int	rec_lists_equal(const struct vcr_conf *a, const struct vcr_conf *b);
void	rec_close(struct vcrd *d);
void	rec_attach(struct vcrd *d, struct svc *s);
void	rec_detach(struct svc *s);
void	rec_fence(struct svc *s);
void	rec_start_standby(struct svc *s);
/* Adds recovery facts to a cut-over event ("fence_ms=..."). */
void	rec_cutover_text(struct svc *s, char *buf, size_t len);
/* After a switch: a sync from the primary stops once the standby serves. */
void	rec_switched(struct svc *s, enum side to);
void	rec_policy(const struct svc *s, struct dec_policy *pol);
/* vcrctl sync NAME: -1 with the reason when it cannot run now. */
int	rec_sync_now(struct svc *s, char *err, size_t errlen);
/* The last sync before a planned failover; the failover follows its success. */
int	rec_final_sync(struct svc *s, char *err, size_t errlen);
/* 1 while a failback holds the standby container frozen. */
int	rec_standby_frozen(const struct svc *s);
/* Has a failback of ours frozen the container (or is freezing or thawing it)? Saved. */
int	rec_failback_frozen(const struct svc *s);
struct lxd *rec_find_lxd(struct vcrd *d, const char *name);
struct virt *rec_find_virt(struct vcrd *d, const char *name);
/* The standby's changes synced back before a failback; 1: it follows them. */
int	rec_failback(struct svc *s, char *err, size_t errlen);

#endif
