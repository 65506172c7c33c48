/* SPDX-License-Identifier: GPL-2.0 */
/* Routing decisions taken in XDP through the kernel's FIB. */
#ifndef BPFMASQ_FIB_H
#define BPFMASQ_FIB_H

/* Ask the FIB where the packet goes as it is, from where it came in. */
static __always_inline long fib_route_as_is(void *ctx, bool xdp,
					    const struct pkt *p,
					    struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_src = p->key.saddr;
	fib->ipv4_dst = p->key.daddr;
	fib->l4_protocol = p->key.proto;
	fib->tot_len = p->tot_len;
	fib->ifindex = pkt_ifindex(ctx, xdp);
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/*
 * Would the kernel forward this packet (rather than deliver it locally)?
 * On the WAN that means someone routes straight at an inside address.
 */
static __always_inline bool fib_forwards(void *ctx, bool xdp,
					 const struct pkt *p)
{
	struct bpf_fib_lookup fib;
	long rc = fib_route_as_is(ctx, xdp, p, &fib);

	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ||
	       rc == BPF_FIB_LKUP_RET_FRAG_NEEDED;
}

/* Is ifindex one of the --lan interfaces? */
static __always_inline bool is_lan(const struct nat_state *st, __u32 ifindex)
{
	for (int i = 0; i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		if (st->lan_ifindex[i] == ifindex)
			return true;
	return false;
}

/*
 * Does an inside host's packet, untranslated, route out of the WAN?  Not
 * when it is for the gateway itself (the bridge's address, the WAN's:
 * local delivery), or for another inside interface: those are never
 * translated, and --lan-new must open no flow for them.  The neighbour
 * is the stack's concern, and an MTU problem the stack's to answer.
 */
static __always_inline bool fib_leaves_wan(struct xdp_md *ctx,
					   const struct pkt *p,
					   const struct nat_state *st)
{
	struct bpf_fib_lookup fib;
	long rc = fib_route_as_is(ctx, true, p, &fib);

	return (rc == BPF_FIB_LKUP_RET_SUCCESS ||
		rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	       fib.ifindex == st->wan_ifindex;
}

/*
 * Where a translated packet goes (saddr and daddr as translated): fills
 * fib with next-hop MACs and returns true only when it leaves through the
 * WAN (to_lan false) or a --lan interface (to_lan true) with a known
 * neighbour and fits the route MTU.  Anything else is left to the stack,
 * which knows how to resolve neighbours and send ICMP errors.
 */
static __always_inline bool fib_fast_next_hop(struct xdp_md *ctx,
					      const struct pkt *p, __be32 saddr,
					      __be32 daddr,
					      const struct nat_state *st,
					      bool to_lan,
					      struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	fib->l4_protocol = p->key.proto;
	fib->tot_len = p->tot_len;
	fib->ifindex = ctx->ingress_ifindex;

	if (bpf_fib_lookup(ctx, fib, sizeof(*fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return false;
	return to_lan ? is_lan(st, fib->ifindex) : fib->ifindex == st->wan_ifindex;
}

/*
 * Is the flow's cached next hop still the FIB's answer?  Same routing
 * generation and young enough (see struct flow_nexthop).  jiffies, because
 * bpf_jiffies64() is inlined while a clock read is a helper call, the
 * dearest part of a packet on the fast path.
 */
static __always_inline bool nh_current(const struct flow_nexthop *nh,
				       const struct nat_state *st, __u64 jiffies)
{
	return nh->ifindex && nh->gen == (__u16)st->route_gen &&
	       (__u32)jiffies - nh->stamp < NH_MAX_AGE;
}

/* ... and may it carry this packet: no longer than those it carried? */
static __always_inline bool nh_usable(const struct flow_nexthop *nh,
				      const struct nat_state *st, __u64 jiffies,
				      __u16 tot_len)
{
	return nh_current(nh, st, jiffies) && tot_len <= nh->len_ok;
}

/*
 * Ask the FIB where a translated packet goes and cache the answer in its
 * flow.  A packet longer than any before keeps the other fields' verdict
 * and only raises len_ok once the lookup has checked it against the route
 * MTU.  Two CPUs refreshing one flow write the same answer; a reader racing
 * a refresh across a route change can send one packet with a mixed MAC
 * pair, as a route flap may lose one anyway.
 */
static __always_inline bool nh_refresh(struct xdp_md *ctx, const struct pkt *p,
				       __be32 saddr, __be32 daddr,
				       struct flow_nexthop *nh,
				       const struct nat_state *st, __u64 jiffies,
				       bool to_lan)
{
	struct bpf_fib_lookup fib;
	__u16 len_ok = 0;

	if (!fib_fast_next_hop(ctx, p, saddr, daddr, st, to_lan, &fib))
		return false;
	if (nh_current(nh, st, jiffies))
		len_ok = nh->len_ok;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	nh->ifindex = fib.ifindex;
	nh->len_ok = p->tot_len > len_ok ? p->tot_len : len_ok;
	nh->gen = st->route_gen;
	nh->stamp = jiffies;
	return true;
}

/*
 * The next hop of a fast-path packet (saddr and daddr as translated):
 * mostly the flow's cached one, with no helper call.  A refresh, or news
 * for the expiry (a TCP flag the flow has not seen: ACK, FIN, RST), also
 * touches the flow; news alone does not ask the FIB again, since most
 * connections bring it three times in their first milliseconds.  NULL:
 * leave the packet to the stack, which touches the flow on its way.
 */
static __always_inline struct flow_nexthop *
nh_get(struct xdp_md *ctx, const struct pkt *p, __be32 saddr, __be32 daddr,
       struct flow_val *v, const struct nat_state *st, bool to_lan)
{
	struct flow_nexthop *nh = &v->nh;
	__u64 jiffies = bpf_jiffies64();

	if (nh_usable(nh, st, jiffies, p->tot_len)) {
		if (p->tcp_seen & ~v->seen)
			flow_touch(v, p->tcp_seen);
		return nh;
	}
	if (!nh_refresh(ctx, p, saddr, daddr, nh, st, jiffies, to_lan))
		return NULL;
	flow_touch(v, p->tcp_seen);
	return nh;
}

/* ip_decrease_ttl(): TTL is the high byte of its 16-bit word. */
static __always_inline void ttl_decrement(struct iphdr *iph)
{
	__u32 check = iph->check;

	check += bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xffff));
	iph->ttl--;
}

/* Forward a translated frame as the stack would: TTL - 1, next hop MACs. */
static __always_inline int fast_forward(struct xdp_md *ctx,
					const struct flow_nexthop *nh)
{
	struct ethhdr *eth = ctx_data(ctx);
	struct iphdr *iph = (void *)(eth + 1);

	if ((void *)(iph + 1) > ctx_data_end(ctx))
		return XDP_PASS;
	ttl_decrement(iph);
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return bpf_redirect(nh->ifindex, 0);
}

#endif
