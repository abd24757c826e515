/*
 * svc_rec.c: the services' recovery steps, between the decision
 * (decide.c) and the recovery module (recovery/lxd.c, recovery/virt.c).
 *
 *   EV_FENCE          the primary's domain paused (virDomainSuspend, on a
 *                     worker thread: it neither serves nor writes from
 *                     then on), bounded by FENCE_TIMEOUT_MS; the answer is
 *                     reported as CMD_FENCED or CMD_FENCE_FAILED. The
 *                     paused domain is then powered off (virDomainDestroy,
 *                     seconds with qemu here) while the switch goes on.
 *   EV_START_STANDBY  the cold container is started through LXD; its check
 *                     polls fast until the service answers. A failed start
 *                     is reported as CMD_START_FAILED.
 *   lifecycle events  a primary whose domain stopped or crashed is down at
 *                     once, without waiting for the probes.
 * Every step, its duration and its failure (in LXD's or libvirt's words)
 * is an event in vcrctl events.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "vcr.h"
#include "check.h"
#include "conf.h"
#include "events.h"
#include "lxd.h"
#include "svc.h"
#include "sync.h"
#include "virt.h"

#include <errno.h>
#include <sys/stat.h>

#define FENCE_TIMEOUT_MS	10000
#define REFRESH_MS		5000	/* how often the standby container is looked at */
#define RETRY_MS		10000	/* after a failed recovery */
#define FAST_CHECK_MS		50	/* a cold standby's checks while it starts */

struct lxd *
rec_find_lxd(struct vcrd *d, const char *name)
{
	for (unsigned i = 0; i < d->nlxds; i++)
		if (strcmp(lxd_name(d->lxds[i]), name) == 0)
			return d->lxds[i];
	return NULL;
}

struct virt *
rec_find_virt(struct vcrd *d, const char *name)
{
	for (unsigned i = 0; i < d->nvirts; i++)
		if (strcmp(virt_name(d->virts[i]), name) == 0)
			return d->virts[i];
	return NULL;
}

void
rec_policy(const struct svc *s, struct dec_policy *pol)
{
	const struct rec_conf *rc = &s->conf->rec;

	pol->fence = rc->fence && s->rec.virt != NULL;
	pol->fence_proceed = rc->fence_proceed;
	pol->standby_cold = rc->cold && s->rec.lxd != NULL;
	pol->standby_startable = s->rec.startable;
	pol->start_timeout_ms = rc->start_timeout_ms;
	pol->retry_ms = RETRY_MS;
}

/* ---- libvirt: lifecycle events ---- */

static void
virt_event(struct virt *v, const struct virt_event *ev, void *arg)
{
	struct vcrd *d = arg;
	struct svc *s;

	TAILQ_FOREACH(s, &d->services, entry) {
		if (s->rec.virt != v || strcmp(s->conf->rec.vm, ev->domain) != 0)
			continue;
		snprintf(s->rec.vm, sizeof(s->rec.vm), "%s", ev->what);
		events_add(s->conf->name, "libvirt", "domain %s %s", ev->domain, ev->what);
		if (ev->down)
			svc_mark_down(s, SIDE_PRIMARY, ev->what[0] == 'c' ?
			    "libvirt: domain crashed" : "libvirt: domain stopped");
		else if (ev->up && s->side[SIDE_PRIMARY].chk)
			chk_now(s->side[SIDE_PRIMARY].chk);
	}
}

static void
vm_state_done(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct svc *s = arg;

	snprintf(s->rec.vm, sizeof(s->rec.vm), "%s%s", ok ? "" : "unknown: ", text);
	if (!ok)
		events_add(s->conf->name, "alert", "primary-vm %s/%s: %s",
		    s->conf->rec.vm_conn, s->conf->rec.vm, text);
}

/* ---- fencing ---- */

static void
power_off_done(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct svc *s = arg;

	if (ok)
		events_add(s->conf->name, "recovery", "step=power-off domain=%s result=ok (%s) "
		    "took_ms=%u", s->conf->rec.vm, text, took_ms);
	else
		events_add(s->conf->name, "alert", "step=power-off domain=%s result=failed "
		    "error=\"%s\" took_ms=%u: the fenced VM stays paused", s->conf->rec.vm,
		    text, took_ms);
}

