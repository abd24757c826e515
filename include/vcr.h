/*
 * vcr.h: what every part of vcrd shares: logging and clocks.
 */
#ifndef VCR_H
#define VCR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define VCR_VERSION		"0.1.0"
#define VCR_DEFAULT_CONF	"/etc/vcrecovery/vcrd.conf"
#define VCR_DEFAULT_SOCKET	"/run/vcrd.sock"
#define VCR_DEFAULT_STATEDIR	"/var/lib/vcrecovery"

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* to_syslog: 0 = stderr, 1 = syslog (daemon facility). */
void	log_init(enum log_level level, int to_syslog);
void	log_setlevel(enum log_level level);
int	log_level_parse(const char *s);
const char *log_level_name(enum log_level level);
/* log_warn adds ": strerror(errno)"; log_warnx does not. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: print and exit(1). */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Monotonic clock in milliseconds / microseconds; wall clock in ms since the epoch. */
uint64_t now_ms(void);
uint64_t now_us(void);
uint64_t wall_ms(void);
/* "2026-11-26T04:30:00Z" into buf (at least 21 bytes). */
const char *fmt_wall(uint64_t wall_ms, char *buf, size_t len);

#endif
