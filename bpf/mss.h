/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --mss-clamp: the MSS option of SYN segments crossing the WAN, either
 * way, is lowered so that neither end sends segments the WAN's route
 * cannot carry whole.  Path MTU discovery would find that out too, if the
 * frag-needed errors came; behind PPPoE (MTU 1492) or a tunnel they often
 * do not, and connections stall on their first full-size segment.  It is
 * what nftables' `tcp option maxseg size set rt mtu` does.
 *
 * Only SYN segments carry an MSS option, so the callers test the SYN bit
 * (a field the parse already has) before anything here runs.
 */
#ifndef BPFMASQ_MSS_H
#define BPFMASQ_MSS_H

/*
 * The MTU of the route toward remote through the WAN, or 0.  With tot_len
 * set, bpf_ipv4_fib_lookup() holds it against ip_mtu_from_fib_result():
 * a route's MTU only if locked (or with ip_forward_use_pmtu), else a path
 * MTU learned for that destination, else the device's MTU, less any
 * lwtunnel headroom.  When that is smaller it answers
 * BPF_FIB_LKUP_RET_FRAG_NEEDED with it in mtu_result, before it looks at
 * neighbours.  Any other answer (no route out of the WAN, which
 * BPF_FIB_LOOKUP_OUTPUT with the WAN as output interface demands; an MTU
 * of 0xffff or more, which no MSS needs clamping for) leaves the MSS
 * alone.
 */
static __always_inline __u32 wan_route_mtu(void *ctx, __be32 remote,
					   __be32 local)
{
	struct nat_state *st = state_get();
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.l4_protocol = IPPROTO_TCP,
		.tot_len = 0xffff,
		.ipv4_src = local,
		.ipv4_dst = remote,
	};

	if (!st)
		return 0;
	fib.ifindex = st->wan_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT) !=
	    BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return 0;
	return fib.mtu_result;
}

/* Where the MSS option of a TCP header is, or 0. */
static __always_inline __u32 mss_find(void *ctx, bool xdp, __u32 opt, __u32 end)
{
	__u32 found = tcp_opt_find(ctx, xdp, opt, end, TCPOPT_MSS);

	opt = found >> 8;
	return found && (found & 0xff) == TCPOLEN_MSS &&
	       opt + TCPOLEN_MSS <= end ? opt : 0;
}

/*
 * Lower the MSS option of a translated SYN segment to the configured
 * value, or to the WAN route's MTU - 40 toward remote.  Never raised, and
 * an absent option stays absent (the peer then assumes 536, RFC 9293).
 * 0, or a negative drop reason when the segment cannot be rewritten.
 *
 * The checksum counts 16-bit words from the start of the TCP header, and
 * the option may sit at an odd offset, the value then straddling two
 * words.  So the rewrite covers the 4 bytes from the word boundary at or
 * before the option: (kind, len, MSS) at an even offset, (len, MSS, next
 * byte) at an odd one.  That next byte is always in the header: a header
 * ends on a multiple of 4, and an option at an odd offset cannot.
 */
static __always_inline int mss_clamp_body(void *ctx, bool xdp, __u32 offs,
					  __be32 remote, __be32 local)
{
	__u32 l4_off = offs & 0xff, l4_hlen = (offs >> 8) & 0xff;
	__u32 csum_off = l4_off + offsetof(struct tcphdr, check);
	__u32 opt, odd, win, shift, words, mss, want;
	__be32 old, new;
	int err;

	/* The offsets travel in a byte each (see mss_offsets()); what real
	 * headers reach (14 + 60 + 60) also keeps XDP_PTR() exact. */
	if (l4_off + l4_hlen > 0xff)
		return 0;
	opt = mss_find(ctx, xdp, l4_off + sizeof(struct tcphdr),
		       l4_off + l4_hlen);
	if (!opt)
		return 0;
	odd = (opt - l4_off) & 1;
	win = opt + odd;
	if (pkt_load(ctx, xdp, win, &old, sizeof(old)))
		return 0;
	/* Shifts rather than an index into the bytes: the verifier refuses
	 * a stack read at a variable offset. */
	shift = odd ? 8 : 0;
	words = bpf_ntohl(old);
	mss = (words >> shift) & 0xffff;
	if (cfg_mss_clamp == MSS_CLAMP_AUTO) {
		want = wan_route_mtu(ctx, remote, local);
		if (want <= MSS_HDRS)
			return 0;
		want -= MSS_HDRS;
	} else {
		want = cfg_mss_clamp;
	}
	if (mss <= want)
		return 0;

	new = bpf_htonl((words & ~(0xffffU << shift)) | want << shift);
	err = pkt_store4_l4csum(ctx, xdp, win, csum_off, old, new);
	if (err)
		return err;
	count(CNT_MSS_CLAMPED);
	return 0;
}

/*
 * The twins the callers use: the verifier walks the options once on
 * their own rather than inside every path of the programs that call
 * them, and their stack (the FIB lookup's) is not the caller's.  The
 * offsets travel packed: l4_off | l4_hlen << 8.
 */
HOOK_TWINS(int, mss_clamp, (__u32 offs, __be32 remote, __be32 local),
	   (offs, remote, local))

static __always_inline __u32 mss_offsets(const struct pkt *p)
{
	return p->l4_off | (__u32)p->l4_hlen << 8;
}

/* Is this translated segment one whose MSS option --mss-clamp lowers?
 * A constant false when it is off. */
static __always_inline bool mss_wanted(const struct pkt *p)
{
	return cfg_mss_clamp && (p->tcp_seen & SEEN_SYN);
}

#endif
