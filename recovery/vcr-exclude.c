/*
 * vcr-exclude: the exclusion list vcrd's sync would use, for an SRE to
 * read, and for the tests and the benchmark.
 *
 *   vcr-exclude -s                       print the snapshot script
 *   ssh root@vm sh -s < <(vcr-exclude -s) | vcr-exclude [-f] [-c] [-0] [-p PATTERN]...
 *   sh -c "$(vcr-exclude -s)" sh /path/to/image | vcr-exclude
 *
 *   -f   one rule per excluded entry (no collapsing)
 *   -c   check the rules against the definition, entry by entry
 *   -0   NUL-separated rules (rsync --from0), else one per line
 *   -p   +PACKAGE-PATTERN, -PACKAGE-PATTERN or /PATH (repeatable)
 * Statistics go to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exclude.h"
#include "sync.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	const char *pats[128];
	size_t npats = 0, len = 0, cap = 0, rlen;
	int c, filelevel = 0, check = 0, nul = 0, rc = 0;
	char *snap = NULL, *rules, err[512];
	struct excl *x;
	struct excl_stats st;
	double t0;
	ssize_t n;

	while ((c = getopt(argc, argv, "fc0sp:")) != -1) {
		switch (c) {
		case 'f': filelevel = 1; break;
		case 'c': check = 1; break;
		case '0': nul = 1; break;
		case 's': fputs(sync_snapshot_script, stdout); return 0;
		case 'p':
			if (npats < 128)
				pats[npats++] = optarg;
			break;
		default:
			fprintf(stderr, "usage: vcr-exclude [-s] [-f] [-c] [-0] [-p PATTERN]... "
			    "< snapshot\n");
			return 2;
		}
	}
	for (;;) {
		if (len + 65536 > cap) {
			char *more = realloc(snap, cap = cap ? cap * 2 : 1 << 20);
			if (more == NULL) {
				fprintf(stderr, "vcr-exclude: out of memory reading the snapshot\n");
				free(snap);
				return 1;
			}
			snap = more;
		}
		if ((n = read(0, snap + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	t0 = now();
	if ((x = excl_parse(snap, len, err, sizeof(err))) == NULL ||
	    excl_configure(x, pats, npats, err, sizeof(err)) == -1) {
		fprintf(stderr, "vcr-exclude: %s\n", err);
		excl_free(x);
		free(snap);
		return 1;
	}
	excl_compute(x);
	if ((rules = excl_rules(x, !filelevel, &rlen)) == NULL) {
		fprintf(stderr, "vcr-exclude: out of memory\n");
		excl_free(x);
		free(snap);
		return 1;
	}
	excl_stats(x, &st);
	fprintf(stderr, "packages %u (excluded %u), entries %u (excluded %u), rules %u, "
	    "generated in %.3f s\n", st.packages, st.packages_excluded, st.nodes, st.excluded,
	    filelevel ? st.file_rules : st.rules, now() - t0);
	if (check) {
		unsigned bad = excl_check(x, rules, rlen, err, sizeof(err));
		fprintf(stderr, "check: %u of %u entries decided wrongly%s%s\n", bad, st.nodes,
		    bad ? "; first: " : "", err);
		rc = bad != 0;
	}
	if (rc == 0) {
		for (size_t i = 0; i < rlen; i++)
			if (rules[i] == '\0' && !nul)
				rules[i] = '\n';
		fwrite(rules, 1, rlen, stdout);
	}
	free(rules);
	excl_free(x);
	free(snap);
	return rc;
}
