/*
 * nf_conntrack.c: forget the connections NATed to a target that is gone.
 *
 * After a cut-over, a client whose SYN went to the dead primary keeps
 * retransmitting it; the retransmit matches the existing conntrack entry
 * and is NATed to the dead primary again. Deleting those entries makes
 * the next SYN a new connection, which the map now sends to the standby.
 *
 * Two ways to find them. NF_CT_RECENT looks up, by tuple, the connections
 * that set recent wrote down while the service was suspect: a few lookups,
 * however big the host's conntrack table. NF_CT_WALK has the kernel walk
 * its whole table (every bucket, every entry of every namespace), which
 * also finds the connections made before the first failed check.
 *
 * Only entries that never saw a reply are deleted: an established
 * connection to the old target is left alone, so an operator's failover
 * of a healthy primary lets its connections finish there, and a primary
 * that only looks dead from vcrd keeps serving the clients it has.
 *
 *   conntrack -D -p tcp --orig-dst FRONTEND --orig-port-dst P \
 *       --reply-src TARGET --reply-port-src Q --status UNREPLIED (not SEEN_REPLY)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "vcr.h"
#include "nf.h"
#include "nf-int.h"

struct ct_tuple {
	uint32_t	src, dst;	/* network order */
	uint16_t	sport, dport;	/* network order */
	uint8_t		proto;
};

struct ct_match {
	struct ct_tuple	want_orig_dst;	/* dst, dport */
	struct ct_tuple	want_reply_src;	/* src, sport */
	/* Raw CTA_TUPLE_ORIG payloads of the entries to delete. */
	char		(*orig)[128];
	uint16_t	*orig_len;
	size_t		 n, cap;
};

static int
parse_tuple(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a, *b;

	memset(t, 0, sizeof(*t));
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_IP:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_IP_V4_SRC)
					t->src = mnl_attr_get_u32(b);
				else if (mnl_attr_get_type(b) == CTA_IP_V4_DST)
					t->dst = mnl_attr_get_u32(b);
			}
			break;
		case CTA_TUPLE_PROTO:
			mnl_attr_for_each_nested(b, a) {
				if (mnl_attr_get_type(b) == CTA_PROTO_NUM)
					t->proto = mnl_attr_get_u8(b);
				else if (mnl_attr_get_type(b) == CTA_PROTO_SRC_PORT)
					t->sport = mnl_attr_get_u16(b);
				else if (mnl_attr_get_type(b) == CTA_PROTO_DST_PORT)
					t->dport = mnl_attr_get_u16(b);
			}
			break;
		}
	}
	return 0;
}

static int
ct_entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_match *m = data;
	const struct nlattr *a, *orig = NULL, *reply = NULL;
	struct ct_tuple o, r;

	uint32_t status = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			orig = a;
		else if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			reply = a;
		else if (mnl_attr_get_type(a) == CTA_STATUS)
			status = ntohl(mnl_attr_get_u32(a));
	}
	if (orig == NULL || reply == NULL || (status & IPS_SEEN_REPLY))
		return MNL_CB_OK;
	parse_tuple(orig, &o);
	parse_tuple(reply, &r);
	if (o.proto != IPPROTO_TCP || o.dst != m->want_orig_dst.dst ||
	    o.dport != m->want_orig_dst.dport || r.src != m->want_reply_src.src ||
	    r.sport != m->want_reply_src.sport)
		return MNL_CB_OK;
	if (mnl_attr_get_payload_len(orig) > sizeof(m->orig[0]))
		return MNL_CB_OK;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		void *p1 = realloc(m->orig, cap * sizeof(m->orig[0]));
		if (p1 == NULL)
			return MNL_CB_ERROR;
		m->orig = p1;
		void *p2 = realloc(m->orig_len, cap * sizeof(m->orig_len[0]));
		if (p2 == NULL)
			return MNL_CB_ERROR;
		m->orig_len = p2;
		m->cap = cap;
	}
	memcpy(m->orig[m->n], mnl_attr_get_payload(orig), mnl_attr_get_payload_len(orig));
	m->orig_len[m->n] = mnl_attr_get_payload_len(orig);
	m->n++;
	return MNL_CB_OK;
}

