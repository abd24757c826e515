/*
 * virt.c: libvirt on threads, results on vcrd's loop.
 *
 *   event thread     virEventRunDefaultImpl(): lifecycle events, keepalive,
 *                    the close callback. Runs for the life of the process.
 *   worker thread    one per connection: opens it (with backoff), makes
 *                    the blocking calls (pause, destroy, state) one at a
 *                    time.
 *   vcrd's loop      reads finished jobs and events from a pipe and calls
 *                    the callbacks. Only it touches callbacks and owners.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "vcr.h"
#include "virt.h"

#define RETRY_MIN_S	1
#define RETRY_MAX_S	30

enum job_kind {
	JOB_DESTROY = 0,
	JOB_PAUSE,
	JOB_STATE,
	JOB_CREATE,
	MSG_EVENT,	/* from the event thread: a lifecycle event */
	MSG_STATUS,	/* connection state changed: status only */
};

struct job {
	enum job_kind	 kind;
	char		 domain[64];
	virt_done_cb	 cb;		/* NULL once forgotten */
	void		*arg;
	int		 ok;
	char		 text[512];
	uint64_t	 t0_ms;
	unsigned	 took_ms;
	struct virt_event ev;
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(job_list, job);

struct virt {
	struct virt_conf conf;
	virt_event_cb	 ev_cb;
	void		*ev_arg;
	struct event	*notify_ev;
	int		 notify[2];	/* worker/event thread -> loop */
	pthread_t	 worker;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	/* under mu */
	struct job_list	 todo;		/* for the worker */
	struct job_list	 running;	/* the one the worker is on */
	struct job_list	 done;		/* for the loop */
	virConnectPtr	 conn;
	int		 lost;		/* the close callback fired */
	int		 stop;
	int		 lifecycle_id;
	char		 last_error[200];
	uint64_t	 down_since_ms;	/* wall clock; 0 when connected */
	unsigned	 retry_s;
	time_t		 next_try;
};

static pthread_once_t event_once = PTHREAD_ONCE_INIT;
static int event_ok;

static void *
event_thread(void *arg)
{
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100000);
	return NULL;
}

static void
event_start(void)
{
	pthread_t t;

	if (virEventRegisterDefaultImpl() < 0)
		return;
	if (pthread_create(&t, NULL, event_thread, NULL) != 0)
		return;
	pthread_detach(t);
	event_ok = 1;
}

/* libvirt's default error handler prints to stderr: we say it ourselves. */
static void
quiet_errors(void *arg, virErrorPtr e)
{
}

int
virt_init(char *err, size_t errlen)
{
	virSetErrorFunc(NULL, quiet_errors);
	pthread_once(&event_once, event_start);
	if (!event_ok) {
		snprintf(err, errlen, "libvirt event loop: cannot start");
		return -1;
	}
	return 0;
}

static void
last_error(char *buf, size_t len)
{
	virErrorPtr e = virGetLastError();

	snprintf(buf, len, "%s", e && e->message ? e->message : "unknown libvirt error");
}

/* Hands a finished job to the loop. Called with mu held. */
static void
post(struct virt *v, struct job *j)
{
	char c = 0;

	TAILQ_INSERT_TAIL(&v->done, j, entry);
	/* A full pipe already wakes the loop. */
	(void)!write(v->notify[1], &c, 1);
}

static void
post_status(struct virt *v)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->kind = MSG_STATUS;
	post(v, j);
}

/* ---- event thread ---- */

static const char *
lifecycle_text(int event, int detail, char *buf, size_t len, int *down, int *up)
{
	static const char *const ev[] = { "defined", "undefined", "started", "suspended",
	    "resumed", "stopped", "shutdown", "pmsuspended", "crashed" };
	static const char *const stopped[] = { "shutdown", "destroyed", "crashed",
	    "migrated", "saved", "failed", "from snapshot" };
	const char *e = event >= 0 && event < (int)(sizeof(ev) / sizeof(ev[0])) ?
	    ev[event] : "unknown";

	*down = event == VIR_DOMAIN_EVENT_STOPPED || event == VIR_DOMAIN_EVENT_CRASHED;
	*up = event == VIR_DOMAIN_EVENT_STARTED || event == VIR_DOMAIN_EVENT_RESUMED;
	if (event == VIR_DOMAIN_EVENT_STOPPED && detail >= 0 &&
	    detail < (int)(sizeof(stopped) / sizeof(stopped[0])))
		snprintf(buf, len, "%s (%s)", e, stopped[detail]);
	else
		snprintf(buf, len, "%s (detail %d)", e, detail);
	return buf;
}

static int
lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct virt *v = opaque;
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return 0;
	j->kind = MSG_EVENT;
	snprintf(j->ev.domain, sizeof(j->ev.domain), "%s", virDomainGetName(dom));
	lifecycle_text(event, detail, j->ev.what, sizeof(j->ev.what), &j->ev.down, &j->ev.up);
	pthread_mutex_lock(&v->mu);
	post(v, j);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

static void
close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct virt *v = opaque;

	pthread_mutex_lock(&v->mu);
	v->lost = 1;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
}

/* ---- worker thread ---- */

