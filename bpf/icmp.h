/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP errors (RFC 5508): destination unreachable (frag-needed included),
 * time exceeded and parameter problem carry the packet that caused them.
 * The flow is found from that embedded packet; the outer header, the
 * embedded header and ports, and every checksum are rewritten so the error
 * reaches the host that sent the packet (traceroute and path-MTU discovery
 * depend on it).  Errors never refresh or delete a flow.
 *
 * ICMP never carries a partial checksum, so every new value is computed
 * here and the contexts only store bytes (struct edits).
 */
#ifndef BPFMASQ_ICMP_H
#define BPFMASQ_ICMP_H

/* Bytes to store: a 16- or 32-bit field, network order, at an offset. */
struct edits {
	__u32 n;
	struct {
		__u32 off;
		__u32 size;
		__u32 val;
	} e[MAX_EDITS];
};

/* Room for the edits of one ICMP error, off the (full) stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edits);
} icmp_scratch SEC(".maps");

static __always_inline struct edits *edits_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&icmp_scratch, &zero);
}

static __always_inline void edit_add(struct edits *ed, __u32 off, __u32 size,
				     __u32 val)
{
	__u32 i = ed->n;

	if (i < MAX_EDITS) {
		ed->e[i].off = off;
		ed->e[i].size = size;
		ed->e[i].val = val;
		ed->n = i + 1;
	}
}

/*
 * The whole ICMP message must sum to 0xffff (RFC 792).  Read through the
 * load helpers in per-hook twins, so the verifier walks the loop once.
 */
static __always_inline int icmp_sum_ok_body(void *ctx, bool xdp, __u32 off,
					    __u32 len)
{
	__u32 sum = 0;

	off &= 0xff;
	if (len > ICMP_ERR_MAX_LEN)
		return false;
	for (__u32 i = 0; i < ICMP_ERR_MAX_LEN / 2; i++) {
		__u16 w = 0;

		if (2 * i >= len)
			break;
		/* An odd last byte is padded with a zero byte. */
		if (pkt_load(ctx, xdp, off + 2 * i, &w,
			     2 * i + 1 < len ? 2 : 1))
			return false;
		sum += w;
	}
	return csum_fold32(sum) == 0xffff;
}

HOOK_TWINS(int, icmp_sum_ok, (__u32 off, __u32 len), (off, len))

static __always_inline __u16 csum_after4(__u16 check, __be32 from, __be32 to)
{
	__sum16 c = check;

	csum_replace4(&c, from, to);
	return c;
}

static __always_inline __u16 csum_after2(__u16 check, __be16 from, __be16 to)
{
	__sum16 c = check;

	csum_replace2(&c, from, to);
	return c;
}

/*
 * An error whose flow is gone.  About a ping id no inside host holds, it
 * is about the gateway's own ping (ids cannot be looked up as sockets):
 * the stack's.  Anything else is dropped (RFC 5508 REQ-4/5).
 */
static __always_inline int icmp_error_unowned(const struct flow_key *key,
					      bool outbound)
{
	struct bind_key bk = { .addr = key->daddr, .port = key->dport,
			       .proto = IPPROTO_ICMP, .dir = DIR_IN };

	if (outbound || key->proto != IPPROTO_ICMP ||
	    bpf_map_lookup_elem(&binds, &bk))
		return -DROP_ICMP_NO_FLOW;
	return NAT_PASS;
}

/*
 * Outbound (an inside host reports a packet it got from outside): the
 * embedded packet went remote -> inside, so its destination is rewritten to
 * the external endpoint.  Inbound (a router reports a packet we sent): the
 * embedded packet went external -> remote; its source is restored.
 * Returns NAT_XLATE with the edits, NAT_PASS (not about a NAT flow: the
 * gateway's own traffic), or a negative drop reason.
 */
