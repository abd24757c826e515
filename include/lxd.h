/*
 * lxd.h: a small LXD (and Incus) REST client on the event loop: libcurl
 * multi through curl_ev, over LXD's unix socket or HTTPS with a client
 * certificate. Errors are LXD's own words.
 */
#ifndef LXD_H
#define LXD_H

#include "conf-t.h"

struct curl_ev;
struct lxd;
struct lxd_req;

struct json_object;

struct lxd_result {
	int		ok;
	struct json_object *metadata;	/* lxd_get: valid during the callback only */
	int		exit_code;	/* lxd_exec: the command's exit code */
	char		operation[160];	/* lxd_call: the operation LXD started, if any */
	char		status[32];	/* instance status: "Running", "Stopped", ... */
	char		error[200];	/* !ok: what LXD (or the transport) said */
	unsigned	took_ms;
};

/* Called once per request, unless it was cancelled. */
typedef void (*lxd_cb)(void *arg, const struct lxd_result *r);

/* conf is copied. */
struct lxd	*lxd_new(struct curl_ev *cev, const struct lxd_conf *conf);
/* Cancels every request still running, without callbacks. */
void		 lxd_free(struct lxd *l);
const char	*lxd_name(const struct lxd *l);

/* GET /1.0/instances/NAME: exists? running? */
struct lxd_req	*lxd_instance_state(struct lxd *l, const char *instance, lxd_cb cb, void *arg);
/*
 * PUT /1.0/instances/NAME/state {"action":"start"}, then the operation is
 * awaited (/1.0/operations/ID/wait) up to timeout_s. An instance already
 * running counts as started.
 */
struct lxd_req	*lxd_instance_start(struct lxd *l, const char *instance, unsigned timeout_s,
		    lxd_cb cb, void *arg);
/* GET any path (/1.0/storage-pools/default...): its metadata in the result. */
struct lxd_req	*lxd_get(struct lxd *l, const char *path, lxd_cb cb, void *arg);
/*
 * POST /1.0/instances/NAME/exec without websockets (the output is not
 * kept), awaited up to timeout_s: the exit code in the result.
 */
struct lxd_req	*lxd_exec(struct lxd *l, const char *instance, const char *const argv[],
		    unsigned timeout_s, lxd_cb cb, void *arg);
/* PUT /1.0/instances/NAME/state {"action":"restart"}, awaited. */
struct lxd_req	*lxd_instance_restart(struct lxd *l, const char *instance, unsigned timeout_s,
		    lxd_cb cb, void *arg);
/* Any state action ("freeze", "unfreeze", "stop"...), awaited. */
struct lxd_req	*lxd_instance_action(struct lxd *l, const char *instance, const char *action,
		    int force, unsigned timeout_s, lxd_cb cb, void *arg);
/*
 * Any request (method, path, JSON body or NULL); the answer's metadata and
 * operation in the result, valid during the callback. timeout_s 0: 5 s.
 */
struct lxd_req	*lxd_call(struct lxd *l, const char *method, const char *path,
		    const char *json, unsigned timeout_s, lxd_cb cb, void *arg);
/* Waits for an operation ("/1.0/operations/ID") up to timeout_s. */
struct lxd_req	*lxd_op_wait(struct lxd *l, const char *op, unsigned timeout_s, lxd_cb cb,
		    void *arg);
/* Writes a file (root's, 0644) into an instance, running or stopped. */
struct lxd_req	*lxd_file_put(struct lxd *l, const char *instance, const char *path,
		    const char *content, lxd_cb cb, void *arg);
/* The server's base URL as the configuration gives it ("https://host:port"). */
const char	*lxd_url(const struct lxd *l);
void		 lxd_cancel(struct lxd_req *r);

#endif
