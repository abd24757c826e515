/*
 * nf_table.c: table inet vcrecovery through libnftnl and libmnl.
 *
 * Every change is one batch (begin, messages, end), sent at once, and
 * every ACK is read back before the call returns: the kernel applies a
 * batch as one transaction, so a cut-over is atomic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "vcr.h"
#include "nf.h"
#include "nf-int.h"

/* nft's datatype numbers: ipv4_addr . inet_service, for `nft list`. */
#define TYPE_IPADDR		7
#define TYPE_INET_SERVICE	13
#define CONCAT_ADDR_PORT	((TYPE_IPADDR << 6) | TYPE_INET_SERVICE)
#define KEY_LEN			8	/* 4 address + 2 port, padded to a register */
#define SET_ID_SERVICES		1
#define SET_ID_MASQ		2
#define SET_ID_RELAYED		3
#define SET_ID_HELD		4
#define SET_ID_SUSPECT		5
#define SET_ID_RECENT		6
/* ipv4_addr . inet_service . ipv4_addr . inet_service */
#define CONCAT_TUPLE		((((CONCAT_ADDR_PORT << 6) | TYPE_IPADDR) << 6) | TYPE_INET_SERVICE)
/* nft's udata type for an element comment. */
#define UDATA_ELEM_COMMENT	0
#define NF_ACK_WAIT_MS		2000
/* By enum nf_set. */
static const char *const set_names[] = { NF_MAP, NF_MASQ, NF_RELAYED, NF_HELD, NF_SUSPECT };
static const uint32_t set_ids[] = { SET_ID_SERVICES, SET_ID_MASQ, SET_ID_RELAYED, SET_ID_HELD,
    SET_ID_SUSPECT };
/* Messages of the table's skeleton: 3 table, 6 sets, 3 chains, 9 rules. */
#define NF_SKELETON_MSGS	22u

int
nf_batch_add(struct nf_batch *b, enum nf_op op, enum nf_set set,
    const struct endpoint *key, const struct endpoint *data, const char *comment)
{
	struct nf_change *c;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct nf_change *nc = realloc(b->c, cap * sizeof(*nc));
		if (nc == NULL)
			return -1;
		b->c = nc;
		b->cap = cap;
	}
	c = &b->c[b->n++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->set = set;
	c->key = *key;
	if (data)
		c->data = *data;
	if (comment)
		snprintf(c->comment, sizeof(c->comment), "%s", comment);
	return 0;
}

void
nf_batch_reset(struct nf_batch *b)
{
	free(b->c);
	memset(b, 0, sizeof(*b));
}

void
nf_key(const struct endpoint *ep, uint8_t out[KEY_LEN])
{
	uint16_t port = htons(ep->port);

	memset(out, 0, KEY_LEN);
	memcpy(out, &ep->addr.s_addr, 4);
	memcpy(out + 4, &port, 2);
}

