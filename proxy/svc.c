/*
 * svc.c: vcrd's runtime. Check results go into the decision (decide.c);
 * what it decides is applied here: the nftables map, conntrack, the
 * state file and the events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "vcr.h"
#include "check.h"
#include "conf.h"
#include "curl_ev.h"
#include "ctl.h"
#include "events.h"
#include "metrics.h"
#include "nf.h"
#include "relay.h"
#include "state.h"
#include "svc.h"
#include "sync.h"

const struct endpoint *
svc_target(const struct svc *s, enum side side)
{
	return side == SIDE_PRIMARY ? &s->conf->primary : &s->conf->standby;
}

static int batch_masq(struct nf_batch *, enum nf_op, const struct vcr_conf *,
    const struct vcr_conf *);
static void svc_start_checks(struct vcrd *d, struct svc *s);
static void svc_forget_check(struct svc *s, int side);
static int batch_relayed(struct nf_batch *, enum nf_op, const struct vcr_conf *,
    const struct vcr_conf *);

/* "web -> standby 198.18.2.2:80 since 2026-11-26T04:30:00Z" */
static void
elem_comment(const struct svc *s, char *buf, size_t len)
{
	char t[32], w[32];

	snprintf(buf, len, "%s -> %s %s since %s", s->conf->name, side_name(s->dec.active),
	    fmt_endpoint(svc_target(s, s->dec.active), t, sizeof(t)),
	    fmt_wall(s->since_wall_ms, w, sizeof(w)));
}

static int
batch_point(struct nf_batch *b, const struct svc *s)
{
	char comment[128];

	elem_comment(s, comment, sizeof(comment));
	return nf_batch_add(b, NF_ADD, NF_SET_SERVICES, &s->conf->frontend,
	    svc_target(s, s->dec.active), comment);
}

/* The hold is an element of set held (mode dnat), not a relay's pause. */
static int
held_in_set(const struct svc *s)
{
	return s->held == HOLD_DROPPED || s->held == HOLD_RELAYED;
}

/*
 * The switch's batch: the element replaced, pointing at the active side
 * now, and a hold lifted with it.
 */
static int
batch_repoint(struct nf_batch *b, const struct svc *s)
{
	if (nf_batch_add(b, NF_DEL, NF_SET_SERVICES, &s->conf->frontend, NULL, NULL) == -1 ||
	    batch_point(b, s) == -1)
		return -1;
	if (held_in_set(s))
		return nf_batch_add(b, NF_DEL, NF_SET_HELD, &s->conf->frontend, NULL, NULL);
	return 0;
}

/*
 * The hold's element is gone, or the relay's pause is over: what vcrd
 * held connects now, where the map points. At a switch the relay's
 * relay_retry, just after, connects what the pause held.
 */
static void
hold_ended(struct svc *s, const char *why, int at_switch)
{
	char t[32];
	unsigned n;

	if (s->held == HOLD_PAUSED) {
		relay_pause(s->relay, 0);
		if (!at_switch)
			relay_retry(s->relay, s->gen, 0);
		events_add(s->conf->name, "hold", "new connections and requests let through "
		    "(%s), to %s", why, fmt_endpoint(svc_target(s, s->dec.active), t, sizeof(t)));
	} else if (s->held == HOLD_DROPPED)
		events_add(s->conf->name, "hold", "new connections let through (%s)", why);
	else if (s->held == HOLD_RELAYED) {
		n = relay_hold_end(s->hold_relay, s->gen);
		events_add(s->conf->name, "hold", "new connections let through (%s); vcrd held "
		    "%u, sent on to %s", why, n, fmt_endpoint(svc_target(s, s->dec.active), t,
		    sizeof(t)));
	}
	s->held = HOLD_NONE;
}

/* The whole table from the runtime state, in one transaction. */
static int
rewrite_table(struct vcrd *d, char *err, size_t errlen)
{
	struct nf_batch b = { 0 };
	struct svc *s;
	int rc = -1;

	TAILQ_FOREACH(s, &d->services, entry)
		if (batch_point(&b, s) == -1 || (held_in_set(s) &&
		    nf_batch_add(&b, NF_ADD, NF_SET_HELD, &s->conf->frontend, NULL, NULL) == -1) ||
		    (s->suspect &&
		    nf_batch_add(&b, NF_ADD, NF_SET_SUSPECT, &s->conf->frontend, NULL, NULL) == -1))
			goto oom;
	if (batch_masq(&b, NF_ADD, d->conf, NULL) == -1 ||
	    batch_relayed(&b, NF_ADD, d->conf, NULL) == -1)
		goto oom;
	rc = nf_replace_table(d->nf, &b, err, errlen);
	nf_batch_reset(&b);
	return rc;
oom:
	nf_batch_reset(&b);
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
dec_policy_of(const struct svc *s, struct dec_policy *pol)
{
	const struct svc_conf *sc = s->conf;

	memset(pol, 0, sizeof(*pol));
	rec_policy(s, pol);
	pol->failover_auto = sc->failover_auto;
	pol->failback_auto = sc->failback_auto;
	pol->failback_hold_ms = sc->failback_hold_ms;
}

/*
 * The conntrack entries of the connections NATed to the old target that
 * never got an answer go, so the clients' SYN retransmits are NATed afresh
 * (nf_conntrack.c). On the cut-over's path only the connections set recent
 * wrote down while the service was suspect are looked up, by tuple: a
 * handful of lookups however big the host's conntrack table. The walk of
 * the whole table, which also finds the connections made before the
 * first failed check, follows at the next turn of the loop; a second walk
 * CT_SWEEP_MS later, well before TCP's first SYN retransmit (1 s), catches
 * a SYN NATed by the old element just before the batch whose entry was
 * confirmed after the first walk went past its bucket.
 */
#define CT_SWEEP_MS	200

static void
ct_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;
	char err[256], t[32];
	uint64_t t0 = now_us();
	int n;

	n = nf_ct_flush(s->d->nf, NF_CT_WALK, &s->conf->frontend, &s->ct_old, err, sizeof(err));
	if (s->ct_walks == 0)
		s->last_walk_us = (unsigned)(now_us() - t0);
	log_debug("event=conntrack service=%s walk=%u deleted=%d us=%llu", s->conf->name,
	    s->ct_walks + 1, n, (unsigned long long)(now_us() - t0));
	if (n == -1)
		events_add(s->conf->name, "error", "conntrack walk after cut-over: %s", err);
	else if (n > 0)
		events_add(s->conf->name, "cutover", "conntrack walk %u deleted %d %s entries "
		    "to %s", s->ct_walks + 1, n, s->ct_walks ? "late" : "older",
		    fmt_endpoint(&s->ct_old, t, sizeof(t)));
	if (s->ct_walks++ == 0) {
		struct timeval tv = { 0, CT_SWEEP_MS * 1000 };
		evtimer_add(s->ct_sweep, &tv);
	}
}

