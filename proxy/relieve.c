/*
 * relieve.c: a loaded standby relieved (the service's 'relieve' block).
 * Two ways, each a chain of steps on the loop, each step an event:
 *
 *  migrate  the container copied to another LXD server with LXD's
 *           migration API (push mode, no CRIU), frozen from the copy to the
 *           switch when it serves (LXD's dir storage freezes a running
 *           container for a copy anyway), set-file written, started there
 *           and probed; then the service's standby side points at it (one
 *           map element when it serves) and the old instance is stopped and
 *           deleted. With ssh into the copy (migrate-to ... USER@HOST), a
 *           serving container and a prepared copy: the copy is started
 *           first and the container's files synced into it live, as into
 *           the VM below; the container is frozen for the final pass only.
 *  vm       a defined VM started through libvirt; the container's files
 *           synced into it (sync.c in its back direction, without the
 *           conflict check: the container wins), once live and once with
 *           the container frozen; the VM probed, made the service's
 *           primary and switched to; the container stopped (a warm one is
 *           started again by svc_rec.c, as the new primary's standby).
 *
 * A step that fails before the switch is undone: the container thawed,
 * the copy deleted, the VM powered off. The service stays where it was.
 *
 * LXD's dir storage freezes a running container for the whole of a copy
 * (about 16 s for the testbed's 200 MB here). 'vcrctl relieve --prepare'
 * makes the copy ahead, while the container is a standby and serves
 * nothing; a relieve then finds it (stopped) and sends only the changes
 * (LXD's refresh), so the service is frozen for seconds, not the copy;
 * with ssh into the copy, for the final pass of what changed (under 1 s).
 *
 * The load watch reads the serving container's CPU and memory from LXD
 * every LOAD_MS, and with host-memory the LXD server's memory every
 * HOST_MS (/1.0/resources, which costs LXD a hardware scan: one reading
 * shared by the services on that server), and relieves by the configured
 * strategy once the load stayed over the threshold for the configured
 * time; of the containers over their thresholds on one LXD server, the
 * busiest goes first (by memory when the server's memory is what is over,
 * else by CPU), one at a time.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "vcr.h"
#include "check.h"
#include "conf.h"
#include "curl_ev.h"
#include "events.h"
#include "lxd.h"
#include "svc.h"
#include "sync.h"
#include "virt.h"

#include <sys/stat.h>

#define LOAD_MS		2000	/* the load watch's period */
#define HOST_MS		10000	/* ... for the LXD server's memory */
#define QUIET_MS	600000	/* after an automatic relieve failed */
#define PROBE_MS	100	/* the new place's checks until it answers */
#define RETRY_MS	3000	/* the first pass into a VM that is still booting */
#define RETRY_CT_MS	500	/* ... into a copy of the container starting */
#define RUNDIR		"/run/vcrecovery/relieve"

enum step {
	R_IDLE = 0,
	/* migrate */
	M_CERT,		/* the target server's certificate */
	M_EXISTS,	/* a copy there already (--prepare)? then only changes go */
	M_SOURCE,	/* the instance's definition */
	M_TARGET,	/* the target's side of the transfer: its secrets */
	M_PUSH,		/* the source pushes */
	M_WAIT_SRC,
	M_WAIT_DST,
	M_FREEZE,
	M_FILE,
	M_START,
	M_PROBE,
	M_STOP_OLD,
	M_DELETE_OLD,
	M_WAIT_DELETE,
	/* vm */
	V_CREATE,
	V_PASS1,
	V_FREEZE,
	V_PASS2,
	V_PROBE,
	V_STOP,
	/* undo */
	U_THAW,
	U_STOP,
	U_DELETE,
	U_WAIT,
	U_DESTROY,
};

static const char *const step_names[] = {
	"idle", "target certificate", "looking for a prepared copy",
	"instance definition", "target ready",
	"pushing", "pushing", "receiving", "freezing", "set-file", "starting",
	"probing", "stopping the old instance", "deleting the old instance",
	"deleting the old instance", "starting the VM", "syncing into the new place (live)",
	"freezing", "final pass into the new place (frozen)", "probing the VM",
	"stopping the container", "undo: thawing", "undo: stopping the copy",
	"undo: deleting the copy", "undo: deleting the copy", "undo: powering the VM off",
};

struct relieve {
	struct svc	*s;
	enum relieve_to	 to;
	enum step	 step;
	int		 serving;	/* the container served when it began */
	int		 frozen;	/* we froze it */
	int		 created;	/* we made the copy on the target: undo deletes it */
	int		 refresh;	/* a copy was there: only the changes are sent */
	int		 live;		/* migrate: the prepared copy started, synced live */
	int		 dst_started;	/* we started the copy: undo stops it */
	int		 prepare;	/* --prepare: copy only, the service untouched */
	int		 vm_started;	/* we started the VM */
	int		 automatic;	/* the load watch began it */
	struct lxd	*src, *dst;
	struct virt	*virt;
	struct lxd_req	*req;
	char		*cert;		/* the target server's, PEM */
	struct json_object *body;	/* the instance for the target */
	char		 src_name[REC_OBJ_MAX];
	char		 place[REC_NAME_MAX + REC_OBJ_MAX + 2];	/* where it goes, for events */
	char		 dst_op[160];	/* the target's side, awaited after the source's */
	struct chk	*probe;
	unsigned	 probe_ok;
	struct sync	*sync;
	struct event	*timer;		/* next step off the callback's stack */
	void		(*next)(struct relieve *);
	uint64_t	 t0_us, frozen_us, deadline_us;
	unsigned	 copy_ms;	/* migrate: from the start to the end of the copy;
					   live: the final pass */
	unsigned	 frozen_ms;	/* frozen until the switch */
	unsigned	 tries;
	char		 fail[400];	/* why the undo runs */
	char		 last[440];	/* the last relieve's end */
	unsigned	 done, failed;
	/* the load watch */
	struct event	*load_timer;
	struct lxd_req	*load_req;
	uint64_t	 cpu_ns, cpu_us;
	unsigned	 cpu_pct;
	uint64_t	 mem;
	int		 have_load;
	uint64_t	 over_since_ms, quiet_until_ms;
	/* the LXD server's memory (host_reading(): the freshest on that server) */
	struct lxd_req	*host_req;
	uint64_t	 host_used, host_total, host_at_ms;
	int		 host_over;	/* the server's memory is over the threshold */
};

