/*
 * decide.c: the failover policy.
 *
 *  - The primary serves while it is up. Once it has failed `fall` checks in
 *    a row, traffic goes to the standby, but only if the standby is up:
 *    vcrd never points a service at a target it knows is down, and with
 *    policy manual it waits for the operator.
 *  - On the standby, vcrd goes back to the primary only when the operator
 *    says so, or (failback automatic) after the primary has stayed up for
 *    the whole hold-down. A primary that flaps keeps resetting the hold-down,
 *    so it cannot make traffic ping-pong.
 *  - If the standby goes down while it serves and the primary is up, traffic
 *    goes back to the primary at once: a target known down never keeps traffic.
 *  - With recovery configured, a failure-driven cut-over first fences the
 *    primary (powers its VM off), and a cold standby is started and must
 *    pass a check before traffic moves. Fencing that fails stops the
 *    cut-over (policy refuse) or not (proceed); a failed recovery is tried
 *    again after retry_ms, and given up as soon as the primary is back.
 *
 * Nothing here reads a clock or touches the system.
 */
#include <string.h>

#include "decide.h"

int
health_account(struct health_ctr *c, int ok, unsigned rise, unsigned fall)
{
	enum health old = c->h;

	if (ok) {
		c->ok_run++;
		c->fail_run = 0;
		/* The first result decides an unknown target: no need to wait rise. */
		if (c->h == H_UNKNOWN || (c->h == H_DOWN && c->ok_run >= rise))
			c->h = H_UP;
	} else {
		c->fail_run++;
		c->ok_run = 0;
		if (c->h != H_DOWN && c->fail_run >= fall)
			c->h = H_DOWN;
	}
	return c->h != old;
}

void
dec_init(struct dec_state *st, enum side active)
{
	memset(st, 0, sizeof(*st));
	st->active = active;
	st->state = active == SIDE_PRIMARY ? ST_PRIMARY_ACTIVE : ST_STANDBY_ACTIVE;
}

static void
set_state(struct dec_state *st, enum svc_state s, struct dec_result *res)
{
	if (st->state != s && res->event == EV_NONE)
		res->event = EV_STATE;
	st->state = s;
}

static void
cutover(struct dec_state *st, enum side to, const char *reason, struct dec_result *res)
{
	st->active = to;
	st->state = to == SIDE_PRIMARY ? ST_PRIMARY_ACTIVE : ST_STANDBY_ACTIVE;
	st->hold_since_ms = 0;
	res->event = EV_CUTOVER;
	res->to = to;
	res->reason = reason;
}

static void
alert(struct dec_state *st, enum svc_state s, enum dec_event ev, const char *reason,
    struct dec_result *res)
{
	/* Loud once, when the condition starts, not on every check. */
	if (st->state != s) {
		res->event = ev;
		res->reason = reason;
	}
	st->state = s;
}

/*
 * Recovery before a cut-over (services with a primary-vm or a
 * standby-container): fence the primary, then, for a cold standby, start
 * it and wait for its first good check. Each step is asked of svc.c by an
 * event and reported back as a command.
 */
static int
standby_available(const struct dec_policy *pol, const struct health_ctr *s)
{
	return s->h == H_UP || (pol->standby_cold && pol->standby_startable);
}

static void
step(struct dec_state *st, enum svc_state s, uint64_t now)
{
	st->state = s;
	st->step_since_ms = now;
}

/* The primary is fenced (or needs no fencing): switch, or start the standby. */
static void
after_fence(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *s, uint64_t now, const char *reason, struct dec_result *res)
{
	if (s->h == H_UP) {
		cutover(st, SIDE_STANDBY, reason, res);
		return;
	}
	if (pol->standby_cold && pol->standby_startable) {
		step(st, ST_STARTING, now);
		res->event = EV_START_STANDBY;
		res->reason = "starting the cold standby";
		return;
	}
	step(st, ST_RECOVERY_FAILED, now);
	res->event = EV_RECOVERY_FAILED;
	res->reason = pol->standby_cold ? "cold standby cannot be started: no cut-over" :
	    "standby down: no cut-over";
}