/* The lookups now, the walks after: returns what the lookups deleted, or -1. */
static int
ct_cleanup(struct svc *s, const struct endpoint *old, char *err, size_t errlen)
{
	struct timeval now = { 0, 0 };
	int n;

	n = nf_ct_flush(s->d->nf, NF_CT_RECENT, &s->conf->frontend, old, err, errlen);
	if (s->ct_sweep == NULL)
		s->ct_sweep = evtimer_new(s->d->base, ct_sweep_cb, s);
	s->ct_old = *old;
	s->ct_walks = 0;
	evtimer_add(s->ct_sweep, &now);
	return n;
}

/*
 * The frontend is in set suspect while the target it points at fails its
 * checks: the nat chains then write down each new connection in set
 * recent, for ct_cleanup. A failure here costs only speed (the walk finds
 * the entries too): an event, not a reason to stop.
 */
static void
suspect_sync(struct svc *s)
{
	const struct health_ctr *c = &s->side[s->dec.active].ctr;
	int want = c->fail_run > 0 || c->h == H_DOWN;
	struct nf_batch b = { 0 };
	char err[256];

	if (want == s->suspect)
		return;
	if (nf_batch_add(&b, want ? NF_ADD : NF_DEL, NF_SET_SUSPECT, &s->conf->frontend,
	    NULL, NULL) == -1)
		snprintf(err, sizeof(err), "out of memory");
	else if (nf_apply(s->d->nf, &b, err, sizeof(err)) == 0) {
		s->suspect = want;
		nf_batch_reset(&b);
		/* Looked up by the cut-over, or no longer needed. */
		if (!want && nf_recent_forget(s->d->nf, &s->conf->frontend, err,
		    sizeof(err)) == -1)
			log_debug("event=conntrack service=%s set %s not emptied: %s",
			    s->conf->name, NF_RECENT, err);
		return;
	}
	nf_batch_reset(&b);
	events_add(s->conf->name, "error", "set %s, %s: %s", NF_SUSPECT,
	    want ? "adding" : "removing", err);
}

/*
 * Point s at side `to`: one batch replacing its map element, then the
 * conntrack entries NATed to the old target are deleted.
 */
static int
apply_cutover(struct vcrd *d, struct svc *s, enum side from, enum side to,
    const char *reason)
{
	struct nf_batch b = { 0 };
	char err[512], t1[32], t2[32], why[256], rec[128];
	uint64_t t0 = now_us(), t_nf, old_since = s->since_wall_ms;
	int flushed, rc;

	s->since_wall_ms = wall_ms();
	if (batch_repoint(&b, s) == -1) {
		nf_batch_reset(&b);
		s->since_wall_ms = old_since;
		events_add(s->conf->name, "error", "cut-over to %s not applied: out of memory",
		    side_name(to));
		return -1;
	}
	rc = nf_apply(d->nf, &b, err, sizeof(err));
	nf_batch_reset(&b);
	if (rc == -1) {
		/*
		 * Someone deleted or changed our table (the element is not
		 * there to delete): write it whole again from our state.
		 */
		char err2[200];
		int held = s->held;

		/*
		 * Written with the switch, which lets new connections through;
		 * hold_ended below then sends on what vcrd held.
		 */
		s->held = HOLD_NONE;
		rc = rewrite_table(d, err2, sizeof(err2));
		s->held = held;
		if (rc == 0)
			events_add(s->conf->name, "error", "table inet %s was not as vcrd left "
			    "it (%s): rewritten whole from vcrd's state", NF_TABLE, err);
		else
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
			    "; rewriting the table: %s", err2);
	}
	if (rc == -1) {
		s->since_wall_ms = old_since;
		events_add(s->conf->name, "error", "cut-over to %s not applied: %s",
		    side_name(to), err);
		return -1;
	}
	t_nf = now_us() - t0;
	flushed = ct_cleanup(s, svc_target(s, from), err, sizeof(err));
	s->last_cutover_us = (unsigned)(now_us() - t0);
	s->cutovers++;
	if (flushed == -1)
		events_add(s->conf->name, "error", "conntrack cleanup after cut-over: %s", err);
	if (strncmp(reason, "primary down", 12) == 0 || strncmp(reason, "standby down", 12) == 0)
		snprintf(why, sizeof(why), "%s (%s)", reason,
		    s->side[from].last_reason);
	else
		snprintf(why, sizeof(why), "%s", reason);
	rec_cutover_text(s, rec, sizeof(rec));
	events_add(s->conf->name, "cutover",
	    "from=%s to=%s target=%s old_target=%s reason=\"%s\" applied_us=%u nft_us=%llu conntrack_deleted=%d%s",
	    side_name(from), side_name(to), fmt_endpoint(svc_target(s, to), t1, sizeof(t1)),
	    fmt_endpoint(svc_target(s, from), t2, sizeof(t2)), why, s->last_cutover_us,
	    (unsigned long long)t_nf, flushed, rec);
	s->alert[0] = '\0';
	s->error_run = 0;
	s->resp_5xx = 0;
	s->resp_seen = 0;
	s->gen++;
	hold_ended(s, "the switch", 1);
	rec_switched(s, to);
	if (s->relay)
		relay_retry(s->relay, s->gen, from == SIDE_STANDBY && rec_standby_frozen(s));
	vcrd_save_state(d);
	return 0;
}