static void fail(struct relieve *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void undo_next(struct relieve *rl);
static void m_target(struct relieve *rl);
static void m_remove_old(struct relieve *rl);
static void m_file(struct relieve *rl);
static void m_start(struct relieve *rl);
static void v_pass1(struct relieve *rl);
static void live_sync(struct relieve *rl, const char *ssh, int copy);
static void probe_start(struct relieve *rl, const struct endpoint *ep);
static void v_lxd_done(void *arg, const struct lxd_result *r);

static const char *
name(const struct relieve *rl)
{
	return rl->s->conf->name;
}

static unsigned
since_ms(uint64_t t0_us)
{
	return (unsigned)((now_us() - t0_us) / 1000);
}

static unsigned
timeout_s(const struct relieve *rl)
{
	return (rl->s->conf->relieve.timeout_ms + 999) / 1000;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relieve *rl = arg;
	void (*fn)(struct relieve *) = rl->next;

	rl->next = NULL;
	if (fn)
		fn(rl);
}

/* fn after ms, from the loop (never from inside a callback being run). */
static void
later(struct relieve *rl, void (*fn)(struct relieve *), unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	rl->next = fn;
	evtimer_add(rl->timer, &tv);
}

static void
cleanup(struct relieve *rl)
{
	lxd_cancel(rl->req);
	rl->req = NULL;
	chk_free(rl->probe);
	rl->probe = NULL;
	sync_free(rl->sync);
	rl->sync = NULL;
	free(rl->cert);
	rl->cert = NULL;
	if (rl->body)
		json_object_put(rl->body);
	rl->body = NULL;
	if (rl->virt)
		virt_forget(rl->virt, rl);
	evtimer_del(rl->timer);
	rl->next = NULL;
}

static void
finish(struct relieve *rl, int ok, const char *text)
{
	snprintf(rl->last, sizeof(rl->last), "%s %s: %s", ok ? "done" : "failed",
	    rl->to == RELIEVE_MIGRATE ? "migrate" : "vm", text);
	if (!ok && rl->automatic)
		rl->quiet_until_ms = now_ms() + QUIET_MS;
	if (ok)
		rl->done++;
	else
		rl->failed++;
	rl->step = R_IDLE;
	rl->frozen = 0;
	svc_hold(rl->s, 0, "the relieve has ended");
	cleanup(rl);
	/* A reload may free these while no relieve runs. */
	rl->virt = NULL;
	rl->src = rl->dst = NULL;
	vcrd_save_state(rl->s->d);
}

/* ---- undo: back to where the service was ---- */

static void
undo_lxd_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;

	rl->req = NULL;
	/* Not frozen ("already running") counts as done in lxd.c; already stopped, here. */
	if (!r->ok && !(rl->step == U_STOP && strstr(r->error, "already stopped")))
		events_add(name(rl), "alert", "relieve: %s: %s", step_names[rl->step], r->error);
	if (rl->step == U_THAW && r->ok) {
		rl->frozen = 0;
		if (rl->s->side[SIDE_STANDBY].chk)
			chk_now(rl->s->side[SIDE_STANDBY].chk);
	}
	if (rl->step == U_DELETE && r->ok && r->operation[0]) {
		snprintf(rl->dst_op, sizeof(rl->dst_op), "%s", r->operation);
		rl->step = U_WAIT;
		rl->req = lxd_op_wait(rl->dst, rl->dst_op, 60, undo_lxd_done, rl);
		if (rl->req)
			return;
	}
	if (rl->step == U_DELETE || rl->step == U_WAIT)
		rl->created = 0;
	if (rl->step == U_STOP)
		rl->dst_started = 0;
	undo_next(rl);
}

static void
undo_virt_done(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct relieve *rl = arg;

	if (!ok)
		events_add(name(rl), "alert", "relieve: powering %s off: %s",
		    rl->s->conf->relieve.vm, text);
	rl->vm_started = 0;
	undo_next(rl);
}

/* The next undo step, or the end. */
static void
undo_next(struct relieve *rl)
{
	char path[160];
	const struct relieve_conf *c = &rl->s->conf->relieve;

	if (rl->frozen && rl->step < U_THAW) {
		rl->step = U_THAW;
		rl->req = lxd_instance_action(rl->src, rl->src_name, "unfreeze", 0, 30,
		    undo_lxd_done, rl);
		if (rl->req)
			return;
	}
	if ((rl->created || rl->dst_started) && rl->step < U_STOP) {
		rl->step = U_STOP;
		rl->req = lxd_instance_action(rl->dst, c->to_container, "stop", 1, 30,
		    undo_lxd_done, rl);
		if (rl->req)
			return;
	}
	if (rl->created && rl->step < U_DELETE) {
		rl->step = U_DELETE;
		snprintf(path, sizeof(path), "/1.0/instances/%s", c->to_container);
		rl->req = lxd_call(rl->dst, "DELETE", path, NULL, 0, undo_lxd_done, rl);
		if (rl->req)
			return;
	}
	if (rl->vm_started && rl->step < U_DESTROY) {
		rl->step = U_DESTROY;
		if (virt_destroy(rl->virt, c->vm, undo_virt_done, rl) == 0)
			return;
	}
	events_add(name(rl), "relieve", "undone: the service stays %s; %s",
	    rl->s->dec.active == SIDE_STANDBY ? "on its container" : "on its primary",
	    rl->created ? "the copy on the target is left (see the alerts)" : rl->refresh ?
	    "the prepared copy on the target is kept, stopped" : "nothing is left behind");
	finish(rl, 0, rl->fail);
}

/* A step failed before the switch: say why, then undo. */
static void
fail(struct relieve *rl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rl->fail, sizeof(rl->fail), fmt, ap);
	va_end(ap);
	events_add(name(rl), "alert", "relieve (%s) not carried out: %s; undoing it",
	    rl->to == RELIEVE_MIGRATE ? "migrate" : "vm", rl->fail);
	svc_hold(rl->s, 0, "the relieve was called off");
	cleanup(rl);
	rl->step = R_IDLE;
	undo_next(rl);
}

/* ---- the probe of the new place ---- */

static void probe_ok_next(struct relieve *rl);

static void
probe_cb(struct chk *c, int ok, const char *reason, unsigned latency_us, void *arg)
{
	struct relieve *rl = arg;

	if (rl->next)
		return;		/* the step after is already on its way */
	if (now_us() > rl->deadline_us) {
		later(rl, probe_ok_next, 0);	/* it checks the deadline again */
		return;
	}
	rl->probe_ok = ok ? rl->probe_ok + 1 : 0;
	if (rl->probe_ok >= rl->s->conf->check.rise)
		later(rl, probe_ok_next, 0);
}

