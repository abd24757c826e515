/*
 * lxd.c: the LXD REST client. Every request is one libcurl easy handle on
 * the shared multi handle (curl_ev.c): nothing blocks the loop. A start is
 * two requests: the state change, which LXD answers with an operation,
 * then a long poll on that operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "vcr.h"
#include "curl_ev.h"
#include "lxd.h"

#define LXD_BODY_MAX	(1024 * 1024)
#define LXD_GET_TIMEOUT_MS	5000

enum lxd_phase {
	PH_GET = 0,	/* an instance's status */
	PH_START,	/* an async request (start, restart, exec): its operation next */
	PH_WAIT,
	PH_RAW,		/* any GET: metadata to the caller */
	PH_CALL,	/* any request: metadata and operation to the caller */
};

struct lxd_req {
	struct lxd	*l;
	CURL		*easy;
	struct curl_ev_req req;
	struct curl_slist *headers;
	enum lxd_phase	 phase;
	char		 instance[64];
	char		 op[160];
	int		 exec;		/* PH_WAIT: the result is an exit code */
	unsigned	 timeout_s;
	char		 curl_err[CURL_ERROR_SIZE];	/* libcurl's details (TLS) */
	char		*body;
	size_t		 body_len;
	uint64_t	 t0_ms;
	lxd_cb		 cb;
	void		*arg;
	TAILQ_ENTRY(lxd_req) entry;
};

struct lxd {
	struct curl_ev	*cev;
	struct lxd_conf	 conf;
	char		 base[300];	/* http://lxd or https://host:port */
	TAILQ_HEAD(, lxd_req) reqs;
};

struct lxd *
lxd_new(struct curl_ev *cev, const struct lxd_conf *conf)
{
	struct lxd *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->cev = cev;
	l->conf = *conf;
	TAILQ_INIT(&l->reqs);
	if (strncmp(conf->url, "unix:", 5) == 0)
		snprintf(l->base, sizeof(l->base), "http://lxd");
	else
		snprintf(l->base, sizeof(l->base), "%s", conf->url);
	/* No trailing slash: paths start with one. */
	if (l->base[0] && l->base[strlen(l->base) - 1] == '/')
		l->base[strlen(l->base) - 1] = '\0';
	return l;
}

const char *
lxd_name(const struct lxd *l)
{
	return l->conf.name;
}

