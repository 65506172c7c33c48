/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the bench's checking XDP programs (sink.bpf.c, connrate.bpf.c)
 * share: one event counted in the program's `counters` map (declared
 * before this is included), and an Internet checksum sum folded to 16 bits.
 */
#ifndef BMBENCH_COUNTERS_BPF_H
#define BMBENCH_COUNTERS_BPF_H

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

#endif