static void
fence_done(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct svc *s = arg;
	int paused = ok && strcmp(text, "paused") == 0;

	if (s->dec.state != ST_FENCING)
		return;		/* given up on (timeout): too late to count */
	if (s->rec.fence_timer)
		evtimer_del(s->rec.fence_timer);
	s->rec.fence_ms = (unsigned)((now_us() - s->rec.t0_us) / 1000);
	if (ok) {
		s->rec.fenced = 1;
		snprintf(s->rec.vm, sizeof(s->rec.vm), "%s (fenced)", paused ? "paused" :
		    "shut off");
		events_add(s->conf->name, "recovery", "step=fence domain=%s result=ok (%s) "
		    "took_ms=%u%s", s->conf->rec.vm, text, took_ms, paused ?
		    "; powering it off" : "");
		/* The switch does not wait for the power-off. */
		if (paused && virt_destroy(s->rec.virt, s->conf->rec.vm, power_off_done, s) == -1)
			events_add(s->conf->name, "alert", "step=power-off domain=%s "
			    "result=failed error=\"out of memory\": the fenced VM stays paused",
			    s->conf->rec.vm);
		svc_evaluate(s, CMD_FENCED);
	} else {
		events_add(s->conf->name, s->alert[0] ? "recovery" : "alert",
		    "step=fence domain=%s result=failed "
		    "error=\"%s\" took_ms=%u policy=%s", s->conf->rec.vm, text, took_ms,
		    s->conf->rec.fence_proceed ? "proceed" : "refuse");
		svc_evaluate(s, CMD_FENCE_FAILED);
	}
}

static void
fence_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;

	if (s->dec.state != ST_FENCING)
		return;
	virt_forget(s->rec.virt, s);
	events_add(s->conf->name, "alert", "step=fence domain=%s result=failed error=\"no "
	    "answer from libvirt in %u ms\" policy=%s", s->conf->rec.vm, FENCE_TIMEOUT_MS,
	    s->conf->rec.fence_proceed ? "proceed" : "refuse");
	svc_evaluate(s, CMD_FENCE_FAILED);
}

static void sync_halt(struct svc *s, const char *why);

void
rec_fence(struct svc *s)
{
	struct timeval tv = { FENCE_TIMEOUT_MS / 1000, (FENCE_TIMEOUT_MS % 1000) * 1000 };
	char st[300];

	if (s->rec.t0_us == 0)
		s->rec.t0_us = now_us();
	s->rec.fenced = 0;
	sync_halt(s, "the primary is being fenced");
	virt_status(s->rec.virt, st, sizeof(st));
	events_add(s->conf->name, "recovery", "step=fence domain=%s libvirt=%s (%s)",
	    s->conf->rec.vm, s->conf->rec.vm_conn, st);
	if (s->rec.fence_timer == NULL)
		s->rec.fence_timer = evtimer_new(s->d->base, fence_timeout_cb, s);
	evtimer_add(s->rec.fence_timer, &tv);
	if (virt_pause(s->rec.virt, s->conf->rec.vm, fence_done, s) == -1) {
		evtimer_del(s->rec.fence_timer);
		events_add(s->conf->name, "alert", "step=fence result=failed error=\"out of memory\"");
		svc_evaluate(s, CMD_FENCE_FAILED);
	}
}

/* ---- LXD: the standby container ---- */

static void refresh_container(struct svc *s);

static void
start_done(void *arg, const struct lxd_result *r)
{
	struct svc *s = arg;

	s->rec.req = NULL;
	if (s->rec.t0_us)	/* a recovery's start, not a warm standby's at boot */
		s->rec.start_ms = (unsigned)((now_us() - s->rec.t0_us) / 1000);
	if (r->ok) {
		snprintf(s->rec.container, sizeof(s->rec.container), "Running");
		events_add(s->conf->name, "recovery", "step=start container=%s/%s result=ok "
		    "took_ms=%u", s->conf->rec.lxd, s->conf->rec.container, r->took_ms);
		if (s->side[SIDE_STANDBY].chk)
			chk_now(s->side[SIDE_STANDBY].chk);
		return;
	}
	s->rec.started = 0;	/* a later step may ask again */
	snprintf(s->rec.container, sizeof(s->rec.container), "start failed: %s", r->error);
	events_add(s->conf->name, s->alert[0] ? "recovery" : "alert",
	    "step=start container=%s/%s result=failed "
	    "error=\"%s\" took_ms=%u", s->conf->rec.lxd, s->conf->rec.container, r->error,
	    r->took_ms);
	if (s->side[SIDE_STANDBY].chk)
		chk_fast(s->side[SIDE_STANDBY].chk, 0);
	svc_evaluate(s, CMD_START_FAILED);
}

void
rec_start_standby(struct svc *s)
{
	struct target_view *tv = &s->side[SIDE_STANDBY];
	unsigned timeout_s = (s->conf->rec.start_timeout_ms + 999) / 1000;

	if (s->rec.t0_us == 0)
		s->rec.t0_us = now_us();
	if (s->rec.started)
		return;		/* asked while fencing: its answer is on the way or in */
	s->rec.started = 1;
	if (s->dec.state == ST_STARTING)
		sync_halt(s, "the cold standby is starting");
	events_add(s->conf->name, "recovery", "step=start container=%s/%s timeout_ms=%u%s",
	    s->conf->rec.lxd, s->conf->rec.container, s->conf->rec.start_timeout_ms,
	    s->dec.state == ST_FENCING ? " (while the primary is being fenced)" : "");
	lxd_cancel(s->rec.req);
	s->rec.req = lxd_instance_start(s->rec.lxd, s->conf->rec.container, timeout_s,
	    start_done, s);
	if (s->rec.req == NULL) {
		events_add(s->conf->name, "alert", "step=start result=failed error=\"cannot "
		    "send the request\"");
		svc_evaluate(s, CMD_START_FAILED);
		return;
	}
	/* A fresh start: its first good answer counts, and it is looked at often. */
	memset(&tv->ctr, 0, sizeof(tv->ctr));
	if (tv->chk)
		chk_fast(tv->chk, FAST_CHECK_MS);
}

