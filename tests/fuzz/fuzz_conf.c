/*
 * fuzz_conf.c: libFuzzer target for the configuration parser. Whatever the
 * input, the parser must not crash, and a rejected file must name
 * "file:line: " first, so an SRE always knows where to look.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct vcr_conf *c = conf_parse("fuzz.conf", (const char *)data, size, err, sizeof(err));
	const char *p;

	if (c != NULL) {
		struct svc_conf *a, *b;

		/* Accepted: what vcrd relies on holds. */
		TAILQ_FOREACH(a, &c->services, entry) {
			if (a->check.timeout_ms > a->check.interval_ms || a->check.rise == 0 ||
			    a->check.fall == 0 || a->name[0] == '\0')
				abort();
			for (b = TAILQ_NEXT(a, entry); b; b = TAILQ_NEXT(b, entry))
				if (strcmp(a->name, b->name) == 0 ||
				    (a->frontend.addr.s_addr == b->frontend.addr.s_addr &&
				    a->frontend.port == b->frontend.port))
					abort();
		}
		conf_free(c);
		return 0;
	}
	if (strncmp(err, "fuzz.conf:", 10) != 0)
		abort();
	p = err + 10;
	if (!isdigit((unsigned char)*p))
		abort();
	while (isdigit((unsigned char)*p))
		p++;
	if (strncmp(p, ": ", 2) != 0 || p[2] == '\0')
		abort();
	return 0;
}
