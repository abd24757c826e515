/*
 * test_decide.c: the failover policy, driven by a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "decide.h"

struct sim {
	struct dec_policy pol;
	struct dec_state st;
	struct health_ctr p, s;
	unsigned	rise, fall;
	uint64_t	now;
	unsigned	cutovers;
};

static void
sim_init(struct sim *m, int failover_auto, int failback_auto, uint64_t hold)
{
	*m = (struct sim){ .pol = { failover_auto, failback_auto, hold }, .rise = 2, .fall = 3 };
	dec_init(&m->st, SIDE_PRIMARY);
}

/* One check result for one side, 100 ms after the last, then a decision. */
static struct dec_result
sim_check(struct sim *m, enum side side, int ok)
{
	struct dec_result r;

	m->now += 100;
	health_account(side == SIDE_PRIMARY ? &m->p : &m->s, ok, m->rise, m->fall);
	dec_step(&m->pol, &m->st, &m->p, &m->s, CMD_NONE, m->now, &r);
	if (r.event == EV_CUTOVER)
		m->cutovers++;
	return r;
}

static void
sim_both(struct sim *m, int p_ok, int s_ok, unsigned times)
{
	while (times--) {
		sim_check(m, SIDE_PRIMARY, p_ok);
		sim_check(m, SIDE_STANDBY, s_ok);
	}
}

static void
test_rise_fall(void **state)
{
	struct health_ctr c = { 0 };

	assert_int_equal(health_account(&c, 1, 2, 3), 1);	/* unknown -> up at once */
	assert_int_equal(c.h, H_UP);
	assert_int_equal(health_account(&c, 0, 2, 3), 0);
	assert_int_equal(health_account(&c, 0, 2, 3), 0);
	assert_int_equal(health_account(&c, 0, 2, 3), 1);	/* third failure */
	assert_int_equal(c.h, H_DOWN);
	assert_int_equal(health_account(&c, 1, 2, 3), 0);
	assert_int_equal(health_account(&c, 0, 2, 3), 0);	/* success run broken */
	assert_int_equal(health_account(&c, 1, 2, 3), 0);
	assert_int_equal(health_account(&c, 1, 2, 3), 1);	/* rise 2 */
	assert_int_equal(c.h, H_UP);
}

static void
test_failover_after_fall(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 3);
	assert_int_equal(m.st.state, ST_PRIMARY_ACTIVE);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_STATE);
	assert_int_equal(m.st.state, ST_PRIMARY_SUSPECT);
	sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(r.to, SIDE_STANDBY);
	assert_string_equal(r.reason, "primary down");
	assert_int_equal(m.st.state, ST_STANDBY_ACTIVE);
	/* A recovered primary does not take traffic back: failback is manual. */
	sim_both(&m, 1, 1, 50);
	assert_int_equal(m.st.active, SIDE_STANDBY);
	assert_int_equal(m.cutovers, 1);
}

static void
test_suspect_recovers(void **state)
{
	struct sim m;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_check(&m, SIDE_PRIMARY, 0);
	sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(m.st.state, ST_PRIMARY_SUSPECT);
	sim_check(&m, SIDE_PRIMARY, 1);
	assert_int_equal(m.st.state, ST_PRIMARY_ACTIVE);
	assert_int_equal(m.cutovers, 0);
}

static void
test_standby_down_no_cutover(void **state)
{
	struct sim m;
	struct dec_result r;
	unsigned alerts = 0;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 1, 0, 3);		/* standby goes down first */
	for (int i = 0; i < 10; i++) {
		r = sim_check(&m, SIDE_PRIMARY, 0);
		if (r.event == EV_STANDBY_UNAVAILABLE)
			alerts++;
		assert_int_not_equal(r.event, EV_CUTOVER);
		sim_check(&m, SIDE_STANDBY, 0);
	}
	assert_int_equal(alerts, 1);	/* loud once, not on every check */
	assert_int_equal(m.st.state, ST_PRIMARY_DOWN);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
	/* The standby comes back (rise 2): now the cut-over happens. */
	r = sim_check(&m, SIDE_STANDBY, 1);
	assert_int_not_equal(r.event, EV_CUTOVER);
	r = sim_check(&m, SIDE_STANDBY, 1);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(m.st.active, SIDE_STANDBY);
}