struct nf *
nf_open(char *err, size_t errlen)
{
	struct nf *nf;
	int bufsz = 4 << 20;

	if ((nf = calloc(1, sizeof(*nf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((nf->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(nf->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		snprintf(err, errlen, "netlink netfilter socket: %s", strerror(errno));
		nf_close(nf);
		return NULL;
	}
	/* A batch for a thousand services, and all its ACKs, must fit. */
	setsockopt(mnl_socket_get_fd(nf->nl), SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	setsockopt(mnl_socket_get_fd(nf->nl), SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	nf->portid = mnl_socket_get_portid(nf->nl);
	nf->seq = (uint32_t)wall_ms();
	return nf;
}

void
nf_close(struct nf *nf)
{
	if (nf == NULL)
		return;
	if (nf->nl)
		mnl_socket_close(nf->nl);
	free(nf);
}

static struct nftnl_expr *
expr_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	return e;
}

static struct nftnl_expr *
expr_cmp(uint32_t op, uint32_t sreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return e;
}

static struct nftnl_expr *
expr_payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	return e;
}

static struct nftnl_expr *
expr_lookup(const char *set, uint32_t set_id, int with_dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (with_dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	return e;
}

/* meta nfproto ipv4 meta l4proto tcp, then ip daddr . tcp dport into reg 1 . reg 9 */
static void
add_match_ipv4_tcp_dst(struct nftnl_rule *r)
{
	uint8_t v4 = NFPROTO_IPV4, tcp = IPPROTO_TCP;

	nftnl_rule_add_expr(r, expr_meta(NFT_META_NFPROTO, NFT_REG_1));
	nftnl_rule_add_expr(r, expr_cmp(NFT_CMP_EQ, NFT_REG_1, &v4, 1));
	nftnl_rule_add_expr(r, expr_meta(NFT_META_L4PROTO, NFT_REG_1));
	nftnl_rule_add_expr(r, expr_cmp(NFT_CMP_EQ, NFT_REG_1, &tcp, 1));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01));
}

static struct nftnl_rule *
rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NF_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

/* dnat ip to ip daddr . tcp dport map @services */
static struct nftnl_rule *
rule_dnat(const char *chain)
{
	struct nftnl_rule *r = rule_new(chain);
	struct nftnl_expr *e;

	add_match_ipv4_tcp_dst(r);
	nftnl_rule_add_expr(r, expr_lookup(NF_MAP, SET_ID_SERVICES, 1));
	e = nftnl_expr_alloc("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
	nftnl_rule_add_expr(r, e);
	return r;
}

/*
 * [meta mark != NF_RELAY_MARK] ip daddr . tcp dport @SET VERDICT. Two of
 * them: @relayed accept (vcrd's own listener takes these, unless the
 * packet is vcrd's upstream), and @held drop (a new connection to a held
 * frontend is dropped before it is NATed, its conntrack entry never
 * confirmed, so the client's SYN retransmit meets the map as it is by
 * then).
 */
static struct nftnl_rule *
rule_set_verdict(const char *chain, enum nf_set set, uint32_t verdict, int unless_marked)
{
	struct nftnl_rule *r = rule_new(chain);
	struct nftnl_expr *e;
	uint32_t mark = NF_RELAY_MARK;

	if (unless_marked) {
		nftnl_rule_add_expr(r, expr_meta(NFT_META_MARK, NFT_REG_1));
		nftnl_rule_add_expr(r, expr_cmp(NFT_CMP_NEQ, NFT_REG_1, &mark, sizeof(mark)));
	}
	add_match_ipv4_tcp_dst(r);
	nftnl_rule_add_expr(r, expr_lookup(set_names[set], set_ids[set], 0));
	e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	nftnl_rule_add_expr(r, e);
	return r;
}

/*
 * ip daddr . tcp dport @held socket mark NF_HOLD_MARK accept: a held
 * frontend's new connection goes, un-NATed, to vcrd's own hold listener
 * (marked) when there is one. When there is none (vcrd could not listen
 * there, or is not running) the socket lookup finds nothing and the next
 * rule drops the SYN. Prerouting only: in output the lookup would find
 * the sending socket itself.
 */
static struct nftnl_rule *
rule_hold_accept(void)
{
	struct nftnl_rule *r = rule_new("prerouting");
	struct nftnl_expr *e;
	uint32_t mark = NF_HOLD_MARK;

	add_match_ipv4_tcp_dst(r);
	nftnl_rule_add_expr(r, expr_lookup(NF_HELD, SET_ID_HELD, 0));
	e = nftnl_expr_alloc("socket");
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	nftnl_rule_add_expr(r, expr_cmp(NFT_CMP_EQ, NFT_REG_1, &mark, sizeof(mark)));
	e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	nftnl_rule_add_expr(r, e);
	return r;
}

/*
 * ip daddr . tcp dport @suspect add @recent { ip saddr . tcp sport . ip daddr . tcp dport }
 *
 * While a service's active target fails its checks, the nat chains (which
 * see the first packet of each connection only) write down who connects:
 * after the cut-over vcrd finds those connections' conntrack entries by
 * tuple (nf_ct_flush NF_CT_RECENT) instead of walking the whole conntrack
 * table first. A full set makes the add fail and the rule stop here; the
 * next rule NATs the connection all the same.
 */
static struct nftnl_rule *
rule_recent(const char *chain)
{
	struct nftnl_rule *r = rule_new(chain);
	struct nftnl_expr *e;

	add_match_ipv4_tcp_dst(r);
	nftnl_rule_add_expr(r, expr_lookup(NF_SUSPECT, SET_ID_SUSPECT, 0));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_04));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_05));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_06));
	nftnl_rule_add_expr(r, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_07));
	e = nftnl_expr_alloc("dynset");
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_ADD);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_04);
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, NF_RECENT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, SET_ID_RECENT);
	nftnl_rule_add_expr(r, e);
	return r;
}