/*
 * Hold (on) or let through (off) the new connections of a mode dnat
 * service whose standby, the active side, is frozen for a final sync or
 * copy, instead of letting them reach a container that cannot answer and
 * is then stopped: its frontend goes into the held set. vcrd listens on the
 * frontend itself (relay_hold_begin, a marked listener the set's accept
 * rule finds): it accepts the new connections and relays them once the
 * switch is made, so a client waits only as long as the freeze. Where vcrd
 * cannot listen there (the frontend not one of this host's addresses, the
 * port taken), or once it is not running, the next rule drops the SYN and
 * the client sends it again after 1 s. The switch itself (apply_cutover,
 * svc_repoint) lifts the hold in its own batch. Modes tcp and http pause
 * their relay instead (relay_pause): new connections and requests wait in
 * vcrd and go to the new side at the switch, without reaching the frozen
 * container. A hold that fails is an event, not a reason to stop.
 */
void
svc_hold(struct svc *s, int on, const char *why)
{
	struct nf_batch b = { 0 };
	char err[256], lerr[200] = "", a[32];
	enum hold how = HOLD_DROPPED;

	if (!s->held == !on || (on && s->dec.active != SIDE_STANDBY))
		return;
	if (s->conf->mode != FWD_DNAT) {
		if (s->relay == NULL)
			return;
		if (!on) {
			hold_ended(s, why, 0);
			return;
		}
		relay_pause(s->relay, 1);
		s->held = HOLD_PAUSED;
		events_add(s->conf->name, "hold", "new connections and requests held by vcrd "
		    "(its relay sends nothing upstream), sent on after the switch, while %s", why);
		return;
	}
	if (on) {
		/* the relay of an earlier hold, once its clients are gone */
		if (s->hold_relay && relay_conns(s->hold_relay) == 0) {
			relay_free(s->hold_relay);
			s->hold_relay = NULL;
		}
		if (s->hold_relay == NULL)
			s->hold_relay = relay_hold_new(s->d->base, s->conf);
		if (s->hold_relay == NULL)
			snprintf(lerr, sizeof(lerr), "out of memory");
		else if (relay_hold_begin(s->hold_relay, s->conf, lerr, sizeof(lerr)) == 0)
			how = HOLD_RELAYED;
	}
	if (nf_batch_add(&b, on ? NF_ADD : NF_DEL, NF_SET_HELD, &s->conf->frontend, NULL,
	    NULL) == -1)
		snprintf(err, sizeof(err), "out of memory");
	else if (nf_apply(s->d->nf, &b, err, sizeof(err)) == 0) {
		nf_batch_reset(&b);
		if (!on)
			hold_ended(s, why, 0);
		else if ((s->held = how) == HOLD_RELAYED)
			events_add(s->conf->name, "hold", "new connections held by vcrd on %s "
			    "(held set, vcrd listening), sent on after the switch, while %s",
			    fmt_endpoint(&s->conf->frontend, a, sizeof(a)), why);
		else
			events_add(s->conf->name, "hold", "new connections held (held set: SYNs "
			    "dropped, sent again by the clients; %s) while %s", lerr, why);
		return;
	}
	nf_batch_reset(&b);
	if (on && how == HOLD_RELAYED)
		(void)relay_hold_end(s->hold_relay, s->gen);	/* nothing reached it */
	events_add(s->conf->name, "error", "%s new connections: %s", on ? "holding" :
	    "letting through", err);
}

int
svc_repoint(struct svc *s, int side, const struct moved *m, char *err, size_t errlen)
{
	struct vcrd *d = s->d;
	struct endpoint old = *svc_target(s, (enum side)side);
	struct svc_conf before = *s->conf;
	struct nf_batch b = { 0 };
	uint64_t old_since = s->since_wall_ms;
	char t1[32], t2[32], e[256];
	int active = side == (int)s->dec.active, rc = 0, flushed = 0;

	conf_move(s->conf, side, m);
	if (active) {
		s->since_wall_ms = wall_ms();
		rc = batch_repoint(&b, s);
	}
	if (rc == 0 && s->conf->snat)
		rc = nf_batch_add(&b, NF_ADD, NF_SET_MASQ, &m->to_ep, NULL, NULL);
	if (rc == -1)
		snprintf(err, errlen, "out of memory");
	else
		rc = nf_apply(d->nf, &b, err, errlen);
	nf_batch_reset(&b);
	if (rc == -1) {
		/* Only the fields conf_move wrote: the list entry stays as it is. */
		s->conf->primary = before.primary;
		s->conf->standby = before.standby;
		s->conf->rec = before.rec;
		s->conf->sync = before.sync;
		s->since_wall_ms = old_since;
		return -1;
	}
	if (active) {
		flushed = ct_cleanup(s, &old, e, sizeof(e));
		s->cutovers++;
		s->gen++;
		hold_ended(s, "the switch", 1);
		if (s->relay)
			relay_retry(s->relay, s->gen, side == SIDE_STANDBY && rec_standby_frozen(s));
	}
	if (s->moved[side].set) {
		/* Moved again: the file still names the first place. */
		struct moved first = s->moved[side];
		s->moved[side] = *m;
		s->moved[side].from_ep = first.from_ep;
		memcpy(s->moved[side].from_a, first.from_a, sizeof(first.from_a));
		memcpy(s->moved[side].from_b, first.from_b, sizeof(first.from_b));
		memcpy(s->moved[side].from_src, first.from_src, sizeof(first.from_src));
	} else
		s->moved[side] = *m;
	s->moved[side].set = 1;
	svc_forget_check(s, side);
	svc_start_checks(d, s);
	rec_detach(s);
	s->rec.vm[0] = '\0';
	rec_attach(d, s);
	events_add(s->conf->name, active ? "cutover" : "relieve", "%s %s -> %s (%s/%s)%s%s",
	    side ? "standby" : "primary", fmt_endpoint(&old, t1, sizeof(t1)),
	    fmt_endpoint(&m->to_ep, t2, sizeof(t2)), m->to_a, m->to_b,
	    active ? ": map element rewritten" : "", active && flushed > 0 ?
	    ", old conntrack entries deleted" : "");
	vcrd_save_state(d);
	return 0;
}