static void
test_standby_unknown_no_cutover(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_init(&m, 1, 0, 0);
	for (int i = 0; i < 3; i++)
		r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_STANDBY_UNAVAILABLE);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
}

static void
test_flapping_no_pingpong(void **state)
{
	struct sim m;

	/* Automatic failback with a 10 s hold-down; primary flaps every 400 ms. */
	sim_init(&m, 1, 1, 10000);
	sim_both(&m, 1, 1, 2);
	for (int i = 0; i < 100; i++) {
		sim_both(&m, 0, 1, 3);
		sim_both(&m, 1, 1, 3);
	}
	assert_int_equal(m.cutovers, 1);
	assert_int_equal(m.st.active, SIDE_STANDBY);
	sim_both(&m, 0, 1, 3);
	assert_int_equal(m.st.state, ST_STANDBY_ACTIVE);
	/* Once it stays up for the whole hold-down, it gets traffic back. */
	sim_both(&m, 1, 1, 2);		/* up again (rise 2): hold-down starts */
	assert_int_equal(m.st.state, ST_FAILBACK_PENDING);
	sim_both(&m, 1, 1, 48);		/* 9.8 s of it */
	assert_int_equal(m.st.active, SIDE_STANDBY);
	assert_int_equal(m.st.state, ST_FAILBACK_PENDING);
	sim_both(&m, 1, 1, 2);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
	assert_int_equal(m.cutovers, 2);
}

static void
test_failback_manual_default(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	assert_int_equal(m.st.active, SIDE_STANDBY);
	/* Failback refused while the primary is down. */
	dec_step(&m.pol, &m.st, &m.p, &m.s, CMD_FAILBACK, m.now, &r);
	assert_int_equal(r.event, EV_REFUSED);
	assert_string_equal(r.reason, "primary is down");
	sim_both(&m, 1, 1, 2);
	dec_step(&m.pol, &m.st, &m.p, &m.s, CMD_FAILBACK, m.now, &r);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(r.to, SIDE_PRIMARY);
	assert_string_equal(r.reason, "operator: failback");
	dec_step(&m.pol, &m.st, &m.p, &m.s, CMD_FAILBACK, m.now, &r);
	assert_int_equal(r.event, EV_REFUSED);
	assert_string_equal(r.reason, "already on the primary");
}

static void
test_manual_failover_policy(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_init(&m, 0, 0, 0);
	sim_both(&m, 1, 1, 2);
	for (int i = 0; i < 3; i++)
		r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_WAIT_OPERATOR);
	sim_both(&m, 0, 1, 10);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
	assert_int_equal(m.st.state, ST_PRIMARY_DOWN);
	dec_step(&m.pol, &m.st, &m.p, &m.s, CMD_FAILOVER, m.now, &r);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(m.st.active, SIDE_STANDBY);
}

static void
test_operator_failover_refused_when_standby_down(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 0, 3);
	dec_step(&m.pol, &m.st, &m.p, &m.s, CMD_FAILOVER, m.now, &r);
	assert_int_equal(r.event, EV_REFUSED);
	assert_string_equal(r.reason, "standby is down");
	assert_int_equal(m.st.active, SIDE_PRIMARY);
}

static void
test_standby_dies_primary_up(void **state)
{
	struct sim m;
	struct dec_result r;
	int seen = 0;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	assert_int_equal(m.st.active, SIDE_STANDBY);
	sim_both(&m, 1, 1, 2);	/* primary repaired, failback manual: stays */
	assert_int_equal(m.st.active, SIDE_STANDBY);
	for (int i = 0; i < 3; i++) {
		r = sim_check(&m, SIDE_STANDBY, 0);
		if (r.event == EV_CUTOVER) {
			seen = 1;
			assert_int_equal(r.to, SIDE_PRIMARY);
		}
	}
	assert_true(seen);	/* a target known down never keeps the traffic */
	assert_int_equal(m.st.active, SIDE_PRIMARY);
}

