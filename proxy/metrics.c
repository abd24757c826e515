/*
 * metrics.c: Prometheus text exposition at http://metrics-listen/metrics.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "vcr.h"
#include "conf.h"
#include "metrics.h"
#include "relay.h"
#include "svc.h"
#include "sync.h"
#include "virt.h"

struct metrics {
	struct vcrd	*d;
	struct evhttp	*http;
};

/* One relay counter for each service that has a relay (http_only: mode http's). */
static void
relay_counter(struct evbuffer *b, struct metrics *m, const char *name, size_t off,
    int http_only)
{
	struct svc *s;

	evbuffer_add_printf(b, "# TYPE vcr_relay_%s_total counter\n", name);
	TAILQ_FOREACH(s, &m->d->services, entry) {
		uint64_t v;

		if (s->relay == NULL || (http_only && s->conf->mode != FWD_HTTP))
			continue;
		memcpy(&v, (const char *)relay_stats(s->relay) + off, sizeof(v));
		evbuffer_add_printf(b, "vcr_relay_%s_total{service=\"%s\"} %llu\n", name,
		    s->conf->name, (unsigned long long)v);
	}
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *b;
	struct svc *s;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, 404, "try /metrics");
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b,
	    "# HELP vcr_service_state 1 for the state each service is in.\n"
	    "# TYPE vcr_service_state gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		for (int st = ST_PRIMARY_ACTIVE; st <= ST_RECOVERY_FAILED; st++)
			evbuffer_add_printf(b, "vcr_service_state{service=\"%s\",state=\"%s\"} %d\n",
			    s->conf->name, svc_state_name((enum svc_state)st), (int)s->dec.state == st);
	evbuffer_add_printf(b,
	    "# HELP vcr_service_on_standby 1 when the service points at its standby.\n"
	    "# TYPE vcr_service_on_standby gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_service_on_standby{service=\"%s\"} %d\n",
		    s->conf->name, s->dec.active == SIDE_STANDBY);
	evbuffer_add_printf(b,
	    "# HELP vcr_service_alert 1 while a loud condition holds (no cut-over possible).\n"
	    "# TYPE vcr_service_alert gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_service_alert{service=\"%s\"} %d\n",
		    s->conf->name, s->alert[0] != '\0');
	evbuffer_add_printf(b,
	    "# HELP vcr_service_held 1 while the service's new connections are held (its "
	    "frontend in the nftables held set, or its relay paused: the standby container "
	    "is frozen).\n"
	    "# TYPE vcr_service_held gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_service_held{service=\"%s\"} %d\n",
		    s->conf->name, s->held != HOLD_NONE);
	evbuffer_add_printf(b,
	    "# HELP vcr_standby_degraded 1 while the standby container is missing or its LXD "
	    "does not answer.\n"
	    "# TYPE vcr_standby_degraded gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.lxd)
			evbuffer_add_printf(b, "vcr_standby_degraded{service=\"%s\"} %d\n",
			    s->conf->name, s->rec.degraded);
	evbuffer_add_printf(b,
	    "# HELP vcr_relieve_running 1 while a relieve of the service runs.\n"
	    "# TYPE vcr_relieve_running gauge\n"
	    "# HELP vcr_relieves_total Relieves ended since vcrd started, by result.\n"
	    "# TYPE vcr_relieves_total counter\n"
	    "# HELP vcr_standby_cpu_percent The serving container's CPU, percent of one CPU "
	    "(the load watch's reading).\n"
	    "# TYPE vcr_standby_cpu_percent gauge\n"
	    "# HELP vcr_standby_memory_bytes The serving container's memory (the load watch's "
	    "reading).\n"
	    "# TYPE vcr_standby_memory_bytes gauge\n"
	    "# HELP vcr_standby_host_memory_percent The serving container's LXD server's memory "
	    "in use, percent of its total (the load watch's reading, with host-memory).\n"
	    "# TYPE vcr_standby_host_memory_percent gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry) {
		struct relieve_stats rs;
		if (relieve_stats(s, &rs) == -1)
			continue;
		evbuffer_add_printf(b, "vcr_relieve_running{service=\"%s\"} %d\n"
		    "vcr_relieves_total{service=\"%s\",result=\"done\"} %u\n"
		    "vcr_relieves_total{service=\"%s\",result=\"failed\"} %u\n",
		    s->conf->name, rs.running, s->conf->name, rs.done, s->conf->name, rs.failed);
		if (rs.have_load)
			evbuffer_add_printf(b, "vcr_standby_cpu_percent{service=\"%s\"} %u\n"
			    "vcr_standby_memory_bytes{service=\"%s\"} %llu\n", s->conf->name,
			    rs.cpu_pct, s->conf->name, (unsigned long long)rs.memory);
		if (rs.host_mem_pct >= 0)
			evbuffer_add_printf(b, "vcr_standby_host_memory_percent{service=\"%s\"} %d\n",
			    s->conf->name, rs.host_mem_pct);
	}
	evbuffer_add_printf(b,
	    "# HELP vcr_libvirt_connected 1 while vcrd's libvirt connection for the primary is up.\n"
	    "# TYPE vcr_libvirt_connected gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.virt)
			evbuffer_add_printf(b, "vcr_libvirt_connected{service=\"%s\"} %d\n",
			    s->conf->name, virt_connected(s->rec.virt));
	evbuffer_add_printf(b,
	    "# HELP vcr_sync_last_success_timestamp_seconds When the last disk sync into the "
	    "standby ended well (0: never).\n"
	    "# TYPE vcr_sync_last_success_timestamp_seconds gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.sync)
			evbuffer_add_printf(b, "vcr_sync_last_success_timestamp_seconds{service="
			    "\"%s\"} %.3f\n", s->conf->name,
			    (double)sync_get_stats(s->rec.sync)->last_ok_wall_ms / 1000.0);
	evbuffer_add_printf(b,
	    "# HELP vcr_sync_duration_seconds How long the last disk sync took.\n"
	    "# TYPE vcr_sync_duration_seconds gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.sync)
			evbuffer_add_printf(b, "vcr_sync_duration_seconds{service=\"%s\"} %.3f\n",
			    s->conf->name, (double)sync_get_stats(s->rec.sync)->last_ms / 1000.0);
	evbuffer_add_printf(b,
	    "# HELP vcr_sync_files_changed Regular files the last disk sync changed.\n"
	    "# TYPE vcr_sync_files_changed gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.sync)
			evbuffer_add_printf(b, "vcr_sync_files_changed{service=\"%s\"} %u\n",
			    s->conf->name, sync_get_stats(s->rec.sync)->files_changed);
	evbuffer_add_printf(b,
	    "# HELP vcr_sync_failures_total Disk syncs that failed.\n"
	    "# TYPE vcr_sync_failures_total counter\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->rec.sync)
			evbuffer_add_printf(b, "vcr_sync_failures_total{service=\"%s\"} %u\n",
			    s->conf->name, sync_get_stats(s->rec.sync)->failures);
	evbuffer_add_printf(b,
	    "# HELP vcr_target_up 1 up, 0 down or not checked yet.\n"
	    "# TYPE vcr_target_up gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		for (int i = 0; i < 2; i++)
			evbuffer_add_printf(b, "vcr_target_up{service=\"%s\",side=\"%s\"} %d\n",
			    s->conf->name, side_name((enum side)i), s->side[i].ctr.h == H_UP);
	evbuffer_add_printf(b,
	    "# HELP vcr_check_latency_seconds Duration of the last check.\n"
	    "# TYPE vcr_check_latency_seconds gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		for (int i = 0; i < 2; i++)
			evbuffer_add_printf(b,
			    "vcr_check_latency_seconds{service=\"%s\",side=\"%s\"} %.6f\n",
			    s->conf->name, side_name((enum side)i),
			    (double)s->side[i].last_latency_us / 1e6);
	evbuffer_add_printf(b, "# TYPE vcr_checks_total counter\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		for (int i = 0; i < 2; i++)
			evbuffer_add_printf(b, "vcr_checks_total{service=\"%s\",side=\"%s\"} %llu\n",
			    s->conf->name, side_name((enum side)i),
			    (unsigned long long)s->side[i].checks);
	evbuffer_add_printf(b, "# TYPE vcr_check_failures_total counter\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		for (int i = 0; i < 2; i++)
			evbuffer_add_printf(b,
			    "vcr_check_failures_total{service=\"%s\",side=\"%s\"} %llu\n",
			    s->conf->name, side_name((enum side)i),
			    (unsigned long long)s->side[i].failures);
	evbuffer_add_printf(b, "# TYPE vcr_cutovers_total counter\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_cutovers_total{service=\"%s\"} %u\n", s->conf->name,
		    s->cutovers);
	evbuffer_add_printf(b,
	    "# HELP vcr_last_cutover_seconds Decision to batch ACKed and the conntrack entries "
	    "of the connections made while suspect deleted.\n"
	    "# TYPE vcr_last_cutover_seconds gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_last_cutover_seconds{service=\"%s\"} %.6f\n",
		    s->conf->name, (double)s->last_cutover_us / 1e6);
	evbuffer_add_printf(b,
	    "# HELP vcr_last_conntrack_walk_seconds The walk of the whole conntrack table "
	    "that follows a cut-over.\n"
	    "# TYPE vcr_last_conntrack_walk_seconds gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		evbuffer_add_printf(b, "vcr_last_conntrack_walk_seconds{service=\"%s\"} %.6f\n",
		    s->conf->name, (double)s->last_walk_us / 1e6);
	evbuffer_add_printf(b,
	    "# HELP vcr_relay_connections Open client connections (modes tcp and http).\n"
	    "# TYPE vcr_relay_connections gauge\n");
	TAILQ_FOREACH(s, &m->d->services, entry)
		if (s->relay)
			evbuffer_add_printf(b, "vcr_relay_connections{service=\"%s\"} %u\n",
			    s->conf->name, relay_conns(s->relay));
	relay_counter(b, m, "upstream_errors", offsetof(struct relay_stats, upstream_errors), 0);
	relay_counter(b, m, "dropped", offsetof(struct relay_stats, dropped), 0);
	relay_counter(b, m, "http_requests", offsetof(struct relay_stats, requests), 1);
	relay_counter(b, m, "http_replayed", offsetof(struct relay_stats, replayed), 1);
	relay_counter(b, m, "http_responses_5xx", offsetof(struct relay_stats, responses_5xx), 1);
	relay_counter(b, m, "http_rejected", offsetof(struct relay_stats, rejected), 1);
	relay_counter(b, m, "http_gateway_errors", offsetof(struct relay_stats, gateway_errors), 1);
	evbuffer_add_printf(b, "# TYPE vcr_reloads_total counter\nvcr_reloads_total %llu\n"
	    "# TYPE vcr_reload_failures_total counter\nvcr_reload_failures_total %llu\n",
	    (unsigned long long)m->d->reloads, (unsigned long long)m->d->reload_failures);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

struct metrics *
metrics_open(struct vcrd *d, const char *listen, char *err, size_t errlen)
{
	struct endpoint ep;
	struct metrics *m;
	char addr[INET_ADDRSTRLEN];

	if (parse_endpoint(listen, &ep) == -1) {
		snprintf(err, errlen, "metrics-listen %s: not addr:port", listen);
		return NULL;
	}
	inet_ntop(AF_INET, &ep.addr, addr, sizeof(addr));
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->d = d;
	m->http = evhttp_new(d->base);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(m->http, handle, m);
	if (evhttp_bind_socket(m->http, addr, ep.port) == -1) {
		snprintf(err, errlen, "metrics-listen %s: cannot bind", listen);
		evhttp_free(m->http);
		free(m);
		return NULL;
	}
	return m;
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
}