/* Runs the decision once and applies it. Returns -1 (err set) when refused. */
static int
decide_apply(struct vcrd *d, struct svc *s, enum dec_cmd cmd, char *err, size_t errlen)
{
	struct dec_policy pol;
	struct dec_state before = s->dec;
	struct dec_result res;

	dec_policy_of(s, &pol);
	dec_step(&pol, &s->dec, &s->side[SIDE_PRIMARY].ctr, &s->side[SIDE_STANDBY].ctr, cmd,
	    now_ms(), &res);
	switch (res.event) {
	case EV_CUTOVER:
		if (apply_cutover(d, s, before.active, res.to, res.reason) == -1) {
			/* Nothing changed in the kernel: nor does the decision. */
			s->dec = before;
			if (err)
				snprintf(err, errlen, "cut-over failed, see vcrctl events");
			return -1;
		}
		return 0;
	case EV_STANDBY_UNAVAILABLE:
	case EV_WAIT_OPERATOR:
	case EV_BOTH_DOWN:
		snprintf(s->alert, sizeof(s->alert), "%s", res.reason);
		events_add(s->conf->name, "alert", "reason=\"%s\" primary=\"%s\" standby=\"%s\"",
		    res.reason, s->side[SIDE_PRIMARY].last_reason,
		    s->side[SIDE_STANDBY].last_reason);
		return 0;
	case EV_FENCE:
		rec_fence(s);
		if (res.also_start)
			rec_start_standby(s);
		return 0;
	case EV_START_STANDBY:
		rec_start_standby(s);
		return 0;
	case EV_RECOVERY_FAILED:
		/* Loud once; the retries that fail the same way are quieter. */
		if (strcmp(s->alert, res.reason) == 0)
			s->rec.retries++;
		else
			s->rec.retries = 0;
		snprintf(s->alert, sizeof(s->alert), "%s", res.reason);
		events_add(s->conf->name, s->rec.retries ? "recovery" : "alert", "retries=%u reason=\"%s\" primary=\"%s\" standby=\"%s\" "
		    "container=\"%s\" retry_in_ms=%u", s->rec.retries, res.reason,
		    s->side[SIDE_PRIMARY].last_reason,
		    s->side[SIDE_STANDBY].last_reason, s->rec.container, (unsigned)pol.retry_ms);
		s->rec.t0_us = 0;
		s->rec.started = 0;
		if (s->side[SIDE_STANDBY].chk)
			chk_fast(s->side[SIDE_STANDBY].chk, 0);
		return 0;
	case EV_REFUSED:
		if (err)
			snprintf(err, errlen, "%s", res.reason);
		events_add(s->conf->name, "command", "%s refused: %s",
		    cmd == CMD_FAILOVER ? "failover" : "failback", res.reason);
		return -1;
	case EV_STATE:
		log_debug("event=state service=%s from=%s to=%s", s->conf->name,
		    svc_state_name(before.state), svc_state_name(s->dec.state));
		/* FALLTHROUGH */
	case EV_NONE:
		if (s->dec.state == ST_PRIMARY_ACTIVE || s->dec.state == ST_STANDBY_ACTIVE ||
		    s->dec.state == ST_PRIMARY_SUSPECT || s->dec.state == ST_FAILBACK_PENDING)
			s->alert[0] = '\0';
		return 0;
	}
	return 0;
}

static int
evaluate(struct vcrd *d, struct svc *s, enum dec_cmd cmd, char *err, size_t errlen)
{
	int rc = decide_apply(d, s, cmd, err, errlen);

	suspect_sync(s);
	return rc;
}

static void
check_cb(struct chk *c, int ok, const char *reason, unsigned latency_us, void *arg)
{
	struct target_view *tv = arg;
	struct svc *s = tv->owner;
	char t[32];

	tv->checks++;
	if (!ok)
		tv->failures++;
	tv->last_latency_us = latency_us;
	snprintf(tv->last_reason, sizeof(tv->last_reason), "%s", reason);
	/* A failback froze the standby on purpose: its silence is not a failure. */
	if (tv->which == SIDE_STANDBY && rec_standby_frozen(s))
		return;
	if (health_account(&tv->ctr, ok, s->conf->check.rise, s->conf->check.fall))
		events_add(s->conf->name, "check", "side=%s target=%s health=%s reason=\"%s\"",
		    side_name(tv->which), fmt_endpoint(svc_target(s, tv->which), t, sizeof(t)),
		    health_name(tv->ctr.h), reason);
	evaluate(s->d, s, CMD_NONE, NULL, 0);
}

void
svc_evaluate(struct svc *s, enum dec_cmd cmd)
{
	evaluate(s->d, s, cmd, NULL, 0);
}

void
svc_mark_down(struct svc *s, enum side side, const char *reason)
{
	struct target_view *tv = &s->side[side];
	char t[32];

	snprintf(tv->last_reason, sizeof(tv->last_reason), "%s", reason);
	if (tv->ctr.h != H_DOWN)
		events_add(s->conf->name, "check", "side=%s target=%s health=down reason=\"%s\"",
		    side_name(side), fmt_endpoint(svc_target(s, side), t, sizeof(t)), reason);
	tv->ctr.h = H_DOWN;
	tv->ctr.fail_run = s->conf->check.fall;
	tv->ctr.ok_run = 0;
	evaluate(s->d, s, CMD_NONE, NULL, 0);
}

