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

static void
on_primary(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *p, const struct health_ctr *s, struct dec_result *res)
{
	if (p->h != H_DOWN) {
		if (p->fail_run > 0 && p->h == H_UP)
			set_state(st, ST_PRIMARY_SUSPECT, res);
		else
			set_state(st, ST_PRIMARY_ACTIVE, res);
		return;
	}
	if (s->h != H_UP) {
		alert(st, ST_PRIMARY_DOWN, EV_STANDBY_UNAVAILABLE,
		    s->h == H_DOWN ? "primary down and standby down: no cut-over" :
		    "primary down and standby not checked yet: no cut-over", res);
		return;
	}
	if (!pol->failover_auto) {
		alert(st, ST_PRIMARY_DOWN, EV_WAIT_OPERATOR,
		    "primary down, failover manual: waiting for vcrctl failover", res);
		return;
	}
	cutover(st, SIDE_STANDBY, "primary down", res);
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
command(struct dec_state *st, const struct health_ctr *p, const struct health_ctr *s,
    enum dec_cmd cmd, struct dec_result *res)
{
	enum side to = cmd == CMD_FAILOVER ? SIDE_STANDBY : SIDE_PRIMARY;
	const struct health_ctr *t = to == SIDE_STANDBY ? s : p;

	if (st->active == to) {
		res->event = EV_REFUSED;
		res->reason = to == SIDE_STANDBY ? "already on the standby" :
		    "already on the primary";
		return;
	}
	if (t->h != H_UP) {
		res->event = EV_REFUSED;
		res->reason = to == SIDE_STANDBY ?
		    (t->h == H_DOWN ? "standby is down" : "standby not checked yet") :
		    (t->h == H_DOWN ? "primary is down" : "primary not checked yet");
		return;
	}
	cutover(st, to, cmd == CMD_FAILOVER ? "operator: failover" : "operator: failback", res);
}

void
dec_step(const struct dec_policy *pol, struct dec_state *st,
    const struct health_ctr *primary, const struct health_ctr *standby,
    enum dec_cmd cmd, uint64_t now, struct dec_result *res)
{
	memset(res, 0, sizeof(*res));
	if (cmd != CMD_NONE) {
		command(st, primary, standby, cmd, res);
		return;
	}
	if (st->active == SIDE_PRIMARY)
		on_primary(pol, st, primary, standby, res);
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