static void
probe_start(struct relieve *rl, const struct endpoint *ep)
{
	struct svc *s = rl->s;

	rl->probe_ok = 0;
	rl->deadline_us = now_us() + (uint64_t)s->conf->relieve.timeout_ms * 1000;
	rl->probe = chk_new(s->d->base, s->d->http, &s->conf->check, ep, probe_cb, rl);
	if (rl->probe == NULL) {
		fail(rl, "out of memory");
		return;
	}
	chk_start(rl->probe, 0);
	chk_fast(rl->probe, PROBE_MS);
}

/* ---- migrate ---- */

static void
m_switch(struct relieve *rl)
{
	struct svc *s = rl->s;
	const struct relieve_conf *c = &s->conf->relieve;
	struct moved m;
	char err[300];

	conf_moved_init(&m, s->conf, SIDE_STANDBY);
	m.to_ep = c->to_addr;
	snprintf(m.to_a, sizeof(m.to_a), "%s", c->to_lxd);
	snprintf(m.to_b, sizeof(m.to_b), "%s", c->to_container);
	if (svc_repoint(s, SIDE_STANDBY, &m, err, sizeof(err)) == -1) {
		fail(rl, "the switch to %s/%s: %s", c->to_lxd, c->to_container, err);
		return;
	}
	rl->created = rl->dst_started = 0;	/* the standby now: no undo touches it */
	rl->frozen = 0;
	rl->frozen_ms = rl->frozen_us ? since_ms(rl->frozen_us) : 0;
	events_add(name(rl), "relieve", "switched to %s/%s: %s %u ms, "
	    "frozen_ms=%u total_ms=%u; stopping and deleting %s/%s", c->to_lxd,
	    c->to_container, rl->live ? "synced live, final pass" : "copy", rl->copy_ms,
	    rl->frozen_ms, since_ms(rl->t0_us), lxd_name(rl->src), rl->src_name);
	m_remove_old(rl);
}

static void m_lxd_done(void *arg, const struct lxd_result *r);

/* A copy already there (prepared): refreshed with what changed, and kept on undo. */
static void
m_exists_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;
	char path[200];

	rl->req = NULL;
	rl->refresh = r->ok;
	if (r->ok && strcmp(r->status, "Stopped") != 0) {
		fail(rl, "%s/%s is there already and %s: a relieve refreshes a stopped copy "
		    "only", rl->s->conf->relieve.to_lxd, rl->s->conf->relieve.to_container,
		    r->status);
		return;
	}
	if (r->ok && rl->serving && !rl->prepare && rl->s->conf->relieve.to_ssh[0]) {
		/* Started first, synced live: frozen for the final pass only. */
		rl->live = 1;
		events_add(name(rl), "relieve", "a prepared copy is there: starting it and "
		    "syncing %s/%s into it over ssh %s while it serves", lxd_name(rl->src),
		    rl->src_name, rl->s->conf->relieve.to_ssh);
		m_file(rl);
		return;
	}
	rl->step = M_SOURCE;
	snprintf(path, sizeof(path), "/1.0/instances/%s", rl->src_name);
	rl->req = lxd_call(rl->src, "GET", path, NULL, 0, m_lxd_done, rl);
	if (rl->req == NULL)
		fail(rl, "cannot send the request for: %s", step_names[rl->step]);
}

