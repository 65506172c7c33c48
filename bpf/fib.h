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

#endif