static void
begin_recovery(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *p, const struct health_ctr *s, uint64_t now,
    const char *reason, struct dec_result *res)
{
	/* A planned switch away from a healthy primary does not power it off. */
	if (pol->fence && p->h != H_UP) {
		step(st, ST_FENCING, now);
		res->event = EV_FENCE;
		res->reason = "fencing the primary";
		/*
		 * A cold standby starts while the primary is powered off: it
		 * takes no traffic before the fencing is done, and the two
		 * waits overlap instead of adding up.
		 */
		res->also_start = s->h != H_UP && pol->standby_cold && pol->standby_startable;
		return;
	}
	after_fence(pol, st, s, now, reason, res);
}

/* Reports from svc.c while a recovery runs. */
static void
report(const struct dec_policy *pol, struct dec_state *st, const struct health_ctr *s,
    enum dec_cmd cmd, uint64_t now, struct dec_result *res)
{
	if (cmd == CMD_FENCED && st->state == ST_FENCING) {
		after_fence(pol, st, s, now, "primary down, fenced", res);
		return;
	}
	if (cmd == CMD_FENCE_FAILED && st->state == ST_FENCING) {
		if (pol->fence_proceed) {
			after_fence(pol, st, s, now,
			    "primary down, fencing failed, policy proceed", res);
			return;
		}
		step(st, ST_RECOVERY_FAILED, now);
		res->event = EV_RECOVERY_FAILED;
		res->reason = "fencing failed, policy refuse: no cut-over while the primary "
		    "may still run";
		return;
	}
	if (cmd == CMD_START_FAILED && st->state == ST_STARTING) {
		step(st, ST_RECOVERY_FAILED, now);
		res->event = EV_RECOVERY_FAILED;
		res->reason = "cold standby did not start: no cut-over";
	}
	/* A late report for a step already left: nothing to do. */
}

static void
on_primary(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *p, const struct health_ctr *s, uint64_t now,
    struct dec_result *res)
{
	switch (st->state) {
	case ST_FENCING:
		return;		/* the fencing result decides */
	case ST_STARTING:
		if (s->h == H_UP) {
			cutover(st, SIDE_STANDBY, "cold standby started and answering", res);
			return;
		}
		if (now - st->step_since_ms >= pol->start_timeout_ms) {
			step(st, ST_RECOVERY_FAILED, now);
			res->event = EV_RECOVERY_FAILED;
			res->reason = "cold standby not answering within start-timeout: no cut-over";
		}
		return;
	case ST_RECOVERY_FAILED:
		if (p->h != H_DOWN) {
			set_state(st, ST_PRIMARY_ACTIVE, res);
			return;
		}
		if (now - st->step_since_ms < pol->retry_ms)
			return;
		if (!standby_available(pol, s)) {
			st->step_since_ms = now;	/* try again later */
			return;
		}
		begin_recovery(pol, st, p, s, now, "primary down", res);
		return;
	default:
		break;
	}
	if (p->h != H_DOWN) {
		if (p->fail_run > 0 && p->h == H_UP)
			set_state(st, ST_PRIMARY_SUSPECT, res);
		else
			set_state(st, ST_PRIMARY_ACTIVE, res);
		return;
	}
	if (!standby_available(pol, s)) {
		alert(st, ST_PRIMARY_DOWN, EV_STANDBY_UNAVAILABLE,
		    pol->standby_cold ? "primary down and the cold standby cannot be started: "
		    "no cut-over" : s->h == H_DOWN ? "primary down and standby down: no cut-over" :
		    "primary down and standby not checked yet: no cut-over", res);
		return;
	}
	if (!pol->failover_auto) {
		alert(st, ST_PRIMARY_DOWN, EV_WAIT_OPERATOR,
		    "primary down, failover manual: waiting for vcrctl failover", res);
		return;
	}
	begin_recovery(pol, st, p, s, now, "primary down", res);
}

