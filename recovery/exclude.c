/*
 * exclude.c: the collapsed exclusion list (see exclude.h for the rules).
 *
 * The primary's tree is loaded into nodes, found by full path through one
 * hash table. Package lists mark the nodes they own (after merged-/usr
 * links and dpkg diversions are resolved), one depth-first pass decides
 * every node, and a second writes the shortest list: a directory whose
 * whole subtree is excluded is one rule, and nothing below it is listed.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclude.h"

const char *const excl_default_packages[] = {
	"linux-image-*", "linux-headers-*", "linux-modules-*", "linux-kbuild-*",
	"linux-compiler-*", "linux-signed-*", "firmware-*", "*-microcode", "grub-*", "grub2*",
	"shim-*", "shim", "systemd-boot*", "initramfs-tools*", "dracut*", "irqbalance",
	"smartmontools", "lm-sensors", "thermald", "acpid", "acpi-support-base",
	NULL
};

const char *const excl_default_paths[] = {
	"/proc/", "/sys/", "/dev/", "/run/", "/tmp/", "/boot/", "/lost+found/",
	"/swapfile", "/swap.img", "/etc/fstab", "/etc/crypttab", "/etc/hostname",
	"/etc/network/interfaces", "/etc/network/interfaces.d/", "/etc/systemd/network/",
	"/etc/netplan/", "/etc/vcr-net", "/etc/machine-id", "/var/lib/dbus/machine-id",
	NULL
};

#define MAX_LINKS	8
#define MAX_PATTERNS	128

struct node {
	const char	*path;		/* "" for the root, else "usr/lib/x" (points into pool) */
	struct node	*parent;
	struct node	*child, *next;	/* first child, next sibling */
	char		 type;		/* 'd', 'f', 'l', ... as find's %y */
	unsigned char	 kept, excl;	/* listed by a kept / an excluded package */
	unsigned char	 always;	/* under a path rule */
	unsigned char	 expected;	/* the decision */
	unsigned char	 full;		/* it and everything below excluded */
	int		 owner;		/* a package that lists it, or -1 */
};

struct pkg {
	char		*name;		/* without :arch */
	int		 excluded;
};

struct diversion {
	char		*from, *to, *by;	/* canonical paths; by: package or ":" */
};

struct excl {
	struct node	*nodes;
	size_t		 nnodes, capnodes;
	struct node	**hash;		/* by path */
	size_t		 hcap;
	char		*pool;		/* copies of the snapshot's strings */
	struct pkg	*pkgs;
	size_t		 npkgs;
	struct diversion *divs;
	size_t		 ndivs;
	char		 link_from[MAX_LINKS][16], link_to[MAX_LINKS][64];
	unsigned	 nlinks;
	/* lists, kept until excl_compute marks the nodes */
	struct { int pkg; const char *path; } *entries;
	size_t		 nentries, capentries;
	const char	*plus[MAX_PATTERNS], *minus[MAX_PATTERNS], *paths[MAX_PATTERNS];
	unsigned	 nplus, nminus, npaths;
	char		 can_rules[MAX_PATTERNS + 32][256];	/* path rules, canonical */
	unsigned	 ncan;
	struct excl_stats st;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct node *
find(struct excl *x, const char *path)
{
	size_t i = hash_str(path) & (x->hcap - 1);

	for (; x->hash[i]; i = (i + 1) & (x->hcap - 1))
		if (strcmp(x->hash[i]->path, path) == 0)
			return x->hash[i];
	return NULL;
}

static void
insert(struct excl *x, struct node *n)
{
	size_t i = hash_str(n->path) & (x->hcap - 1);

	while (x->hash[i])
		i = (i + 1) & (x->hcap - 1);
	x->hash[i] = n;
}

/* "/lib/x/" -> "usr/lib/x": no leading or trailing '/', merged-/usr links resolved. */
static void
canonical(const struct excl *x, const char *in, char *out, size_t len)
{
	char tmp[4096];
	size_t n;

	while (*in == '/')
		in++;
	if (strcmp(in, ".") == 0)
		in = "";
	snprintf(tmp, sizeof(tmp), "%s", in);
	n = strlen(tmp);
	while (n > 0 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	for (unsigned i = 0; i < x->nlinks; i++) {
		size_t l = strlen(x->link_from[i]);
		if (strncmp(tmp, x->link_from[i], l) == 0 && (tmp[l] == '/' || tmp[l] == '\0')) {
			snprintf(out, len, "%s%s", x->link_to[i], tmp + l);
			return;
		}
	}
	snprintf(out, len, "%s", tmp);
}

/* ---- parsing ---- */

static char *
next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl == NULL) {
		*p = end;
		return s;	/* the pool is NUL-terminated */
	}
	*nl = '\0';
	*p = nl + 1;
	return s;
}

