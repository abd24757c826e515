/*
 * exclude.h: the rsync exclusion list of a primary, from its package
 * database. A file is excluded when only excluded packages (kernels,
 * firmware, bootloaders...) own it, when a path rule says so (/proc,
 * /boot, the VM's network configuration...), or when no package owns it
 * but it sits in a directory only excluded packages own (modules.dep,
 * initrd images). Everything else, user data included, is kept.
 *
 * The list is collapsed: a directory becomes one rule only when
 * everything under it is excluded. exclude_check() proves, node by node,
 * that the rules exclude exactly what the definition says.
 */
#ifndef EXCLUDE_H
#define EXCLUDE_H

#include <stddef.h>

struct excl;

/* Package name patterns (fnmatch) excluded unless the config says otherwise. */
extern const char *const excl_default_packages[];
/* Paths always excluded (absolute; a trailing '/' means a directory and all in it). */
extern const char *const excl_default_paths[];

struct excl_stats {
	unsigned	packages, packages_excluded;
	unsigned	nodes;		/* entries in the primary's tree */
	unsigned	excluded;	/* of them, excluded (files, links, directories) */
	unsigned	rules;		/* collapsed */
	unsigned	file_rules;	/* one per excluded entry: what collapsing saves */
};

/*
 * The snapshot is what tests/../recovery/snapshot.sh prints on the primary
 * (one SSH round trip): @links, @status, @diversions, @list PKG, then
 * @tree with NUL-separated "TYPE PATH" entries. NULL with err on a
 * malformed snapshot.
 */
struct excl	*excl_parse(const char *snap, size_t len, char *err, size_t errlen);
void		 excl_free(struct excl *x);
/* Patterns: "+pat" adds to the excluded packages, "-pat" keeps a package, "/path" adds a path. */
int		 excl_configure(struct excl *x, const char *const *extra, size_t n,
		    char *err, size_t errlen);
/* Decides every entry. */
void		 excl_compute(struct excl *x);
/*
 * The rules, NUL-separated ("- /lib/modules/\0..."), for rsync's
 * --exclude-from with --from0. collapsed 0: one rule per excluded entry.
 * Returns a malloc'ed buffer (caller frees), its length in *len.
 */
char		*excl_rules(struct excl *x, int collapsed, size_t *len);
/*
 * Checks rules (as from excl_rules) against the definition for every
 * entry, with rsync's semantics for anchored rules. Returns the number of
 * entries decided wrongly; the first in err.
 */
unsigned	 excl_check(struct excl *x, const char *rules, size_t len, char *err,
		    size_t errlen);
void		 excl_stats(const struct excl *x, struct excl_stats *st);
/* The decision for one path: 1 excluded, 0 kept, -1 not in the tree. */
int		 excl_decision(struct excl *x, const char *path);
/* The packages that own path (for restarts), comma-separated, "" if none. */
const char	*excl_owner(struct excl *x, const char *path, char *buf, size_t len);

/*
 * The systemd services (".service", no templates) the package that owns
 * path ships; path not owned: its closest owned directory's package. Calls
 * cb once per unit; returns the package ("" if none) in pkg.
 */
void		 excl_units_for(struct excl *x, const char *path, char *pkg, size_t pkglen,
		    void (*cb)(const char *unit, void *arg), void *arg);

#endif
