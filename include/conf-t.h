/*
 * conf-t.h: the configuration as plain data. vcrd compares an old and a new
 * copy of these on reload; nothing here points at runtime state.
 */
#ifndef CONF_T_H
#define CONF_T_H

#include <sys/queue.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdint.h>

#define SVC_NAME_MAX		48
#define CHK_STATUS_RANGES	8

struct endpoint {
	struct in_addr	addr;
	uint16_t	port;		/* host byte order */
};

enum chk_type {
	CHK_TCP = 0,
	CHK_HTTP,
};

struct status_range {
	unsigned	lo, hi;
};

struct chk_conf {
	enum chk_type	type;
	char		path[256];
	char		host[256];		/* Host header; empty: the target address */
	struct status_range status[CHK_STATUS_RANGES];
	unsigned	nstatus;
	char		expect_body[256];	/* empty: not checked */
	unsigned	interval_ms;
	unsigned	timeout_ms;
	unsigned	rise;
	unsigned	fall;
};

enum fwd_mode {
	FWD_DNAT = 0,		/* the kernel forwards: nftables DNAT */
	FWD_TCP,		/* vcrd relays: it accepts on the frontend */
};

/* mode tcp: how vcrd relays connections. */
struct relay_conf {
	unsigned	connect_timeout_ms;
	unsigned	idle_timeout_ms;
	unsigned	total_timeout_ms;	/* a connection's whole life; 0: no limit */
	unsigned	hold_ms;	/* how long a client waits for a side that answers */
	unsigned	max_conns;
	unsigned	observe_errors;	/* connect errors in a row that mark the side down; 0: off */
};

struct svc_conf {
	char		name[SVC_NAME_MAX];
	int		line;			/* where the block starts */
	struct endpoint	frontend;
	struct endpoint	primary;
	struct endpoint	standby;
	enum fwd_mode	mode;
	int		snat;			/* masquerade DNATed traffic */
	struct chk_conf	check;
	struct relay_conf relay;
	int		failover_auto;
	int		failback_auto;
	unsigned	failback_hold_ms;
	TAILQ_ENTRY(svc_conf) entry;
};

TAILQ_HEAD(svc_conf_list, svc_conf);

struct vcr_conf {
	char		path[PATH_MAX];
	char		control_socket[108];	/* sizeof(sun_path) */
	char		state_dir[256];
	char		metrics_listen[64];	/* "addr:port", empty: off */
	int		log_level;
	int		log_syslog;
	int		keep_rules_on_exit;
	unsigned	nservices;
	struct svc_conf_list services;
};

#endif