static int
add_pkg(struct excl *x, const char *name)
{
	char n[256], *colon;

	snprintf(n, sizeof(n), "%s", name);
	if ((colon = strchr(n, ':')) != NULL)
		*colon = '\0';
	for (size_t i = 0; i < x->npkgs; i++)
		if (strcmp(x->pkgs[i].name, n) == 0)
			return (int)i;
	struct pkg *p = realloc(x->pkgs, (x->npkgs + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	x->pkgs = p;
	if ((x->pkgs[x->npkgs].name = strdup(n)) == NULL)
		return -1;
	x->pkgs[x->npkgs].excluded = 0;
	return (int)x->npkgs++;
}

static struct node *
new_node(struct excl *x, const char *path, char type)
{
	struct node *n = &x->nodes[x->nnodes++];

	memset(n, 0, sizeof(*n));
	n->path = path;
	n->type = type;
	n->owner = -1;
	insert(x, n);
	return n;
}

static int
load_tree(struct excl *x, char *p, char *end, char *err, size_t errlen)
{
	size_t count = 1;
	char parent[4096];

	for (char *q = p; q < end; q++)
		if (*q == '\0')
			count++;
	x->capnodes = count + 1;
	if ((x->nodes = calloc(x->capnodes, sizeof(*x->nodes))) == NULL)
		goto oom;
	for (x->hcap = 1024; x->hcap < x->capnodes * 2; x->hcap *= 2)
		;
	if ((x->hash = calloc(x->hcap, sizeof(*x->hash))) == NULL)
		goto oom;
	new_node(x, "", 'd');
	while (p < end) {
		char *e = p, type;
		struct node *n, *par;
		const char *slash;

		while (e < end && *e)
			e++;
		if (e == p) {
			p++;
			continue;
		}
		if (e - p == 2 && p[1] == ' ') {	/* the root itself */
			p = e + 1;
			continue;
		}
		if (e - p < 3 || p[1] != ' ') {
			snprintf(err, errlen, "snapshot: bad tree entry '%.60s'", p);
			return -1;
		}
		type = p[0];
		p += 2;
		if (find(x, p) == NULL) {
			slash = strrchr(p, '/');
			snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - p) : 0, p);
			if ((par = find(x, parent)) == NULL) {
				snprintf(err, errlen, "snapshot: '%.200s' listed before its directory", p);
				return -1;
			}
			n = new_node(x, p, type);
			n->parent = par;
			n->next = par->child;
			par->child = n;
		}
		p = e + 1;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct excl *
excl_parse(const char *snap, size_t len, char *err, size_t errlen)
{
	struct excl *x;
	char *p, *end, *line, *tree = NULL;
	enum { S_NONE, S_LINKS, S_STATUS, S_DIVS, S_LIST } sect = S_NONE;
	int cur = -1, stanza_pkg = -1, div_state = 0;
	char div_from[4096] = "", div_to[4096] = "", can[4096];

	if ((x = calloc(1, sizeof(*x))) == NULL || (x->pool = malloc(len + 1)) == NULL) {
		free(x);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(x->pool, snap, len);
	x->pool[len] = '\0';
	p = x->pool;
	end = x->pool + len;
	while ((line = next_line(&p, end)) != NULL) {
		if (strcmp(line, "@tree") == 0) {
			tree = p;
			break;
		}
		if (strcmp(line, "@links") == 0) { sect = S_LINKS; continue; }
		if (strcmp(line, "@status") == 0) { sect = S_STATUS; continue; }
		if (strcmp(line, "@diversions") == 0) { sect = S_DIVS; div_state = 0; continue; }
		if (strncmp(line, "@list ", 6) == 0) {
			sect = S_LIST;
			if ((cur = add_pkg(x, line + 6)) == -1)
				goto oom;
			continue;
		}
		switch (sect) {
		case S_NONE:
			break;
		case S_LINKS: {
			char *sp = strchr(line, ' ');
			if (sp == NULL || x->nlinks == MAX_LINKS)
				break;
			*sp = '\0';
			/* /lib -> usr/lib: only links inside the root count. */
			if (sp[1] == '/')
				sp++;
			snprintf(x->link_from[x->nlinks], sizeof(x->link_from[0]), "%s", line);
			snprintf(x->link_to[x->nlinks], sizeof(x->link_to[0]), "%s", sp + 1);
			x->nlinks++;
			break;
		}
		case S_STATUS:
			if (strncmp(line, "Package: ", 9) == 0)
				stanza_pkg = add_pkg(x, line + 9);
			if (stanza_pkg == -1 && strncmp(line, "Package: ", 9) == 0)
				goto oom;
			break;
		case S_DIVS:
			/* Three lines each: the original path, where it went, and by whom. */
			if (div_state == 0)
				snprintf(div_from, sizeof(div_from), "%s", line);
			else if (div_state == 1)
				snprintf(div_to, sizeof(div_to), "%s", line);
			else {
				struct diversion *d = realloc(x->divs, (x->ndivs + 1) * sizeof(*d));
				if (d == NULL)
					goto oom;
				x->divs = d;
				d = &x->divs[x->ndivs++];
				d->from = strdup(div_from);
				d->to = strdup(div_to);
				d->by = strdup(line);
				if (!d->from || !d->to || !d->by)
					goto oom;
			}
			div_state = (div_state + 1) % 3;
			break;
		case S_LIST:
			if (x->nentries == x->capentries) {
				size_t c = x->capentries ? x->capentries * 2 : 4096;
				void *e = realloc(x->entries, c * sizeof(*x->entries));
				if (e == NULL)
					goto oom;
				x->entries = e;
				x->capentries = c;
			}
			x->entries[x->nentries].pkg = cur;
			x->entries[x->nentries].path = line;
			x->nentries++;
			break;
		}
	}
	if (tree == NULL) {
		snprintf(err, errlen, "snapshot: no @tree section (the primary's listing did not "
		    "finish)");
		excl_free(x);
		return NULL;
	}
	if (load_tree(x, tree, end, err, errlen) == -1) {
		excl_free(x);
		return NULL;
	}
	/* Diversions in canonical form, now that the links are known. */
	for (size_t i = 0; i < x->ndivs; i++) {
		canonical(x, x->divs[i].from, can, sizeof(can));
		free(x->divs[i].from);
		x->divs[i].from = strdup(can);
		canonical(x, x->divs[i].to, can, sizeof(can));
		free(x->divs[i].to);
		x->divs[i].to = strdup(can);
		if (x->divs[i].from == NULL || x->divs[i].to == NULL)
			goto oom;
	}
	return x;
oom:
	snprintf(err, errlen, "out of memory");
	excl_free(x);
	return NULL;
}

void
excl_free(struct excl *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->npkgs; i++)
		free(x->pkgs[i].name);
	for (size_t i = 0; i < x->ndivs; i++) {
		free(x->divs[i].from);
		free(x->divs[i].to);
		free(x->divs[i].by);
	}
	free(x->divs);
	free(x->pkgs);
	free(x->entries);
	free(x->nodes);
	free(x->hash);
	free(x->pool);
	free(x);
}

int
excl_configure(struct excl *x, const char *const *extra, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *e = extra[i];
		if (x->nplus == MAX_PATTERNS || x->nminus == MAX_PATTERNS ||
		    x->npaths == MAX_PATTERNS) {
			snprintf(err, errlen, "more than %d patterns", MAX_PATTERNS);
			return -1;
		}
		if (e[0] == '+')
			x->plus[x->nplus++] = e + 1;
		else if (e[0] == '-')
			x->minus[x->nminus++] = e + 1;
		else if (e[0] == '/')
			x->paths[x->npaths++] = e;
		else {
			snprintf(err, errlen, "'%s': expected +PACKAGE, -PACKAGE or /PATH", e);
			return -1;
		}
	}
	return 0;
}

/* ---- deciding ---- */

static int
pkg_excluded(const struct excl *x, const char *name)
{
	int yes = 0;

	for (const char *const *p = excl_default_packages; *p; p++)
		if (fnmatch(*p, name, 0) == 0)
			yes = 1;
	for (unsigned i = 0; i < x->nplus; i++)
		if (fnmatch(x->plus[i], name, 0) == 0)
			yes = 1;
	for (unsigned i = 0; i < x->nminus; i++)
		if (fnmatch(x->minus[i], name, 0) == 0)
			yes = 0;
	return yes;
}

/* Is canonical path under one of the path rules (canonical, in x->can_rules)? */
static int
path_rule(const struct excl *x, const char *path)
{
	for (unsigned k = 0; k < x->ncan; k++) {
		size_t l = strlen(x->can_rules[k]);
		if (strncmp(path, x->can_rules[k], l) == 0 && (path[l] == '\0' || path[l] == '/'))
			return 1;
	}
	return 0;
}

static void
decide(struct excl *x, struct node *n, int orphan_excl, int always)
{
	int listed = n->kept || n->excl;
	int kid_orphan;

	n->always = always || (n->path[0] && path_rule(x, n->path));
	if (n->always)
		n->expected = 1;
	else if (listed)
		n->expected = n->excl && !n->kept;
	else
		n->expected = orphan_excl;
	/* An unlisted file inherits the verdict of the closest listed directory. */
	kid_orphan = listed ? (n->type == 'd' && n->excl && !n->kept && n->path[0]) : orphan_excl;
	n->full = n->expected;
	for (struct node *k = n->child; k; k = k->next) {
		decide(x, k, kid_orphan, n->always);
		n->full &= k->full;
	}
	if (n->path[0] && n->expected)
		x->st.excluded++;
}

static const struct diversion *
diverted(const struct excl *x, const char *path)
{
	for (size_t i = 0; i < x->ndivs; i++)
		if (strcmp(x->divs[i].from, path) == 0)
			return &x->divs[i];
	return NULL;
}

void
excl_compute(struct excl *x)
{
	char can[4096];

	memset(&x->st, 0, sizeof(x->st));
	x->ncan = 0;
	for (const char *const *r = excl_default_paths; *r; r++)
		canonical(x, *r, x->can_rules[x->ncan++], sizeof(x->can_rules[0]));
	for (unsigned i = 0; i < x->npaths; i++)
		canonical(x, x->paths[i], x->can_rules[x->ncan++], sizeof(x->can_rules[0]));
	for (size_t i = 0; i < x->npkgs; i++) {
		x->pkgs[i].excluded = pkg_excluded(x, x->pkgs[i].name);
		x->st.packages_excluded += (unsigned)x->pkgs[i].excluded;
	}
	x->st.packages = (unsigned)x->npkgs;
	for (size_t i = 0; i < x->nnodes; i++) {
		x->nodes[i].kept = x->nodes[i].excl = 0;
		x->nodes[i].owner = -1;
	}
	for (size_t i = 0; i < x->nentries; i++) {
		const struct pkg *p = &x->pkgs[x->entries[i].pkg];
		const struct diversion *d;
		struct node *n;

		canonical(x, x->entries[i].path, can, sizeof(can));
		/* A diverted file of another package lives where it was diverted to. */
		if ((d = diverted(x, can)) != NULL && strcmp(d->by, p->name) != 0)
			snprintf(can, sizeof(can), "%s", d->to);
		if ((n = find(x, can)) == NULL)
			continue;	/* listed but gone from the disk */
		if (p->excluded)
			n->excl = 1;
		else
			n->kept = 1;
		if (n->owner == -1)
			n->owner = x->entries[i].pkg;
	}
	x->st.nodes = (unsigned)x->nnodes - 1;
	decide(x, &x->nodes[0], 0, 0);
}

/* ---- rules ---- */

struct buf {
	char	*b;
	size_t	 len, cap;
	int	 oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap * 2 : 65536;
		while (c < b->len + n + 1)
			c *= 2;
		char *nb = realloc(b->b, c);
		if (nb == NULL) {
			b->oom = 1;
			return;
		}
		b->b = nb;
		b->cap = c;
	}
	memcpy(b->b + b->len, s, n);
	b->len += n;
}

