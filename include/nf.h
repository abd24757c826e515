/*
 * nf.h: the only interface to the kernel's nftables and conntrack.
 *
 * vcrd owns one table, inet vcrecovery:
 *   map services   frontend addr . port -> target addr . port, one element
 *                  per service, commented "NAME -> primary|standby since T",
 *                  with a per-element counter (new connections since then)
 *   set masq       targets whose DNATed traffic is masqueraded
 *   set relayed    frontends of mode tcp services: vcrd itself listens there
 *   set held       frontends whose new connections wait: their standby is
 *                  frozen for a final sync or copy. vcrd's hold listener
 *                  (SO_MARK NF_HOLD_MARK) takes them and relays them after
 *                  the switch; with no such listener the SYN is dropped and
 *                  sent again by the client (after 1 s), past the switch
 *   set suspect    frontends whose active target failed its last check
 *   set recent     client addr . port . frontend addr . port of the new
 *                  connections to a suspect frontend (dynamic, 120 s):
 *                  after the cut-over their conntrack entries are looked
 *                  up by tuple, before the walk of the whole table
 *   chain prerouting (nat):  ip daddr . tcp dport @relayed accept
 *                            ip daddr . tcp dport @held socket mark NF_HOLD_MARK accept
 *                            ip daddr . tcp dport @held drop
 *                            ip daddr . tcp dport @suspect add @recent { ip saddr . tcp sport . ip daddr . tcp dport }
 *                            dnat ip to ip daddr . tcp dport map @services
 *   chain output (nat):      meta mark != NF_RELAY_MARK ip daddr . tcp dport @relayed accept
 *                            ip daddr . tcp dport @held drop
 *                            ip daddr . tcp dport @suspect add @recent { ... }
 *                            dnat ip to ip daddr . tcp dport map @services
 *   chain postrouting (nat): ct status dnat ip daddr . tcp dport @masq masquerade
 *
 * A relayed service's upstream connection goes from vcrd to its own
 * frontend with NF_RELAY_MARK, and the output chain sends it where the
 * map says: the map stays the one place that says where a service points.
 */
#ifndef NF_H
#define NF_H

#include <stddef.h>
#include <stdint.h>
#include "conf-t.h"

#define NF_TABLE	"vcrecovery"
#define NF_MAP		"services"
#define NF_MASQ		"masq"
#define NF_RELAYED	"relayed"
#define NF_HELD		"held"
#define NF_SUSPECT	"suspect"
#define NF_RECENT	"recent"
#define NF_TUPLE_LEN	16	/* recent's key: 4 addr, 2 port + 2 pad, twice */
#define NF_RECENT_TIMEOUT_MS	120000	/* conntrack's SYN_SENT timeout */
#define NF_RECENT_MAX	65536
#define NF_RELAY_MARK	0x7663	/* "vc": SO_MARK of vcrd's upstream sockets */
#define NF_HOLD_MARK	0x7668	/* "vh": SO_MARK of vcrd's hold listeners */

struct nf;

enum nf_op {
	NF_ADD = 0,
	NF_DEL,
};

enum nf_set {
	NF_SET_SERVICES = 0,
	NF_SET_MASQ,
	NF_SET_RELAYED,
	NF_SET_HELD,
	NF_SET_SUSPECT,
};

/* One element change; a batch of them is applied atomically. */
struct nf_change {
	enum nf_op	op;
	enum nf_set	set;
	struct endpoint	key;
	struct endpoint	data;		/* NF_SET_SERVICES only */
	char		comment[128];	/* NF_SET_SERVICES NF_ADD only */
};

/* A growable list of changes. */
struct nf_batch {
	struct nf_change *c;
	size_t		 n, cap;
};

int	nf_batch_add(struct nf_batch *b, enum nf_op op, enum nf_set set,
	    const struct endpoint *key, const struct endpoint *data,
	    const char *comment);
void	nf_batch_reset(struct nf_batch *b);

/* Returns NULL and fills err on failure. */
struct nf *nf_open(char *err, size_t errlen);
void	nf_close(struct nf *nf);

/*
 * Replace the whole table, in one transaction, by the table, sets, chains
 * and rules plus the elements in b (NF_ADD only). Traffic sees the old or
 * the new table, never neither.
 */
int	nf_replace_table(struct nf *nf, const struct nf_batch *b, char *err, size_t errlen);
/* Apply b in one transaction, every ACK read. */
int	nf_apply(struct nf *nf, const struct nf_batch *b, char *err, size_t errlen);
int	nf_delete_table(struct nf *nf, char *err, size_t errlen);

/*
 * Build the netlink batch for b into buf; returns its length, or -1 when
 * buf is too small. Exposed for round-trip tests.
 */
ssize_t	nf_build_batch(const struct nf_batch *b, int replace_table, uint32_t seq,
	    void *buf, size_t len);

enum nf_ct_pass {
	NF_CT_RECENT = 0,	/* the connections in set recent, looked up by tuple */
	NF_CT_WALK,		/* every entry: the kernel walks its whole table */
};

/*
 * Drop set recent's connections to frontend, once its entries are dealt
 * with. Returns how many, -1 on error (an element that expired meanwhile
 * fails the whole batch; the rest expire in their time).
 */
int	nf_recent_forget(struct nf *nf, const struct endpoint *frontend, char *err,
	    size_t errlen);
/*
 * Delete the conntrack entries of connections to frontend that were
 * NATed to target and never answered. Returns the number deleted, -1 on
 * error.
 */
int	nf_ct_flush(struct nf *nf, enum nf_ct_pass pass, const struct endpoint *frontend,
	    const struct endpoint *target, char *err, size_t errlen);

#endif