static struct nlmsghdr *
ct_msg(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* The kernel's filter flags (net/netfilter/nf_internals.h), Linux >= 5.8. */
#define CT_F_IP_SRC		(1u << 0)
#define CT_F_IP_DST		(1u << 1)
#define CT_F_PROTO_NUM		(1u << 3)
#define CT_F_PROTO_SRC_PORT	(1u << 4)
#define CT_F_PROTO_DST_PORT	(1u << 5)

static void
put_tuple(struct nlmsghdr *nlh, uint16_t type, uint16_t ip_attr, uint32_t ip,
    uint16_t port_attr, uint16_t port)
{
	struct nlattr *tuple, *nest;

	tuple = mnl_attr_nest_start(nlh, type);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put_u32(nlh, ip_attr, ip);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, port_attr, port);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

/*
 * Ask the kernel to return only the entries we want: it still walks its
 * whole table, but copies out a handful of entries instead of every
 * connection on the host. Older kernels ignore the filter; the callback
 * checks every entry anyway.
 */
static void
put_dump_filter(struct nlmsghdr *nlh, const struct ct_match *m)
{
	struct nlattr *nest;

	put_tuple(nlh, CTA_TUPLE_ORIG, CTA_IP_V4_DST, m->want_orig_dst.dst,
	    CTA_PROTO_DST_PORT, m->want_orig_dst.dport);
	put_tuple(nlh, CTA_TUPLE_REPLY, CTA_IP_V4_SRC, m->want_reply_src.src,
	    CTA_PROTO_SRC_PORT, m->want_reply_src.sport);
	nest = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS,
	    CT_F_IP_DST | CT_F_PROTO_NUM | CT_F_PROTO_DST_PORT);
	mnl_attr_put_u32(nlh, CTA_FILTER_REPLY_FLAGS,
	    CT_F_IP_SRC | CT_F_PROTO_NUM | CT_F_PROTO_SRC_PORT);
	mnl_attr_nest_end(nlh, nest);
}

/* A reply, or -1 with errno ETIMEDOUT when the kernel says nothing for 2 s. */
static ssize_t
ct_recv(struct nf *nf, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(nf->nl), .events = POLLIN };
	int r;

	while ((r = poll(&pfd, 1, 2000)) == -1 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	return mnl_socket_recvfrom(nf->nl, buf, len);
}