static void
on_standby(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *p, const struct health_ctr *s, uint64_t now,
    struct dec_result *res)
{
	if (s->h == H_DOWN) {
		if (p->h == H_UP) {
			cutover(st, SIDE_PRIMARY, "standby down, primary up", res);
			return;
		}
		alert(st, ST_STANDBY_DOWN, EV_BOTH_DOWN,
		    "standby down and primary down: nowhere to send traffic", res);
		return;
	}
	if (p->h != H_UP || !pol->failback_auto) {
		st->hold_since_ms = 0;
		set_state(st, ST_STANDBY_ACTIVE, res);
		return;
	}
	if (st->state != ST_FAILBACK_PENDING) {
		st->hold_since_ms = now;
		set_state(st, ST_FAILBACK_PENDING, res);
		if (pol->failback_hold_ms > 0)
			return;
	}
	if (now - st->hold_since_ms >= pol->failback_hold_ms)
		cutover(st, SIDE_PRIMARY, "primary up for the whole hold-down: automatic failback",
		    res);
}

static void
command(const struct dec_policy *pol, struct dec_state *st, const struct health_ctr *p,
    const struct health_ctr *s, enum dec_cmd cmd, uint64_t now, struct dec_result *res)
{
	enum side to = cmd == CMD_FAILOVER ? SIDE_STANDBY : SIDE_PRIMARY;
	const struct health_ctr *t = to == SIDE_STANDBY ? s : p;

	if (st->active == to) {
		res->event = EV_REFUSED;
		res->reason = to == SIDE_STANDBY ? "already on the standby" :
		    "already on the primary";
		return;
	}
	if (st->state == ST_FENCING || st->state == ST_STARTING) {
		res->event = EV_REFUSED;
		res->reason = st->state == ST_FENCING ? "a recovery is fencing the primary" :
		    "a recovery is starting the cold standby";
		return;
	}
	if (to == SIDE_STANDBY && t->h != H_UP && standby_available(pol, s)) {
		begin_recovery(pol, st, p, s, now, "operator: failover", res);
		return;
	}
	if (t->h != H_UP) {
		res->event = EV_REFUSED;
		res->reason = to == SIDE_STANDBY ?
		    (pol->standby_cold ? "the cold standby cannot be started" :
		    t->h == H_DOWN ? "standby is down" : "standby not checked yet") :
		    (t->h == H_DOWN ? "primary is down" : "primary not checked yet");
		return;
	}
	if (to == SIDE_STANDBY) {
		begin_recovery(pol, st, p, s, now, "operator: failover", res);
		return;
	}
	cutover(st, to, "operator: failback", res);
}

void
dec_step(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *primary, const struct health_ctr *standby,
    enum dec_cmd cmd, uint64_t now, struct dec_result *res)
{
	memset(res, 0, sizeof(*res));
	if (cmd == CMD_FENCED || cmd == CMD_FENCE_FAILED || cmd == CMD_START_FAILED) {
		report(pol, st, standby, cmd, now, res);
		return;
	}
	if (cmd != CMD_NONE) {
		command(pol, st, primary, standby, cmd, now, res);
		return;
	}
	if (st->active == SIDE_PRIMARY)
		on_primary(pol, st, primary, standby, now, res);
	else
		on_standby(pol, st, primary, standby, now, res);
}

const char *
svc_state_name(enum svc_state s)
{
	static const char *const names[] = {
		[ST_PRIMARY_ACTIVE] = "primary-active",
		[ST_PRIMARY_SUSPECT] = "primary-suspect",
		[ST_PRIMARY_DOWN] = "primary-down",
		[ST_STANDBY_ACTIVE] = "standby-active",
		[ST_FAILBACK_PENDING] = "failback-pending",
		[ST_STANDBY_DOWN] = "standby-down",
		[ST_FENCING] = "fencing",
		[ST_STARTING] = "starting-standby",
		[ST_RECOVERY_FAILED] = "recovery-failed",
	};
	return names[s];
}

const char *
side_name(enum side s)
{
	return s == SIDE_PRIMARY ? "primary" : "standby";
}

const char *
health_name(enum health h)
{
	return h == H_UP ? "up" : h == H_DOWN ? "down" : "unknown";
}
