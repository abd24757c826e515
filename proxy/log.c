/*
 * log.c: one line per event to stderr or syslog. Callers write
 * key=value fields; this adds the time (stderr) and the level.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "vcr.h"

static enum log_level	cur_level = LOG_LVL_INFO;
static int		use_syslog;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level, int to_syslog)
{
	cur_level = level;
	if (to_syslog && !use_syslog)
		openlog("vcrd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = to_syslog;
}

void
log_setlevel(enum log_level level)
{
	cur_level = level;
}

int
log_level_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

static void
vlog(enum log_level level, const char *fmt, va_list ap, const char *suffix)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024], ts[32];

	if (level > cur_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_syslog) {
		syslog(prio[level], "level=%s %s%s%s", level_names[level], msg,
		    suffix ? " err=" : "", suffix ? suffix : "");
		return;
	}
	fprintf(stderr, "%s vcrd level=%s %s%s%s%s\n", fmt_wall(wall_ms(), ts, sizeof(ts)),
	    level_names[level], msg, suffix ? " err=\"" : "", suffix ? suffix : "",
	    suffix ? "\"" : "");
}

#define LOG_FN(name, level, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
	va_start(ap, fmt);					\
	vlog(level, fmt, ap, with_errno ? strerror(saved) : NULL); \
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
now_ms(void)
{
	return now_us() / 1000u;
}

uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *
fmt_wall(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}