/* The replies to dump request seq, each through cb; -1 with errno on error. */
static int
dump_read(struct nf *nf, uint32_t seq, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	ssize_t n;
	int rc = 0;

	while ((n = mnl_socket_recvfrom(nf->nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, nf->portid, cb, data);
		if (rc <= MNL_CB_STOP)
			break;
	}
	return n == -1 || rc == -1 ? -1 : 0;
}

/* The walk: one dump, filtered in the kernel, of the whole table. */
static int
ct_collect_walk(struct nf *nf, struct ct_match *m, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = nf->seq++;

	put_dump_filter(ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq), m);
	if (mnl_socket_sendto(nf->nl, buf, ((struct nlmsghdr *)buf)->nlmsg_len) == -1) {
		snprintf(err, errlen, "conntrack dump: %s", strerror(errno));
		return -1;
	}
	if (dump_read(nf, seq, ct_entry_cb, m) == -1) {
		snprintf(err, errlen, "conntrack dump: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct recent {
	const struct endpoint *frontend;
	struct ct_tuple	*t;		/* client -> frontend */
	size_t		 n, cap;
};

static int
recent_elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct recent *rc = data;
	struct nftnl_set *set = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	uint16_t port = htons(rc->frontend->port);
	int ret = MNL_CB_OK;

	if (set == NULL || nftnl_set_elems_nlmsg_parse(nlh, set) < 0 ||
	    (it = nftnl_set_elems_iter_create(set)) == NULL) {
		nftnl_set_free(set);
		return MNL_CB_ERROR;
	}
	while ((e = nftnl_set_elems_iter_next(it)) != NULL) {
		uint32_t len = 0;
		const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
		struct ct_tuple *t;

		/* saddr, sport + pad, daddr, dport + pad */
		if (k == NULL || len != NF_TUPLE_LEN ||
		    memcmp(k + 8, &rc->frontend->addr.s_addr, 4) != 0 ||
		    memcmp(k + 12, &port, 2) != 0)
			continue;
		if (rc->n == rc->cap) {
			size_t cap = rc->cap ? rc->cap * 2 : 64;
			if ((t = realloc(rc->t, cap * sizeof(*t))) == NULL) {
				ret = MNL_CB_ERROR;
				break;
			}
			rc->t = t;
			rc->cap = cap;
		}
		t = &rc->t[rc->n++];
		memset(t, 0, sizeof(*t));
		memcpy(&t->src, k, 4);
		memcpy(&t->sport, k + 4, 2);
		memcpy(&t->dst, k + 8, 4);
		memcpy(&t->dport, k + 12, 2);
		t->proto = IPPROTO_TCP;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(set);
	return ret;
}

/* Set recent's connections to frontend. */
static int
recent_read(struct nf *nf, struct recent *rc, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = nf->seq++;

	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NF_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, NF_RECENT);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	nftnl_set_free(set);
	if (mnl_socket_sendto(nf->nl, buf, nlh->nlmsg_len) == -1) {
		snprintf(err, errlen, "set %s: %s", NF_RECENT, strerror(errno));
		return -1;
	}
	if (dump_read(nf, seq, recent_elem_cb, rc) == -1) {
		snprintf(err, errlen, "set %s: %s", NF_RECENT, strerror(errno));
		return -1;
	}
	return 0;
}

/* Set recent's key of t: saddr, sport + pad, daddr, dport + pad. */
static void
recent_key(const struct ct_tuple *t, uint8_t k[NF_TUPLE_LEN])
{
	memset(k, 0, NF_TUPLE_LEN);
	memcpy(k, &t->src, 4);
	memcpy(k + 4, &t->sport, 2);
	memcpy(k + 8, &t->dst, 4);
	memcpy(k + 12, &t->dport, 2);
}

int
nf_recent_forget(struct nf *nf, const struct endpoint *frontend, char *err, size_t errlen)
{
	struct recent rc = { .frontend = frontend };
	struct mnl_nlmsg_batch *batch;
	struct nftnl_set *set;
	struct nlmsghdr *nlh;
	uint32_t seq;
	char *buf = NULL;
	size_t len;
	int ret = -1;

	nf_discard_pending(nf);
	if (recent_read(nf, &rc, err, errlen) == -1)
		return -1;
	if (rc.n == 0) {
		ret = 0;
		goto out;
	}
	len = 4096 + rc.n * 64;
	if ((buf = malloc(len)) == NULL || (set = nftnl_set_alloc()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nftnl_set_set_str(set, NFTNL_SET_TABLE, NF_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, NF_RECENT);
	for (size_t i = 0; i < rc.n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint8_t k[NF_TUPLE_LEN];

		recent_key(&rc.t[i], k);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, NF_TUPLE_LEN);
		nftnl_set_elem_add(set, e);
	}
	seq = nf->seq;
	batch = mnl_nlmsg_batch_start(buf, len);
	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), nf->seq++);
	mnl_nlmsg_batch_next(batch);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), NFT_MSG_DELSETELEM,
	    NFPROTO_INET, NLM_F_ACK, nf->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, set);
	mnl_nlmsg_batch_next(batch);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), nf->seq++);
	mnl_nlmsg_batch_next(batch);
	nftnl_set_free(set);
	if (mnl_socket_sendto(nf->nl, buf, mnl_nlmsg_batch_size(batch)) == -1)
		snprintf(err, errlen, "set %s: %s", NF_RECENT, strerror(errno));
	else
		ret = nf_drain_acks(nf, seq + 1, 1, 0, NULL, err, errlen);
	mnl_nlmsg_batch_stop(batch);
out:
	free(buf);
	free(rc.t);
	return ret == 0 ? (int)rc.n : -1;
}

/* Conntrack requests sent at once (gets by tuple, deletes). */
#define CT_AT_ONCE	64

/*
 * One CT_GET by tuple per connection in set recent to frontend; the
 * answers go through the walk's filter (ct_entry_cb).
 */

