/*
 * ctl.h: the control API (HTTP + JSON on a unix socket, mode 0600) that
 * vcrctl speaks.
 */
#ifndef CTL_H
#define CTL_H

struct vcrd;
struct ctl;

struct ctl *ctl_open(struct vcrd *d, const char *path, char *err, size_t errlen);
void	ctl_close(struct ctl *c);

#endif