static __always_inline int icmp_error_xlate(void *ctx, bool xdp, void *data,
					    void *data_end,
					    const struct pkt *p, bool outbound,
					    __be32 ext, struct edits *ed)
{
	/* The gateway's own error (outbound, from the external address)
	 * matters only when it quotes a packet it was forwarding inside. */
	bool own = outbound && p->key.saddr == ext;
	__u32 icmp_len = p->tot_len - (p->l4_off - p->l3_off);
	__u32 inner_l3 = p->l4_off + sizeof(struct icmphdr);
	__u32 inner_l4, addr_off, port_off, l4csum_off = 0;
	/* Masked like every offset here, so that the verifier sees the
	 * pointers bounded whatever register or stack slot they come from. */
	struct iphdr *outer = data + (p->l3_off & 0xff);
	struct icmphdr *icmp = data + (p->l4_off & 0xff);
	struct iphdr *inner = data + (inner_l3 & 0xff);
	struct flow_key key = {};
	struct flow_val *v;
	__be16 old_port, *pp, *l4c = NULL;
	__u16 icmp_check, inner_check, l4_old = 0, l4_new = 0;
	__be32 old_addr;
	__u8 *l4;

	if ((void *)(outer + 1) > data_end || (void *)(icmp + 1) > data_end ||
	    (void *)(inner + 1) > data_end)
		return -DROP_MALFORMED_L4;
	if (inner->ihl < 5)
		return -DROP_MALFORMED_L4;
	inner_l4 = inner_l3 + inner->ihl * 4;
	l4 = data + (inner_l4 & 0xff);
	/* RFC 792: the header plus at least 8 bytes of the offending data. */
	if ((void *)(l4 + 8) > data_end ||
	    inner_l4 + 8 > p->l3_off + p->tot_len)
		return -DROP_MALFORMED_L4;

	if (own && !is_internal(inner->daddr, ext))
		return NAT_PASS;

	key.proto = inner->protocol;
	if (inner->protocol == IPPROTO_TCP || inner->protocol == IPPROTO_UDP) {
		__be16 *ports = (__be16 *)l4;

		key.sport = ports[1];
		key.dport = ports[0];
		port_off = inner_l4 + (outbound ? 2 : 0);
		if (inner->protocol == IPPROTO_UDP) {
			if (ports[3])
				l4csum_off = inner_l4 + 6;
		} else if (inner_l4 + 18 <= p->l3_off + p->tot_len &&
			   (void *)(l4 + 18) <= data_end) {
			/* Only when the error quotes that much of TCP. */
			l4csum_off = inner_l4 + 16;
		}
	} else if (inner->protocol == IPPROTO_ICMP && !outbound &&
		   l4[0] == ICMP_ECHO) {
		/* Our echo request: its identifier is the external "port". */
		key.dport = *(__be16 *)(l4 + 4);
		port_off = inner_l4 + 4;
		l4csum_off = inner_l4 + 2;
	} else {
		return outbound ? -DROP_UNSUPPORTED_PROTO : NAT_PASS;
	}

	if (outbound) {
		/* Embedded remote -> inside; look up inside -> remote. */
		key.saddr = inner->daddr;
		key.daddr = inner->saddr;
		key.dir = DIR_OUT;
		addr_off = inner_l3 + offsetof(struct iphdr, daddr);
		old_addr = inner->daddr;
	} else {
		/* Embedded external -> remote; look up remote -> external. */
		if (inner->saddr != ext || !port_is_nat(key.dport))
			return NAT_PASS;
		key.saddr = inner->daddr;
		key.daddr = ext;
		key.dir = DIR_IN;
		addr_off = inner_l3 + offsetof(struct iphdr, saddr);
		old_addr = inner->saddr;
		if (inner->protocol == IPPROTO_ICMP)
			key.sport = 0;
	}
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v)
		return icmp_error_unowned(&key, outbound);
	if (!icmp_sum_ok(ctx, xdp, p->l4_off, icmp_len))
		return -DROP_ICMP_BAD_CSUM;

	pp = data + (port_off & 0xff);
	if ((void *)(pp + 1) > data_end)
		return -DROP_MALFORMED_L4;
	old_port = *pp;
	if (l4csum_off) {
		l4c = data + (l4csum_off & 0xff);
		if ((void *)(l4c + 1) > data_end)
			return -DROP_MALFORMED_L4;
		l4_old = *l4c;
		l4_new = csum_after2(l4_old, old_port, v->nat_port);
		if (inner->protocol != IPPROTO_ICMP)
			l4_new = csum_after4(l4_new, old_addr, v->nat_addr);
		if (inner->protocol == IPPROTO_UDP && !l4_new)
			l4_new = 0xffff;
	}
	inner_check = csum_after4(inner->check, old_addr, v->nat_addr);

	/* The ICMP checksum covers every embedded byte we change. */
	icmp_check = csum_after4(icmp->checksum, old_addr, v->nat_addr);
	icmp_check = csum_after2(icmp_check, inner->check, inner_check);
	icmp_check = csum_after2(icmp_check, old_port, v->nat_port);
	if (l4c)
		icmp_check = csum_after2(icmp_check, l4_old, l4_new);

	ed->n = 0;
	if (outbound) {
		edit_add(ed, p->l3_off + offsetof(struct iphdr, saddr), 4, ext);
		edit_add(ed, p->l3_off + offsetof(struct iphdr, check), 2,
			 csum_after4(outer->check, outer->saddr, ext));
	} else {
		edit_add(ed, p->l3_off + offsetof(struct iphdr, daddr), 4,
			 v->nat_addr);
		edit_add(ed, p->l3_off + offsetof(struct iphdr, check), 2,
			 csum_after4(outer->check, outer->daddr, v->nat_addr));
	}
	edit_add(ed, addr_off, 4, v->nat_addr);
	edit_add(ed, inner_l3 + offsetof(struct iphdr, check), 2, inner_check);
	edit_add(ed, port_off, 2, v->nat_port);
	if (l4c)
		edit_add(ed, l4csum_off, 2, l4_new);
	edit_add(ed, p->l4_off + offsetof(struct icmphdr, checksum), 2,
		 icmp_check);
	return NAT_XLATE;
}

