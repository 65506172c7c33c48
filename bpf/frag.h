/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inbound fragments (RFC 4787 REQ-14).  The first fragment is translated
 * like any packet and leaves its destination in `frags`; later fragments
 * follow it.  A fragment that comes before its first fragment cannot be
 * translated yet and must neither leak nor be lost: it goes to the
 * controller, which holds it briefly and sends it on (rewritten) once the
 * first fragment has been seen, or drops it when none comes.
 */
#ifndef BPFMASQ_FRAG_H
#define BPFMASQ_FRAG_H

/* Reassembly would have given up on it (FRAG_TIMEOUT_NS). */
static __always_inline bool frag_expired(const struct frag_val *v)
{
	return bpf_ktime_get_coarse_ns() - v->created_ns > FRAG_TIMEOUT_NS;
}

static __always_inline void frag_key_of(const struct pkt *p, struct frag_key *k)
{
	k->saddr = p->key.saddr;
	k->daddr = p->key.daddr;
	k->id = p->ip_id;
	k->proto = p->key.proto;
	k->out = 0;
}

/*
 * An outbound first fragment left as another address of the pool than
 * the one new connections take: its later fragments must leave as it too
 * (they carry no ports to find the mapping by).
 */
static __always_inline void frag_out_remember(const struct pkt *p,
					      __be32 nat_addr)
{
	struct frag_val val = { .nat_addr = nat_addr,
				.created_ns = bpf_ktime_get_coarse_ns() };
	struct frag_key k;

	frag_key_of(p, &k);
	k.out = 1;
	bpf_map_update_elem(&frags, &k, &val, BPF_ANY);
}

/* The source an outbound later fragment leaves with: its first
 * fragment's, remembered above, or the address new connections take.  A
 * global function, so that its key is not on the hairpin path's stack. */
__attribute__((noinline)) __be32 frag_out_addr_g(__u64 addrs, __u32 id_proto,
						 __be32 dflt)
{
	struct frag_key k = { .saddr = (__u32)addrs, .daddr = addrs >> 32,
			      .id = id_proto & 0xffff,
			      .proto = id_proto >> 16, .out = 1 };
	struct frag_val *v = bpf_map_lookup_elem(&frags, &k);

	return v && !frag_expired(v) ? v->nat_addr : dflt;
}

/* The first fragment went to nat_addr (or to the host): remember it for
 * the rest, and release any that arrived early. */
static __always_inline void frag_remember(const struct pkt *p, __be32 nat_addr,
					  __u32 flags)
{
	struct frag_val val = { .nat_addr = nat_addr, .flags = flags,
				.created_ns = bpf_ktime_get_coarse_ns() };
	struct bpfmasq_frag_event *ev;
	struct frag_val *old;
	struct frag_key k;

	frag_key_of(p, &k);
	old = bpf_map_lookup_elem(&frags, &k);
	bpf_map_update_elem(&frags, &k, &val, BPF_ANY);
	if (!old || !(old->flags & FRAG_PENDING))
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;		/* the held ones time out in the controller */
	ev->type = EV_FRAG_RESOLVED;
	ev->len = 0;
	ev->key = k;
	ev->val = val;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline int frag_hold(void *ctx, bool xdp, const struct pkt *p,
				     const struct frag_key *k)
{
	struct frag_val pending = { .flags = FRAG_PENDING,
				    .created_ns = bpf_ktime_get_coarse_ns() };
	struct bpfmasq_frag_hold *h;
	__u32 len;

	h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
	if (!h)
		return -DROP_FRAGMENT;	/* ring full: a flood, or no controller */
	len = p->tot_len;
	/* Keep the bound check on the register the helper gets. */
	asm volatile("" : "+r"(len));
	if (len > EV_PKT_MAX || len < sizeof(struct iphdr) ||
	    pkt_load(ctx, xdp, p->l3_off, h->pkt, len)) {
		bpf_ringbuf_discard(h, 0);
		return -DROP_FRAGMENT;
	}
	h->ev.type = EV_FRAG_HOLD;
	h->ev.len = len;
	h->ev.key = *k;
	h->ev.val = pending;
	bpf_ringbuf_submit(&h->ev, 0);
	bpf_map_update_elem(&frags, k, &pending, BPF_NOEXIST);
	return NAT_HELD;
}

/* A later fragment to the external address. */
static __always_inline int frag_in_later(void *ctx, bool xdp,
					 const struct pkt *p, struct xlate *x)
{
	struct frag_val *v;
	struct frag_key k;

	frag_key_of(p, &k);
	v = bpf_map_lookup_elem(&frags, &k);
	if (v && frag_expired(v)) {
		bpf_map_delete_elem(&frags, &k);
		v = NULL;
	}
	if (!v || (v->flags & FRAG_PENDING))
		return frag_hold(ctx, xdp, p, &k);
	if (v->flags & FRAG_TO_HOST)
		return NAT_PASS;
	xlate_fill_l3(x, p, false, v->nat_addr);
	return NAT_XLATE;
}

#endif
