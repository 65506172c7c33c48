/* SPDX-License-Identifier: GPL-2.0 */
/* The Internet checksum of the frames the bench's loaders build (host
 * side only; the words stay in network order). */
#ifndef BMBENCH_CSUM_H
#define BMBENCH_CSUM_H

#include <linux/types.h>

static inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

static inline __u32 sum16(const void *p, int len)
{
	const __u16 *w = p;
	__u32 s = 0;

	for (; len > 1; len -= 2)
		s += *w++;
	if (len)
		s += *(const __u8 *)w;
	return s;
}

#endif