static void
m_lxd_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;
	struct svc *s = rl->s;
	const struct relieve_conf *c = &s->conf->relieve;
	struct json_object *md = r->metadata, *v, *env, *secrets = NULL;
	char path[200];

	rl->req = NULL;
	if (!r->ok && rl->step != M_STOP_OLD && rl->step != M_DELETE_OLD &&
	    rl->step != M_WAIT_DELETE) {
		fail(rl, "%s: %s", step_names[rl->step], r->error);
		return;
	}
	switch (rl->step) {
	case M_CERT:
		if (!json_object_object_get_ex(md, "environment", &env) ||
		    !json_object_object_get_ex(env, "certificate", &v) ||
		    (rl->cert = strdup(json_object_get_string(v))) == NULL) {
			fail(rl, "%s gave no server certificate in GET /1.0 (is vcrd's "
			    "certificate trusted there?)", c->to_lxd);
			return;
		}
		rl->step = M_EXISTS;
		rl->req = lxd_instance_state(rl->dst, c->to_container, m_exists_done, rl);
		break;
	case M_SOURCE: {
		struct json_object *b = json_object_new_object(), *cfg = json_object_new_object();
		static const char *const keep[] = { "architecture", "profiles", "devices",
		    "ephemeral", NULL };
		json_object_object_add(b, "name", json_object_new_string(c->to_container));
		json_object_object_add(b, "type", json_object_new_string("container"));
		for (int i = 0; keep[i]; i++)
			if (json_object_object_get_ex(md, keep[i], &v))
				json_object_object_add(b, keep[i], json_object_get(v));
		/* volatile.* is the source host's (idmap, MAC): the target makes its own. */
		if (json_object_object_get_ex(md, "config", &v)) {
			json_object_object_foreach(v, key, val)
				if (strncmp(key, "volatile.", 9) != 0)
					json_object_object_add(cfg, key, json_object_get(val));
		}
		json_object_object_add(b, "config", cfg);
		rl->body = b;
		/*
		 * With LXD's dir storage LXD freezes a running container for
		 * the whole copy anyway, and thaws it after: frozen by vcrd
		 * first, it stays frozen, without writes, until the switch.
		 */
		if (rl->serving && !rl->prepare) {
			rl->step = M_FREEZE;
			rl->frozen = 1;
			rl->frozen_us = now_us();	/* it stops answering now */
			svc_hold(s, 1, "the container is frozen to be copied");
			rl->req = lxd_instance_action(rl->src, rl->src_name, "freeze", 0, 30,
			    m_lxd_done, rl);
			break;
		}
		m_target(rl);
		return;
	}
	case M_TARGET: {
		struct json_object *req = json_object_new_object(), *t = json_object_new_object();
		char url[400];
		rl->created = !rl->refresh;
		snprintf(rl->dst_op, sizeof(rl->dst_op), "%s", r->operation);
		if (!r->operation[0] || !json_object_object_get_ex(md, "metadata", &secrets)) {
			json_object_put(req);
			json_object_put(t);
			fail(rl, "%s answered the transfer without an operation's secrets",
			    c->to_lxd);
			return;
		}
		snprintf(url, sizeof(url), "%s%s", lxd_url(rl->dst), r->operation);
		json_object_object_add(t, "certificate", json_object_new_string(rl->cert));
		json_object_object_add(t, "operation", json_object_new_string(url));
		json_object_object_add(t, "secrets", json_object_get(secrets));
		json_object_object_add(req, "migration", json_object_new_boolean(1));
		json_object_object_add(req, "live", json_object_new_boolean(0));
		json_object_object_add(req, "instance_only", json_object_new_boolean(1));
		json_object_object_add(req, "target", t);
		rl->step = M_PUSH;
		snprintf(path, sizeof(path), "/1.0/instances/%s", rl->src_name);
		rl->req = lxd_call(rl->src, "POST", path, json_object_to_json_string(req), 0,
		    m_lxd_done, rl);
		json_object_put(req);
		break;
	}
	case M_PUSH:
		rl->step = M_WAIT_SRC;
		rl->req = lxd_op_wait(rl->src, r->operation, timeout_s(rl), m_lxd_done, rl);
		break;
	case M_WAIT_SRC:
		rl->step = M_WAIT_DST;
		rl->req = lxd_op_wait(rl->dst, rl->dst_op, timeout_s(rl), m_lxd_done, rl);
		break;
	case M_WAIT_DST:
		rl->copy_ms = since_ms(rl->t0_us);
		events_add(name(rl), "relieve", "%s %s/%s: took_ms=%u%s",
		    rl->refresh ? "changes since the prepared copy sent to" : "copied to",
		    c->to_lxd, c->to_container, rl->copy_ms, rl->serving && !rl->prepare ?
		    " (the container frozen)" : "");
		if (rl->prepare) {
			char text[300];
			rl->created = 0;	/* kept: that is the point */
			snprintf(text, sizeof(text), "prepared: %s/%s kept stopped on %s, a relieve "
			    "sends only what changes", c->to_lxd, c->to_container, c->to_lxd);
			events_add(name(rl), "relieve", "done: %s", text);
			finish(rl, 1, text);
			return;
		}
		m_file(rl);
		return;
	case M_FREEZE:
		m_target(rl);
		return;
	case M_FILE:
		m_start(rl);
		return;
	case M_START:
		rl->dst_started = 1;
		if (rl->live) {
			events_add(name(rl), "relieve", "started %s/%s (took_ms=%u)", c->to_lxd,
			    c->to_container, r->took_ms);
			live_sync(rl, c->to_ssh, 1);
			return;
		}
		events_add(name(rl), "relieve", "started %s/%s (took_ms=%u); probing %s",
		    c->to_lxd, c->to_container, r->took_ms, "its service");
		rl->step = M_PROBE;
		probe_start(rl, &c->to_addr);
		return;
	case M_STOP_OLD:
		if (!r->ok)
			events_add(name(rl), "alert", "relieve: stopping %s/%s: %s",
			    lxd_name(rl->src), rl->src_name, r->error);
		rl->step = M_DELETE_OLD;
		snprintf(path, sizeof(path), "/1.0/instances/%s", rl->src_name);
		rl->req = lxd_call(rl->src, "DELETE", path, NULL, 0, m_lxd_done, rl);
		break;
	case M_DELETE_OLD:
		if (r->ok && r->operation[0]) {
			rl->step = M_WAIT_DELETE;
			rl->req = lxd_op_wait(rl->src, r->operation, 60, m_lxd_done, rl);
			break;
		}
		/* FALLTHROUGH */
	case M_WAIT_DELETE: {
		char text[300];
		if (!r->ok)
			events_add(name(rl), "alert", "relieve: deleting %s/%s: %s (left in "
			    "place)", lxd_name(rl->src), rl->src_name, r->error);
		snprintf(text, sizeof(text), "%s/%s moved to %s/%s in %u ms (frozen %u ms)",
		    lxd_name(rl->src), rl->src_name, c->to_lxd, c->to_container,
		    since_ms(rl->t0_us), rl->frozen_ms);
		events_add(name(rl), "relieve", "done: %s", text);
		finish(rl, 1, text);
		return;
	}
	default:
		return;
	}
	if (rl->req == NULL)
		fail(rl, "cannot send the request for: %s", step_names[rl->step]);
}

/* The target's side of the transfer. */
static void
m_target(struct relieve *rl)
{
	struct json_object *src = json_object_new_object();

	json_object_object_add(src, "type", json_object_new_string("migration"));
	json_object_object_add(src, "mode", json_object_new_string("push"));
	json_object_object_add(src, "live", json_object_new_boolean(0));
	json_object_object_add(src, "instance_only", json_object_new_boolean(1));
	json_object_object_add(src, "refresh", json_object_new_boolean(rl->refresh));
	json_object_object_add(rl->body, "source", src);
	rl->step = M_TARGET;
	rl->req = lxd_call(rl->dst, "POST", "/1.0/instances",
	    json_object_to_json_string(rl->body), 0, m_lxd_done, rl);
	if (rl->req == NULL)
		fail(rl, "cannot send the request for: %s", step_names[rl->step]);
}

/* After the copy: set-file, when there is one. */
static void
m_file(struct relieve *rl)
{
	const struct relieve_conf *c = &rl->s->conf->relieve;

	if (!c->file_path[0]) {
		m_start(rl);
		return;
	}
	rl->step = M_FILE;
	rl->req = lxd_file_put(rl->dst, c->to_container, c->file_path, c->file_content,
	    m_lxd_done, rl);
	if (rl->req == NULL)
		fail(rl, "cannot send the request for: %s", step_names[rl->step]);
}

/* Then the start (a cold standby that does not serve stays stopped). */
static void
m_start(struct relieve *rl)
{
	const struct relieve_conf *c = &rl->s->conf->relieve;

	if (!rl->serving && rl->s->conf->rec.cold) {
		m_switch(rl);
		return;
	}
	rl->step = M_START;
	rl->req = lxd_instance_start(rl->dst, c->to_container,
	    (rl->s->conf->rec.start_timeout_ms + 999) / 1000, m_lxd_done, rl);
	if (rl->req == NULL)
		fail(rl, "cannot send the request for: %s", step_names[rl->step]);
}

/* After the switch: the old instance stopped, then deleted. */
static void
m_remove_old(struct relieve *rl)
{
	rl->step = M_STOP_OLD;
	rl->req = lxd_instance_action(rl->src, rl->src_name, "stop", 1, 30, m_lxd_done, rl);
	if (rl->req == NULL) {
		events_add(name(rl), "alert", "relieve: cannot ask %s to stop %s",
		    lxd_name(rl->src), rl->src_name);
		finish(rl, 1, "moved; the old instance left in place");
	}
}