/* Live traffic says the active side is down: at once, without waiting for the probes. */
static void
traffic_down(struct svc *s, struct target_view *tv)
{
	char t[32];

	tv->ctr.h = H_DOWN;
	tv->ctr.fail_run = s->conf->check.fall;
	tv->ctr.ok_run = 0;
	events_add(s->conf->name, "check", "side=%s target=%s health=down reason=\"%s\"",
	    side_name(tv->which), fmt_endpoint(svc_target(s, tv->which), t, sizeof(t)),
	    tv->last_reason);
	evaluate(s->d, s, CMD_NONE, NULL, 0);
}

/*
 * Passive detection (modes tcp and http): connection errors on live
 * traffic count against the side the service points at. observe-errors
 * of them in a row mark it down; fewer ask for a probe now.
 */
static void
relay_err_cb(void *arg, unsigned gen, const char *reason)
{
	struct svc *s = arg;
	struct target_view *tv = &s->side[s->dec.active];
	unsigned limit = s->conf->relay.observe_errors;

	if (gen != s->gen)
		return;		/* started before the last cut-over: not this side's */
	tv->traffic_errors++;
	/* A container a failback has frozen answers nothing, on purpose (as for the probes). */
	if (tv->which == SIDE_STANDBY && rec_standby_frozen(s))
		return;
	s->error_run++;
	if (limit == 0 || tv->ctr.h == H_DOWN)
		return;
	if (s->error_run < limit) {
		if (s->error_run == 1)
			chk_now(tv->chk);
		return;
	}
	snprintf(tv->last_reason, sizeof(tv->last_reason), "%u connection errors on live "
	    "traffic (last: %s)", s->error_run, reason);
	s->error_run = 0;
	traffic_down(s, tv);
}

static void
relay_ok_cb(void *arg, unsigned gen)
{
	struct svc *s = arg;

	if (gen == s->gen)
		s->error_run = 0;
}

/*
 * Mode http: observe-5xx N/M marks the active side down when N of its
 * last M responses were 5xx (like HAProxy's observe layer7).
 */
static void
relay_status_cb(void *arg, unsigned gen, int status)
{
	struct svc *s = arg;
	struct target_view *tv = &s->side[s->dec.active];
	unsigned n = s->conf->relay.observe_5xx, m = s->conf->relay.observe_5xx_of;
	uint64_t window = m >= 64 ? ~0ULL : (1ULL << m) - 1;
	unsigned bad;

	if (gen != s->gen || m == 0 || (tv->which == SIDE_STANDBY && rec_standby_frozen(s)))
		return;
	if (status < 500)
		s->error_run = 0;
	s->resp_5xx = ((s->resp_5xx << 1) | (status >= 500)) & window;
	if (s->resp_seen < m)
		s->resp_seen++;
	if (status < 500 || tv->ctr.h == H_DOWN)
		return;
	if (__builtin_popcountll(s->resp_5xx) == 1)
		chk_now(tv->chk);
	if ((bad = (unsigned)__builtin_popcountll(s->resp_5xx)) < n)
		return;
	snprintf(tv->last_reason, sizeof(tv->last_reason), "%u of the last %u responses on "
	    "live traffic were 5xx (last: HTTP %d)", bad, s->resp_seen, status);
	s->resp_5xx = 0;
	s->resp_seen = 0;
	traffic_down(s, tv);
}

static struct relay *
svc_relay_new(struct vcrd *d, struct svc *s, const struct svc_conf *sc, char *err,
    size_t errlen)
{
	struct relay_cbs cbs = { relay_err_cb, relay_ok_cb, relay_status_cb, s };

	return relay_new(d->base, sc, &cbs, err, errlen);
}

static void
svc_start_checks(struct vcrd *d, struct svc *s)
{
	for (int i = 0; i < 2; i++) {
		struct target_view *tv = &s->side[i];
		if (tv->chk)
			continue;
		tv->owner = s;
		tv->which = (enum side)i;
		tv->chk = chk_new(d->base, d->http, &s->conf->check, svc_target(s, (enum side)i),
		    check_cb, tv);
		/* Spread the checks over the interval rather than in one burst. */
		chk_start(tv->chk, (unsigned)random() % s->conf->check.interval_ms);
	}
}

/* A side's check to be made again (new target or settings): its health unknown. */
static void
svc_forget_check(struct svc *s, int side)
{
	chk_free(s->side[side].chk);
	s->side[side].chk = NULL;
	memset(&s->side[side].ctr, 0, sizeof(s->side[side].ctr));
	snprintf(s->side[side].last_reason, sizeof(s->side[side].last_reason), "not checked yet");
}

static void
svc_stop_checks(struct svc *s)
{
	for (int i = 0; i < 2; i++) {
		chk_free(s->side[i].chk);
		s->side[i].chk = NULL;
	}
}

static struct svc *
svc_new(struct vcrd *d, struct svc_conf *sc, const struct saved_state *saved)
{
	const struct saved_svc *ss = saved ? state_find(saved, sc->name) : NULL;
	struct svc *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->d = d;
	s->conf = sc;
	dec_init(&s->dec, ss ? ss->active : SIDE_PRIMARY);
	s->since_wall_ms = ss && ss->since_wall_ms ? ss->since_wall_ms : wall_ms();
	s->cutovers = ss ? ss->cutovers : 0;
	s->rec.sync_ok_start_ms = ss ? ss->sync_ok_start_ms : 0;
	s->rec.thaw_at_start = ss ? ss->fb_frozen : 0;
	for (int k = 0; ss && k < 2; k++) {
		if (!ss->moved[k].set)
			continue;
		switch (conf_moved_from(sc, k, &ss->moved[k])) {
		case 1:
			conf_move(sc, k, &ss->moved[k]);
			s->moved[k] = ss->moved[k];
			log_info("event=restore service=%s %s=%s/%s: as a relieve left it (the "
			    "file still names %s/%s)", sc->name, k ? "standby" : "primary",
			    ss->moved[k].to_a, ss->moved[k].to_b, ss->moved[k].from_a,
			    ss->moved[k].from_b);
			break;
		case -1:
			log_warnx("event=restore service=%s: the file names another %s than the "
			    "relieve left (%s/%s): the file wins", sc->name,
			    k ? "standby" : "primary", ss->moved[k].to_a, ss->moved[k].to_b);
			break;
		}
	}
	for (int i = 0; i < 2; i++)
		snprintf(s->side[i].last_reason, sizeof(s->side[i].last_reason), "not checked yet");
	return s;
}

