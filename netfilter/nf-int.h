/*
 * nf-int.h: what netfilter/ shares inside itself.
 */
#ifndef NF_INT_H
#define NF_INT_H

#include <stdint.h>
#include "nf.h"

struct mnl_socket;

struct nf {
	struct mnl_socket *nl;
	uint32_t	 portid;
	uint32_t	 seq;
};

void	nf_key(const struct endpoint *ep, uint8_t out[8]);
size_t	nf_batch_size(const struct nf_batch *b);
void	nf_discard_pending(struct nf *nf);
int	nf_drain_acks(struct nf *nf, uint32_t first_seq, unsigned expected, int ok_errno,
	    unsigned *okp, char *err, size_t errlen);

#endif