/* ---- vm ---- */

static void
v_switch(struct relieve *rl)
{
	struct svc *s = rl->s;
	const struct relieve_conf *c = &s->conf->relieve;
	struct moved m;
	char err[300];

	conf_moved_init(&m, s->conf, SIDE_PRIMARY);
	m.to_ep = c->vm_addr;
	snprintf(m.to_a, sizeof(m.to_a), "%s", c->vm_conn);
	snprintf(m.to_b, sizeof(m.to_b), "%s", c->vm);
	snprintf(m.to_src, sizeof(m.to_src), "%s", c->vm_ssh);
	if (svc_repoint(s, SIDE_PRIMARY, &m, err, sizeof(err)) == -1) {
		fail(rl, "making %s the primary: %s", c->vm, err);
		return;
	}
	rl->vm_started = 0;	/* the primary now: no undo powers it off */
	/* It answered the probes just now: up, as rise checks in a row say. */
	s->side[SIDE_PRIMARY].ctr.h = H_UP;
	s->side[SIDE_PRIMARY].ctr.ok_run = s->conf->check.rise;
	snprintf(s->side[SIDE_PRIMARY].last_reason, sizeof(s->side[SIDE_PRIMARY].last_reason),
	    "answered the relieve's probes");
	if (vcrd_command(s->d, s, CMD_FAILBACK, err, sizeof(err)) == -1 ||
	    s->dec.active != SIDE_PRIMARY) {
		/* The primary is replaced, the traffic not moved: the container thawed. */
		fail(rl, "the switch to %s was refused (%s); it is the primary now, the "
		    "service stays on its container", c->vm, err);
		return;
	}
	rl->frozen_ms = since_ms(rl->frozen_us);
	events_add(name(rl), "relieve", "switched to %s (%s): frozen_ms=%u total_ms=%u; "
	    "stopping %s/%s", c->vm, c->vm_ssh, rl->frozen_ms, since_ms(rl->t0_us),
	    s->conf->rec.lxd, s->conf->rec.container);
	svc_mark_down(s, SIDE_STANDBY, "stopped after the promotion to a VM, started again "
	    "as the standby");
	rl->step = V_STOP;
	rl->req = lxd_instance_action(s->rec.lxd, s->conf->rec.container, "stop", 1, 30,
	    v_lxd_done, rl);
	if (rl->req == NULL) {
		rl->frozen = 0;
		finish(rl, 1, "promoted; the container could not be asked to stop");
	}
}

static void
v_lxd_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;
	struct svc *s = rl->s;
	char err[300], text[300];

	rl->req = NULL;
	if (rl->step == V_FREEZE) {
		if (!r->ok) {
			/* Still frozen for the undo: LXD's freeze may be under way still. */
			fail(rl, "freezing %s/%s: %s", lxd_name(rl->src), rl->src_name, r->error);
			return;
		}
		rl->step = V_PASS2;
		if (sync_start_again(rl->sync, err, sizeof(err)) == -1)
			fail(rl, "final pass: %s", err);
		return;
	}
	if (rl->step == V_STOP) {
		rl->frozen = 0;
		if (!r->ok)
			events_add(name(rl), "alert", "relieve: stopping %s/%s: %s",
			    s->conf->rec.lxd, s->conf->rec.container, r->error);
		snprintf(text, sizeof(text), "promoted to VM %s in %u ms (frozen %u ms); "
		    "%s/%s is its standby", s->conf->relieve.vm, since_ms(rl->t0_us),
		    rl->frozen_ms, s->conf->rec.lxd,
		    s->conf->rec.container);
		events_add(name(rl), "relieve", "done: %s", text);
		finish(rl, 1, text);
	}
}

static void
v_sync_done(void *arg, int ok, const struct sync_stats *st)
{
	struct relieve *rl = arg;
	const struct relieve_conf *c = &rl->s->conf->relieve;

	if (rl->step == V_PASS1) {
		unsigned retry = rl->to == RELIEVE_VM ? RETRY_MS : RETRY_CT_MS;
		if (!ok) {
			if (now_us() > rl->deadline_us) {
				fail(rl, "syncing into %s: %s (tried for %u s)", rl->place, st->error,
				    timeout_s(rl));
				return;
			}
			if (rl->tries++ == 0)
				events_add(name(rl), "relieve", "%s is not reachable yet (%s): "
				    "trying again every %u ms", rl->place, st->error, retry);
			later(rl, v_pass1, retry);
			return;
		}
		events_add(name(rl), "relieve", "synced into %s (live): files_changed=%u "
		    "deleted=%u%s%s%s bytes=%" PRIu64 " took_ms=%u rules=%u%s%s%s; freezing %s/%s",
		    rl->place, st->files_changed, st->deleted, st->deleted ? " (" : "",
		    st->deleted_paths, st->deleted > 5 ? " ...)" : st->deleted ? ")" : "",
		    st->bytes, st->last_ms, st->rules,
		    st->restarted[0] ? " restarted: " : "", st->restarted, st->partial ?
		    " (some files changed while copied: the final pass walks the whole tree)" :
		    "", lxd_name(rl->src), rl->src_name);
		rl->step = V_FREEZE;
		rl->frozen = 1;
		rl->frozen_us = now_us();	/* it stops answering now */
		svc_hold(rl->s, 1, "the container is frozen for the final pass");
		rl->req = lxd_instance_action(rl->src, rl->src_name, "freeze", 0, 30, v_lxd_done,
		    rl);
		if (rl->req == NULL)
			fail(rl, "cannot ask LXD to freeze the container");
		return;
	}
	if (rl->step != V_PASS2)
		return;
	if (!ok) {
		fail(rl, "final pass into %s: %s", rl->place, st->error);
		return;
	}
	rl->copy_ms = st->last_ms;
	events_add(name(rl), "relieve", "final pass into %s (container frozen): "
	    "listed=%u files_changed=%u deleted=%u%s%s%s took_ms=%u%s%s; probing %s", rl->place,
	    st->listed, st->files_changed, st->deleted, st->deleted ? " (" : "",
	    st->deleted_paths, st->deleted > 5 ? " ...)" : st->deleted ? ")" : "", st->last_ms,
	    st->restarted[0] ? " restarted: " : "", st->restarted, rl->place);
	rl->step = rl->to == RELIEVE_VM ? V_PROBE : M_PROBE;
	probe_start(rl, rl->to == RELIEVE_VM ? &c->vm_addr : &c->to_addr);
}

