/*
 * ctl.c: the control API on a unix socket (root only, mode 0600).
 *
 *   GET  /v1/status                      every service
 *   GET  /v1/events                      recent events, oldest first
 *   POST /v1/services/NAME/failover      operator cut-over to the standby, after a
 *                                        final sync when the service has one
 *                                        (202: the cut-over follows it);
 *                                        ?sync=no skips it
 *   POST /v1/services/NAME/failback      back to the primary
 *   POST /v1/services/NAME/sync          disk sync into the standby container now
 *   POST /v1/services/NAME/relieve?to=T  the container moved to LXD server T, or
 *                                        the service promoted to its VM (T=vm);
 *                                        &prepare=1: a copy made ahead on T
 *   POST /v1/reload                      same as SIGHUP, with the answer
 *
 * Answers are JSON; an error is {"error": "..."} with 4xx.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "vcr.h"
#include "conf.h"
#include "ctl.h"
#include "events.h"
#include "relay.h"
#include "svc.h"
#include "sync.h"
#include "virt.h"

struct ctl {
	struct vcrd	*d;
	struct evhttp	*http;
	char		 path[108];
};

static void
reply(struct evhttp_request *req, int code, struct json_object *o)
{
	struct evbuffer *buf = evbuffer_new();
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_send_reply(req, code, code == 202 ? "Accepted" : code < 300 ? "OK" : code == 404 ? "Not Found" :
	    code == 409 ? "Conflict" : "Bad Request", buf);
	evbuffer_free(buf);
	json_object_put(o);
}

static void
reply_error(struct evhttp_request *req, int code, const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	reply(req, code, o);
}

static struct json_object *
side_json(const struct svc *s, enum side i)
{
	const struct target_view *tv = &s->side[i];
	struct json_object *o = json_object_new_object();
	char t[32];

	json_object_object_add(o, "target", json_object_new_string(
	    fmt_endpoint(svc_target(s, i), t, sizeof(t))));
	json_object_object_add(o, "health", json_object_new_string(health_name(tv->ctr.h)));
	json_object_object_add(o, "last_result", json_object_new_string(tv->last_reason));
	json_object_object_add(o, "latency_ms",
	    json_object_new_double((double)tv->last_latency_us / 1000.0));
	json_object_object_add(o, "checks", json_object_new_int64((int64_t)tv->checks));
	json_object_object_add(o, "failures", json_object_new_int64((int64_t)tv->failures));
	json_object_object_add(o, "traffic_errors",
	    json_object_new_int64((int64_t)tv->traffic_errors));
	return o;
}

static struct json_object *
status_json(struct vcrd *d)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char t[32], w[32];
	struct svc *s;

	TAILQ_FOREACH(s, &d->services, entry) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(s->conf->name));
		json_object_object_add(o, "state",
		    json_object_new_string(svc_state_name(s->dec.state)));
		json_object_object_add(o, "active", json_object_new_string(side_name(s->dec.active)));
		json_object_object_add(o, "frontend", json_object_new_string(
		    fmt_endpoint(&s->conf->frontend, t, sizeof(t))));
		json_object_object_add(o, "target", json_object_new_string(
		    fmt_endpoint(svc_target(s, s->dec.active), t, sizeof(t))));
		json_object_object_add(o, "since", json_object_new_string(
		    fmt_wall(s->since_wall_ms, w, sizeof(w))));
		json_object_object_add(o, "since_ms", json_object_new_int64((int64_t)s->since_wall_ms));
		json_object_object_add(o, "cutovers", json_object_new_int((int)s->cutovers));
		json_object_object_add(o, "last_cutover_ms",
		    json_object_new_double((double)s->last_cutover_us / 1000.0));
		json_object_object_add(o, "last_conntrack_walk_ms",
		    json_object_new_double((double)s->last_walk_us / 1000.0));
		json_object_object_add(o, "alert", json_object_new_string(s->alert));
		json_object_object_add(o, "mode", json_object_new_string(
		    fwd_mode_name(s->conf->mode)));
		json_object_object_add(o, "held", json_object_new_boolean(s->held != HOLD_NONE));
		if (s->held != HOLD_NONE)
			json_object_object_add(o, "hold", json_object_new_string(
			    s->held == HOLD_RELAYED ? "relayed" : s->held == HOLD_PAUSED ?
			    "paused" : "dropped"));
		if (s->relay) {
			const struct relay_stats *rs = relay_stats(s->relay);
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "connections", json_object_new_int(
			    (int)relay_conns(s->relay)));
			json_object_object_add(r, "accepted",
			    json_object_new_int64((int64_t)rs->accepted));
			json_object_object_add(r, "upstream_errors",
			    json_object_new_int64((int64_t)rs->upstream_errors));
			json_object_object_add(r, "retried",
			    json_object_new_int64((int64_t)rs->retried));
			json_object_object_add(r, "dropped",
			    json_object_new_int64((int64_t)rs->dropped));
			if (s->conf->mode == FWD_HTTP) {
				json_object_object_add(r, "requests",
				    json_object_new_int64((int64_t)rs->requests));
				json_object_object_add(r, "replayed",
				    json_object_new_int64((int64_t)rs->replayed));
				json_object_object_add(r, "responses_5xx",
				    json_object_new_int64((int64_t)rs->responses_5xx));
				json_object_object_add(r, "rejected",
				    json_object_new_int64((int64_t)rs->rejected));
				json_object_object_add(r, "gateway_errors",
				    json_object_new_int64((int64_t)rs->gateway_errors));
			}
			json_object_object_add(o, "relay", r);
		}
		json_object_object_add(o, "primary", side_json(s, SIDE_PRIMARY));
		json_object_object_add(o, "standby", side_json(s, SIDE_STANDBY));
		if (s->rec.virt) {
			struct json_object *r = json_object_new_object();
			char st[300];
			virt_status(s->rec.virt, st, sizeof(st));
			json_object_object_add(r, "libvirt", json_object_new_string(s->conf->rec.vm_conn));
			json_object_object_add(r, "domain", json_object_new_string(s->conf->rec.vm));
			json_object_object_add(r, "domain_state", json_object_new_string(s->rec.vm));
			json_object_object_add(r, "connection", json_object_new_string(st));
			json_object_object_add(r, "fencing", json_object_new_string(
			    !s->conf->rec.fence ? "off" : s->conf->rec.fence_proceed ? "proceed" :
			    "refuse"));
			json_object_object_add(o, "primary_vm", r);
		}
		if (s->rec.lxd) {
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "lxd", json_object_new_string(s->conf->rec.lxd));
			json_object_object_add(r, "instance", json_object_new_string(
			    s->conf->rec.container));
			json_object_object_add(r, "kind", json_object_new_string(
			    s->conf->rec.cold ? "cold" : "warm"));
			json_object_object_add(r, "status", json_object_new_string(s->rec.container));
			json_object_object_add(r, "degraded", json_object_new_boolean(s->rec.degraded));
			json_object_object_add(o, "standby_container", r);
		}
		if (s->rec.sync) {
			const struct sync_stats *st = sync_get_stats(s->rec.sync);
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "source", json_object_new_string(
			    s->conf->sync.source));
			json_object_object_add(r, "running", json_object_new_boolean(
			    sync_running(s->rec.sync)));
			json_object_object_add(r, "runs", json_object_new_int((int)st->runs));
			json_object_object_add(r, "failures", json_object_new_int((int)st->failures));
			json_object_object_add(r, "last", json_object_new_string(st->last_wall_ms ?
			    fmt_wall(st->last_wall_ms, w, sizeof(w)) : ""));
			json_object_object_add(r, "last_ok_ms", json_object_new_int64(
			    (int64_t)st->last_ok_wall_ms));
			json_object_object_add(r, "age_s", json_object_new_double(st->last_ok_wall_ms ?
			    (double)(wall_ms() - st->last_ok_wall_ms) / 1000.0 : -1));
			json_object_object_add(r, "took_ms", json_object_new_int((int)st->last_ms));
			json_object_object_add(r, "files_changed", json_object_new_int(
			    (int)st->files_changed));
			json_object_object_add(r, "deleted", json_object_new_int((int)st->deleted));
			json_object_object_add(r, "bytes", json_object_new_int64((int64_t)st->bytes));
			json_object_object_add(r, "rules", json_object_new_int((int)st->rules));
			json_object_object_add(r, "error", json_object_new_string(st->error));
			json_object_object_add(r, "restarted", json_object_new_string(st->restarted));
			json_object_object_add(o, "sync", r);
		}
		{
			struct json_object *r = relieve_json(s);
			if (r)
				json_object_object_add(o, "relieve", r);
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "version", json_object_new_string(VCR_VERSION));
	json_object_object_add(root, "config", json_object_new_string(d->conf->path));
	json_object_object_add(root, "started", json_object_new_string(
	    fmt_wall(d->started_wall_ms, w, sizeof(w))));
	json_object_object_add(root, "services", arr);
	return root;
}

static struct json_object *
events_json(void)
{
	struct json_object *arr = json_object_new_array();
	char w[32];

	for (unsigned i = 0; i < events_count(); i++) {
		const struct vcr_event *ev = events_get(i);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "time", json_object_new_string(
		    fmt_wall(ev->wall_ms, w, sizeof(w))));
		json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)ev->wall_ms));
		json_object_object_add(o, "service", json_object_new_string(ev->service));
		json_object_object_add(o, "kind", json_object_new_string(ev->kind));
		json_object_object_add(o, "text", json_object_new_string(ev->text));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The service a /v1/services/NAME/... request names, or NULL once answered 404. */