/* Called with mu held; drops it around the blocking calls. */
static void
connect_now(struct virt *v)
{
	virConnectPtr c;
	char err[200] = "";
	int id = -1;

	pthread_mutex_unlock(&v->mu);
	if ((c = virConnectOpen(v->conf.uri)) == NULL)
		last_error(err, sizeof(err));
	else {
		virConnectSetKeepAlive(c, 2, 3);
		virConnectRegisterCloseCallback(c, close_cb, v, NULL);
		id = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), v, NULL);
	}
	pthread_mutex_lock(&v->mu);
	if (c == NULL) {
		snprintf(v->last_error, sizeof(v->last_error), "%s", err);
		if (v->down_since_ms == 0)
			v->down_since_ms = wall_ms();
		v->retry_s = v->retry_s ? v->retry_s * 2 : RETRY_MIN_S;
		if (v->retry_s > RETRY_MAX_S)
			v->retry_s = RETRY_MAX_S;
		v->next_try = time(NULL) + v->retry_s;
		post_status(v);
		return;
	}
	v->conn = c;
	v->lifecycle_id = id;
	v->lost = 0;
	v->down_since_ms = 0;
	v->retry_s = 0;
	v->last_error[0] = '\0';
	post_status(v);
}

static void
drop_conn(struct virt *v)
{
	virConnectPtr c = v->conn;
	int id = v->lifecycle_id;

	v->conn = NULL;
	v->lost = 0;
	v->down_since_ms = wall_ms();
	snprintf(v->last_error, sizeof(v->last_error), "connection to libvirt lost");
	v->retry_s = RETRY_MIN_S;
	v->next_try = time(NULL) + v->retry_s;
	post_status(v);
	pthread_mutex_unlock(&v->mu);
	if (id >= 0)
		virConnectDomainEventDeregisterAny(c, id);
	virConnectUnregisterCloseCallback(c, close_cb);
	virConnectClose(c);
	pthread_mutex_lock(&v->mu);
}

static void
run_job(struct virt *v, struct job *j)
{
	virConnectPtr c = v->conn;
	virDomainPtr dom;
	int state = 0, reason = 0;

	pthread_mutex_unlock(&v->mu);
	if ((dom = virDomainLookupByName(c, j->domain)) == NULL) {
		char e[400];
		last_error(e, sizeof(e));
		snprintf(j->text, sizeof(j->text), "domain %s: %s", j->domain, e);
		goto out;
	}
	if (j->kind == JOB_PAUSE) {
		/* Already paused: the call is a no-op that succeeds. */
		if (virDomainSuspend(dom) == 0) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "paused");
		} else
			j->kind = JOB_DESTROY;	/* shut off or crashed: the destroy says which */
	}
	if (j->kind == JOB_DESTROY) {
		if (virDomainDestroy(dom) == 0) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "destroyed");
		} else if (virDomainGetState(dom, &state, &reason, 0) == 0 &&
		    state == VIR_DOMAIN_SHUTOFF) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "already shut off");
		} else
			last_error(j->text, sizeof(j->text));
	} else if (j->kind == JOB_CREATE) {
		if (virDomainCreate(dom) == 0) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "started");
		} else if (virDomainGetState(dom, &state, &reason, 0) == 0 &&
		    state == VIR_DOMAIN_RUNNING) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "already running");
		} else
			last_error(j->text, sizeof(j->text));
	} else if (j->kind == JOB_STATE) {
		static const char *const names[] = { "no state", "running", "blocked",
		    "paused", "shutting down", "shut off", "crashed", "pmsuspended" };
		if (virDomainGetState(dom, &state, &reason, 0) == 0) {
			j->ok = 1;
			snprintf(j->text, sizeof(j->text), "%s", state >= 0 &&
			    state < (int)(sizeof(names) / sizeof(names[0])) ? names[state] :
			    "unknown");
		} else
			last_error(j->text, sizeof(j->text));
	}
	virDomainFree(dom);
out:
	pthread_mutex_lock(&v->mu);
}