static void
v_pass1(struct relieve *rl)
{
	char err[300];

	rl->step = V_PASS1;
	if (sync_start(rl->sync, err, sizeof(err)) == -1)
		fail(rl, "syncing into %s: %s", rl->place, err);
}

static void
v_created(void *arg, int ok, const char *text, unsigned took_ms)
{
	struct relieve *rl = arg;
	struct svc *s = rl->s;
	const struct relieve_conf *c = &s->conf->relieve;

	if (rl->step != V_CREATE)
		return;
	if (!ok) {
		fail(rl, "starting VM %s: %s", c->vm, text);
		return;
	}
	rl->vm_started = strcmp(text, "already running") != 0;
	events_add(name(rl), "relieve", "VM %s %s (took_ms=%u); syncing %s/%s into it over "
	    "ssh %s", c->vm, text, took_ms, lxd_name(rl->src), rl->src_name, c->vm_ssh);
	live_sync(rl, c->vm_ssh, 0);
}

/*
 * The container's files into the new place over ssh (sync.c backwards,
 * no conflict check: the container wins); into a copy of the container,
 * what it does not have is deleted there too.
 */
static void
live_sync(struct relieve *rl, const char *ssh, int copy)
{
	struct svc *s = rl->s;
	struct sync_conf yc = s->conf->sync;
	char dir[300];

	snprintf(yc.source, sizeof(yc.source), "%s", ssh);
	yc.interval_ms = 0;
	mkdir("/run/vcrecovery", 0711);
	mkdir(RUNDIR, 0711);
	snprintf(dir, sizeof(dir), RUNDIR "/%s", s->conf->name);
	rl->sync = sync_new(s->d->base, rl->src, rl->src_name, 0, 1, &yc, dir, v_sync_done, rl);
	if (rl->sync == NULL) {
		fail(rl, "out of memory");
		return;
	}
	sync_set_since(rl->sync, SYNC_SINCE_NONE);
	sync_set_place(rl->sync, copy);
	rl->tries = 0;
	rl->deadline_us = now_us() + (uint64_t)s->conf->relieve.timeout_ms * 1000;
	v_pass1(rl);
}

/* The probe's verdict, off its callback. */
static void
probe_ok_next(struct relieve *rl)
{
	const struct relieve_conf *c = &rl->s->conf->relieve;
	int ok = rl->probe_ok >= rl->s->conf->check.rise;

	chk_free(rl->probe);
	rl->probe = NULL;
	if (!ok) {
		fail(rl, "%s did not answer its checks within %u s", rl->step == M_PROBE ?
		    c->to_container : c->vm, timeout_s(rl));
		return;
	}
	if (rl->step == M_PROBE)
		m_switch(rl);
	else
		v_switch(rl);
}

/* ---- starting one ---- */

int
relieve_running(const struct svc *s)
{
	return s->rl && s->rl->step != R_IDLE;
}

int
relieve_frozen(const struct svc *s)
{
	return s->rl && s->rl->frozen;
}