/* Store the edits: NAT_XLATE, or a negative drop reason. */
static __always_inline int apply_edits(void *ctx, bool xdp,
				       const struct edits *ed)
{
	for (__u32 i = 0; i < MAX_EDITS; i++) {
		if (i >= ed->n)
			break;
		if (!xdp) {
			if (bpf_skb_store_bytes(ctx, ed->e[i].off,
						&ed->e[i].val,
						ed->e[i].size == 4 ? 4 : 2, 0))
				return -DROP_MALFORMED_L4;
		} else if (ed->e[i].size == 4) {
			__be32 *f = XDP_PTR((struct xdp_md *)ctx, ed->e[i].off,
					    __be32);

			if (!f)
				return -DROP_MALFORMED_L4;
			*f = ed->e[i].val;
		} else {
			__be16 *f = XDP_PTR((struct xdp_md *)ctx, ed->e[i].off,
					    __be16);

			if (!f)
				return -DROP_MALFORMED_L4;
			*f = ed->e[i].val;
		}
	}
	return NAT_XLATE;
}

/*
 * An ICMP error translated in place, either way (see icmp_error_xlate()):
 * NAT_XLATE, NAT_PASS, or a negative drop reason.
 */
static __always_inline int icmp_error_apply(void *ctx, bool xdp,
					    const struct pkt *p, bool outbound,
					    __be32 ext)
{
	struct edits *ed = edits_get();
	int ret;

	/* (Never NULL: one per-CPU slot.) */
	if (!ed)
		return -DROP_NO_MEMORY;
	if (!ext)
		return -DROP_NO_EXT_ADDR;
	ret = icmp_error_xlate(ctx, xdp, pkt_data(ctx, xdp), pkt_end(ctx, xdp),
			       p, outbound, ext, ed);
	return ret == NAT_XLATE ? apply_edits(ctx, xdp, ed) : ret;
}

#endif
