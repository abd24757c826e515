/*
 * virt.h: libvirt for vcrd: fencing (virDomainSuspend, then
 * virDomainDestroy) and the primaries' lifecycle events. libvirt's calls
 * block, so each connection has a worker
 * thread that makes them, and one thread runs libvirt's event loop;
 * results and events come back to vcrd's loop through a pipe. Nothing in
 * vcrd's loop waits on libvirt.
 */
#ifndef VIRT_H
#define VIRT_H

#include <stdint.h>

#include "conf-t.h"

struct event_base;
struct virt;

/* A domain lifecycle event: down = stopped or crashed (the VM is gone). */
struct virt_event {
	char		domain[64];
	char		what[64];	/* "stopped (destroyed)", "suspended (paused)", ... */
	int		down;
	int		up;		/* started or resumed */
};

typedef void (*virt_event_cb)(struct virt *v, const struct virt_event *ev, void *arg);
/* A job's end: ok with text the result (a state), or text says why not (libvirt's words). */
typedef void (*virt_done_cb)(void *arg, int ok, const char *text, unsigned took_ms);

/* Needs to be called once, before any virt_new. */
int		 virt_init(char *err, size_t errlen);

/* conf is copied. Connects in the background and keeps reconnecting. */
struct virt	*virt_new(struct event_base *base, const struct virt_conf *conf,
		    virt_event_cb cb, void *arg);
void		 virt_free(struct virt *v);
const char	*virt_name(const struct virt *v);
/* "connected", or "disconnected since ...: error; next try in N s". */
void		 virt_status(struct virt *v, char *buf, size_t len);
int		 virt_connected(struct virt *v);

/*
 * Powers the domain off (virDomainDestroy). A domain already shut off
 * counts as fenced. cb runs on vcrd's loop, unless virt_forget(arg) was
 * called first.
 */
int		 virt_destroy(struct virt *v, const char *domain, virt_done_cb cb, void *arg);
/*
 * Stops the domain's virtual CPUs (virDomainSuspend; qemu has finished the
 * guest's disk writes in flight when it answers): from then on it neither
 * serves nor writes, in milliseconds where a power-off takes seconds. Text
 * "paused"; a domain already shut off: "already shut off"; one that cannot
 * be paused (crashed) is powered off instead: "destroyed".
 */
int		 virt_pause(struct virt *v, const char *domain, virt_done_cb cb, void *arg);
/* Starts a defined domain (virDomainCreate); one already running counts as started. */
int		 virt_create(struct virt *v, const char *domain, virt_done_cb cb, void *arg);
/* Domain state now ("running", "paused", "shut off", ...), as a job. */
int		 virt_domain_state(struct virt *v, const char *domain, virt_done_cb cb,
		    void *arg);
/* Drops the callbacks of every job made with arg (its owner goes away). */
void		 virt_forget(struct virt *v, void *arg);

#endif