/* Failback steps (rec_failback below). */
enum {
	FB_NONE = 0,
	FB_PASS1,		/* back sync, the container still serving */
	FB_FREEZE,		/* freezing it: no more writes */
	FB_PASS2,		/* the final pass, frozen */
	FB_THAW,		/* something failed: unfreezing, still on the standby */
	FB_STOP,		/* switched: the container stopped (in-flight requests end) */
	FB_START,		/* ... and a warm one started again */
};

static void
thaw_done(void *arg, const struct lxd_result *r)
{
	struct svc *s = arg;

	s->rec.req = NULL;
	if (r->ok) {
		snprintf(s->rec.container, sizeof(s->rec.container), "Running");
		events_add(s->conf->name, "recovery", "step=unfreeze container=%s/%s result=ok "
		    "took_ms=%u", s->conf->rec.lxd, s->conf->rec.container, r->took_ms);
		if (s->side[SIDE_STANDBY].chk)
			chk_now(s->side[SIDE_STANDBY].chk);
	} else
		events_add(s->conf->name, "alert", "step=unfreeze container=%s/%s result=failed "
		    "error=\"%s\"", s->conf->rec.lxd, s->conf->rec.container, r->error);
}

static void
look_done(void *arg, const struct lxd_result *r)
{
	struct svc *s = arg;
	int was = s->rec.degraded;

	s->rec.req = NULL;
	if (r->ok) {
		snprintf(s->rec.container, sizeof(s->rec.container), "%s", r->status);
		s->rec.startable = 1;
		s->rec.degraded = 0;
		if (was)
			events_add(s->conf->name, "recovery", "standby container %s/%s usable "
			    "again (%s)", s->conf->rec.lxd, s->conf->rec.container, r->status);
		/*
		 * Frozen, and no failback of ours under way: one was cut short
		 * (vcrd killed or reloaded in its final pass). A frozen container
		 * answers nothing, so thaw it; its writes are all still there.
		 */
		if (strcmp(r->status, "Frozen") == 0 && s->rec.fb == FB_NONE &&
		    !relieve_running(s)) {
			events_add(s->conf->name, "alert", "standby container %s/%s is frozen "
			    "and no failback is under way (one was interrupted?): unfreezing it",
			    s->conf->rec.lxd, s->conf->rec.container);
			s->rec.req = lxd_instance_action(s->rec.lxd, s->conf->rec.container,
			    "unfreeze", 0, 30, thaw_done, s);
			return;
		}
		/* A warm standby must run: vcrd starts it when it finds it stopped. */
		if (!s->conf->rec.cold && strcmp(r->status, "Stopped") == 0 &&
		    s->dec.active == SIDE_PRIMARY && s->rec.fb == FB_NONE && !relieve_running(s)) {
			events_add(s->conf->name, "recovery", "warm standby %s/%s is stopped: "
			    "starting it", s->conf->rec.lxd, s->conf->rec.container);
			s->rec.req = lxd_instance_start(s->rec.lxd, s->conf->rec.container,
			    (s->conf->rec.start_timeout_ms + 999) / 1000, start_done, s);
		}
		return;
	}
	snprintf(s->rec.container, sizeof(s->rec.container), "%s", r->error);
	s->rec.startable = 0;
	s->rec.degraded = 1;
	if (!was)
		events_add(s->conf->name, "alert", "standby container %s/%s not usable: %s",
		    s->conf->rec.lxd, s->conf->rec.container, r->error);
}

static void
refresh_container(struct svc *s)
{
	if (s->rec.req)
		return;		/* a start is running: it will tell */
	s->rec.req = lxd_instance_state(s->rec.lxd, s->conf->rec.container, look_done, s);
}

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;
	struct timeval tv = { REFRESH_MS / 1000, (REFRESH_MS % 1000) * 1000 };

	refresh_container(s);
	evtimer_add(s->rec.refresh, &tv);
}

void
rec_cutover_text(struct svc *s, char *buf, size_t len)
{
	buf[0] = '\0';
	if (s->rec.t0_us == 0)
		return;
	snprintf(buf, len, " recovery_ms=%u fenced=%s%s", (unsigned)((now_us() -
	    s->rec.t0_us) / 1000), s->rec.fenced ? "yes" : "no", "");
	if (s->rec.start_ms)
		snprintf(buf + strlen(buf), len - strlen(buf), " container_started_ms=%u",
		    s->rec.start_ms);
	s->rec.t0_us = 0;
	s->rec.started = 0;
	s->rec.start_ms = s->rec.fence_ms = 0;
	if (s->side[SIDE_STANDBY].chk)
		chk_fast(s->side[SIDE_STANDBY].chk, 0);
}

