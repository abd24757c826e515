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
	FWD_HTTP,		/* vcrd relays HTTP/1.1 requests */
};

/* mode tcp: how vcrd relays connections. */
struct relay_conf {
	unsigned	connect_timeout_ms;
	unsigned	idle_timeout_ms;
	unsigned	total_timeout_ms;	/* a connection's whole life; 0: no limit */
	unsigned	hold_ms;	/* how long a client waits for a side that answers */
	unsigned	max_conns;
	unsigned	observe_errors;	/* connect errors in a row that mark the side down; 0: off */
	/* mode http */
	unsigned	max_header;	/* bytes of a request head */
	uint64_t	max_body;	/* bytes of a request body; 0: no limit */
	unsigned	request_timeout_ms;	/* to read a whole request head (408) */
	unsigned	response_timeout_ms;	/* to get a response head (504) */
	unsigned	keepalive_timeout_ms;	/* idle between requests */
	int		replay_post;	/* POST may be sent again to the other side */
	int		forwarded;	/* add X-Forwarded-For and Forwarded */
	unsigned	observe_5xx;	/* of the last observe_5xx_of responses, this many */
	unsigned	observe_5xx_of;	/* 5xx mark the side down; 0: off */
};

#define REC_NAME_MAX	48	/* names of lxd and libvirt connections */
#define REC_OBJ_MAX	64	/* instance and domain names */

/* lxd NAME URL { ... }: an LXD (or Incus) server that runs standby containers. */
struct lxd_conf {
	char		name[REC_NAME_MAX];
	int		line;
	char		url[256];		/* unix:/path/to/unix.socket or https://host:port */
	char		client_cert[256];	/* https: PEM files */
	char		client_key[256];
	char		server_cert[256];	/* https: trust exactly this certificate */
	TAILQ_ENTRY(lxd_conf) entry;
};
TAILQ_HEAD(lxd_conf_list, lxd_conf);

/* libvirt NAME URI: a hypervisor that runs primaries. */
struct virt_conf {
	char		name[REC_NAME_MAX];
	int		line;
	char		uri[256];
	TAILQ_ENTRY(virt_conf) entry;
};
TAILQ_HEAD(virt_conf_list, virt_conf);

/* A service's recovery: its primary VM and its standby container. */
struct rec_conf {
	char		vm_conn[REC_NAME_MAX];	/* libvirt NAME; empty: no VM control */
	char		vm[REC_OBJ_MAX];	/* the primary's domain */
	char		lxd[REC_NAME_MAX];	/* lxd NAME; empty: no container control */
	char		container[REC_OBJ_MAX];
	int		cold;			/* started on demand */
	int		fence;			/* power the primary off before a cut-over */
	int		fence_proceed;		/* cut over even if fencing fails */
	unsigned	start_timeout_ms;	/* cold: start until the first good check */
};

#define SYNC_PATTERNS	32

/* sync { ... }: the primary's disk copied into the standby container. */
struct sync_conf {
	int		enabled;
	char		source[128];		/* user@host of the primary, for ssh */
	char		key[256];		/* ssh private key */
	unsigned	interval_ms;		/* 0: only on demand (vcrctl sync) */
	unsigned	timeout_ms;
	char		patterns[SYNC_PATTERNS][128];	/* +PKG, -PKG, /PATH */
	unsigned	npatterns;
	int		restart;		/* warm: restart the units whose files changed */
};

/* relieve { ... }: where a serving standby container goes when its host is loaded. */
enum relieve_to {
	RELIEVE_MIGRATE = 1,	/* the container, to another LXD server */
	RELIEVE_VM,		/* the service, to a VM (promotion) */
};

struct relieve_conf {
	int		enabled;
	/* migrate-to LXD INSTANCE ADDR:PORT [USER@HOST] */
	char		to_lxd[REC_NAME_MAX];
	char		to_container[REC_OBJ_MAX];
	struct endpoint	to_addr;
	char		to_ssh[128];		/* ssh into the copy: it is synced live */
	/* set-file PATH CONTENT: written into the container there before it starts */
	char		file_path[128];
	char		file_content[256];
	/* promote-to LIBVIRT DOMAIN ADDR:PORT USER@HOST */
	char		vm_conn[REC_NAME_MAX];
	char		vm[REC_OBJ_MAX];
	struct endpoint	vm_addr;
	char		vm_ssh[128];
	/* the load watch: over cpu, memory or host memory for for_ms relieves by strategy */
	enum relieve_to	strategy;
	unsigned	cpu_pct;		/* of one CPU; 0: not watched */
	uint64_t	memory;			/* bytes; 0: not watched */
	unsigned	host_mem_pct;		/* the LXD server's memory in use, % of its
						   total; 0: not watched */
	unsigned	for_ms;
	unsigned	timeout_ms;		/* each step's bound */
};

/*
 * A relieve's change to where a service's side is, kept by vcrd (and in
 * its state file) on top of the file until the file says so itself.
 * side 1 (standby): the container moved to another LXD server; a, b are
 * the lxd name and the instance. side 0 (primary): the service promoted
 * to a VM; a, b are the libvirt name and the domain, src the sync source.
 */
struct moved {
	int		set;
	struct endpoint	from_ep, to_ep;
	char		from_a[REC_NAME_MAX], to_a[REC_NAME_MAX];
	char		from_b[REC_OBJ_MAX], to_b[REC_OBJ_MAX];
	char		from_src[128], to_src[128];
};

struct svc_conf {
	char		name[SVC_NAME_MAX];
	int		line;			/* where the block starts */
	struct endpoint	frontend;
	struct endpoint	primary;
	struct endpoint	standby;
	enum fwd_mode	mode;
	int		http_line;	/* where a mode http field was set */
	int		total_line;	/* where total-timeout was set (mode tcp only) */
	int		snat;			/* masquerade DNATed traffic */
	struct chk_conf	check;
	struct relay_conf relay;
	struct rec_conf	rec;
	struct sync_conf sync;
	struct relieve_conf relieve;
	int		vm_line, ct_line, sync_line;	/* where primary-vm, standby-container, sync are */
	int		relieve_line, migrate_line, promote_line;	/* relieve, its migrate-to, promote-to */
	int		fence_set, fence_line;	/* parsing: 1 refuse/proceed, -1 off */
	int		failback_line;
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
	struct lxd_conf_list lxds;
	struct virt_conf_list virts;
};

#endif