/* "- /path" or "- /path/", wildcard characters escaped, NUL-terminated. */
static void
put_rule(struct buf *b, const char *path, int dir)
{
	put(b, "- /", 3);
	for (const char *s = path; *s; s++) {
		if (strchr("*?[\\", *s))
			put(b, "\\", 1);
		put(b, s, 1);
	}
	if (dir)
		put(b, "/", 1);
	put(b, "", 1);
}

static void
emit(struct excl *x, struct node *n, struct buf *b, int collapsed)
{
	if (n->always)
		return;		/* the path rules, written first, cover it */
	if (n->path[0] && collapsed && n->full && n->type == 'd') {
		put_rule(b, n->path, 1);
		x->st.rules++;
		return;
	}
	if (n->path[0] && n->expected && n->type != 'd') {
		put_rule(b, n->path, 0);
		if (collapsed)
			x->st.rules++;
		else
			x->st.file_rules++;
	}
	for (struct node *k = n->child; k; k = k->next)
		emit(x, k, b, collapsed);
}

char *
excl_rules(struct excl *x, int collapsed, size_t *len)
{
	struct buf b = { 0 };
	const size_t ndef = sizeof(excl_default_paths) / sizeof(*excl_default_paths) - 1;
	char can[4096];

	if (collapsed)
		x->st.rules = 0;
	else
		x->st.file_rules = 0;
	/* Path rules always, present on the primary or not: they also keep
	 * rsync --delete away from the container's own files there. */
	for (size_t k = 0; k < ndef + x->npaths; k++) {
		const char *r = k < ndef ? excl_default_paths[k] : x->paths[k - ndef];
		canonical(x, r, can, sizeof(can));
		put_rule(&b, can, 0);
		if (collapsed)
			x->st.rules++;
		else
			x->st.file_rules++;
	}
	emit(x, &x->nodes[0], &b, collapsed);
	if (b.oom) {
		free(b.b);
		return NULL;
	}
	*len = b.len;
	return b.b;
}

