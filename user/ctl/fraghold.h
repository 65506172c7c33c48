/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragments that reached the gateway before their first fragment, held by
 * the controller until the data plane has seen the first one (then sent
 * on, rewritten) or for FRAGHOLD_NS at most (then dropped).  Bounded, so a
 * flood of bogus fragments costs memory no one else needs.
 */
#ifndef BPFMASQ_FRAGHOLD_H
#define BPFMASQ_FRAGHOLD_H

#include <stdbool.h>
#include <linux/types.h>
#include "bpfmasq.h"

#define FRAGHOLD_SLOTS	256
#define FRAGHOLD_NS	(1000ULL * 1000000ULL)

struct fraghold;

struct fraghold *fraghold_new(void);
void fraghold_free(struct fraghold *fh);
/* false when full: the fragment is dropped */
bool fraghold_add(struct fraghold *fh, const struct bpfmasq_frag_hold *h,
		  __u64 now_ns);
/* Send on every held fragment of ev->key; returns how many. */
unsigned int fraghold_release(struct fraghold *fh,
			      const struct bpfmasq_frag_event *ev);
/* Drop what waited too long; returns how many. */
unsigned int fraghold_expire(struct fraghold *fh, __u64 now_ns);
bool fraghold_empty(const struct fraghold *fh);

/* Rewrite a held fragment's destination (IP header checksum included). */
void frag_set_daddr(__u8 *pkt, __be32 daddr);

#endif
