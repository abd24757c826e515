/*
 * test_nf_msg.c: the netlink batches vcrd sends, built and parsed back
 * with libnftnl. Needs no root and no kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "conf.h"
#include "nf.h"

static struct endpoint
ep(const char *s)
{
	struct endpoint e;

	assert_int_equal(parse_endpoint(s, &e), 0);
	return e;
}

struct msgs {
	const struct nlmsghdr *m[64];
	unsigned n;
};

static void
split(void *buf, ssize_t len, struct msgs *out)
{
	int left = (int)len;

	out->n = 0;
	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, left);
	    nlh = mnl_nlmsg_next(nlh, &left)) {
		assert_true(out->n < 64);
		out->m[out->n++] = nlh;
	}
	assert_int_equal(left, 0);	/* nothing left over, nothing truncated */
}

static uint16_t
nft_type(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type & 0xff;
}

static int
udata_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **out = data;

	if (nftnl_udata_type(attr) == 0)
		*out = nftnl_udata_get(attr);
	return 0;
}

/* Parses the one element of a set-element message. */
static void
parse_elem(const struct nlmsghdr *nlh, char *set_name, struct endpoint *key,
    struct endpoint *data, char *comment)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	const uint8_t *k;
	uint32_t len;

	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	strcpy(set_name, nftnl_set_get_str(s, NFTNL_SET_NAME));
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), "vcrecovery");
	it = nftnl_set_elems_iter_create(s);
	e = nftnl_set_elems_iter_next(it);
	assert_non_null(e);
	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	assert_int_equal(len, 8);
	memcpy(&key->addr.s_addr, k, 4);
	key->port = ntohs(*(const uint16_t *)(k + 4));
	assert_int_equal(k[6] | k[7], 0);	/* register padding */
	comment[0] = '\0';
	memset(data, 0, sizeof(*data));
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
		k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
		assert_int_equal(len, 8);
		memcpy(&data->addr.s_addr, k, 4);
		data->port = ntohs(*(const uint16_t *)(k + 4));
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
		const void *ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
		const char *c = NULL;
		assert_true(nftnl_udata_parse(ud, len, udata_comment_cb, &c) >= 0);
		assert_non_null(c);
		strcpy(comment, c);
	}
	assert_null(nftnl_set_elems_iter_next(it));
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
}

static void
test_cutover_batch(void **state)
{
	struct nf_batch b = { 0 };
	struct endpoint fe = ep("198.18.0.1:80"), sb = ep("198.18.2.2:8080"), key, data;
	static char buf[1 << 16];
	char set[64], comment[256], t[32];
	struct msgs m;
	ssize_t n;

	nf_batch_add(&b, NF_DEL, NF_SET_SERVICES, &fe, NULL, NULL);
	nf_batch_add(&b, NF_ADD, NF_SET_SERVICES, &fe, &sb, "web -> standby since T");
	n = nf_build_batch(&b, 0, 100, buf, sizeof(buf));
	assert_true(n > 0);
	split(buf, n, &m);
	assert_int_equal(m.n, 4);
	assert_int_equal(m.m[0]->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(m.m[3]->nlmsg_type, NFNL_MSG_BATCH_END);
	for (unsigned i = 0; i < m.n; i++)
		assert_int_equal(m.m[i]->nlmsg_seq, 100 + i);
	/* Every message in between asks for an ACK. */
	assert_true(m.m[1]->nlmsg_flags & NLM_F_ACK);
	assert_true(m.m[2]->nlmsg_flags & NLM_F_ACK);

	assert_int_equal(nft_type(m.m[1]), NFT_MSG_DELSETELEM);
	parse_elem(m.m[1], set, &key, &data, comment);
	assert_string_equal(set, "services");
	assert_string_equal(fmt_endpoint(&key, t, sizeof(t)), "198.18.0.1:80");
	assert_string_equal(comment, "");

	assert_int_equal(nft_type(m.m[2]), NFT_MSG_NEWSETELEM);
	parse_elem(m.m[2], set, &key, &data, comment);
	assert_string_equal(set, "services");
	assert_string_equal(fmt_endpoint(&key, t, sizeof(t)), "198.18.0.1:80");
	assert_string_equal(fmt_endpoint(&data, t, sizeof(t)), "198.18.2.2:8080");
	assert_string_equal(comment, "web -> standby since T");
	nf_batch_reset(&b);
}

static void
rule_text(const struct nlmsghdr *nlh, char *out, size_t len)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	nftnl_rule_snprintf(out, len, r, NFTNL_OUTPUT_DEFAULT, 0);
	nftnl_rule_free(r);
}