static struct svc *
service_of(struct ctl *c, struct evhttp_request *req, const char *name)
{
	struct svc *s = vcrd_find(c->d, name);
	char err[128];

	if (s == NULL) {
		snprintf(err, sizeof(err), "no service named '%s'", name);
		reply_error(req, 404, err);
	}
	return s;
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct ctl *c = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char name[SVC_NAME_MAX + 1], verb[16], err[512];
	struct json_object *o;
	struct svc *s;
	const char *q;
	int r, with_sync;

	if (path == NULL) {
		reply_error(req, 400, "bad request");
		return;
	}
	if (method == EVHTTP_REQ_GET && strcmp(path, "/v1/status") == 0) {
		reply(req, 200, status_json(c->d));
		return;
	}
	if (method == EVHTTP_REQ_GET && strcmp(path, "/v1/events") == 0) {
		o = json_object_new_object();
		json_object_object_add(o, "events", events_json());
		reply(req, 200, o);
		return;
	}
	if (method == EVHTTP_REQ_POST && strcmp(path, "/v1/reload") == 0) {
		if (vcrd_reload(c->d, err, sizeof(err)) == -1) {
			reply_error(req, 400, err);
			return;
		}
		o = json_object_new_object();
		json_object_object_add(o, "result", json_object_new_string("reloaded"));
		reply(req, 200, o);
		return;
	}
	if (method == EVHTTP_REQ_POST &&
	    sscanf(path, "/v1/services/%48[^/]/%15s", name, verb) == 2 &&
	    strcmp(verb, "relieve") == 0) {
		if ((s = service_of(c, req, name)) == NULL)
			return;
		q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
		char to[64] = "";
		int prepare = 0;
		if (q && sscanf(q, "to=%63[^&]", to) == 1 && strchr(q, '&'))
			prepare = strcmp(strchr(q, '&'), "&prepare=1") == 0 ? 1 : -1;
		if (to[0] == '\0' || prepare == -1) {
			reply_error(req, 400, "relieve needs ?to=LXD or ?to=vm, and &prepare=1 at most");
			return;
		}
		if (relieve_start(s, to, prepare, prepare ? "prepare requested by operator" :
		    "requested by operator", err, sizeof(err)) == -1) {
			char msg[600];
			snprintf(msg, sizeof(msg), "relieve %s refused: %s", name, err);
			reply_error(req, 409, msg);
			return;
		}
		o = json_object_new_object();
		json_object_object_add(o, "result", json_object_new_string("started"));
		reply(req, 202, o);
		return;
	}
	if (method == EVHTTP_REQ_POST &&
	    sscanf(path, "/v1/services/%48[^/]/%15s", name, verb) == 2 &&
	    strcmp(verb, "sync") == 0) {
		if ((s = service_of(c, req, name)) == NULL)
			return;
		if (rec_sync_now(s, err, sizeof(err)) == -1) {
			char msg[600];
			snprintf(msg, sizeof(msg), "sync %s refused: %s", name, err);
			reply_error(req, 409, msg);
			return;
		}
		o = json_object_new_object();
		json_object_object_add(o, "result", json_object_new_string("started"));
		reply(req, 200, o);
		return;
	}
	if (method == EVHTTP_REQ_POST &&
	    sscanf(path, "/v1/services/%48[^/]/%15s", name, verb) == 2 &&
	    (strcmp(verb, "failover") == 0 || strcmp(verb, "failback") == 0)) {
		if ((s = service_of(c, req, name)) == NULL)
			return;
		q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
		with_sync = !(q && strcmp(q, "sync=no") == 0);
		if (verb[4] == 'o')
			r = vcrd_failover(c->d, s, with_sync, err, sizeof(err));
		else
			r = vcrd_failback(c->d, s, with_sync, err, sizeof(err));
		if (r == -1) {
			char msg[600];
			snprintf(msg, sizeof(msg), "%s %s refused: %s", verb, name, err);
			reply_error(req, 409, msg);
			return;
		}
		o = json_object_new_object();
		if (r == 1) {
			json_object_object_add(o, "result", json_object_new_string(
			    verb[4] == 'o' ? "final-sync" : "sync-back"));
			reply(req, 202, o);
			return;
		}
		json_object_object_add(o, "result", json_object_new_string(
		    side_name(s->dec.active)));
		json_object_object_add(o, "last_cutover_ms",
		    json_object_new_double((double)s->last_cutover_us / 1000.0));
		reply(req, 200, o);
		return;
	}
	reply_error(req, 404, "unknown request");
}

struct ctl *
ctl_open(struct vcrd *d, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct evconnlistener *l;
	struct ctl *c;
	mode_t old;
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* A socket nobody answers on is a leftover; one that answers is another vcrd. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errlen, "control socket %s: another vcrd is running", path);
			return NULL;
		}
		close(fd);
	}
	unlink(path);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->d = d;
	snprintf(c->path, sizeof(c->path), "%s", path);
	old = umask(0177);
	l = evconnlistener_new_bind(d->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, (struct sockaddr *)&sun,
	    sizeof(sun));
	umask(old);
	if (l == NULL) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	chmod(path, 0600);
	c->http = evhttp_new(d->base);
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_timeout(c->http, 10);
	evhttp_set_gencb(c->http, handle, c);
	if (evhttp_bind_listener(c->http, l) == NULL) {
		snprintf(err, errlen, "control socket %s: cannot serve HTTP", path);
		evhttp_free(c->http);
		free(c);
		return NULL;
	}
	return c;
}

void
ctl_close(struct ctl *c)
{
	if (c == NULL)
		return;
	evhttp_free(c->http);
	unlink(c->path);
	free(c);
}