static void
test_both_down_on_standby(void **state)
{
	struct sim m;
	struct dec_result r;
	unsigned alerts = 0;

	sim_init(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	for (int i = 0; i < 6; i++) {
		r = sim_check(&m, SIDE_STANDBY, 0);
		alerts += r.event == EV_BOTH_DOWN;
	}
	assert_int_equal(alerts, 1);
	assert_int_equal(m.st.state, ST_STANDBY_DOWN);
	assert_int_equal(m.st.active, SIDE_STANDBY);
}

static void
test_restart_on_standby(void **state)
{
	struct sim m;

	/* Restored from the state file: on the standby, unknown health. */
	sim_init(&m, 1, 1, 0);
	dec_init(&m.st, SIDE_STANDBY);
	assert_int_equal(m.st.state, ST_STANDBY_ACTIVE);
	/* Primary answers right after restart: no flip without the policy's hold. */
	m.pol.failback_auto = 0;
	sim_both(&m, 1, 1, 20);
	assert_int_equal(m.st.active, SIDE_STANDBY);
	assert_int_equal(m.cutovers, 0);
}


/* ---- recovery: fencing and cold standbys ---- */

static void
sim_rec(struct sim *m, int fence, int proceed, int cold)
{
	sim_init(m, 1, 0, 0);
	m->pol.fence = fence;
	m->pol.fence_proceed = proceed;
	m->pol.standby_cold = cold;
	m->pol.standby_startable = cold;
	m->pol.start_timeout_ms = 5000;
	m->pol.retry_ms = 10000;
}

static struct dec_result
sim_report(struct sim *m, enum dec_cmd cmd)
{
	struct dec_result r;

	dec_step(&m->pol, &m->st, &m->p, &m->s, cmd, m->now, &r);
	if (r.event == EV_CUTOVER)
		m->cutovers++;
	return r;
}

static void
test_fence_then_switch(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_check(&m, SIDE_PRIMARY, 0);
	sim_check(&m, SIDE_PRIMARY, 0);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_FENCE);
	assert_int_equal(m.st.state, ST_FENCING);
	/* While fencing, checks change nothing, whatever they say. */
	sim_both(&m, 0, 1, 5);
	sim_both(&m, 1, 1, 5);
	assert_int_equal(m.st.state, ST_FENCING);
	assert_int_equal(m.cutovers, 0);
	r = sim_report(&m, CMD_FENCED);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(r.to, SIDE_STANDBY);
	assert_string_equal(r.reason, "primary down, fenced");
	/* A late, duplicate report does nothing. */
	r = sim_report(&m, CMD_FENCED);
	assert_int_equal(r.event, EV_NONE);
	assert_int_equal(m.cutovers, 1);
}

static void
test_fence_failed_refuse_then_retry(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	assert_int_equal(m.st.state, ST_FENCING);
	r = sim_report(&m, CMD_FENCE_FAILED);
	assert_int_equal(r.event, EV_RECOVERY_FAILED);
	assert_int_equal(m.st.state, ST_RECOVERY_FAILED);
	assert_int_equal(m.st.active, SIDE_PRIMARY);
	/* No retry before retry_ms (checks every 100 ms: 45 pairs = 9 s). */
	for (int i = 0; i < 45; i++) {
		sim_check(&m, SIDE_PRIMARY, 0);
		r = sim_check(&m, SIDE_STANDBY, 1);
		assert_int_not_equal(r.event, EV_FENCE);
	}
	sim_both(&m, 0, 1, 6);
	assert_int_equal(m.st.state, ST_FENCING);	/* retried */
	r = sim_report(&m, CMD_FENCED);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_int_equal(m.cutovers, 1);
}

static void
test_fence_failed_primary_back(void **state)
{
	struct sim m;

	sim_rec(&m, 1, 0, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	sim_report(&m, CMD_FENCE_FAILED);
	/* The split heals: the primary is up again, the recovery is given up. */
	sim_both(&m, 1, 1, 2);
	assert_int_equal(m.st.state, ST_PRIMARY_ACTIVE);
	sim_both(&m, 1, 1, 200);
	assert_int_equal(m.cutovers, 0);
}

static void
test_fence_failed_proceed(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 1, 0);
	sim_both(&m, 1, 1, 2);
	sim_both(&m, 0, 1, 3);
	r = sim_report(&m, CMD_FENCE_FAILED);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_string_equal(r.reason, "primary down, fencing failed, policy proceed");
}