static void
svc_free(struct svc *s)
{
	relieve_detach(s);
	rec_detach(s);
	svc_stop_checks(s);
	relay_free(s->relay);
	relay_free(s->hold_relay);
	if (s->ct_sweep)
		event_free(s->ct_sweep);
	free(s);
}

static int
target_in(const struct endpoint *t, const struct vcr_conf *conf)
{
	const struct svc_conf *sc;

	TAILQ_FOREACH(sc, &conf->services, entry) {
		if (!sc->snat)
			continue;
		if ((sc->primary.addr.s_addr == t->addr.s_addr && sc->primary.port == t->port) ||
		    (sc->standby.addr.s_addr == t->addr.s_addr && sc->standby.port == t->port))
			return 1;
	}
	return 0;
}

/* Masquerade elements: those of `to` not in `from` (from may be NULL). */
static int
batch_masq(struct nf_batch *b, enum nf_op op, const struct vcr_conf *to,
    const struct vcr_conf *from)
{
	const struct svc_conf *sc;

	TAILQ_FOREACH(sc, &to->services, entry) {
		if (!sc->snat)
			continue;
		for (int i = 0; i < 2; i++) {
			const struct endpoint *t = i ? &sc->standby : &sc->primary;
			if (from && target_in(t, from))
				continue;
			if (nf_batch_add(b, op, NF_SET_MASQ, t, NULL, NULL) == -1)
				return -1;
		}
	}
	return 0;
}

static int
relayed_in(const struct endpoint *fe, const struct vcr_conf *conf)
{
	const struct svc_conf *sc;

	TAILQ_FOREACH(sc, &conf->services, entry)
		if (sc->mode != FWD_DNAT && sc->frontend.addr.s_addr == fe->addr.s_addr &&
		    sc->frontend.port == fe->port)
			return 1;
	return 0;
}

/* Frontends of mode tcp services: those of `to` not in `from` (from may be NULL). */
static int
batch_relayed(struct nf_batch *b, enum nf_op op, const struct vcr_conf *to,
    const struct vcr_conf *from)
{
	const struct svc_conf *sc;

	TAILQ_FOREACH(sc, &to->services, entry) {
		if (sc->mode == FWD_DNAT || (from && relayed_in(&sc->frontend, from)))
			continue;
		if (nf_batch_add(b, op, NF_SET_RELAYED, &sc->frontend, NULL, NULL) == -1)
			return -1;
	}
	return 0;
}

int
vcrd_start(struct vcrd *d, struct vcr_conf *conf, char *err, size_t errlen)
{
	struct saved_state saved;
	struct svc_conf *sc;
	struct svc *s;
	char e[256];

	TAILQ_INIT(&d->services);
	d->conf = conf;
	d->started_wall_ms = wall_ms();
	if (mkdir(conf->state_dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "state-dir %s: %s", conf->state_dir, strerror(errno));
		return -1;
	}
	if (state_load(conf->state_dir, &saved, err, errlen) == -1)
		return -1;
	TAILQ_FOREACH(sc, &conf->services, entry) {
		if ((s = svc_new(d, sc, &saved)) == NULL) {
			snprintf(err, errlen, "out of memory");
			state_free(&saved);
			return -1;
		}
		TAILQ_INSERT_TAIL(&d->services, s, entry);
		if (s->dec.active == SIDE_STANDBY)
			log_info("event=restore service=%s active=standby: stays on the standby "
			    "until an operator or the failback policy says otherwise", sc->name);
	}
	state_free(&saved);
	if ((d->nf = nf_open(err, errlen)) == NULL)
		return -1;
	if (rewrite_table(d, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "table inet %s: %s", NF_TABLE, e);
		return -1;
	}
	TAILQ_FOREACH(s, &d->services, entry)
		if (s->conf->mode != FWD_DNAT &&
		    (s->relay = svc_relay_new(d, s, s->conf, err, errlen)) == NULL)
			return -1;
	if ((d->http = curl_ev_new(d->base)) == NULL) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return -1;
	}
	if ((d->ctl = ctl_open(d, conf->control_socket, err, errlen)) == NULL)
		return -1;
	if (conf->metrics_listen[0] &&
	    (d->metrics = metrics_open(d, conf->metrics_listen, err, errlen)) == NULL)
		return -1;
	if (rec_open(d, err, errlen) == -1)
		return -1;
	TAILQ_FOREACH(s, &d->services, entry) {
		svc_start_checks(d, s);
		rec_attach(d, s);
		relieve_attach(s);
	}
	events_add(NULL, "start", "version=%s services=%u config=%s", VCR_VERSION,
	    conf->nservices, conf->path);
	vcrd_save_state(d);
	return 0;
}

struct svc *
vcrd_find(struct vcrd *d, const char *name)
{
	struct svc *s;

	TAILQ_FOREACH(s, &d->services, entry)
		if (strcmp(s->conf->name, name) == 0)
			return s;
	return NULL;
}

static int
ep_eq(const struct endpoint *a, const struct endpoint *b)
{
	return a->addr.s_addr == b->addr.s_addr && a->port == b->port;
}