/* ---- disk sync ---- */

#define SYNC_RUNDIR	"/run/vcrecovery"
#define SYNC_WAIT_MS	1000	/* another sync on the same LXD host: try again */

/* Why a sync cannot start now, when waiting a little is the answer. */
#define SYNC_BUSY	"busy"	/* one sync at a time per standby host */
#define SYNC_RUNNING	"a sync of this service is already running"

/* rec.final_sync: a planned failover waiting for its last sync. */
enum {
	FINAL_NONE = 0,
	FINAL_WAIT,		/* for a sync that started before the request */
	FINAL_RUNNING,		/* ours: the failover follows its success */
};

static void sync_arm(struct svc *s, unsigned ms);
static int sync_begin(struct svc *s, char *err, size_t errlen);

/* Why a sync must not run now, or NULL. */
static const char *
sync_refused(struct svc *s)
{
	struct svc *o;

	if (s->rec.sync == NULL)
		return "no sync configured for this service";
	if (sync_running(s->rec.sync))
		return SYNC_RUNNING;
	/* The container serves: copying the primary over it would lose its writes. */
	if (s->dec.active == SIDE_STANDBY)
		return "the service runs on its standby: a sync would overwrite what it serves";
	if (s->dec.state == ST_FENCING || s->dec.state == ST_STARTING)
		return "a recovery is running";
	if (relieve_running(s))
		return "a relieve is running";
	TAILQ_FOREACH(o, &s->d->services, entry)
		if (o != s && o->rec.sync && o->rec.lxd == s->rec.lxd && sync_running(o->rec.sync))
			return SYNC_BUSY;
	return NULL;
}

/* A planned failover waits: start its final sync, or give up waiting. */
static void
final_sync_try(struct svc *s)
{
	char err[256];

	if (sync_begin(s, err, sizeof(err)) == 0) {
		s->rec.final_sync = FINAL_RUNNING;
		events_add(s->conf->name, "sync", "final sync before the planned failover started");
		return;
	}
	if (strcmp(err, SYNC_BUSY) == 0) {
		sync_arm(s, SYNC_WAIT_MS);
		return;
	}
	if (strcmp(err, SYNC_RUNNING) == 0)
		return;		/* sync_done calls again */
	/* The primary went down or a recovery began: the decision takes over. */
	s->rec.final_sync = FINAL_NONE;
	events_add(s->conf->name, "sync", "final sync not run: %s; failing over without it", err);
	svc_evaluate(s, CMD_FAILOVER);
}

/*
 * The service leaves its primary: a sync from it still running would copy
 * the primary's files over what the container is about to serve (and, from
 * a fenced VM, wait on ssh until it gives up). It is stopped, a planned
 * failover's final sync too (the switch it waited for is being made).
 */
static void
sync_halt(struct svc *s, const char *why)
{
	if (s->rec.sync == NULL || !sync_running(s->rec.sync))
		return;
	sync_stop(s->rec.sync);
	s->rec.final_sync = FINAL_NONE;
	events_add(s->conf->name, "sync", "stopped: %s, and the sync from the primary would "
	    "overwrite what the container serves", why);
	if (s->conf->sync.interval_ms)
		sync_arm(s, s->conf->sync.interval_ms);
}

void
rec_switched(struct svc *s, enum side to)
{
	if (to == SIDE_STANDBY)
		sync_halt(s, "the service moved to its standby");
}

static void
final_sync_done(struct svc *s, int ok, const char *error)
{
	s->rec.final_sync = FINAL_NONE;
	if (!ok) {
		events_add(s->conf->name, "alert", "planned failover not carried out: its final "
		    "sync failed (%s); the service stays on the primary; 'vcrctl failover "
		    "--no-sync %s' switches without it", error, s->conf->name);
		return;
	}
	events_add(s->conf->name, "command", "final sync done: failover");
	svc_evaluate(s, CMD_FAILOVER);
}

int
rec_final_sync(struct svc *s, char *err, size_t errlen)
{
	if (s->rec.final_sync != FINAL_NONE) {
		snprintf(err, errlen, "a planned failover is already waiting for its final sync");
		return -1;
	}
	if (sync_begin(s, err, errlen) == 0) {
		s->rec.final_sync = FINAL_RUNNING;
	} else if (strcmp(err, SYNC_BUSY) == 0 || strcmp(err, SYNC_RUNNING) == 0) {
		s->rec.final_sync = FINAL_WAIT;
		if (strcmp(err, SYNC_BUSY) == 0)
			sync_arm(s, SYNC_WAIT_MS);
	} else
		return 0;	/* no final sync possible: the failover goes ahead */
	events_add(s->conf->name, "command", "failover requested by operator: final sync "
	    "first (%s)", s->rec.final_sync == FINAL_RUNNING ? "started" :
	    "after the sync running now");
	return 1;
}

