/*
 * test_exclude.c: the exclusion list, as a property over generated trees.
 *
 * Each round makes a random primary: directories and files (some with
 * wildcard characters in their names), merged /usr (lib -> usr/lib),
 * packages whose lists own random parts of it (kernels and firmware among
 * them), shared directories, diversions, and files no package owns. A
 * naive reference, written from the definition path by path, must agree
 * with the library on every entry, and the collapsed and file-level rules
 * must both exclude exactly those entries (excl_check). Tampered rules
 * must be caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exclude.h"

#define MAXP	600

struct gen {
	char	 path[MAXP][128];	/* canonical, "" is the root */
	char	 type[MAXP];
	int	 n;
	/* owners: for each path, bit k = package k lists it */
	unsigned owners[MAXP];
	int	 div_from, div_to, div_by;	/* one diversion, or -1 */
	char	 snap[1 << 20];
	size_t	 len;
};

static const char *const pkgs[] = { "base-files", "nginx-common", "linux-image-6.1.0-9-amd64",
	"firmware-misc-nonfree", "udev", "grub-pc-bin", "libc6" };
#define NPKG	7
static int
pkg_excl(int k)
{
	return k == 2 || k == 3 || k == 5;
}

static unsigned rnd_state;
static unsigned
rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static int
find(struct gen *g, const char *p)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->path[i], p) == 0)
			return i;
	return -1;
}

static void
make_tree(struct gen *g)
{
	static const char *const names[] = { "a", "b", "modules", "firmware", "doc", "x*y",
	    "q?", "br[k]", "data", "conf" };
	memset(g, 0, sizeof(*g));
	g->div_from = g->div_to = g->div_by = -1;
	strcpy(g->path[0], ""); g->type[0] = 'd';
	strcpy(g->path[1], "usr"); g->type[1] = 'd';
	strcpy(g->path[2], "usr/lib"); g->type[2] = 'd';
	strcpy(g->path[3], "etc"); g->type[3] = 'd';
	strcpy(g->path[4], "var"); g->type[4] = 'd';
	strcpy(g->path[5], "boot"); g->type[5] = 'd';
	g->n = 6;
	while (g->n < 200 + (int)rnd(300)) {
		int parent = (int)rnd((unsigned)g->n), i;
		char p[128];
		if (g->type[parent] != 'd' || strlen(g->path[parent]) > 90)
			continue;
		snprintf(p, sizeof(p), "%s%s%s%u", g->path[parent], g->path[parent][0] ? "/" : "",
		    names[rnd(10)], rnd(4));
		if (find(g, p) >= 0)
			continue;
		i = g->n++;
		strcpy(g->path[i], p);
		g->type[i] = rnd(3) == 0 ? 'd' : rnd(8) == 0 ? 'l' : 'f';
	}
	/* Packages own random entries; a directory's owner often owns what is in it. */
	g->owners[0] = 1u << 0;
	for (int i = 1; i < g->n; i++) {
		int par = -1;
		char pp[128], *sl;
		strcpy(pp, g->path[i]);
		sl = strrchr(pp, '/');
		if (sl) { *sl = '\0'; par = find(g, pp); } else par = 0;
		if (par >= 0 && g->owners[par] && rnd(4) != 0)
			g->owners[i] = g->owners[par] & (rnd(5) == 0 ? ~0u : (1u << (31 - __builtin_clz(g->owners[par]))));
		else if (rnd(4) != 0)
			g->owners[i] = 1u << rnd(NPKG);
		if (rnd(10) == 0)
			g->owners[i] |= 1u << rnd(NPKG);	/* shared */
		if (rnd(6) == 0)
			g->owners[i] = 0;			/* user data or generated */
	}
	/* One diversion: an excluded package's file moved aside by a kept one. */
	for (int tries = 0; tries < 50; tries++) {
		int i = (int)rnd((unsigned)g->n);
		if (g->type[i] == 'f' && g->owners[i] == (1u << 2) && g->n < MAXP) {
			char to[128];
			snprintf(to, sizeof(to), "%.100s.distrib", g->path[i]);
			g->div_from = i;
			g->div_to = g->n++;
			snprintf(g->path[g->div_to], sizeof(g->path[0]), "%s", to);
			g->type[g->div_to] = 'f';
			g->div_by = 1;	/* nginx-common */
			break;
		}
	}
}

/* Listed path as a package writes it: merged /usr means lib/... for usr/lib/... */
static void
listed_as(const char *can, char *out, size_t len)
{
	if (strncmp(can, "usr/lib", 7) == 0 && rnd(2))
		snprintf(out, len, "/lib%s", can + 7);
	else
		snprintf(out, len, "/%s", can[0] ? can : ".");
}

static void
make_snapshot(struct gen *g)
{
	char *s = g->snap, tmp[160];
	size_t n = 0, cap = sizeof(g->snap);
#define OUT(...) (n += (size_t)snprintf(s + n, cap - n, __VA_ARGS__))
	OUT("@links\nlib usr/lib\n@status\n");
	for (int k = 0; k < NPKG; k++)
		OUT("Package: %s\nStatus: install ok installed\n\n", pkgs[k]);
	OUT("@diversions\n");
	if (g->div_from >= 0)
		OUT("/%s\n/%s\n%s\n", g->path[g->div_from], g->path[g->div_to], pkgs[g->div_by]);
	for (int k = 0; k < NPKG; k++) {
		OUT("@list %s%s\n", pkgs[k], k == 6 ? ":amd64" : "");
		for (int i = 0; i < g->n; i++) {
			if (i == g->div_to)
				continue;	/* dpkg lists the original name */
			if (g->owners[i] & (1u << k)) {
				listed_as(g->path[i], tmp, sizeof(tmp));
				OUT("%s\n", tmp);
			}
		}
		if (k == g->div_by && g->div_from >= 0)
			OUT("/%s\n", g->path[g->div_from]);
		OUT("/gone/from/disk%d\n", k);
	}
	OUT("@tree\n");
	OUT("d %c", 0);
	OUT("l lib%c", 0);
	for (int i = 1; i < g->n; i++) {
		memcpy(s + n, (char[]){ g->type[i], ' ' }, 2);
		n += 2;
		OUT("%s%c", g->path[i], 0);
	}
	g->len = n;
#undef OUT
}