static void
test_replace_table(void **state)
{
	static const uint16_t want[] = {
		NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE,
		NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWSET,
		NFT_MSG_NEWSET, NFT_MSG_NEWSET,
		NFT_MSG_NEWCHAIN, NFT_MSG_NEWCHAIN, NFT_MSG_NEWCHAIN,
		NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
		NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
		NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
		NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM,
	};
	struct nf_batch b = { 0 };
	struct endpoint fe = ep("198.18.0.1:80"), pr = ep("198.18.1.2:80"), key, data;
	static char buf[1 << 16];
	char text[2048], set[64], comment[256], t[32];
	struct nftnl_set *s;
	struct msgs m;
	ssize_t n;

	nf_batch_add(&b, NF_ADD, NF_SET_SERVICES, &fe, &pr, "web -> primary");
	nf_batch_add(&b, NF_ADD, NF_SET_MASQ, &pr, NULL, NULL);
	n = nf_build_batch(&b, 1, 1, buf, sizeof(buf));
	assert_true(n > 0);
	split(buf, n, &m);
	assert_int_equal(m.n, sizeof(want) / sizeof(want[0]) + 2);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (nft_type(m.m[i + 1]) != want[i])
			print_error("message %u: type %u, want %u\n", i + 1, nft_type(m.m[i + 1]),
			    want[i]);
		assert_int_equal(nft_type(m.m[i + 1]), want[i]);
	}

	/* The map: ipv4_addr . inet_service to the same, a map, with counters. */
	s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(m.m[4], s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), "services");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 8);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), 8);
	assert_true(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_MAP);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), (7 << 6) | 13);
	nftnl_set_free(s);

	s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(m.m[7], s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), "held");
	assert_false(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_MAP);
	nftnl_set_free(s);

	/* suspect: frontends; recent: client . frontend, dynamic, 120 s, bounded */
	s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(m.m[8], s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), "suspect");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 8);
	nftnl_set_free(s);
	s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(m.m[9], s), 0);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_NAME), "recent");
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 16);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
	    (((((7 << 6) | 13) << 6) | 7) << 6) | 13);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_TIMEOUT | NFT_SET_EVAL);
	assert_int_equal(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 120000);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE), 65536);
	nftnl_set_free(s);

	/*
	 * ip daddr . tcp dport @suspect add @recent { ip saddr . tcp sport .
	 * ip daddr . tcp dport }, just before the dnat, in both chains
	 */
	for (unsigned i = 16; i <= 20; i += 4) {
		rule_text(m.m[i], text, sizeof(text));
		assert_non_null(strstr(text, i == 16 ? "prerouting" : "output"));
		assert_non_null(strstr(text, "[ lookup reg 1 set suspect ]"));
		assert_non_null(strstr(text, "[ payload load 4b @ network header + 12 => reg 12 ]"));
		assert_non_null(strstr(text, "[ payload load 2b @ transport header + 0 => reg 13 ]"));
		assert_non_null(strstr(text, "[ payload load 4b @ network header + 16 => reg 14 ]"));
		assert_non_null(strstr(text, "[ payload load 2b @ transport header + 2 => reg 15 ]"));
		assert_non_null(strstr(text, "[ dynset add reg_key 12 set recent ]"));
	}

	/*
	 * ip daddr . tcp dport @relayed accept, @held to vcrd's marked hold
	 * listener if there is one, else @held drop, then the dnat
	 */
	rule_text(m.m[13], text, sizeof(text));
	assert_non_null(strstr(text, "[ lookup reg 1 set relayed ]"));
	assert_non_null(strstr(text, "[ immediate reg 0 accept ]"));
	assert_null(strstr(text, "meta load mark"));
	rule_text(m.m[14], text, sizeof(text));
	assert_non_null(strstr(text, "prerouting"));
	assert_non_null(strstr(text, "[ lookup reg 1 set held ]"));
	assert_non_null(strstr(text, "[ socket load mark => reg 1 ]"));
	assert_non_null(strstr(text, "[ cmp eq reg 1 0x00007668 ]"));
	assert_non_null(strstr(text, "[ immediate reg 0 accept ]"));
	rule_text(m.m[15], text, sizeof(text));
	assert_non_null(strstr(text, "prerouting"));
	assert_non_null(strstr(text, "[ lookup reg 1 set held ]"));
	assert_non_null(strstr(text, "[ immediate reg 0 drop ]"));
	/* dnat ip to ip daddr . tcp dport map @services */
	rule_text(m.m[17], text, sizeof(text));
	assert_non_null(strstr(text, "[ payload load 4b @ network header + 16 => reg 1 ]"));
	assert_non_null(strstr(text, "[ payload load 2b @ transport header + 2 => reg 9 ]"));
	assert_non_null(strstr(text, "[ lookup reg 1 set services dreg 1 ]"));
	assert_non_null(strstr(text, "[ nat dnat ip addr_min reg 1 proto_min reg 9 ]"));
	assert_non_null(strstr(text, "prerouting"));
	/* output: vcrd's marked upstream connections are not exempted */
	rule_text(m.m[18], text, sizeof(text));
	assert_non_null(strstr(text, "output"));
	assert_non_null(strstr(text, "[ meta load mark => reg 1 ]"));
	assert_non_null(strstr(text, "[ cmp neq reg 1 0x00007663 ]"));
	assert_non_null(strstr(text, "[ lookup reg 1 set relayed ]"));
	rule_text(m.m[19], text, sizeof(text));
	assert_non_null(strstr(text, "output"));
	assert_non_null(strstr(text, "[ lookup reg 1 set held ]"));
	rule_text(m.m[21], text, sizeof(text));
	assert_non_null(strstr(text, "output"));
	assert_non_null(strstr(text, "[ lookup reg 1 set services dreg 1 ]"));
	/* ct status dnat ip daddr . tcp dport @masq masquerade */
	rule_text(m.m[22], text, sizeof(text));
	assert_non_null(strstr(text, "[ ct load status => reg 1 ]"));
	assert_non_null(strstr(text, "[ lookup reg 1 set masq ]"));
	assert_non_null(strstr(text, "[ masq ]"));

	parse_elem(m.m[23], set, &key, &data, comment);
	assert_string_equal(set, "services");
	assert_string_equal(fmt_endpoint(&data, t, sizeof(t)), "198.18.1.2:80");
	parse_elem(m.m[24], set, &key, &data, comment);
	assert_string_equal(set, "masq");
	assert_string_equal(fmt_endpoint(&key, t, sizeof(t)), "198.18.1.2:80");
	nf_batch_reset(&b);
}

