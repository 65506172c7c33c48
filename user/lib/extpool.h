/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The --external pool in the ext_pool map: the addresses an instance
 * masquerades as, in the order given, each with its port block and
 * whether it is on the WAN here now.
 */
#ifndef BPFMASQ_EXTPOOL_H
#define BPFMASQ_EXTPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "bpfmasq.h"

/* One --external ADDR[:LO-HI]; port_hi 0: the --ports range. */
struct ext_spec {
	__be32 addr;
	__u16 port_lo, port_hi;
};

/* What the map holds, by rank: out[] and, if flags is not NULL, each
 * one's enum ext_flags.  The count, or -errno. */
int ext_pool_read(int fd, struct ext_spec *out, __u8 *flags, int max);
/*
 * Make the pool v[0..n): addresses not in v go, the others get their rank
 * and block (a changed block keeps the old one as prev_*, so replies to
 * its mappings still arrive); an address already there keeps its
 * EXT_ON_WAN, a new one starts with on_wan(addr).  0 or -errno.
 */
int ext_pool_write(int fd, const struct ext_spec *v, int n,
		   bool (*on_wan)(const char *ifname, __be32 addr),
		   const char *ifname);
/* Set or clear EXT_ON_WAN of addr. */
int ext_pool_set_on_wan(int fd, __be32 addr, bool on);
/* The index of addr in v[0..n), or -1. */
int ext_spec_find(const struct ext_spec *v, int n, __be32 addr);
/* "192.0.2.1, 192.0.2.2:20000-29999" into buf. */
const char *ext_specs_str(const struct ext_spec *v, int n, char *buf,
			  size_t len);

#endif