static int
ct_collect_recent(struct nf *nf, const struct endpoint *frontend, struct ct_match *m,
    char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct recent rc = { .frontend = frontend };
	int ret = -1;

	if (recent_read(nf, &rc, err, errlen) == -1)
		goto out;
	for (size_t i = 0; i < rc.n; i += CT_AT_ONCE) {
		size_t k = rc.n - i < CT_AT_ONCE ? rc.n - i : CT_AT_ONCE;
		uint32_t first = nf->seq;
		size_t len = 0;
		unsigned got = 0;

		for (size_t j = 0; j < k; j++) {
			const struct ct_tuple *t = &rc.t[i + j];
			struct nlmsghdr *nlh = ct_msg(buf + len, IPCTNL_MSG_CT_GET, 0, nf->seq++);
			struct nlattr *tuple, *nest;

			tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
			nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
			mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, t->src);
			mnl_attr_put_u32(nlh, CTA_IP_V4_DST, t->dst);
			mnl_attr_nest_end(nlh, nest);
			nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
			mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
			mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, t->sport);
			mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, t->dport);
			mnl_attr_nest_end(nlh, nest);
			mnl_attr_nest_end(nlh, tuple);
			len += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		if (mnl_socket_sendto(nf->nl, buf, len) == -1) {
			snprintf(err, errlen, "conntrack get: %s", strerror(errno));
			goto out;
		}
		/* One answer each: the entry, or an error (ENOENT: gone). */
		while (got < k) {
			ssize_t n = ct_recv(nf, buf, sizeof(buf));
			int left = (int)n;

			if (n == -1) {
				snprintf(err, errlen, "conntrack get: %s", strerror(errno));
				goto out;
			}
			for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
			    nlh = mnl_nlmsg_next(nlh, &left)) {
				if (nlh->nlmsg_seq < first || nlh->nlmsg_seq >= first + k)
					continue;
				got++;
				if (nlh->nlmsg_type != NLMSG_ERROR &&
				    ct_entry_cb(nlh, m) == MNL_CB_ERROR) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
			}
		}
	}
	ret = 0;
out:
	free(rc.t);
	return ret;
}

int
nf_ct_flush(struct nf *nf, enum nf_ct_pass pass, const struct endpoint *frontend,
    const struct endpoint *target, char *err, size_t errlen)
{
	char buf[CT_AT_ONCE * 256];
	struct ct_match m = { 0 };
	int deleted = 0;

	m.want_orig_dst.dst = frontend->addr.s_addr;
	m.want_orig_dst.dport = htons(frontend->port);
	m.want_reply_src.src = target->addr.s_addr;
	m.want_reply_src.sport = htons(target->port);

	nf_discard_pending(nf);
	if ((pass == NF_CT_WALK ? ct_collect_walk(nf, &m, err, errlen) :
	    ct_collect_recent(nf, frontend, &m, err, errlen)) == -1) {
		deleted = -1;
		goto out;
	}
	/* One request per entry, the kernel deletes by tuple; CT_AT_ONCE at once. */
	for (size_t i = 0; i < m.n; i += CT_AT_ONCE) {
		size_t k = m.n - i < CT_AT_ONCE ? m.n - i : CT_AT_ONCE, len = 0;
		uint32_t first = nf->seq;
		unsigned gone = 0;
		char e[128];

		for (size_t j = 0; j < k; j++) {
			struct nlmsghdr *nlh = ct_msg(buf + len, IPCTNL_MSG_CT_DELETE, NLM_F_ACK,
			    nf->seq++);
			mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, m.orig_len[i + j],
			    m.orig[i + j]);
			len += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		if (mnl_socket_sendto(nf->nl, buf, len) == -1) {
			snprintf(err, errlen, "conntrack delete: %s", strerror(errno));
			deleted = -1;
			goto out;
		}
		/* ENOENT: the entry died meanwhile, which is what we wanted. */
		if (nf_drain_acks(nf, first, (unsigned)k, ENOENT, &gone, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "conntrack delete: %s", e);
			deleted = -1;
			goto out;
		}
		deleted += (int)gone;
	}
out:
	free(m.orig);
	free(m.orig_len);
	return deleted;
}