static void
test_cold_start_then_switch(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 0, 1);
	sim_both(&m, 1, 0, 3);		/* cold: the standby does not answer */
	sim_both(&m, 0, 0, 2);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_FENCE);
	assert_true(r.also_start);	/* the start overlaps the fencing */
	sim_check(&m, SIDE_STANDBY, 0);
	assert_int_equal(m.st.state, ST_FENCING);
	r = sim_report(&m, CMD_FENCED);
	assert_int_equal(r.event, EV_START_STANDBY);
	assert_int_equal(m.st.state, ST_STARTING);
	sim_both(&m, 0, 0, 5);
	assert_int_equal(m.st.state, ST_STARTING);
	/* svc.c resets the standby's counters when it starts it. */
	memset(&m.s, 0, sizeof(m.s));
	r = sim_check(&m, SIDE_STANDBY, 1);
	assert_int_equal(r.event, EV_CUTOVER);
	assert_string_equal(r.reason, "cold standby started and answering");
}

static void
test_cold_start_timeout(void **state)
{
	struct sim m;
	struct dec_result r;
	int failed = 0;

	sim_rec(&m, 0, 0, 1);
	sim_both(&m, 1, 0, 3);
	sim_both(&m, 0, 0, 2);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_START_STANDBY);	/* no fencing configured */
	for (int i = 0; i < 30; i++) {		/* 6 s > start_timeout 5 s */
		sim_check(&m, SIDE_PRIMARY, 0);
		r = sim_check(&m, SIDE_STANDBY, 0);
		if (r.event == EV_RECOVERY_FAILED)
			failed++;
	}
	assert_int_equal(failed, 1);
	assert_int_equal(m.st.state, ST_RECOVERY_FAILED);
	assert_int_equal(m.cutovers, 0);
}

static void
test_cold_not_startable(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 0, 1);
	m.pol.standby_startable = 0;	/* LXD down or instance missing */
	sim_both(&m, 1, 0, 3);
	sim_both(&m, 0, 0, 2);
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_STANDBY_UNAVAILABLE);
	sim_both(&m, 0, 0, 20);
	assert_int_equal(m.st.state, ST_PRIMARY_DOWN);
	/* LXD back: the next check starts the recovery. */
	m.pol.standby_startable = 1;
	r = sim_check(&m, SIDE_PRIMARY, 0);
	assert_int_equal(r.event, EV_FENCE);
	assert_true(r.also_start);
	r = sim_report(&m, CMD_START_FAILED);	/* a report for another step: ignored */
	assert_int_equal(r.event, EV_NONE);
	assert_int_equal(m.st.state, ST_FENCING);
}

static void
test_planned_failover_no_fence(void **state)
{
	struct sim m;
	struct dec_result r;

	sim_rec(&m, 1, 0, 1);
	sim_both(&m, 1, 0, 3);
	/* The primary is fine: the operator's switch does not power it off. */
	r = sim_report(&m, CMD_FAILOVER);
	assert_int_equal(r.event, EV_START_STANDBY);
	r = sim_report(&m, CMD_FAILOVER);
	assert_int_equal(r.event, EV_REFUSED);
	assert_string_equal(r.reason, "a recovery is starting the cold standby");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rise_fall),
		cmocka_unit_test(test_failover_after_fall),
		cmocka_unit_test(test_suspect_recovers),
		cmocka_unit_test(test_standby_down_no_cutover),
		cmocka_unit_test(test_standby_unknown_no_cutover),
		cmocka_unit_test(test_flapping_no_pingpong),
		cmocka_unit_test(test_failback_manual_default),
		cmocka_unit_test(test_manual_failover_policy),
		cmocka_unit_test(test_operator_failover_refused_when_standby_down),
		cmocka_unit_test(test_standby_dies_primary_up),
		cmocka_unit_test(test_both_down_on_standby),
		cmocka_unit_test(test_restart_on_standby),
		cmocka_unit_test(test_fence_then_switch),
		cmocka_unit_test(test_fence_failed_refuse_then_retry),
		cmocka_unit_test(test_fence_failed_primary_back),
		cmocka_unit_test(test_fence_failed_proceed),
		cmocka_unit_test(test_cold_start_then_switch),
		cmocka_unit_test(test_cold_start_timeout),
		cmocka_unit_test(test_cold_not_startable),
		cmocka_unit_test(test_planned_failover_no_fence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