/* The definition, path by path. */
static int
reference(struct gen *g, int i)
{
	static const char *const always[] = { "boot", "etc/fstab", "etc/hostname", NULL };
	unsigned own;
	char p[128], *sl;

	for (const char *const *a = always; *a; a++) {
		size_t l = strlen(*a);
		if (strncmp(g->path[i], *a, l) == 0 && (g->path[i][l] == '\0' || g->path[i][l] == '/'))
			return 1;
	}
	for (int j = i; ; ) {
		own = g->owners[j];
		if (g->div_from >= 0) {
			/* The diverted name holds the diverter's file; .distrib the original's. */
			if (j == g->div_from)
				own = (own & ~(1u << 2)) | (1u << g->div_by);
			if (j == g->div_to)
				own = 1u << 2;
		}
		if (own) {
			int kept = 0, excl = 0;
			for (int k = 0; k < NPKG; k++)
				if (own & (1u << k))
					*(pkg_excl(k) ? &excl : &kept) = 1;
			if (j == i)
				return excl && !kept;
			/* An unlisted entry: the nearest listed directory decides. */
			return excl && !kept && g->type[j] == 'd' && g->path[j][0];
		}
		if (j == 0)
			return 0;
		strcpy(p, g->path[j]);
		sl = strrchr(p, '/');
		if (sl)
			*sl = '\0';
		else
			p[0] = '\0';
		j = find(g, p);
	}
}

static void
test_property(void **state)
{
	static struct gen g;
	char err[512];

	for (unsigned round = 0; round < 300; round++) {
		struct excl *x;
		char *rules;
		size_t len;

		rnd_state = round * 7919u + 1;
		make_tree(&g);
		make_snapshot(&g);
		x = excl_parse(g.snap, g.len, err, sizeof(err));
		if (x == NULL)
			print_error("round %u: %s\n", round, err);
		assert_non_null(x);
		excl_compute(x);
		for (int i = 1; i < g.n; i++) {
			char p[140];
			snprintf(p, sizeof(p), "/%s", g.path[i]);
			int want = reference(&g, i), got = excl_decision(x, p);
			if (want != got)
				print_error("round %u: %s (%c): reference %d, library %d\n", round, p,
				    g.type[i], want, got);
			assert_int_equal(want, got);
		}
		for (int collapsed = 0; collapsed < 2; collapsed++) {
			rules = excl_rules(x, collapsed, &len);
			assert_non_null(rules);
			if (excl_check(x, rules, len, err, sizeof(err)) != 0)
				print_error("round %u, collapsed %d: %s\n", round, collapsed, err);
			assert_int_equal(excl_check(x, rules, len, err, sizeof(err)), 0);
			free(rules);
		}
		excl_free(x);
	}
}

/* The checker itself must fail on wrong rules, or the property proves nothing. */
static void
test_check_catches(void **state)
{
	static struct gen g;
	char err[512];
	unsigned caught_drop = 0, caught_extra = 0;

	for (unsigned round = 0; round < 50; round++) {
		struct excl *x;
		char *rules, *last, *bigger;
		size_t len, cut;

		rnd_state = round * 104729u + 3;
		make_tree(&g);
		make_snapshot(&g);
		x = excl_parse(g.snap, g.len, err, sizeof(err));
		excl_compute(x);
		rules = excl_rules(x, 1, &len);
		/* Drop the last rule (one from the tree, after the path rules). */
		last = rules + len - 1;
		while (last > rules && last[-1] != '\0')
			last--;
		cut = (size_t)(last - rules);
		if (excl_check(x, rules, cut, err, sizeof(err)) > 0)
			caught_drop++;
		/* Add a rule that excludes a kept file. */
		for (int i = 1; i < g.n; i++) {
			char p[140];
			snprintf(p, sizeof(p), "/%s", g.path[i]);
			if (g.type[i] == 'f' && excl_decision(x, p) == 0) {
				int l = snprintf(NULL, 0, "- %s", p) + 1;
				bigger = malloc(len + (size_t)l);
				memcpy(bigger, rules, len);
				snprintf(bigger + len, (size_t)l, "- %s", p);
				if (excl_check(x, bigger, len + (size_t)l, err, sizeof(err)) > 0)
					caught_extra++;
				free(bigger);
				break;
			}
		}
		free(rules);
		excl_free(x);
	}
	assert_true(caught_drop >= 45);	/* unless the last rule was a path rule */
	assert_true(caught_extra >= 45);
}

static void
test_bad_snapshot(void **state)
{
	char err[256];
	const char cut[] = "@links\n@status\nPackage: a\n@list a\n/.\n";

	assert_null(excl_parse(cut, sizeof(cut) - 1, err, sizeof(err)));
	assert_string_equal(err, "snapshot: no @tree section (the primary's listing did not finish)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_check_catches),
		cmocka_unit_test(test_bad_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
