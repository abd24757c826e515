/*
 * nf_conntrack.c: forget the connections NATed to a target that is gone.
 *
 * After a cut-over, a client whose SYN went to the dead primary keeps
 * retransmitting it; the retransmit matches the existing conntrack entry
 * and is NATed to the dead primary again. Deleting those entries makes
 * the next SYN a new connection, which the map now sends to the standby.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
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

int
nf_ct_flush(struct nf *nf, const struct endpoint *frontend, const struct endpoint *target,
    char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct ct_match m = { 0 };
	uint32_t seq = nf->seq++;
	ssize_t n;
	int rc = 0, deleted = 0;

	m.want_orig_dst.dst = frontend->addr.s_addr;
	m.want_orig_dst.dport = htons(frontend->port);
	m.want_reply_src.src = target->addr.s_addr;
	m.want_reply_src.sport = htons(target->port);

	nf_discard_pending(nf);
	put_dump_filter(ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq), &m);
	if (mnl_socket_sendto(nf->nl, buf, ((struct nlmsghdr *)buf)->nlmsg_len) == -1) {
		snprintf(err, errlen, "conntrack dump: %s", strerror(errno));
		return -1;
	}
	while ((n = mnl_socket_recvfrom(nf->nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, nf->portid, ct_entry_cb, &m);
		if (rc <= MNL_CB_STOP)
			break;
	}
	if (n == -1 || rc == -1) {
		snprintf(err, errlen, "conntrack dump: %s", strerror(errno));
		goto out;
	}
	/* One request per entry: the kernel deletes by tuple. */
	for (size_t i = 0; i < m.n; i++) {
		struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, nf->seq++);
		char e[128];

		mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, m.orig_len[i], m.orig[i]);
		if (mnl_socket_sendto(nf->nl, buf, nlh->nlmsg_len) == -1) {
			snprintf(err, errlen, "conntrack delete: %s", strerror(errno));
			deleted = -1;
			goto out;
		}
		/* ENOENT: the entry died meanwhile, which is what we wanted. */
		if (nf_drain_acks(nf, nlh->nlmsg_seq, 1, e, sizeof(e)) == 0)
			deleted++;
		else if (strstr(e, strerror(ENOENT)) == NULL) {
			snprintf(err, errlen, "conntrack delete: %s", e);
			deleted = -1;
			goto out;
		}
	}
out:
	free(m.orig);
	free(m.orig_len);
	if (n == -1 || rc == -1)
		return -1;
	return deleted;
}
