/* SPDX-License-Identifier: GPL-2.0 */
/* TCP options: one bounded walk, for the ALGs' SACK rewrite and MSS clamping. */
#ifndef BPFMASQ_TCPOPT_H
#define BPFMASQ_TCPOPT_H

/*
 * Where option kind is among the options from opt to end: its offset << 8
 * | its length, or 0.  At most 40 steps (40 bytes of options, a NOP at a
 * time at worst), so that the verifier sees the bound.
 */
static __always_inline __u32 tcp_opt_find(void *ctx, bool xdp, __u32 opt,
					  __u32 end, __u8 kind)
{
	for (int i = 0; i < 40; i++) {
		__u8 kl[2];

		if (opt + 2 > end || pkt_load(ctx, xdp, opt, kl, 2) ||
		    kl[0] == TCPOPT_EOL)
			return 0;
		if (kl[0] == TCPOPT_NOP) {
			opt++;
			continue;
		}
		if (kl[1] < 2)
			return 0;
		if (kl[0] == kind)
			return opt << 8 | kl[1];
		opt += kl[1];
	}
	return 0;
}

#endif
