/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Applying a translation to a packet.  The core decides *what* to rewrite
 * (struct xlate); these two backends know *how* for their context:
 *
 * - XDP frames carry complete checksums, so direct writes with incremental
 *   checksum updates are exact.
 * - skbs at TC may be CHECKSUM_PARTIAL (forwarded from a veth, or local
 *   TSO), where the L4 field holds only the pseudo-header sum: only the
 *   address change may touch it, never the port change.  The kernel's
 *   csum helpers know the skb's checksum state, so TC uses them.
 */
#ifndef BPFMASQ_XLATE_H
#define BPFMASQ_XLATE_H

/* One rewrite of an address and a port (or ICMP echo identifier). */
struct xlate {
	__u32 addr_off;		/* saddr (outbound) or daddr (inbound) */
	__u32 port_off;
	__u32 csum_off;
	__be32 old_addr;
	__be32 new_addr;
	__be16 old_port;
	__be16 new_port;
	__u8 proto;
	bool l3_only;		/* a later fragment: no L4 header to touch */
};

/* Only the address: what later fragments of a translated datagram need. */
static __always_inline void xlate_fill_l3(struct xlate *x, const struct pkt *p,
					  bool outbound, __be32 new_addr)
{
	x->proto = p->key.proto;
	x->l3_only = true;
	x->new_addr = new_addr;
	if (outbound) {
		x->addr_off = p->l3_off + offsetof(struct iphdr, saddr);
		x->old_addr = p->key.saddr;
	} else {
		x->addr_off = p->l3_off + offsetof(struct iphdr, daddr);
		x->old_addr = p->key.daddr;
	}
}

static __always_inline void xlate_fill(struct xlate *x, const struct pkt *p,
				       bool outbound, const struct flow_val *v)
{
	x->proto = p->key.proto;
	x->l3_only = false;
	x->csum_off = p->csum_off;
	x->new_addr = v->nat_addr;
	x->new_port = v->nat_port;
	if (outbound) {
		x->addr_off = p->l3_off + offsetof(struct iphdr, saddr);
		x->port_off = p->sport_off;
		x->old_addr = p->key.saddr;
		x->old_port = p->key.sport;
	} else {
		x->addr_off = p->l3_off + offsetof(struct iphdr, daddr);
		x->port_off = p->dport_off;
		x->old_addr = p->key.daddr;
		x->old_port = p->key.dport;
	}
}

static __always_inline int xdp_apply(struct xdp_md *ctx, const struct pkt *p,
				     const struct xlate *x)
{
	void *data = ctx_data(ctx), *data_end = ctx_data_end(ctx);
	struct iphdr *iph = FRAME_PTR(data, data_end, p->l3_off, struct iphdr);
	__be32 *addr = FRAME_PTR(data, data_end, x->addr_off, __be32);
	__be16 *port = FRAME_PTR(data, data_end, x->port_off, __be16);
	__sum16 *l4sum = FRAME_PTR(data, data_end, x->csum_off, __sum16);
	__u32 addr_diff = csum_diff4(x->old_addr, x->new_addr);
	__u32 port_diff = csum_diff2(x->old_port, x->new_port);

	if (!iph || !addr)
		return -DROP_MALFORMED_IP;
	csum_apply(&iph->check, addr_diff);
	if (x->l3_only) {
		*addr = x->new_addr;
		return 0;
	}
	if (!port || !l4sum)
		return -DROP_MALFORMED_L4;
	if (x->proto == IPPROTO_TCP) {
		csum_apply(l4sum, addr_diff + port_diff);
	} else if (x->proto == IPPROTO_UDP) {
		/* A zero UDP checksum means "none" and stays zero; a
		 * computed zero is sent as all ones (RFC 768). */
		if (*l4sum) {
			csum_apply(l4sum, addr_diff + port_diff);
			if (!*l4sum)
				*l4sum = 0xffff;
		}
	} else {
		/* ICMP has no pseudo-header: only the identifier counts. */
		csum_apply(l4sum, port_diff);
	}
	*addr = x->new_addr;
	*port = x->new_port;
	return 0;
}

static __always_inline int tc_apply(struct __sk_buff *skb, const struct pkt *p,
				    const struct xlate *x)
{
	__u32 l3_csum = p->l3_off + offsetof(struct iphdr, check);
	__u64 mangled = x->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (x->l3_only) {
		if (bpf_l3_csum_replace(skb, l3_csum, x->old_addr, x->new_addr,
					sizeof(x->new_addr)) ||
		    bpf_skb_store_bytes(skb, x->addr_off, &x->new_addr,
					sizeof(x->new_addr), 0))
			return -DROP_MALFORMED_IP;
		return 0;
	}
	if (x->proto != IPPROTO_ICMP &&
	    bpf_l4_csum_replace(skb, x->csum_off, x->old_addr, x->new_addr,
				BPF_F_PSEUDO_HDR | mangled | sizeof(x->new_addr)))
		return -DROP_MALFORMED_L4;
	if (bpf_l4_csum_replace(skb, x->csum_off, x->old_port, x->new_port,
				mangled | sizeof(x->new_port)))
		return -DROP_MALFORMED_L4;
	if (bpf_l3_csum_replace(skb, l3_csum, x->old_addr, x->new_addr,
				sizeof(x->new_addr)))
		return -DROP_MALFORMED_IP;
	if (bpf_skb_store_bytes(skb, x->addr_off, &x->new_addr,
				sizeof(x->new_addr), 0) ||
	    bpf_skb_store_bytes(skb, x->port_off, &x->new_port,
				sizeof(x->new_port), 0))
		return -DROP_MALFORMED_L4;
	return 0;
}

#endif