/* ct status dnat ip daddr . tcp dport @masq masquerade */
static struct nftnl_rule *
rule_masq(void)
{
	struct nftnl_rule *r = rule_new("postrouting");
	struct nftnl_expr *e;
	uint32_t mask = IPS_DST_NAT, zero = 0;

	e = nftnl_expr_alloc("ct");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	e = nftnl_expr_alloc("bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	nftnl_rule_add_expr(r, e);
	nftnl_rule_add_expr(r, expr_cmp(NFT_CMP_NEQ, NFT_REG_1, &zero, sizeof(zero)));
	add_match_ipv4_tcp_dst(r);
	nftnl_rule_add_expr(r, expr_lookup(NF_MASQ, SET_ID_MASQ, 0));
	nftnl_rule_add_expr(r, nftnl_expr_alloc("masq"));
	return r;
}

static struct nftnl_set *
set_alloc(const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NF_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static struct nftnl_set *
set_new(enum nf_set which)
{
	return set_alloc(set_names[which], set_ids[which]);
}

static void
put_set_decl(struct mnl_nlmsg_batch *batch, enum nf_set which, uint32_t seq)
{
	struct nftnl_set *s = set_new(which);
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, CONCAT_ADDR_PORT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, KEY_LEN);
	if (which == NF_SET_SERVICES) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, CONCAT_ADDR_PORT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, KEY_LEN);
		/* Each element counts the connections NATed since it was written. */
		nftnl_set_add_expr(s, nftnl_expr_alloc("counter"));
	} else
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), NFT_MSG_NEWSET,
	    NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	mnl_nlmsg_batch_next(batch);
}

/*
 * set recent: client . frontend of each new connection to a suspect
 * service, kept as long as conntrack keeps an unanswered SYN (120 s),
 * NF_RECENT_MAX at most.
 */
static void
put_set_recent(struct mnl_nlmsg_batch *batch, uint32_t seq)
{
	struct nftnl_set *s = set_alloc(NF_RECENT, SET_ID_RECENT);
	struct nlmsghdr *nlh;

	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, CONCAT_TUPLE);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, NF_TUPLE_LEN);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, NF_RECENT_TIMEOUT_MS);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, NF_RECENT_MAX);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), NFT_MSG_NEWSET,
	    NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	mnl_nlmsg_batch_next(batch);
}

static void
put_chain(struct mnl_nlmsg_batch *batch, const char *name, uint32_t hook, int prio,
    uint32_t seq)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NF_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), NFT_MSG_NEWCHAIN,
	    NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	mnl_nlmsg_batch_next(batch);
}

static void
put_rule(struct mnl_nlmsg_batch *batch, struct nftnl_rule *r, uint32_t seq)
{
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), NFT_MSG_NEWRULE,
	    NFPROTO_INET, NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	mnl_nlmsg_batch_next(batch);
}

static void
put_table(struct mnl_nlmsg_batch *batch, uint16_t type, uint32_t seq)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NF_TABLE);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), type, NFPROTO_INET,
	    (type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0) | NLM_F_ACK, seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_nlmsg_batch_next(batch);
}