/* ---- checking ---- */

struct ruleset {
	char	**r;	/* unescaped, with a trailing '/' for directory rules */
	size_t	  n, cap;
};

static int
rs_has(const struct ruleset *rs, const char *s)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rs->r[mid], s);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check(const struct excl *x, const struct ruleset *rs, const struct node *n, int inherited,
    unsigned *bad, char *err, size_t errlen)
{
	char key[4100];
	int by_rules = inherited;

	if (n->path[0]) {
		snprintf(key, sizeof(key), "%s", n->path);
		if (rs_has(rs, key))
			by_rules = 1;
		snprintf(key, sizeof(key), "%s/", n->path);
		if (n->type == 'd' && rs_has(rs, key))
			by_rules = 1;
		/* A file must be decided as defined; a directory may only be excluded whole. */
		if ((n->type != 'd' && by_rules != n->expected) ||
		    (n->type == 'd' && by_rules && !n->full)) {
			if ((*bad)++ == 0)
				snprintf(err, errlen, "/%s (%c): the rules %s it, the definition %s",
				    n->path, n->type, by_rules ? "exclude" : "keep",
				    n->expected ? "excludes it" : "keeps it");
		}
	}
	for (const struct node *k = n->child; k; k = k->next)
		check(x, rs, k, by_rules, bad, err, errlen);
}

