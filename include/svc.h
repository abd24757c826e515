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
	uint64_t	traffic_errors;	/* mode tcp: upstream connects that failed */
};

struct svc {
	struct svc_conf	*conf;		/* points into vcrd.conf */
	struct target_view side[2];
	struct dec_state dec;
	uint64_t	since_wall_ms;	/* pointing at dec.active since */
	unsigned	cutovers;
	unsigned	last_cutover_us;	/* decision -> batch ACKed -> conntrack cleaned */
	char		alert[160];	/* current loud condition, empty when fine */
	struct relay	*relay;		/* mode tcp */
	struct event	*ct_sweep;	/* second conntrack pass after a cut-over */
	struct endpoint	 ct_old;	/* the target it cleans up after */
	unsigned	gen;		/* bumped at each cut-over */
	unsigned	error_run;	/* traffic errors in a row on the active side */
	struct vcrd	*d;
	TAILQ_ENTRY(svc) entry;
};

TAILQ_HEAD(svc_list, svc);

struct vcrd {
	struct event_base *base;
	struct vcr_conf	*conf;
	struct svc_list	 services;
	struct nf	*nf;
	struct chk_http	*http;
	struct ctl	*ctl;
	struct metrics	*metrics;
	uint64_t	 started_wall_ms;
	uint64_t	 reloads, reload_failures;
};

/* Start: restore state, replace the table, start every check. */
int	vcrd_start(struct vcrd *d, struct vcr_conf *conf, char *err, size_t errlen);
/* Reload from conf->path; on error nothing changes. */
int	vcrd_reload(struct vcrd *d, char *err, size_t errlen);
void	vcrd_stop(struct vcrd *d);
struct svc *vcrd_find(struct vcrd *d, const char *name);
/* Operator command; 0 done, -1 refused with the reason in err. */
int	vcrd_command(struct vcrd *d, struct svc *s, enum dec_cmd cmd, char *err, size_t errlen);
int	vcrd_save_state(struct vcrd *d);
const struct endpoint *svc_target(const struct svc *s, enum side side);

#endif