static void
req_free(struct lxd_req *r)
{
	if (r->easy) {
		curl_ev_remove(r->l->cev, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->body);
	TAILQ_REMOVE(&r->l->reqs, r, entry);
	free(r);
}

void
lxd_cancel(struct lxd_req *r)
{
	if (r)
		req_free(r);
}

void
lxd_free(struct lxd *l)
{
	if (l == NULL)
		return;
	while (!TAILQ_EMPTY(&l->reqs))
		req_free(TAILQ_FIRST(&l->reqs));
	free(l);
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct lxd_req *r = arg;
	size_t n = size * nmemb;
	char *b;

	if (r->body_len + n > LXD_BODY_MAX)
		return 0;
	if ((b = realloc(r->body, r->body_len + n + 1)) == NULL)
		return 0;
	memcpy(b + r->body_len, ptr, n);
	r->body = b;
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static void done_cb(CURL *easy, CURLcode rc, void *arg);
static int send_body(struct lxd_req *r, const char *method, const char *path,
    const char *type, const char *body, size_t len, const char *const *extra, long timeout_ms);

/* One HTTP request of r (method GET or PUT with a JSON body). */
static int
send_req(struct lxd_req *r, const char *method, const char *path, const char *json,
    long timeout_ms)
{
	return send_body(r, method, path, "application/json", json, json ? strlen(json) : 0,
	    NULL, timeout_ms);
}

/* body of len bytes and its content type (body NULL: no body); extra: more headers. */
static int
send_body(struct lxd_req *r, const char *method, const char *path, const char *type,
    const char *body, size_t len, const char *const *extra, long timeout_ms)
{
	struct lxd *l = r->l;
	char url[512];

	if (r->easy == NULL && (r->easy = curl_easy_init()) == NULL)
		return -1;
	curl_easy_reset(r->easy);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	snprintf(url, sizeof(url), "%s%s", l->base, path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	r->curl_err[0] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->curl_err);
	if (strncmp(l->conf.url, "unix:", 5) == 0)
		curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, l->conf.url + 5);
	else {
		if (l->conf.client_cert[0]) {
			curl_easy_setopt(r->easy, CURLOPT_SSLCERT, l->conf.client_cert);
			curl_easy_setopt(r->easy, CURLOPT_SSLKEY, l->conf.client_key);
		}
		if (l->conf.server_cert[0]) {
			/* LXD's certificate is self-signed: trust exactly it. */
			curl_easy_setopt(r->easy, CURLOPT_CAINFO, l->conf.server_cert);
			curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "vcrd/" VCR_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (body) {
		char ct[64];
		snprintf(ct, sizeof(ct), "Content-Type: %s", type);
		r->headers = curl_slist_append(NULL, ct);
		for (; extra && *extra; extra++)
			r->headers = curl_slist_append(r->headers, *extra);
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
		curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body);
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	r->req.cb = done_cb;
	r->req.arg = r;
	return curl_ev_add(l->cev, r->easy, &r->req);
}

/* The long poll on the operation r->op, up to r->timeout_s. */
static int
send_wait(struct lxd_req *r)
{
	char path[256];

	r->phase = PH_WAIT;
	snprintf(path, sizeof(path), "%s/wait?timeout=%u", r->op, r->timeout_s);
	return send_req(r, "GET", path, NULL, (long)(r->timeout_s + 5) * 1000);
}

static void
finish(struct lxd_req *r, struct lxd_result *res)
{
	res->took_ms = (unsigned)(now_ms() - r->t0_ms);
	r->cb(r->arg, res);
	req_free(r);
}

static void
fail(struct lxd_req *r, const char *what, const char *detail)
{
	struct lxd_result res = { 0 };

	snprintf(res.error, sizeof(res.error), "%s%s", what, detail);
	finish(r, &res);
}

/* LXD's answer: {"type": "sync"|"async"|"error", "error": ..., "metadata": ...} */
static void
done_cb(CURL *easy, CURLcode rc, void *arg)
{
	struct lxd_req *r = arg;
	struct lxd_result res = { 0 };
	struct json_object *js = NULL, *v, *md = NULL;
	const char *type, *s;

	if (rc != CURLE_OK) {
		fail(r, "LXD unreachable: ", r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
		return;
	}
	if (r->body == NULL || (js = json_tokener_parse(r->body)) == NULL) {
		fail(r, "LXD sent no JSON answer", "");
		return;
	}
	type = json_object_object_get_ex(js, "type", &v) ? json_object_get_string(v) : "";
	json_object_object_get_ex(js, "metadata", &md);
	if (strcmp(type, "error") == 0) {
		s = json_object_object_get_ex(js, "error", &v) ? json_object_get_string(v) : "";
		if (r->phase == PH_START && strstr(s, "already running")) {
			res.ok = 1;
			snprintf(res.status, sizeof(res.status), "Running");
			json_object_put(js);
			finish(r, &res);
			return;
		}
		snprintf(res.error, sizeof(res.error), "%s", s);
		json_object_put(js);
		finish(r, &res);
		return;
	}
	switch (r->phase) {
	case PH_CALL:
		s = json_object_object_get_ex(js, "operation", &v) ? json_object_get_string(v) : "";
		snprintf(res.operation, sizeof(res.operation), "%s", s ? s : "");
		/* FALLTHROUGH */
	case PH_RAW:
		res.ok = 1;
		res.metadata = md;
		finish(r, &res);
		json_object_put(js);
		return;
	case PH_GET:
		res.ok = 1;
		s = md && json_object_object_get_ex(md, "status", &v) ?
		    json_object_get_string(v) : "unknown";
		snprintf(res.status, sizeof(res.status), "%s", s);
		json_object_put(js);
		finish(r, &res);
		return;
	case PH_START:
		s = json_object_object_get_ex(js, "operation", &v) ? json_object_get_string(v) : "";
		if (strcmp(type, "async") != 0 || strncmp(s, "/1.0/operations/", 16) != 0) {
			json_object_put(js);
			fail(r, "LXD answered the start without an operation", "");
			return;
		}
		snprintf(r->op, sizeof(r->op), "%s", s);
		json_object_put(js);
		if (send_wait(r) == -1)
			fail(r, "cannot start the request to ", r->op);
		return;
	case PH_WAIT:
		s = md && json_object_object_get_ex(md, "status", &v) ?
		    json_object_get_string(v) : "";
		if (strcmp(s, "Success") == 0) {
			res.ok = 1;
			snprintf(res.status, sizeof(res.status), "Running");
			if (r->exec) {
				struct json_object *m2, *rv;
				res.exit_code = json_object_object_get_ex(md, "metadata", &m2) &&
				    json_object_object_get_ex(m2, "return", &rv) ?
				    json_object_get_int(rv) : -1;
			}
		} else {
			const char *e = md && json_object_object_get_ex(md, "err", &v) ?
			    json_object_get_string(v) : "";
			if (strstr(e, "already running")) {
				res.ok = 1;
				snprintf(res.status, sizeof(res.status), "Running");
			} else if (strcmp(s, "Running") == 0)
				snprintf(res.error, sizeof(res.error),
				    "LXD's operation still running after %u s", r->timeout_s);
			else
				snprintf(res.error, sizeof(res.error), "%s%s%s", s,
				    e[0] ? ": " : "", e);
		}
		json_object_put(js);
		finish(r, &res);
		return;
	}
}

static struct lxd_req *
req_new(struct lxd *l, const char *instance, lxd_cb cb, void *arg)
{
	struct lxd_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->l = l;
	snprintf(r->instance, sizeof(r->instance), "%s", instance);
	r->cb = cb;
	r->arg = arg;
	r->t0_ms = now_ms();
	TAILQ_INSERT_TAIL(&l->reqs, r, entry);
	return r;
}

struct lxd_req *
lxd_instance_state(struct lxd *l, const char *instance, lxd_cb cb, void *arg)
{
	struct lxd_req *r;
	char path[160];

	if ((r = req_new(l, instance, cb, arg)) == NULL)
		return NULL;
	r->phase = PH_GET;
	snprintf(path, sizeof(path), "/1.0/instances/%s", instance);
	if (send_req(r, "GET", path, NULL, LXD_GET_TIMEOUT_MS) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

static struct lxd_req *
state_change(struct lxd *l, const char *instance, const char *action, int force,
    unsigned timeout_s, lxd_cb cb, void *arg)
{
	struct lxd_req *r;
	char path[160], json[128];

	if ((r = req_new(l, instance, cb, arg)) == NULL)
		return NULL;
	r->phase = PH_START;
	r->timeout_s = timeout_s ? timeout_s : 30;
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", instance);
	snprintf(json, sizeof(json), "{\"action\":\"%s\",\"timeout\":%u,\"force\":%s}",
	    action, r->timeout_s, force ? "true" : "false");
	if (send_req(r, "PUT", path, json, LXD_GET_TIMEOUT_MS) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct lxd_req *
lxd_instance_start(struct lxd *l, const char *instance, unsigned timeout_s, lxd_cb cb,
    void *arg)
{
	return state_change(l, instance, "start", 0, timeout_s, cb, arg);
}

struct lxd_req *
lxd_instance_restart(struct lxd *l, const char *instance, unsigned timeout_s, lxd_cb cb,
    void *arg)
{
	return state_change(l, instance, "restart", 0, timeout_s, cb, arg);
}

struct lxd_req *
lxd_instance_action(struct lxd *l, const char *instance, const char *action, int force,
    unsigned timeout_s, lxd_cb cb, void *arg)
{
	return state_change(l, instance, action, force, timeout_s, cb, arg);
}

struct lxd_req *
lxd_get(struct lxd *l, const char *path, lxd_cb cb, void *arg)
{
	struct lxd_req *r;

	if ((r = req_new(l, "", cb, arg)) == NULL)
		return NULL;
	r->phase = PH_RAW;
	if (send_req(r, "GET", path, NULL, LXD_GET_TIMEOUT_MS) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct lxd_req *
lxd_exec(struct lxd *l, const char *instance, const char *const argv[], unsigned timeout_s,
    lxd_cb cb, void *arg)
{
	struct json_object *body = json_object_new_object(), *cmd = json_object_new_array();
	struct lxd_req *r;
	char path[160];
	int rc;

	for (; *argv; argv++)
		json_object_array_add(cmd, json_object_new_string(*argv));
	json_object_object_add(body, "command", cmd);
	json_object_object_add(body, "wait-for-websocket", json_object_new_boolean(0));
	json_object_object_add(body, "interactive", json_object_new_boolean(0));
	json_object_object_add(body, "record-output", json_object_new_boolean(0));
	if ((r = req_new(l, instance, cb, arg)) == NULL) {
		json_object_put(body);
		return NULL;
	}
	r->phase = PH_START;
	r->exec = 1;
	r->timeout_s = timeout_s ? timeout_s : 30;
	snprintf(path, sizeof(path), "/1.0/instances/%s/exec", instance);
	rc = send_req(r, "POST", path, json_object_to_json_string(body), LXD_GET_TIMEOUT_MS);
	json_object_put(body);
	if (rc == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct lxd_req *
lxd_call(struct lxd *l, const char *method, const char *path, const char *json,
    unsigned timeout_s, lxd_cb cb, void *arg)
{
	struct lxd_req *r;

	if ((r = req_new(l, "", cb, arg)) == NULL)
		return NULL;
	r->phase = PH_CALL;
	if (send_req(r, method, path, json, timeout_s ? (long)timeout_s * 1000 :
	    LXD_GET_TIMEOUT_MS) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct lxd_req *
lxd_op_wait(struct lxd *l, const char *op, unsigned timeout_s, lxd_cb cb, void *arg)
{
	struct lxd_req *r;

	if ((r = req_new(l, "", cb, arg)) == NULL)
		return NULL;
	r->timeout_s = timeout_s ? timeout_s : 30;
	snprintf(r->op, sizeof(r->op), "%s", op);
	if (send_wait(r) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct lxd_req *
lxd_file_put(struct lxd *l, const char *instance, const char *path, const char *content,
    lxd_cb cb, void *arg)
{
	static const char *const hdr[] = { "X-LXD-uid: 0", "X-LXD-gid: 0", "X-LXD-mode: 0644",
	    "X-LXD-type: file", "X-LXD-write: overwrite", NULL };
	struct lxd_req *r;
	char url[512], *esc;

	if ((r = req_new(l, instance, cb, arg)) == NULL)
		return NULL;
	r->phase = PH_CALL;
	if ((esc = curl_easy_escape(NULL, path, 0)) == NULL) {
		req_free(r);
		return NULL;
	}
	snprintf(url, sizeof(url), "/1.0/instances/%s/files?path=%s", instance, esc);
	curl_free(esc);
	if (send_body(r, "POST", url, "application/octet-stream", content, strlen(content), hdr,
	    LXD_GET_TIMEOUT_MS) == -1) {
		req_free(r);
		return NULL;
	}
	return r;
}

const char *
lxd_url(const struct lxd *l)
{
	return l->conf.url;
}