unsigned
excl_check(struct excl *x, const char *rules, size_t len, char *err, size_t errlen)
{
	struct ruleset rs = { 0 };
	unsigned bad = 0;
	const char *p = rules, *end = rules + len;

	err[0] = '\0';
	while (p < end) {
		size_t l = strlen(p);
		char *u, *o;
		if (l > 3 && strncmp(p, "- /", 3) == 0) {
			if (rs.n == rs.cap) {
				rs.cap = rs.cap ? rs.cap * 2 : 1024;
				rs.r = realloc(rs.r, rs.cap * sizeof(*rs.r));
			}
			u = o = malloc(l);
			for (const char *s = p + 3; *s; s++) {
				if (*s == '\\' && s[1])
					s++;
				*o++ = *s;
			}
			*o = '\0';
			rs.r[rs.n++] = u;
		}
		p += l + 1;
	}
	qsort(rs.r, rs.n, sizeof(*rs.r), cmpstr);
	check(x, &rs, &x->nodes[0], 0, &bad, err, errlen);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.r[i]);
	free(rs.r);
	return bad;
}

void
excl_stats(const struct excl *x, struct excl_stats *st)
{
	*st = x->st;
}

int
excl_decision(struct excl *x, const char *path)
{
	char can[4096];
	struct node *n;

	canonical(x, path, can, sizeof(can));
	return (n = find(x, can)) ? n->expected : -1;
}

