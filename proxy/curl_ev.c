/*
 * curl_ev.c: libcurl multi-socket on libevent. libcurl says which
 * sockets to watch and when to wake it; libevent watches them.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "curl_ev.h"

struct curl_ev {
	struct event_base *base;
	CURLM		*multi;
	struct event	*timer;
};

struct curl_sock {
	struct event	*ev;
};

static void
done(struct curl_ev *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct curl_ev_req *req = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
		curl_multi_remove_handle(h->multi, easy);
		req->cb(easy, rc, req->arg);
	}
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curl_ev *h = arg;
	int action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
	    (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(h->multi, fd, action, &running);
	done(h);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curl_ev *h = arg;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	done(h);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curl_ev *h = userp;
	struct curl_sock *cs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			event_free(cs->ev);
			free(cs);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0));
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		curl_multi_assign(h->multi, s, cs);
	} else
		event_free(cs->ev);
	cs->ev = event_new(h->base, s, kind, event_cb, h);
	event_add(cs->ev, NULL);
	return 0;
}

static int
timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_ev *h = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

struct curl_ev *
curl_ev_new(struct event_base *base)
{
	struct curl_ev *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	h->multi = curl_multi_init();
	h->timer = evtimer_new(base, timer_cb, h);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timerfn_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void
curl_ev_free(struct curl_ev *h)
{
	if (h == NULL)
		return;
	curl_multi_cleanup(h->multi);
	event_free(h->timer);
	free(h);
	curl_global_cleanup();
}

int
curl_ev_add(struct curl_ev *h, CURL *easy, struct curl_ev_req *req)
{
	curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
	return curl_multi_add_handle(h->multi, easy) == CURLM_OK ? 0 : -1;
}

void
curl_ev_remove(struct curl_ev *h, CURL *easy)
{
	curl_multi_remove_handle(h->multi, easy);
}
