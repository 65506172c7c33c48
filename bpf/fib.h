/* SPDX-License-Identifier: GPL-2.0 */
/* Routing decisions taken in XDP through the kernel's FIB. */
#ifndef BPFMASQ_FIB_H
#define BPFMASQ_FIB_H

#define AF_INET 2

/*
 * Would the kernel forward this packet (rather than deliver it locally)?
 * On the WAN that means someone routes straight at an inside address.
 */
static __always_inline bool fib_forwards(struct xdp_md *ctx, const struct pkt *p)
{
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.ipv4_src = p->key.saddr,
		.ipv4_dst = p->key.daddr,
		.l4_protocol = p->key.proto,
		.tot_len = p->tot_len,
		.ifindex = ctx->ingress_ifindex,
	};
	long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);

	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ||
	       rc == BPF_FIB_LKUP_RET_FRAG_NEEDED;
}

/*
 * Where a translated outbound packet goes: fills fib with next-hop MACs and
 * returns true only when it leaves through the WAN with a known neighbour
 * and fits its MTU; anything else is left to the stack, which knows how to
 * resolve neighbours and send ICMP errors.
 */
static __always_inline bool fib_to_wan(struct xdp_md *ctx, const struct pkt *p,
				       __be32 new_saddr, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_src = new_saddr;
	fib->ipv4_dst = p->key.daddr;
	fib->l4_protocol = p->key.proto;
	fib->tot_len = p->tot_len;
	fib->ifindex = ctx->ingress_ifindex;

	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0) == BPF_FIB_LKUP_RET_SUCCESS &&
	       fib->ifindex == cfg_wan_ifindex;
}

/*
 * May the flow's cached next hop carry this packet?  Same routing
 * generation, young enough (see struct flow_nexthop), and no longer than
 * packets it already carried.  jiffies, because bpf_jiffies64() is
 * inlined while a clock read is a helper call, the dearest part of a
 * packet on the fast path.
 */
static __always_inline bool nh_usable(const struct flow_nexthop *nh,
				      const struct nat_state *st, __u64 jiffies,
				      __u16 tot_len)
{
	return nh->ifindex && nh->gen == (__u16)st->route_gen &&
	       (__u32)jiffies - nh->stamp < NH_MAX_AGE && tot_len <= nh->len_ok;
}

/*
 * Ask the FIB where a translated outbound packet goes and cache the answer
 * in its flow.  A packet longer than any before keeps the other fields'
 * verdict and only raises len_ok once the lookup has checked it against the
 * route MTU.  Two CPUs refreshing one flow write the same answer; a reader
 * racing a refresh across a route change can send one packet with a mixed
 * MAC pair, as a route flap may lose one anyway.
 */
static __always_inline bool nh_refresh(struct xdp_md *ctx, const struct pkt *p,
				       __be32 new_saddr, struct flow_nexthop *nh,
				       const struct nat_state *st, __u64 jiffies)
{
	struct bpf_fib_lookup fib;
	__u16 len_ok = 0;

	if (!fib_to_wan(ctx, p, new_saddr, &fib))
		return false;
	if (nh->ifindex && nh->gen == (__u16)st->route_gen &&
	    (__u32)jiffies - nh->stamp < NH_MAX_AGE)
		len_ok = nh->len_ok;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	nh->ifindex = fib.ifindex;
	nh->len_ok = p->tot_len > len_ok ? p->tot_len : len_ok;
	nh->gen = st->route_gen;
	nh->stamp = jiffies;
	return true;
}

#endif