int
relieve_start(struct svc *s, const char *to, int prepare, const char *why, char *err,
    size_t errlen)
{
	const struct relieve_conf *c = &s->conf->relieve;
	struct relieve *rl = s->rl;
	struct svc *o;
	char path[64];

	if (!c->enabled || rl == NULL) {
		snprintf(err, errlen, "the service has no relieve block");
		return -1;
	}
	if (relieve_running(s)) {
		snprintf(err, errlen, "a relieve is already running (%s)", step_names[rl->step]);
		return -1;
	}
	if (strcmp(to, "vm") == 0) {
		if (!c->vm[0]) {
			snprintf(err, errlen, "the relieve block has no promote-to");
			return -1;
		}
		rl->to = RELIEVE_VM;
	} else if (c->to_lxd[0] && strcmp(to, c->to_lxd) == 0)
		rl->to = RELIEVE_MIGRATE;
	else {
		snprintf(err, errlen, "--to %s: the relieve block names %s%s%s", to,
		    c->to_lxd[0] ? c->to_lxd : "", c->to_lxd[0] && c->vm[0] ? " and " : "",
		    c->vm[0] ? "vm" : "");
		return -1;
	}
	if (s->rec.lxd == NULL) {
		snprintf(err, errlen, "the standby's LXD server is not known");
		return -1;
	}
	if (s->rec.fb != 0) {
		snprintf(err, errlen, "a failback is running");
		return -1;
	}
	if (s->rec.sync && sync_running(s->rec.sync)) {
		snprintf(err, errlen, "a sync into the standby is running; try again when it "
		    "ends");
		return -1;
	}
	if (s->dec.state == ST_FENCING || s->dec.state == ST_STARTING) {
		snprintf(err, errlen, "a recovery is running");
		return -1;
	}
	if (s->rec.degraded) {
		snprintf(err, errlen, "the standby container is not usable: %s", s->rec.container);
		return -1;
	}
	rl->serving = s->dec.active == SIDE_STANDBY;
	if (prepare && (rl->to != RELIEVE_MIGRATE || rl->serving)) {
		snprintf(err, errlen, "--prepare copies a container that does not serve to the "
		    "migrate-to server ahead; %s", rl->to != RELIEVE_MIGRATE ? "--to vm has no "
		    "copy to prepare" : "this one serves: a relieve moves it");
		return -1;
	}
	rl->prepare = prepare;
	if (rl->to == RELIEVE_VM && !rl->serving) {
		snprintf(err, errlen, "the service runs on its primary: promote-to replaces a "
		    "container that serves");
		return -1;
	}
	rl->src = s->rec.lxd;
	TAILQ_FOREACH(o, &s->d->services, entry)
		if (o != s && relieve_running(o) && o->rl->src == rl->src) {
			snprintf(err, errlen, "service '%s' is being relieved from the same LXD "
			    "server; one at a time", o->conf->name);
			return -1;
		}
	if (rl->to == RELIEVE_MIGRATE) {
		if ((rl->dst = rec_find_lxd(s->d, c->to_lxd)) == NULL) {
			snprintf(err, errlen, "lxd %s is not known", c->to_lxd);
			return -1;
		}
		if (strncmp(lxd_url(rl->dst), "https://", 8) != 0) {
			snprintf(err, errlen, "lxd %s is reached at %s: the source pushes the "
			    "container to it, so it needs an https:// URL", c->to_lxd,
			    lxd_url(rl->dst));
			return -1;
		}
	} else if ((rl->virt = rec_find_virt(s->d, c->vm_conn)) == NULL) {
		snprintf(err, errlen, "libvirt %s is not known", c->vm_conn);
		return -1;
	}
	snprintf(rl->src_name, sizeof(rl->src_name), "%s", s->conf->rec.container);
	rl->t0_us = now_us();
	rl->frozen_us = 0;
	rl->frozen_ms = 0;
	rl->copy_ms = 0;
	rl->frozen = rl->created = rl->vm_started = rl->refresh = rl->dst_started = 0;
	rl->live = 0;
	if (rl->to == RELIEVE_MIGRATE)
		snprintf(rl->place, sizeof(rl->place), "%s/%s", c->to_lxd, c->to_container);
	else
		snprintf(rl->place, sizeof(rl->place), "VM %s", c->vm);
	rl->automatic = 0;
	rl->fail[0] = '\0';
	if (rl->to == RELIEVE_MIGRATE) {
		events_add(s->conf->name, "relieve", "%s: %s %s/%s to %s/%s (%s), the "
		    "service %s", why, prepare ? "preparing a copy of" : "moving", lxd_name(rl->src), rl->src_name,
		    c->to_lxd, c->to_container, fmt_endpoint(&c->to_addr, path, sizeof(path)),
		    !rl->serving ? "on its primary" : c->to_ssh[0] ? "serving from it: frozen for "
		    "the final pass when a prepared copy is there, else from the copy to the switch" :
		    "serving from it: frozen from the copy to the switch");
		rl->step = M_CERT;
		rl->req = lxd_call(rl->dst, "GET", "/1.0", NULL, 0, m_lxd_done, rl);
		if (rl->req == NULL) {
			rl->step = R_IDLE;
			snprintf(err, errlen, "cannot send the request to %s", c->to_lxd);
			return -1;
		}
	} else {
		events_add(s->conf->name, "relieve", "%s: promoting the service to VM %s/%s (%s)",
		    why, c->vm_conn, c->vm, fmt_endpoint(&c->vm_addr, path, sizeof(path)));
		rl->step = V_CREATE;
		if (virt_create(rl->virt, c->vm, v_created, rl) == -1) {
			rl->step = R_IDLE;
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* ---- the load watch ---- */

/*
 * The freshest reading of the LXD server's memory among the services on
 * it (NULL: none younger than 3 x HOST_MS); *due: none younger than
 * HOST_MS and none asked for.
 */
static const struct relieve *
host_reading(const struct svc *s, int *due)
{
	const struct relieve *best = NULL;
	const struct svc *o;
	uint64_t ms = now_ms();

	*due = 1;
	TAILQ_FOREACH(o, &s->d->services, entry) {
		const struct relieve *r = o->rl;
		if (r == NULL || o->rec.lxd != s->rec.lxd)
			continue;
		if (r->host_req)
			*due = 0;
		if (r->host_at_ms && (best == NULL || r->host_at_ms > best->host_at_ms))
			best = r;
	}
	if (best && ms - best->host_at_ms < HOST_MS)
		*due = 0;
	return best && ms - best->host_at_ms < 3 * HOST_MS ? best : NULL;
}

static void
host_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;
	struct json_object *m, *v;

	rl->host_req = NULL;
	if (!r->ok || r->metadata == NULL ||
	    !json_object_object_get_ex(r->metadata, "memory", &m))
		return;
	if (json_object_object_get_ex(m, "used", &v))
		rl->host_used = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(m, "total", &v))
		rl->host_total = (uint64_t)json_object_get_int64(v);
	if (rl->host_total > 0)
		rl->host_at_ms = now_ms();
}

/* The LXD server's memory in use, percent; -1 without a reading. */
static int
host_mem_pct(const struct svc *s)
{
	int due;
	const struct relieve *h = host_reading(s, &due);

	return h ? (int)(h->host_used * 100 / h->host_total) : -1;
}

static void
load_done(void *arg, const struct lxd_result *r)
{
	struct relieve *rl = arg;
	struct svc *s = rl->s, *o;
	const struct relieve_conf *c = &s->conf->relieve;
	struct json_object *v, *w;
	uint64_t ns = 0, t = now_us(), ms = now_ms();
	int over, hp;
	char err[300], why[200], host[64] = "";

	rl->load_req = NULL;
	if (!r->ok || r->metadata == NULL)
		return;
	if (json_object_object_get_ex(r->metadata, "cpu", &v) &&
	    json_object_object_get_ex(v, "usage", &w))
		ns = (uint64_t)json_object_get_int64(w);
	if (json_object_object_get_ex(r->metadata, "memory", &v) &&
	    json_object_object_get_ex(v, "usage", &w))
		rl->mem = (uint64_t)json_object_get_int64(w);
	if (rl->cpu_us && ns >= rl->cpu_ns && t > rl->cpu_us) {
		rl->cpu_pct = (unsigned)((ns - rl->cpu_ns) / 10 / (t - rl->cpu_us));
		rl->have_load = 1;
	}
	rl->cpu_ns = ns;
	rl->cpu_us = t;
	if (!rl->have_load)
		return;
	hp = host_mem_pct(s);
	if (c->host_mem_pct && hp >= 0)
		snprintf(host, sizeof(host), " host memory %d%% (limit %u%%)", hp, c->host_mem_pct);
	rl->host_over = c->host_mem_pct && hp >= (int)c->host_mem_pct;
	over = (c->cpu_pct && rl->cpu_pct >= c->cpu_pct) || (c->memory && rl->mem >= c->memory) ||
	    rl->host_over;
	if (!over) {
		if (rl->over_since_ms)
			events_add(s->conf->name, "relieve", "load back under the threshold: "
			    "cpu %u%% memory %" PRIu64 " MiB%s", rl->cpu_pct, rl->mem >> 20, host);
		rl->over_since_ms = 0;
		return;
	}
	if (rl->over_since_ms == 0) {
		rl->over_since_ms = ms;
		events_add(s->conf->name, "relieve", "load over the threshold: cpu %u%% (limit "
		    "%u%%) memory %" PRIu64 " MiB (limit %" PRIu64 " MiB)%s; relieving by %s if "
		    "it lasts %u ms", rl->cpu_pct, c->cpu_pct, rl->mem >> 20, c->memory >> 20,
		    host, c->strategy == RELIEVE_MIGRATE ? "migrate" : "vm", c->for_ms);
	}
	if (ms - rl->over_since_ms < c->for_ms || relieve_running(s) || ms < rl->quiet_until_ms)
		return;
	/*
	 * The busiest container over its threshold on this LXD server goes
	 * first: by memory when the server's memory is over, else by CPU.
	 */
	TAILQ_FOREACH(o, &s->d->services, entry) {
		if (o == s || o->rl == NULL || o->rec.lxd != s->rec.lxd)
			continue;
		if (relieve_running(o) && o->rl->src == s->rec.lxd)
			return;		/* one at a time per server: next reading */
		if (o->rl->over_since_ms && (rl->host_over ? o->rl->mem > rl->mem :
		    o->rl->cpu_pct > rl->cpu_pct))
			return;
	}
	snprintf(why, sizeof(why), "load: cpu %u%% memory %" PRIu64 " MiB%s for %" PRIu64
	    " ms", rl->cpu_pct, rl->mem >> 20, host, ms - rl->over_since_ms);
	if (relieve_start(s, c->strategy == RELIEVE_MIGRATE ? c->to_lxd : "vm", 0, why, err,
	    sizeof(err)) == 0) {
		rl->automatic = 1;
		rl->over_since_ms = 0;
	} else {
		events_add(s->conf->name, "alert", "relieve (%s) not started: %s; the load watch "
		    "tries again in %u s", why, err, QUIET_MS / 1000);
		rl->quiet_until_ms = ms + QUIET_MS;
	}
}

static void
load_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relieve *rl = arg;
	struct svc *s = rl->s;
	struct timeval tv = { LOAD_MS / 1000, (LOAD_MS % 1000) * 1000 };
	char path[128];

	evtimer_add(rl->load_timer, &tv);
	/* Only a container that serves loads its host. */
	if (s->dec.active != SIDE_STANDBY || s->rec.lxd == NULL || rl->load_req ||
	    relieve_running(s)) {
		rl->cpu_us = 0;
		rl->have_load = 0;
		rl->over_since_ms = 0;
		return;
	}
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", s->conf->rec.container);
	rl->load_req = lxd_get(s->rec.lxd, path, load_done, rl);
	if (s->conf->relieve.host_mem_pct) {
		int due;
		host_reading(s, &due);
		if (due)
			rl->host_req = lxd_get(s->rec.lxd, "/1.0/resources", host_done, rl);
	}
}