const char *
excl_owner(struct excl *x, const char *path, char *buf, size_t len)
{
	char can[4096];
	struct node *n;

	canonical(x, path, can, sizeof(can));
	buf[0] = '\0';
	if ((n = find(x, can)) != NULL && n->owner >= 0)
		snprintf(buf, len, "%s", x->pkgs[n->owner].name);
	return buf;
}

void
excl_units_for(struct excl *x, const char *path, char *pkg, size_t pkglen,
    void (*cb)(const char *unit, void *arg), void *arg)
{
	char can[4096];
	struct node *n;
	int owner = -1;

	pkg[0] = '\0';
	canonical(x, path, can, sizeof(can));
	/* A path gone from the primary (deleted) or never listed: look upwards. */
	for (;;) {
		char *sl;
		if ((n = find(x, can)) != NULL && n->owner >= 0) {
			owner = n->owner;
			break;
		}
		if (can[0] == '\0')
			return;
		sl = strrchr(can, '/');
		if (sl)
			*sl = '\0';
		else
			can[0] = '\0';
	}
	if (n == &x->nodes[0])
		return;		/* only the root: no package to speak of */
	snprintf(pkg, pkglen, "%s", x->pkgs[owner].name);
	for (size_t i = 0; i < x->nentries; i++) {
		const char *p = x->entries[i].path, *base;
		size_t l = strlen(p);
		if (x->entries[i].pkg != owner || l < 9 || strcmp(p + l - 8, ".service") != 0)
			continue;
		if (strncmp(p, "/lib/systemd/system/", 20) != 0 &&
		    strncmp(p, "/usr/lib/systemd/system/", 24) != 0)
			continue;
		base = strrchr(p, '/') + 1;
		if (strchr(base, '@') || strchr(base, '/'))
			continue;
		cb(base, arg);
	}
}