static void
sync_done(void *arg, int ok, const struct sync_stats *st)
{
	struct svc *s = arg;

	if (ok) {
		s->rec.sync_ok_start_ms = st->last_ok_start_wall_ms;
		vcrd_save_state(s->d);
		events_add(s->conf->name, "sync", "ok: files_changed=%u deleted=%u other=%u "
		    "bytes=%llu took_ms=%u (snapshot %u, rsync %u) rules=%u (file-level %u) "
		    "shifted=%s restarted=\"%s\"", st->files_changed, st->deleted,
		    st->other_changes, (unsigned long long)st->bytes, st->last_ms,
		    st->snapshot_ms, st->rsync_ms, st->rules, st->file_rules,
		    st->shifted ? "yes" : "no", st->restarted);
	} else
		events_add(s->conf->name, "alert", "sync failed: %s (took_ms=%u; the standby "
		    "keeps its last good copy)", st->error, st->last_ms);
	if (s->conf->sync.interval_ms)
		sync_arm(s, s->conf->sync.interval_ms);
	if (s->rec.final_sync == FINAL_RUNNING)
		final_sync_done(s, ok, st->error);
	else if (s->rec.final_sync == FINAL_WAIT)
		final_sync_try(s);
}

static int
sync_begin(struct svc *s, char *err, size_t errlen)
{
	const char *why = sync_refused(s);

	if (why) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (s->side[SIDE_PRIMARY].ctr.h == H_DOWN) {
		snprintf(err, errlen, "the primary is down");
		return -1;
	}
	return sync_start(s->rec.sync, err, errlen);
}

static void
sync_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;
	char err[256];

	if (s->rec.final_sync == FINAL_WAIT) {
		final_sync_try(s);
		return;
	}
	if (sync_begin(s, err, sizeof(err)) == 0)
		return;
	if (strcmp(err, SYNC_BUSY) == 0) {
		sync_arm(s, SYNC_WAIT_MS);
		return;
	}
	log_debug("event=sync service=%s skipped=\"%s\"", s->conf->name, err);
	if (s->conf->sync.interval_ms)
		sync_arm(s, s->conf->sync.interval_ms);
}

static void
sync_arm(struct svc *s, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (s->rec.sync_timer == NULL)
		s->rec.sync_timer = evtimer_new(s->d->base, sync_timer_cb, s);
	evtimer_add(s->rec.sync_timer, &tv);
}

int
rec_sync_now(struct svc *s, char *err, size_t errlen)
{
	if (sync_begin(s, err, errlen) == -1) {
		if (strcmp(err, SYNC_BUSY) == 0)
			snprintf(err, errlen, "another sync into the same LXD host is running; "
			    "try again");
		return -1;
	}
	events_add(s->conf->name, "sync", "started by operator");
	return 0;
}

/* ---- failback with the standby's changes synced back ---- */


static void fb_lxd_done(void *arg, const struct lxd_result *r);

static void
fb_lxd(struct svc *s, int step, const char *action, int force)
{
	s->rec.fb = step;
	/* Frozen or not is saved: a vcrd killed now thaws the container at its next start. */
	vcrd_save_state(s->d);
	s->rec.fb_req = lxd_instance_action(s->rec.lxd, s->conf->rec.container, action, force,
	    30, fb_lxd_done, s);
	if (s->rec.fb_req == NULL) {
		events_add(s->conf->name, "alert", "failback: cannot ask LXD to %s %s/%s",
		    action, s->conf->rec.lxd, s->conf->rec.container);
		s->rec.fb = FB_NONE;
	}
}