static void *
worker(void *arg)
{
	struct virt *v = arg;
	struct job *j;
	struct timespec ts;

	pthread_mutex_lock(&v->mu);
	while (!v->stop) {
		if (v->conn && v->lost)
			drop_conn(v);
		j = TAILQ_FIRST(&v->todo);
		/* A job tries to connect at once; otherwise wait for the backoff. */
		if (v->conn == NULL && (j != NULL || time(NULL) >= v->next_try)) {
			connect_now(v);
			/* It dropped the lock: a job submitted meanwhile signalled no one. */
			j = TAILQ_FIRST(&v->todo);
		}
		if (j != NULL) {
			TAILQ_REMOVE(&v->todo, j, entry);
			if (v->conn == NULL) {
				snprintf(j->text, sizeof(j->text), "libvirt %s unreachable: %s",
				    v->conf.uri, v->last_error);
			} else {
				TAILQ_INSERT_TAIL(&v->running, j, entry);
				run_job(v, j);
				TAILQ_REMOVE(&v->running, j, entry);
			}
			j->took_ms = (unsigned)(now_ms() - j->t0_ms);
			post(v, j);
			continue;
		}
		if (!TAILQ_EMPTY(&v->todo))
			continue;
		if (v->conn)
			pthread_cond_wait(&v->cv, &v->mu);
		else {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += v->next_try > time(NULL) ? v->next_try - time(NULL) : 1;
			pthread_cond_timedwait(&v->cv, &v->mu, &ts);
		}
	}
	if (v->conn)
		drop_conn(v);
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

/* ---- vcrd's loop ---- */

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virt *v = arg;
	struct job_list got;
	struct job *j;
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&got);
	pthread_mutex_lock(&v->mu);
	TAILQ_CONCAT(&got, &v->done, entry);
	pthread_mutex_unlock(&v->mu);
	while ((j = TAILQ_FIRST(&got)) != NULL) {
		TAILQ_REMOVE(&got, j, entry);
		if (j->kind == MSG_EVENT)
			v->ev_cb(v, &j->ev, v->ev_arg);
		else if (j->kind == MSG_STATUS) {
			char st[300];
			virt_status(v, st, sizeof(st));
			log_info("event=libvirt name=%s uri=%s status=\"%s\"", v->conf.name,
			    v->conf.uri, st);
		} else if (j->cb)
			j->cb(j->arg, j->ok, j->text, j->took_ms);
		free(j);
	}
}

struct virt *
virt_new(struct event_base *base, const struct virt_conf *conf, virt_event_cb cb, void *arg)
{
	struct virt *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->conf = *conf;
	v->ev_cb = cb;
	v->ev_arg = arg;
	v->lifecycle_id = -1;
	v->down_since_ms = wall_ms();
	snprintf(v->last_error, sizeof(v->last_error), "not connected yet");
	TAILQ_INIT(&v->todo);
	TAILQ_INIT(&v->running);
	TAILQ_INIT(&v->done);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	if (pipe2(v->notify, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(v);
		return NULL;
	}
	v->notify_ev = event_new(base, v->notify[0], EV_READ | EV_PERSIST, notify_cb, v);
	event_add(v->notify_ev, NULL);
	if (pthread_create(&v->worker, NULL, worker, v) != 0) {
		event_free(v->notify_ev);
		close(v->notify[0]);
		close(v->notify[1]);
		free(v);
		return NULL;
	}
	return v;
}

static void
free_list(struct job_list *l)
{
	struct job *j;

	while ((j = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, j, entry);
		free(j);
	}
}

void
virt_free(struct virt *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	v->stop = 1;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
	/* A blocking call in progress ends with libvirt's own timeouts. */
	pthread_join(v->worker, NULL);
	free_list(&v->todo);
	free_list(&v->done);
	event_free(v->notify_ev);
	close(v->notify[0]);
	close(v->notify[1]);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->cv);
	free(v);
}

const char *
virt_name(const struct virt *v)
{
	return v->conf.name;
}

int
virt_connected(struct virt *v)
{
	int c;

	pthread_mutex_lock(&v->mu);
	c = v->conn != NULL && !v->lost;
	pthread_mutex_unlock(&v->mu);
	return c;
}

void
virt_status(struct virt *v, char *buf, size_t len)
{
	char w[32];
	long left;

	pthread_mutex_lock(&v->mu);
	if (v->conn && !v->lost)
		snprintf(buf, len, "connected");
	else {
		left = (long)(v->next_try - time(NULL));
		snprintf(buf, len, "disconnected since %s: %s; next try in %ld s",
		    fmt_wall(v->down_since_ms, w, sizeof(w)), v->last_error, left > 0 ? left : 0);
	}
	pthread_mutex_unlock(&v->mu);
}

static int
submit(struct virt *v, enum job_kind kind, const char *domain, virt_done_cb cb, void *arg)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->kind = kind;
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	j->cb = cb;
	j->arg = arg;
	j->t0_ms = now_ms();
	pthread_mutex_lock(&v->mu);
	TAILQ_INSERT_TAIL(&v->todo, j, entry);
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

int
virt_destroy(struct virt *v, const char *domain, virt_done_cb cb, void *arg)
{
	return submit(v, JOB_DESTROY, domain, cb, arg);
}

int
virt_pause(struct virt *v, const char *domain, virt_done_cb cb, void *arg)
{
	return submit(v, JOB_PAUSE, domain, cb, arg);
}

int
virt_create(struct virt *v, const char *domain, virt_done_cb cb, void *arg)
{
	return submit(v, JOB_CREATE, domain, cb, arg);
}

int
virt_domain_state(struct virt *v, const char *domain, virt_done_cb cb, void *arg)
{
	return submit(v, JOB_STATE, domain, cb, arg);
}

void
virt_forget(struct virt *v, void *arg)
{
	struct job *j;

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	TAILQ_FOREACH(j, &v->todo, entry)
		if (j->arg == arg)
			j->cb = NULL;
	TAILQ_FOREACH(j, &v->running, entry)
		if (j->arg == arg)
			j->cb = NULL;
	TAILQ_FOREACH(j, &v->done, entry)
		if (j->arg == arg)
			j->cb = NULL;
	pthread_mutex_unlock(&v->mu);
}