static void
put_elem(struct mnl_nlmsg_batch *batch, const struct nf_change *c, uint32_t seq)
{
	struct nftnl_set *s = set_new(c->set);
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nlmsghdr *nlh;
	uint8_t key[KEY_LEN], data[KEY_LEN];

	nf_key(&c->key, key);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, KEY_LEN);
	if (c->op == NF_ADD && c->set == NF_SET_SERVICES) {
		nf_key(&c->data, data);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, KEY_LEN);
		if (c->comment[0]) {
			struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
			nftnl_udata_put_strz(ud, UDATA_ELEM_COMMENT, c->comment);
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
			nftnl_udata_buf_free(ud);
		}
	}
	nftnl_set_elem_add(s, e);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch),
	    c->op == NF_ADD ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, NFPROTO_INET,
	    (c->op == NF_ADD ? NLM_F_CREATE : 0) | NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	mnl_nlmsg_batch_next(batch);
}

/* Room for the table's skeleton plus every element, with margin. */
size_t
nf_batch_size(const struct nf_batch *b)
{
	return 16384 + b->n * 512;
}

ssize_t
nf_build_batch(const struct nf_batch *b, int replace_table, uint32_t seq, void *buf,
    size_t len)
{
	struct mnl_nlmsg_batch *batch;
	ssize_t out;

	if (len < nf_batch_size(b))
		return -1;
	batch = mnl_nlmsg_batch_start(buf, len);
	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), seq++);
	mnl_nlmsg_batch_next(batch);
	if (replace_table) {
		/*
		 * add table; delete table; then the whole table anew: the
		 * first line makes the delete valid when there was none.
		 */
		put_table(batch, NFT_MSG_NEWTABLE, seq++);
		put_table(batch, NFT_MSG_DELTABLE, seq++);
		put_table(batch, NFT_MSG_NEWTABLE, seq++);
		put_set_decl(batch, NF_SET_SERVICES, seq++);
		put_set_decl(batch, NF_SET_MASQ, seq++);
		put_set_decl(batch, NF_SET_RELAYED, seq++);
		put_set_decl(batch, NF_SET_HELD, seq++);
		put_set_decl(batch, NF_SET_SUSPECT, seq++);
		put_set_recent(batch, seq++);
		put_chain(batch, "prerouting", NF_INET_PRE_ROUTING, -100, seq++);
		put_chain(batch, "output", NF_INET_LOCAL_OUT, -100, seq++);
		put_chain(batch, "postrouting", NF_INET_POST_ROUTING, 100, seq++);
		put_rule(batch, rule_set_verdict("prerouting", NF_SET_RELAYED, NF_ACCEPT, 0), seq++);
		put_rule(batch, rule_hold_accept(), seq++);
		put_rule(batch, rule_set_verdict("prerouting", NF_SET_HELD, NF_DROP, 0), seq++);
		put_rule(batch, rule_recent("prerouting"), seq++);
		put_rule(batch, rule_dnat("prerouting"), seq++);
		put_rule(batch, rule_set_verdict("output", NF_SET_RELAYED, NF_ACCEPT, 1), seq++);
		put_rule(batch, rule_set_verdict("output", NF_SET_HELD, NF_DROP, 0), seq++);
		put_rule(batch, rule_recent("output"), seq++);
		put_rule(batch, rule_dnat("output"), seq++);
		put_rule(batch, rule_masq(), seq++);
	}
	for (size_t i = 0; i < b->n; i++)
		put_elem(batch, &b->c[i], seq++);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), seq++);
	mnl_nlmsg_batch_next(batch);
	out = (ssize_t)mnl_nlmsg_batch_size(batch);
	mnl_nlmsg_batch_stop(batch);
	return out;
}

/*
 * Reads replies until every message that asked for an ACK has one, or
 * an error came and nothing more arrives. An error ok_errno (0: none) is
 * not one: the message did nothing, which was fine. With okp, counts the
 * messages that succeeded. Returns 0 or -1 with err set.
 */
