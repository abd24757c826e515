/*
 * metrics.h: Prometheus text exposition on metrics-listen.
 */
#ifndef METRICS_H
#define METRICS_H

struct vcrd;
struct metrics;

struct metrics *metrics_open(struct vcrd *d, const char *listen, char *err, size_t errlen);
void	metrics_close(struct metrics *m);

#endif
