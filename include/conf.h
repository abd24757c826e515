#ifndef CONF_H
#define CONF_H

#include "conf-t.h"

/*
 * Parse a file. Returns a new conf (caller frees with conf_free) or NULL
 * with "file:line: ..." in err.
 */
struct vcr_conf	*conf_load(const char *path, char *err, size_t errlen);
/* Same, from memory; name is what errors call the file. */
struct vcr_conf	*conf_parse(const char *name, const char *buf, size_t len,
		    char *err, size_t errlen);
void		 conf_free(struct vcr_conf *conf);
struct svc_conf	*conf_find(struct vcr_conf *conf, const char *name);
/* 1 when the two services need no change to rules or checks. */
int		 svc_conf_equal(const struct svc_conf *a, const struct svc_conf *b);
/* "198.18.0.1:80" into buf (at least 22 bytes). */
const char	*fmt_endpoint(const struct endpoint *ep, char *buf, size_t len);
/* "dnat", "tcp", "http" */
const char	*fwd_mode_name(enum fwd_mode m);
/* A relieve's result from sc's side as it is now: m's from_* set, to_* cleared. */
void		 conf_moved_init(struct moved *m, const struct svc_conf *sc, int side);
/* Puts a relieve's result into sc (side 0 primary, 1 standby). */
void		 conf_move(struct svc_conf *sc, int side, const struct moved *m);
/*
 * Where sc stands against a relieve's result: 1 sc still names what it
 * moved from (conf_move applies), 0 sc names where it moved to (the file
 * caught up), -1 sc names something else (the file wins).
 */
int		 conf_moved_from(const struct svc_conf *sc, int side, const struct moved *m);
int		 parse_endpoint(const char *s, struct endpoint *ep);
int		 parse_duration_ms(const char *s, unsigned *ms);

#endif