/* A failed step before the switch: the service stays where it is. */
static void
fb_abort(struct svc *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fb_abort(struct svc *s, const char *fmt, ...)
{
	char why[600];
	va_list ap;
	/*
	 * A freeze that failed may still be under way in LXD (its wait timed
	 * out): unfrozen all the same, so that it cannot freeze the serving
	 * container later.
	 */
	int frozen = s->rec.fb == FB_PASS2 || s->rec.fb == FB_FREEZE;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	events_add(s->conf->name, "alert", "failback not carried out: %s; the service stays "
	    "on its standby%s", why, frozen ? " (unfreezing it)" : "");
	svc_hold(s, 0, "the failback was called off");
	if (frozen)
		fb_lxd(s, FB_THAW, "unfreeze", 0);
	else
		s->rec.fb = FB_NONE;
}

static void
fb_switch(struct svc *s)
{
	char err[256] = "the service is not on its primary after the command";

	if (s->dec.active == SIDE_PRIMARY)
		events_add(s->conf->name, "failback", "already on the primary (an operator's "
		    "command)");
	else if (vcrd_command(s->d, s, CMD_FAILBACK, err, sizeof(err)) == -1 ||
	    s->dec.active != SIDE_PRIMARY) {
		fb_abort(s, "the switch was refused: %s", err);
		return;
	}
	events_add(s->conf->name, "failback", "switched to the primary: frozen_ms=%u "
	    "(freeze %u) total_ms=%u; stopping %s/%s (requests still in it end)",
	    (unsigned)((now_us() - s->rec.fb_frozen_us) / 1000), s->rec.fb_freeze_ms,
	    (unsigned)((now_us() - s->rec.fb_t0_us) / 1000), s->conf->rec.lxd,
	    s->conf->rec.container);
	/*
	 * Down until its probes say otherwise: a standby being stopped and
	 * started is no place to send traffic, nor a reason to fence the
	 * primary if that one stumbles now.
	 */
	svc_mark_down(s, SIDE_STANDBY, "stopped and started again after the failback");
	fb_lxd(s, FB_STOP, "stop", 1);
}

static void
fb_lxd_done(void *arg, const struct lxd_result *r)
{
	struct svc *s = arg;
	char err[256];

	s->rec.fb_req = NULL;
	switch (s->rec.fb) {
	case FB_FREEZE:
		if (!r->ok) {
			fb_abort(s, "cannot freeze the container: %s", r->error);
			return;
		}
		s->rec.fb_freeze_ms = (unsigned)((now_us() - s->rec.fb_frozen_us) / 1000);
		s->rec.fb = FB_PASS2;
		if (sync_start_again(s->rec.back, err, sizeof(err)) == -1)
			fb_abort(s, "final pass: %s", err);
		return;
	case FB_THAW:
		if (!r->ok)	/* not frozen ("already running") counts as done in lxd.c */
			events_add(s->conf->name, "alert", "failback: cannot unfreeze %s/%s: %s",
			    s->conf->rec.lxd, s->conf->rec.container, r->error);
		else
			events_add(s->conf->name, "failback", "%s/%s unfrozen: the service goes on "
			    "from its standby", s->conf->rec.lxd, s->conf->rec.container);
		s->rec.fb = FB_NONE;
		vcrd_save_state(s->d);
		return;
	case FB_STOP:
		if (!r->ok)
			events_add(s->conf->name, "alert", "failback: cannot stop %s/%s: %s",
			    s->conf->rec.lxd, s->conf->rec.container, r->error);
		if (r->ok && !s->conf->rec.cold) {
			fb_lxd(s, FB_START, "start", 0);
			return;
		}
		events_add(s->conf->name, "failback", "done: %s/%s %s", s->conf->rec.lxd,
		    s->conf->rec.container, r->ok ? "stopped (cold standby again)" : "left as is");
		s->rec.fb = FB_NONE;
		refresh_container(s);
		return;
	case FB_START:
		if (!r->ok)
			events_add(s->conf->name, "alert", "failback: cannot start %s/%s again: %s",
			    s->conf->rec.lxd, s->conf->rec.container, r->error);
		else
			events_add(s->conf->name, "failback", "done: %s/%s restarted (warm standby "
			    "again)", s->conf->rec.lxd, s->conf->rec.container);
		s->rec.fb = FB_NONE;
		refresh_container(s);
		return;
	}
}

static void
back_done(void *arg, int ok, const struct sync_stats *st)
{
	struct svc *s = arg;

	if (s->rec.fb != FB_PASS1 && s->rec.fb != FB_PASS2)
		return;
	if (!ok) {
		fb_abort(s, "syncing back failed: %s", st->error);
		return;
	}
	if (st->conflicts) {
		fb_abort(s, "%u file(s) changed on both sides since the last sync, nothing "
		    "copied: %s%s", st->conflicts, st->conflict_paths,
		    st->conflicts > 5 ? " ..." : "");
		return;
	}
	if (s->rec.fb == FB_PASS1)
		events_add(s->conf->name, "failback", "synced back (live): files_changed=%u "
		    "other=%u bytes=%llu took_ms=%u%s", st->files_changed, st->other_changes,
		    (unsigned long long)st->bytes, st->last_ms, st->partial ? "; some files "
		    "changed while they were copied (rsync 23): the final pass walks the whole "
		    "tree" : "");
	else {
		char what[40];

		if (st->by_list)
			snprintf(what, sizeof(what), "listed=%u", st->listed);
		else
			snprintf(what, sizeof(what), "whole tree walked,");
		events_add(s->conf->name, "failback", "final pass (container frozen): "
		    "%s files_changed=%u other=%u bytes=%llu took_ms=%u (find %u, "
		    "rsync %u)", what, st->files_changed, st->other_changes,
		    (unsigned long long)st->bytes, st->last_ms, st->snapshot_ms, st->rsync_ms);
	}
	if (s->rec.fb == FB_PASS1) {
		/*
		 * The container stops answering when the freeze begins, not
		 * when LXD reports it done (on a cgroup v1 host liblxc polls the
		 * freezer once a second): the frozen window and the hold start
		 * here.
		 */
		s->rec.fb_frozen_us = now_us();
		svc_hold(s, 1, "the container is frozen for the failback's final pass");
		fb_lxd(s, FB_FREEZE, "freeze", 0);
	} else if (s->side[SIDE_PRIMARY].ctr.h != H_UP)
		fb_abort(s, "the primary went down: %s", s->side[SIDE_PRIMARY].last_reason);
	else {
		/* Both sides were equal when the final pass began: the next reference. */
		s->rec.sync_ok_start_ms = st->last_ok_start_wall_ms;
		fb_switch(s);
	}
}

int
rec_failback_frozen(const struct svc *s)
{
	return s->rec.fb == FB_FREEZE || s->rec.fb == FB_PASS2 || s->rec.fb == FB_THAW;
}

int
rec_standby_frozen(const struct svc *s)
{
	return relieve_frozen(s) || s->rec.fb == FB_FREEZE || s->rec.fb == FB_PASS2 || s->rec.fb == FB_THAW;
}

int
rec_failback(struct svc *s, char *err, size_t errlen)
{
	uint64_t since;

	if (s->rec.fb != FB_NONE) {
		snprintf(err, errlen, "a failback is already running");
		return -1;
	}
	if (relieve_running(s)) {
		snprintf(err, errlen, "a relieve is running");
		return -1;
	}
	since = s->rec.sync_ok_start_ms;
	if (since == 0) {
		snprintf(err, errlen, "no sync of the standby has ever succeeded, so what the "
		    "primary changed since the standby's copy is unknown; 'vcrctl failback "
		    "--no-sync %s' switches without syncing back", s->conf->name);
		return -1;
	}
	sync_set_since(s->rec.back, since);
	if (sync_start(s->rec.back, err, errlen) == -1)
		return -1;
	s->rec.fb = FB_PASS1;
	s->rec.fb_t0_us = now_us();
	events_add(s->conf->name, "command", "failback requested by operator: the standby's "
	    "changes go back to the primary first (live, then with the container frozen)");
	return 1;
}

static void
sync_attach(struct vcrd *d, struct svc *s)
{
	char dir[300];

	if (!s->conf->sync.enabled || s->rec.lxd == NULL || s->rec.sync)
		return;
	mkdir(SYNC_RUNDIR, 0711);
	mkdir(SYNC_RUNDIR "/sync", 0711);
	snprintf(dir, sizeof(dir), SYNC_RUNDIR "/sync/%s", s->conf->name);
	s->rec.sync = sync_new(d->base, s->rec.lxd, s->conf->rec.container, !s->conf->rec.cold,
	    0, &s->conf->sync, dir, sync_done, s);
	mkdir(SYNC_RUNDIR "/back", 0711);
	snprintf(dir, sizeof(dir), SYNC_RUNDIR "/back/%s", s->conf->name);
	s->rec.back = sync_new(d->base, s->rec.lxd, s->conf->rec.container, 0, 1,
	    &s->conf->sync, dir, back_done, s);
	if (s->rec.sync && s->conf->sync.interval_ms)
		sync_arm(s, 2000 + (unsigned)random() % 3000);	/* after the first checks */
}

/* ---- wiring ---- */

void
rec_attach(struct vcrd *d, struct svc *s)
{
	const struct rec_conf *rc = &s->conf->rec;

	s->rec.virt = rc->vm_conn[0] ? rec_find_virt(d, rc->vm_conn) : NULL;
	s->rec.lxd = rc->lxd[0] ? rec_find_lxd(d, rc->lxd) : NULL;
	if (s->rec.virt && s->rec.vm[0] == '\0') {
		snprintf(s->rec.vm, sizeof(s->rec.vm), "not looked at yet");
		virt_domain_state(s->rec.virt, rc->vm, vm_state_done, s);
	}
	if (s->rec.lxd && s->rec.refresh == NULL) {
		snprintf(s->rec.container, sizeof(s->rec.container), "not looked at yet");
		s->rec.refresh = evtimer_new(d->base, refresh_cb, s);
		refresh_cb(-1, 0, s);
	}
	if (s->rec.lxd && s->rec.thaw_at_start) {
		/* Before any standby probe counts: a frozen container answers nothing. */
		s->rec.thaw_at_start = 0;
		events_add(s->conf->name, "alert", "vcrd stopped during a failback's frozen "
		    "pass: unfreezing %s/%s; the service stays on its standby, run vcrctl "
		    "failback again", rc->lxd, rc->container);
		fb_lxd(s, FB_THAW, "unfreeze", 0);
	}
	sync_attach(d, s);
}

void
rec_detach(struct svc *s)
{
	if (s->rec.req) {
		lxd_cancel(s->rec.req);
		s->rec.req = NULL;
	}
	if (s->rec.refresh) {
		event_free(s->rec.refresh);
		s->rec.refresh = NULL;
	}
	if (s->rec.fence_timer) {
		event_free(s->rec.fence_timer);
		s->rec.fence_timer = NULL;
	}
	if (s->rec.sync_timer) {
		event_free(s->rec.sync_timer);
		s->rec.sync_timer = NULL;
	}
	if (s->rec.final_sync != FINAL_NONE)
		events_add(s->conf->name, "alert", "planned failover abandoned: the "
		    "recovery settings were reloaded during its final sync");
	s->rec.final_sync = FINAL_NONE;
	sync_free(s->rec.sync);
	s->rec.sync = NULL;
	if (s->rec.fb != FB_NONE)
		events_add(s->conf->name, "alert", "failback abandoned: the recovery settings "
		    "were reloaded during it%s", s->rec.fb == FB_PASS2 || s->rec.fb == FB_THAW ?
		    "; a container left frozen is unfrozen when next looked at" : "");
	if (s->rec.fb_req)
		lxd_cancel(s->rec.fb_req);
	s->rec.fb_req = NULL;
	s->rec.fb = FB_NONE;
	sync_free(s->rec.back);
	s->rec.back = NULL;
	virt_forget(s->rec.virt, s);
	s->rec.lxd = NULL;
	s->rec.virt = NULL;
}

static int
open_all(struct vcrd *d, struct vcr_conf *conf, struct lxd ***lxds, unsigned *nl,
    struct virt ***virts, unsigned *nv, char *err, size_t errlen)
{
	struct lxd_conf *lc;
	struct virt_conf *vc;
	unsigned n = 0;

	TAILQ_FOREACH(lc, &conf->lxds, entry)
		n++;
	*lxds = calloc(n ? n : 1, sizeof(**lxds));
	n = 0;
	TAILQ_FOREACH(vc, &conf->virts, entry)
		n++;
	*virts = calloc(n ? n : 1, sizeof(**virts));
	if (*lxds == NULL || *virts == NULL)
		goto oom;
	*nl = *nv = 0;
	TAILQ_FOREACH(lc, &conf->lxds, entry)
		if (((*lxds)[(*nl)++] = lxd_new(d->http, lc)) == NULL)
			goto oom;
	if (!TAILQ_EMPTY(&conf->virts) && virt_init(err, errlen) == -1)
		return -1;
	TAILQ_FOREACH(vc, &conf->virts, entry)
		if (((*virts)[(*nv)++] = virt_new(d->base, vc, virt_event, d)) == NULL)
			goto oom;
	return 0;
oom:
	snprintf(err, errlen, "recovery: out of memory");
	return -1;
}

int
rec_open(struct vcrd *d, char *err, size_t errlen)
{
	return open_all(d, d->conf, &d->lxds, &d->nlxds, &d->virts, &d->nvirts, err, errlen);
}

static void
free_all(struct lxd **lxds, unsigned nl, struct virt **virts, unsigned nv)
{
	for (unsigned i = 0; i < nl; i++)
		lxd_free(lxds[i]);
	for (unsigned i = 0; i < nv; i++)
		virt_free(virts[i]);
	free(lxds);
	free(virts);
}

void
rec_close(struct vcrd *d)
{
	struct svc *s;

	TAILQ_FOREACH(s, &d->services, entry)
		rec_detach(s);
	free_all(d->lxds, d->nlxds, d->virts, d->nvirts);
	d->lxds = NULL;
	d->virts = NULL;
	d->nlxds = d->nvirts = 0;
}

/*
 * Reload: connections are made again from the new file (cheap: LXD has no
 * connection state, libvirt reconnects in the background) and every
 * service is attached again; a recovery in progress goes on.
 */
int
rec_reload(struct vcrd *d, char *err, size_t errlen)
{
	struct lxd **lxds;
	struct virt **virts;
	unsigned nl, nv;
	struct svc *s;

	if (open_all(d, d->conf, &lxds, &nl, &virts, &nv, err, errlen) == -1)
		return -1;
	TAILQ_FOREACH(s, &d->services, entry) {
		int fencing = s->dec.state == ST_FENCING, starting = s->dec.state == ST_STARTING;
		rec_detach(s);
		s->rec.vm[0] = '\0';
		if (fencing || starting)
			events_add(s->conf->name, "recovery", "reload changed the recovery "
			    "connections: the step in progress is tried again");
		if (fencing)
			svc_evaluate(s, CMD_FENCE_FAILED);	/* asked again by the retry */
		if (starting)
			svc_evaluate(s, CMD_START_FAILED);
	}
	free_all(d->lxds, d->nlxds, d->virts, d->nvirts);
	d->lxds = lxds;
	d->nlxds = nl;
	d->virts = virts;
	d->nvirts = nv;
	return 0;
}

int
rec_lists_equal(const struct vcr_conf *a, const struct vcr_conf *b)
{
	const struct lxd_conf *la = TAILQ_FIRST(&a->lxds), *lb = TAILQ_FIRST(&b->lxds);
	const struct virt_conf *va = TAILQ_FIRST(&a->virts), *vb = TAILQ_FIRST(&b->virts);

	for (; la && lb; la = TAILQ_NEXT(la, entry), lb = TAILQ_NEXT(lb, entry))
		if (strcmp(la->name, lb->name) || strcmp(la->url, lb->url) ||
		    strcmp(la->client_cert, lb->client_cert) ||
		    strcmp(la->client_key, lb->client_key) ||
		    strcmp(la->server_cert, lb->server_cert))
			return 0;
	for (; va && vb; va = TAILQ_NEXT(va, entry), vb = TAILQ_NEXT(vb, entry))
		if (strcmp(va->name, vb->name) || strcmp(va->uri, vb->uri))
			return 0;
	return la == NULL && lb == NULL && va == NULL && vb == NULL;
}