int
nf_drain_acks(struct nf *nf, uint32_t first_seq, unsigned expected, int ok_errno,
    unsigned *okp, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct pollfd pfd = { .fd = mnl_socket_get_fd(nf->nl), .events = POLLIN };
	unsigned got = 0, ok = 0;
	int first_error = 0;
	uint32_t err_seq = 0;

	while (got < expected) {
		int r = poll(&pfd, 1, first_error ? 50 : NF_ACK_WAIT_MS);
		ssize_t n;

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (first_error)
				break;
			snprintf(err, errlen, "netlink: %u of %u ACKs after %d ms", got, expected,
			    NF_ACK_WAIT_MS);
			return -1;
		}
		if ((n = mnl_socket_recvfrom(nf->nl, buf, sizeof(buf))) == -1) {
			snprintf(err, errlen, "netlink receive: %s", strerror(errno));
			return -1;
		}
		int left = (int)n;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		    nlh = mnl_nlmsg_next(nlh, &left)) {
			/* Only this request's replies: a late one from an earlier
			 * request must not stand in for ours. */
			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first_seq ||
			    nlh->nlmsg_seq >= first_seq + expected)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			got++;
			if (e->error == 0)
				ok++;
			else if (-e->error != ok_errno && first_error == 0) {
				first_error = -e->error;
				err_seq = nlh->nlmsg_seq;
			}
		}
	}
	if (okp)
		*okp = ok;
	if (first_error) {
		snprintf(err, errlen, "nftables rejected message %u of the batch: %s",
		    err_seq - first_seq + 1, strerror(first_error));
		return -1;
	}
	return 0;
}

/* Drops replies nobody waits for any more (a request that timed out). */
void
nf_discard_pending(struct nf *nf)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	while (recv(mnl_socket_get_fd(nf->nl), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static int
send_batch(struct nf *nf, const struct nf_batch *b, int replace_table, char *err,
    size_t errlen)
{
	size_t len = nf_batch_size(b);
	void *buf = malloc(len);
	uint32_t seq = nf->seq;
	unsigned expected;
	ssize_t n;
	int rc;

	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((n = nf_build_batch(b, replace_table, seq, buf, len)) == -1) {
		free(buf);
		snprintf(err, errlen, "batch does not fit");
		return -1;
	}
	expected = (unsigned)b->n + (replace_table ? NF_SKELETON_MSGS : 0u);
	nf->seq += expected + 2;
	nf_discard_pending(nf);
	if (mnl_socket_sendto(nf->nl, buf, (size_t)n) == -1) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		free(buf);
		return -1;
	}
	free(buf);
	rc = nf_drain_acks(nf, seq + 1, expected, 0, NULL, err, errlen);
	return rc;
}

int
nf_replace_table(struct nf *nf, const struct nf_batch *b, char *err, size_t errlen)
{
	return send_batch(nf, b, 1, err, errlen);
}

int
nf_apply(struct nf *nf, const struct nf_batch *b, char *err, size_t errlen)
{
	if (b->n == 0)
		return 0;
	return send_batch(nf, b, 0, err, errlen);
}

int
nf_delete_table(struct nf *nf, char *err, size_t errlen)
{
	char buf[4096];
	struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	uint32_t seq = nf->seq;

	nf_discard_pending(nf);
	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), nf->seq++);
	mnl_nlmsg_batch_next(batch);
	put_table(batch, NFT_MSG_DELTABLE, nf->seq++);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), nf->seq++);
	mnl_nlmsg_batch_next(batch);
	if (mnl_socket_sendto(nf->nl, buf, mnl_nlmsg_batch_size(batch)) == -1) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		mnl_nlmsg_batch_stop(batch);
		return -1;
	}
	mnl_nlmsg_batch_stop(batch);
	return nf_drain_acks(nf, seq + 1, 1, 0, NULL, err, errlen);
}
