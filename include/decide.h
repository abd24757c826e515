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
	/* recovery (issue 4): on the primary still, on the way to the standby */
	ST_FENCING,		/* the primary VM is being powered off */
	ST_STARTING,		/* the cold standby container is being started */
	ST_RECOVERY_FAILED,	/* fencing refused or the start failed; retried later */
};

enum dec_cmd {
	CMD_NONE = 0,
	CMD_FAILOVER,
	CMD_FAILBACK,
	/* reports from the recovery module (svc.c) */
	CMD_FENCED,		/* the primary is powered off */
	CMD_FENCE_FAILED,	/* it could not be powered off */
	CMD_START_FAILED,	/* the cold standby could not be started */
};

struct dec_policy {
	int		failover_auto;
	int		failback_auto;
	uint64_t	failback_hold_ms;
	/* recovery: all zero when the service has no primary-vm / standby-container */
	int		fence;			/* power the primary off before a cut-over */
	int		fence_proceed;		/* ... and cut over even if that fails */
	int		standby_cold;		/* the standby container is started on demand */
	int		standby_startable;	/* now: it exists and its LXD answers */
	uint64_t	start_timeout_ms;	/* cold: start to first good check */
	uint64_t	retry_ms;		/* after a failed recovery, try again */
};

struct dec_state {
	enum svc_state	state;
	enum side	active;
	uint64_t	hold_since_ms;	/* FAILBACK_PENDING: primary up since */
	uint64_t	step_since_ms;	/* FENCING, STARTING, RECOVERY_FAILED: since */
};

enum dec_event {
	EV_NONE = 0,
	EV_CUTOVER,		/* switch to the side in result.to */
	EV_STANDBY_UNAVAILABLE,	/* primary down, standby not up: no cut-over */
	EV_WAIT_OPERATOR,	/* primary down, failover manual */
	EV_BOTH_DOWN,		/* on the standby, both down */
	EV_REFUSED,		/* a command that cannot be carried out */
	EV_STATE,		/* state changed without a switch */
	EV_FENCE,		/* power the primary off, then report CMD_FENCED or CMD_FENCE_FAILED */
	EV_START_STANDBY,	/* start the cold standby (report CMD_START_FAILED if it fails) */
	EV_RECOVERY_FAILED,	/* no cut-over: fencing refused or the standby did not start */
};

struct dec_result {
	enum dec_event	event;
	enum side	to;		/* EV_CUTOVER */
	int		also_start;	/* EV_FENCE: start the cold standby meanwhile */
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