static void
test_buffer_too_small(void **state)
{
	struct nf_batch b = { 0 };
	struct endpoint fe = ep("198.18.0.1:80");
	char buf[256];

	nf_batch_add(&b, NF_DEL, NF_SET_SERVICES, &fe, NULL, NULL);
	assert_int_equal(nf_build_batch(&b, 1, 1, buf, sizeof(buf)), -1);
	nf_batch_reset(&b);
}

static void
test_thousand_services_fit(void **state)
{
	struct nf_batch b = { 0 };
	struct endpoint fe = ep("198.18.0.1:1"), pr = ep("198.18.1.2:80");
	size_t len = 16384 + 2000 * 512;
	char *buf = malloc(len);
	ssize_t n;
	int left;
	unsigned count = 0;

	for (unsigned i = 0; i < 1000; i++) {
		fe.port = (uint16_t)(1000 + i);
		nf_batch_add(&b, NF_ADD, NF_SET_SERVICES, &fe, &pr,
		    "service-with-a-long-name-0000000000000000 -> primary 198.18.1.2:80 since "
		    "2026-11-26T04:30:00Z");
		nf_batch_add(&b, NF_ADD, NF_SET_MASQ, &pr, NULL, NULL);
	}
	n = nf_build_batch(&b, 1, 1, buf, len);
	assert_true(n > 0);
	left = (int)n;
	for (const struct nlmsghdr *nlh = (void *)buf; mnl_nlmsg_ok(nlh, left);
	    nlh = mnl_nlmsg_next(nlh, &left))
		count++;
	assert_int_equal(count, 2000 + 22 + 2);
	free(buf);
	nf_batch_reset(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cutover_batch),
		cmocka_unit_test(test_replace_table),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_thousand_services_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
