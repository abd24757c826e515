/*
 * vcrd: keeps tenant services reachable by moving them from a failed
 * primary to a standby with one nftables DNAT rewrite.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "vcr.h"
#include "conf.h"
#include "events.h"
#include "svc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: vcrd [-tvx] [-f file]\n"
	    "  -f file  configuration (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       log debug messages\n"
	    "  -x       remove table inet vcrecovery on exit (default: keep it)\n",
	    VCR_DEFAULT_CONF);
	exit(2);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vcrd *d = arg;
	char err[512];

	if (sig == SIGHUP) {
		if (vcrd_reload(d, err, sizeof(err)) == -1)
			log_warnx("event=reload result=rejected %s", err);
		return;
	}
	log_info("event=stop signal=%s", sig == SIGINT ? "INT" : "TERM");
	event_base_loopbreak(d->base);
}

int
main(int argc, char *argv[])
{
	const char *path = VCR_DEFAULT_CONF;
	struct vcrd d = { 0 };
	struct vcr_conf *conf;
	struct event *sig[3];
	int ch, test = 0, verbose = 0, remove_rules = 0;
	char err[1024];

	while ((ch = getopt(argc, argv, "f:htvxV")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'x':
			remove_rules = 1;
			break;
		case 'V':
			printf("vcrd %s\n", VCR_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(LOG_LVL_INFO, 0);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "vcrd: %s\n", err);
		return 1;
	}
	if (test) {
		printf("vcrd: configuration %s is valid (%u services)\n", path, conf->nservices);
		conf_free(conf);
		return 0;
	}
	if (remove_rules)
		conf->keep_rules_on_exit = 0;
	log_init(verbose ? LOG_LVL_DEBUG : (enum log_level)conf->log_level, conf->log_syslog);
	signal(SIGPIPE, SIG_IGN);
	/* A relayed connection takes two descriptors: allow all we may. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	srandom((unsigned)(time(NULL) ^ getpid()));

	if ((d.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (vcrd_start(&d, conf, err, sizeof(err)) == -1)
		fatalx("event=start-failed %s", err);
	sig[0] = evsignal_new(d.base, SIGHUP, on_signal, &d);
	sig[1] = evsignal_new(d.base, SIGINT, on_signal, &d);
	sig[2] = evsignal_new(d.base, SIGTERM, on_signal, &d);
	for (int i = 0; i < 3; i++)
		event_add(sig[i], NULL);

	event_base_dispatch(d.base);

	vcrd_stop(&d);
	for (int i = 0; i < 3; i++)
		event_free(sig[i]);
	event_base_free(d.base);
	return 0;
}
