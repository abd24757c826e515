/*
 * decide.h: the failover policy, as a pure function of check results,
 * operator commands and time. It decides; svc.c applies.
 */
#ifndef DECIDE_H
#define DECIDE_H

#include <stdint.h>

enum side {
	SIDE_PRIMARY = 0,
	SIDE_STANDBY,
};

enum health {
	H_UNKNOWN = 0,		/* no check finished yet */
	H_UP,
	H_DOWN,
};

/* rise/fall accounting of one target. */
struct health_ctr {
	enum health	h;
	unsigned	ok_run;		/* consecutive successes */
	unsigned	fail_run;	/* consecutive failures */
};

enum svc_state {
	ST_PRIMARY_ACTIVE = 0,	/* traffic to the primary, which is fine */
	ST_PRIMARY_SUSPECT,	/* traffic to the primary, failing checks below fall */
	ST_PRIMARY_DOWN,	/* primary down but no cut-over: standby down or policy manual */
	ST_STANDBY_ACTIVE,	/* traffic to the standby */
	ST_FAILBACK_PENDING,	/* on the standby, primary up again, hold-down running */
	ST_STANDBY_DOWN,	/* on the standby, standby down, primary down too */
};

enum dec_cmd {
	CMD_NONE = 0,
	CMD_FAILOVER,
	CMD_FAILBACK,
};

struct dec_policy {
	int		failover_auto;
	int		failback_auto;
	uint64_t	failback_hold_ms;
};

struct dec_state {
	enum svc_state	state;
	enum side	active;
	uint64_t	hold_since_ms;	/* FAILBACK_PENDING: primary up since */
};

enum dec_event {
	EV_NONE = 0,
	EV_CUTOVER,		/* switch to the side in result.to */
	EV_STANDBY_UNAVAILABLE,	/* primary down, standby not up: no cut-over */
	EV_WAIT_OPERATOR,	/* primary down, failover manual */
	EV_BOTH_DOWN,		/* on the standby, both down */
	EV_REFUSED,		/* a command that cannot be carried out */
	EV_STATE,		/* state changed without a switch */
};

struct dec_result {
	enum dec_event	event;
	enum side	to;		/* EV_CUTOVER */
	const char	*reason;	/* static string */
};

/* Feeds one check result into c; returns 1 when c->h changed. */
int	health_account(struct health_ctr *c, int ok, unsigned rise, unsigned fall);

/*
 * One step: st is updated in place, res says what to do. The caller
 * calls it after every check result, every command, and that is all:
 * time only matters through now_ms on those calls.
 */
void	dec_step(const struct dec_policy *pol, struct dec_state *st,
	    const struct health_ctr *primary, const struct health_ctr *standby,
	    enum dec_cmd cmd, uint64_t now_ms, struct dec_result *res);
/* State at start: from the saved side (or the primary). */
void	dec_init(struct dec_state *st, enum side active);

const char *svc_state_name(enum svc_state s);
const char *side_name(enum side s);
const char *health_name(enum health h);

#endif