int
vcrd_reload(struct vcrd *d, char *err, size_t errlen)
{
	struct vcr_conf *nc, *old = d->conf;
	struct nf_batch b = { 0 };
	struct svc_list next;
	struct svc_conf *sc;
	struct svc *s;
	unsigned added = 0, removed = 0, changed = 0, i;
	char e[512];

	d->reloads++;
	TAILQ_FOREACH(s, &d->services, entry) {
		if (relieve_running(s))
			snprintf(err, errlen, "service '%s': a relieve is running; reload when it "
			    "has ended (vcrctl events)", s->conf->name);
		else if (s->held != HOLD_NONE)
			snprintf(err, errlen, "service '%s': its new connections are held while its "
			    "container is frozen (failback); reload when the failback has ended "
			    "(vcrctl events)", s->conf->name);
		else
			continue;
		d->reload_failures++;
		events_add(NULL, "reload", "rejected, nothing changed: %s", err);
		return -1;
	}
	TAILQ_FOREACH(s, &d->services, entry)
		relieve_quiesce(s);
	if ((nc = conf_load(old->path, e, sizeof(e))) == NULL) {
		d->reload_failures++;
		snprintf(err, errlen, "%s", e);
		events_add(NULL, "reload", "rejected, nothing changed: %s", e);
		return -1;
	}
	/* What relieves changed stays, unless the file now says otherwise. */
	unsigned char (*carried)[2] = calloc(nc->nservices ? nc->nservices : 1,
	    sizeof(*carried));	/* [service][side]: a relieve's place kept */
	if (carried == NULL) {
		conf_free(nc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	i = 0;
	TAILQ_FOREACH(sc, &nc->services, entry) {
		s = vcrd_find(d, sc->name);
		for (int k = 0; s && k < 2; k++)
			if (s->moved[k].set && conf_moved_from(sc, k, &s->moved[k]) == 1) {
				conf_move(sc, k, &s->moved[k]);
				carried[i][k] = 1;
			}
		i++;
	}
	/* New listeners first: a frontend we cannot bind rejects the reload. */
	struct relay **rel = calloc(nc->nservices ? nc->nservices : 1, sizeof(*rel));

	i = 0;

	if (rel == NULL) {
		free(carried);
		conf_free(nc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	TAILQ_FOREACH(sc, &nc->services, entry) {
		s = vcrd_find(d, sc->name);
		if (sc->mode != FWD_DNAT && (s == NULL || s->relay == NULL ||
		    !ep_eq(&s->conf->frontend, &sc->frontend)) &&
		    (rel[i] = svc_relay_new(d, s, sc, e, sizeof(e))) == NULL) {
			while (i-- > 0)
				relay_free(rel[i]);
			free(rel);
			free(carried);
			conf_free(nc);
			d->reload_failures++;
			snprintf(err, errlen, "%s", e);
			events_add(NULL, "reload", "rejected, nothing changed: %s", e);
			return -1;
		}
		i++;
	}

	/* Then the kernel, in one batch: if it says no, nothing changes. */
	TAILQ_FOREACH(s, &d->services, entry) {
		struct svc_conf *n = conf_find(nc, s->conf->name);
		if (n == NULL || !ep_eq(&n->frontend, &s->conf->frontend) ||
		    !ep_eq(svc_target(s, s->dec.active),
		    s->dec.active == SIDE_PRIMARY ? &n->primary : &n->standby))
			nf_batch_add(&b, NF_DEL, NF_SET_SERVICES, &s->conf->frontend, NULL, NULL);
		if (s->suspect && (n == NULL || !ep_eq(&n->frontend, &s->conf->frontend)))
			nf_batch_add(&b, NF_DEL, NF_SET_SUSPECT, &s->conf->frontend, NULL, NULL);
	}
	TAILQ_FOREACH(sc, &nc->services, entry) {
		struct svc tmpl = { .conf = sc };
		s = vcrd_find(d, sc->name);
		if (s && ep_eq(&sc->frontend, &s->conf->frontend) &&
		    ep_eq(svc_target(s, s->dec.active),
		    s->dec.active == SIDE_PRIMARY ? &sc->primary : &sc->standby))
			continue;
		tmpl.dec.active = s ? s->dec.active : SIDE_PRIMARY;
		tmpl.since_wall_ms = s ? s->since_wall_ms : wall_ms();
		batch_point(&b, &tmpl);
	}
	batch_masq(&b, NF_DEL, old, nc);
	batch_masq(&b, NF_ADD, nc, old);
	batch_relayed(&b, NF_DEL, old, nc);
	batch_relayed(&b, NF_ADD, nc, old);
	if (nf_apply(d->nf, &b, e, sizeof(e)) == -1) {
		nf_batch_reset(&b);
		for (i = 0; i < nc->nservices; i++)
			relay_free(rel[i]);
		free(rel);
		free(carried);
		conf_free(nc);
		d->reload_failures++;
		snprintf(err, errlen, "nftables refused the change: %s", e);
		events_add(NULL, "reload", "rejected, nothing changed: %s", err);
		return -1;
	}
	nf_batch_reset(&b);

	/* Then the runtime: keep what is unchanged, as it is. */
	TAILQ_INIT(&next);
	i = 0;
	TAILQ_FOREACH(sc, &nc->services, entry) {
		s = vcrd_find(d, sc->name);
		if (s == NULL) {
			if ((s = svc_new(d, sc, NULL)) == NULL)
				fatalx("out of memory");
			added++;
		} else {
			TAILQ_REMOVE(&d->services, s, entry);
			if (!svc_conf_equal(s->conf, sc)) {
				if (memcmp(&s->conf->rec, &sc->rec, sizeof(sc->rec)) != 0 ||
				    memcmp(&s->conf->sync, &sc->sync, sizeof(sc->sync)) != 0) {
					if (s->rec.sync && sync_running(s->rec.sync))
						events_add(sc->name, "sync", "stopped: the reload "
						    "changed the service's recovery or sync");
					rec_detach(s);
					s->rec.vm[0] = '\0';
				}
				int same_check = memcmp(&s->conf->check, &sc->check,
				    sizeof(sc->check)) == 0;
				for (int k = 0; k < 2; k++) {
					if (same_check && ep_eq(svc_target(s, (enum side)k),
					    k ? &sc->standby : &sc->primary))
						continue;
					svc_forget_check(s, k);
				}
				changed++;
			}
			if (!ep_eq(&s->conf->frontend, &sc->frontend))
				s->suspect = 0;		/* its element went in the batch */
			s->conf = sc;
		}
		for (int k = 0; k < 2; k++)
			if (s->moved[k].set && !carried[i][k]) {
				events_add(sc->name, "reload", "the file names the %s itself now: "
				    "the relieve's record is dropped", k ? "standby" : "primary");
				memset(&s->moved[k], 0, sizeof(s->moved[k]));
			}
		if (rel[i]) {
			/* The relay's callbacks belong to this service. */
			relay_free(s->relay);
			s->relay = rel[i];
			relay_adopt(s->relay, s, s->gen);
		} else if (sc->mode == FWD_DNAT) {
			relay_free(s->relay);
			s->relay = NULL;
		} else
			relay_update(s->relay, sc);
		i++;
		TAILQ_INSERT_TAIL(&next, s, entry);
	}
	free(rel);
	free(carried);
	while ((s = TAILQ_FIRST(&d->services)) != NULL) {
		TAILQ_REMOVE(&d->services, s, entry);
		svc_free(s);
		removed++;
	}
	TAILQ_CONCAT(&d->services, &next, entry);
	if (strcmp(old->control_socket, nc->control_socket) != 0 ||
	    strcmp(old->state_dir, nc->state_dir) != 0)
		log_warnx("event=reload control-socket and state-dir take effect at restart");
	if (strcmp(old->metrics_listen, nc->metrics_listen) != 0) {
		metrics_close(d->metrics);
		d->metrics = NULL;
		if (nc->metrics_listen[0] &&
		    (d->metrics = metrics_open(d, nc->metrics_listen, e, sizeof(e))) == NULL)
			events_add(NULL, "error", "metrics-listen %s: %s", nc->metrics_listen, e);
	}
	log_setlevel((enum log_level)nc->log_level);
	/* The new conf keeps the paths the daemon started with. */
	snprintf(nc->control_socket, sizeof(nc->control_socket), "%s", old->control_socket);
	snprintf(nc->state_dir, sizeof(nc->state_dir), "%s", old->state_dir);
	d->conf = nc;
	if (!rec_lists_equal(old, nc)) {
		if (rec_reload(d, e, sizeof(e)) == -1)
			events_add(NULL, "error", "reload: recovery connections: %s", e);
	}
	conf_free(old);
	TAILQ_FOREACH(s, &d->services, entry) {
		svc_start_checks(d, s);
		rec_attach(d, s);
		relieve_attach(s);
	}
	events_add(NULL, "reload", "applied: added=%u removed=%u changed=%u unchanged=%u",
	    added, removed, changed, nc->nservices - added - changed);
	vcrd_save_state(d);
	return 0;
}

int
vcrd_command(struct vcrd *d, struct svc *s, enum dec_cmd cmd, char *err, size_t errlen)
{
	events_add(s->conf->name, "command", "%s requested by operator",
	    cmd == CMD_FAILOVER ? "failover" : "failback");
	return evaluate(d, s, cmd, err, errlen);
}

int
vcrd_failover(struct vcrd *d, struct svc *s, int final_sync, char *err, size_t errlen)
{
	struct dec_policy pol;
	const struct health_ctr *sb = &s->side[SIDE_STANDBY].ctr;
	int r;

	dec_policy_of(s, &pol);
	/*
	 * Only when the cut-over itself would be accepted: otherwise the
	 * decision refuses it at once, with its own reason.
	 */
	if (final_sync && s->rec.sync && s->dec.active == SIDE_PRIMARY &&
	    s->side[SIDE_PRIMARY].ctr.h == H_UP &&
	    s->dec.state != ST_FENCING && s->dec.state != ST_STARTING &&
	    (sb->h == H_UP || (pol.standby_cold && pol.standby_startable))) {
		if ((r = rec_final_sync(s, err, errlen)) != 0)
			return r;
	}
	return vcrd_command(d, s, CMD_FAILOVER, err, errlen);
}

int
vcrd_failback(struct vcrd *d, struct svc *s, int sync_back, char *err, size_t errlen)
{
	int r;

	if (sync_back && s->rec.back && s->dec.active == SIDE_STANDBY &&
	    s->side[SIDE_PRIMARY].ctr.h == H_UP &&
	    (s->dec.state == ST_STANDBY_ACTIVE || s->dec.state == ST_FAILBACK_PENDING)) {
		if ((r = rec_failback(s, err, errlen)) != 0)
			return r;
	}
	return vcrd_command(d, s, CMD_FAILBACK, err, errlen);
}

void
vcrd_stop(struct vcrd *d)
{
	struct svc *s;
	char err[256];

	ctl_close(d->ctl);
	metrics_close(d->metrics);
	TAILQ_FOREACH(s, &d->services, entry) {
		svc_stop_checks(s);
		relieve_detach(s);	/* before the connections it uses go */
	}
	rec_close(d);
	if (d->nf && d->conf && !d->conf->keep_rules_on_exit) {
		if (nf_delete_table(d->nf, err, sizeof(err)) == -1)
			log_warnx("event=stop removing table inet %s: %s", NF_TABLE, err);
		else
			log_info("event=stop table inet %s removed", NF_TABLE);
	} else if (d->nf)
		log_info("event=stop table inet %s left in place: traffic keeps flowing", NF_TABLE);
	if (d->conf)
		vcrd_save_state(d);
	while ((s = TAILQ_FIRST(&d->services)) != NULL) {
		TAILQ_REMOVE(&d->services, s, entry);
		svc_free(s);
	}
	curl_ev_free(d->http);
	nf_close(d->nf);
	conf_free(d->conf);
	d->conf = NULL;
}