/* ---- wiring ---- */

void
relieve_attach(struct svc *s)
{
	const struct relieve_conf *c = &s->conf->relieve;
	struct relieve *rl = s->rl;

	if (!c->enabled) {
		relieve_detach(s);
		return;
	}
	if (rl == NULL) {
		if ((rl = calloc(1, sizeof(*rl))) == NULL)
			return;
		rl->s = s;
		rl->timer = evtimer_new(s->d->base, timer_cb, rl);
		rl->load_timer = evtimer_new(s->d->base, load_cb, rl);
		s->rl = rl;
	}
	if (rl->load_req) {
		lxd_cancel(rl->load_req);	/* its lxd may be gone after a reload */
		rl->load_req = NULL;
	}
	lxd_cancel(rl->host_req);
	rl->host_req = NULL;
	rl->host_at_ms = 0;
	rl->cpu_us = 0;
	rl->have_load = 0;
	evtimer_del(rl->load_timer);
	if (c->cpu_pct || c->memory || c->host_mem_pct) {
		struct timeval tv = { LOAD_MS / 1000, (LOAD_MS % 1000) * 1000 };
		evtimer_add(rl->load_timer, &tv);
	}
}

void
relieve_quiesce(struct svc *s)
{
	if (s->rl && s->rl->load_req) {
		lxd_cancel(s->rl->load_req);
		s->rl->load_req = NULL;
	}
	if (s->rl && s->rl->host_req) {
		lxd_cancel(s->rl->host_req);
		s->rl->host_req = NULL;
	}
}

void
relieve_detach(struct svc *s)
{
	struct relieve *rl = s->rl;

	if (rl == NULL)
		return;
	if (relieve_running(s))
		events_add(s->conf->name, "alert", "relieve abandoned at '%s'%s",
		    step_names[rl->step], rl->frozen ? "; the container is left frozen and "
		    "is unfrozen when next looked at" : "");
	cleanup(rl);
	lxd_cancel(rl->load_req);
	lxd_cancel(rl->host_req);
	event_free(rl->timer);
	event_free(rl->load_timer);
	free(rl);
	s->rl = NULL;
}

struct json_object *
relieve_json(const struct svc *s)
{
	const struct relieve *rl = s->rl;
	const struct relieve_conf *c = &s->conf->relieve;
	struct json_object *o;
	char t[32];

	if (rl == NULL || !c->enabled)
		return NULL;
	o = json_object_new_object();
	if (c->to_lxd[0])
		json_object_object_add(o, "migrate_to", json_object_new_string(c->to_lxd));
	if (c->vm[0]) {
		json_object_object_add(o, "promote_to", json_object_new_string(c->vm));
		json_object_object_add(o, "promote_addr", json_object_new_string(
		    fmt_endpoint(&c->vm_addr, t, sizeof(t))));
	}
	json_object_object_add(o, "strategy", json_object_new_string(
	    c->strategy == RELIEVE_MIGRATE ? "migrate" : "vm"));
	json_object_object_add(o, "running", relieve_running(s) ?
	    json_object_new_string(step_names[rl->step]) : NULL);
	json_object_object_add(o, "last", json_object_new_string(rl->last));
	if (c->host_mem_pct) {
		int hp = host_mem_pct(s);
		json_object_object_add(o, "host_memory_pct", hp >= 0 ? json_object_new_int(hp) :
		    NULL);
	}
	if (c->cpu_pct || c->memory || c->host_mem_pct) {
		json_object_object_add(o, "cpu_pct", rl->have_load ?
		    json_object_new_int((int)rl->cpu_pct) : NULL);
		json_object_object_add(o, "memory_bytes", rl->have_load ?
		    json_object_new_int64((int64_t)rl->mem) : NULL);
		json_object_object_add(o, "over_ms", json_object_new_int64(rl->over_since_ms ?
		    (int64_t)(now_ms() - rl->over_since_ms) : 0));
	}
	return o;
}

int
relieve_stats(const struct svc *s, struct relieve_stats *st)
{
	const struct relieve *rl = s->rl;

	if (rl == NULL || !s->conf->relieve.enabled)
		return -1;
	st->running = relieve_running(s);
	st->done = rl->done;
	st->failed = rl->failed;
	st->have_load = rl->have_load;
	st->cpu_pct = rl->cpu_pct;
	st->memory = rl->mem;
	st->host_mem_pct = s->conf->relieve.host_mem_pct ? host_mem_pct(s) : -1;
	return 0;
}
