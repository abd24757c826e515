/*
 * curl_ev.h: libcurl's multi-socket interface driven by libevent. One
 * multi handle serves the HTTP checks and the LXD client alike; nothing
 * waits on the network outside the event loop.
 */
#ifndef CURL_EV_H
#define CURL_EV_H

#include <curl/curl.h>

struct event_base;
struct curl_ev;

/*
 * Called once per transfer, after the easy handle was taken out of the
 * multi handle: the callee may clean it up or reuse it.
 */
typedef void (*curl_ev_done)(CURL *easy, CURLcode rc, void *arg);

/* Embedded by the caller; set as the easy handle's CURLOPT_PRIVATE. */
struct curl_ev_req {
	curl_ev_done	 cb;
	void		*arg;
};

struct curl_ev	*curl_ev_new(struct event_base *base);
void		 curl_ev_free(struct curl_ev *h);
/* Starts easy; req must live until the callback or curl_ev_remove. */
int		 curl_ev_add(struct curl_ev *h, CURL *easy, struct curl_ev_req *req);
/* Stops easy without a callback. */
void		 curl_ev_remove(struct curl_ev *h, CURL *easy);

#endif
