/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The translation core, shared by the XDP and TC programs: find (or make)
 * the flow a packet belongs to and say how to rewrite it.  It never touches
 * packet bytes; xlate.h does that for each context.
 *
 * Return values (consts.h): NAT_PASS (not ours: leave it to the stack),
 * NAT_XLATE (rewrite as struct xlate says), NAT_HELD (the controller has
 * it: a held fragment or an ALG segment), or a negative enum
 * bpfmasq_counter drop reason.
 */
#ifndef BPFMASQ_NAT_H
#define BPFMASQ_NAT_H

/* p (host order) in the block lo-hi; hi 0: no block. */
static __always_inline bool port_in_block(__u32 p, __u32 lo, __u32 hi)
{
	return hi && p >= lo && p <= hi;
}

/* Inbound traffic to this port may belong to NAT: in the range, or
 * forwarded.  Everything else is the gateway's own. */
static __always_inline bool port_is_nat(__be16 port)
{
	__u32 p = bpf_ntohs(port), word = p / 64;
	__u64 *bits;

	if (port_in_block(p, cfg_port_lo, cfg_port_hi) ||
	    port_in_block(p, cfg_port_prev_lo, cfg_port_prev_hi))
		return true;
	bits = bpf_map_lookup_elem(&fwd_ports, &word);
	return bits && (*bits & (1ULL << (p % 64)));
}

/* addr's entry in the --external pool; NULL when it has none (no pool:
 * the WAN's primary address). */
static __always_inline struct ext_pool_val *ext_pool_get(__be32 addr)
{
	return bpf_map_lookup_elem(&ext_pool, &addr);
}

/*
 * Is addr an external address on the WAN here: the one new connections
 * take (compared first, and the only one without a pool), or another of
 * the pool's that is here now (a peer's, taken over by failover)?
 */
static __always_inline bool ext_here(const struct nat_state *st, __be32 addr)
{
	struct ext_pool_val *e;

	if (addr == st->ext_addr)
		return addr != 0;
	if (!st->ext_want)
		return false;
	e = ext_pool_get(addr);
	return e && (e->flags & EXT_ON_WAN);
}

/* port_is_nat() for inbound traffic to ext: also its own block of the
 * pool's, asked for only when the common range does not have the port. */
static __always_inline bool port_is_nat_on(__be32 ext, __be16 port)
{
	struct ext_pool_val *e;
	__u32 p = bpf_ntohs(port);

	if (port_is_nat(port))
		return true;
	e = ext_pool_get(ext);
	return e && (port_in_block(p, e->port_lo, e->port_hi) ||
		     port_in_block(p, e->prev_lo, e->prev_hi));
}

static __always_inline bool internal_nets_has(const void *nets,
					      const struct internal_key *k)
{
	return bpf_map_lookup_elem(&internal_nets, k) != NULL;
}

#include "inside.h"

static __always_inline bool is_internal(__be32 saddr, __be32 ext_addr)
{
	return addr_is_inside(saddr, ext_addr, &cfg_match_all_sources, NULL);
}

static __always_inline void flow_touch(struct flow_val *v, __u8 seen)
{
	__u64 now;

	if (!v)		/* a later fragment: its first fragment touched */
		return;
	now = bpf_ktime_get_coarse_ns();
	if (now - v->last_seen_ns > TOUCH_NS)
		v->last_seen_ns = now;
	if ((v->seen | seen) != v->seen)
		v->seen |= seen;
}

/*
 * Does a socket of the gateway itself own ext:port toward this remote
 * (connected to it, or listening)?  NAT must never shadow one.
 */
static __always_inline bool host_socket_owns(void *ctx, __u8 proto,
					     __be32 remote, __be16 rport,
					     __be32 ext, __be16 port)
{
	struct bpf_sock_tuple t = {
		.ipv4 = { .saddr = remote, .daddr = ext, .sport = rport,
			  .dport = port },
	};
	struct bpf_sock *sk;

	if (proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(ctx, &t, sizeof(t.ipv4),
				       BPF_F_CURRENT_NETNS, 0);
	else if (proto == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4),
				       BPF_F_CURRENT_NETNS, 0);
	else
		return false;
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/*
 * nf_conntrack's lookups (net/netfilter/nf_conntrack_bpf.c), for running
 * beside the kernel's own NAT (a container runtime's masquerade): a reply
 * to a connection conntrack knows is the stack's, whatever its port.
 * Weak, so that the programs load where conntrack is absent (a module not
 * loaded): `up` then leaves cfg_conntrack off and the verifier removes the
 * unresolved calls unvisited.
 */
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *ctx,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz, struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* The lookups' arguments, off the stack: under masq_lan_hairpin this runs
 * three calls deep, and the frames above it leave about 40 bytes. */
struct host_lookup {
	struct bpf_sock_tuple t;
	struct bpf_ct_opts o;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct host_lookup);
} host_scratch SEC(".maps");

/*
 * Is remote:rport -> ext:port (ports: rport | port << 16, network order)
 * the gateway's own: a socket's (bpf_sk_lookup_*()), or, with
 * cfg_conntrack, a connection conntrack holds (for netfilter's masquerade
 * that is its reply tuple)?  how: the protocol, | HOST_OWNS_SOCK to ask
 * the sockets too (five arguments at most).  Per-hook twins: each is
 * verified once, in its own stack frame (port_alloc()'s callers are near
 * the 512-byte limit), and a program type only ever sees the kfunc it
 * may call (the other hook's is dead code once inlined).
 */
static __always_inline int host_owns_body(void *ctx, bool xdp, __u32 how,
					  __be32 remote, __be32 ext,
					  __u32 ports)
{
	__u8 proto = how & 0xff;
	struct host_lookup *h;
	struct nf_conn *ct;
	struct bpf_sock *sk;
	__u32 zero = 0;

	h = bpf_map_lookup_elem(&host_scratch, &zero);
	if (!h || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return 0;
	h->t.ipv4.saddr = remote;
	h->t.ipv4.daddr = ext;
	h->t.ipv4.sport = ports & 0xffff;
	h->t.ipv4.dport = ports >> 16;
	if (how & HOST_OWNS_SOCK) {
		sk = proto == IPPROTO_TCP ?
		     bpf_sk_lookup_tcp(ctx, &h->t, sizeof(h->t.ipv4),
				       BPF_F_CURRENT_NETNS, 0) :
		     bpf_sk_lookup_udp(ctx, &h->t, sizeof(h->t.ipv4),
				       BPF_F_CURRENT_NETNS, 0);
		if (sk) {
			bpf_sk_release(sk);
			return 1;
		}
	}
	if (!cfg_conntrack)
		return 0;
	__builtin_memset(&h->o, 0, sizeof(h->o));
	h->o.netns_id = BPF_F_CURRENT_NETNS;
	h->o.l4proto = proto;
	ct = xdp ? bpf_xdp_ct_lookup(ctx, &h->t, sizeof(h->t.ipv4), &h->o,
				     CT_OPTS_SZ) :
		   bpf_skb_ct_lookup(ctx, &h->t, sizeof(h->t.ipv4), &h->o,
				     CT_OPTS_SZ);
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

HOOK_TWINS(int, host_owns, (__u32 how, __be32 remote, __be32 ext, __u32 ports),
	   (how, remote, ext, ports))

/* host_owns() of one endpoint pair; sock: ask the sockets too. */
static __always_inline bool host_owns_tuple(void *ctx, bool xdp, bool sock,
					    __u8 proto, __be32 remote,
					    __be16 rport, __be32 ext,
					    __be16 port)
{
	__u32 ports = rport | (__u32)port << 16;
	__u32 how = proto | (sock ? HOST_OWNS_SOCK : 0);

	return host_owns(ctx, xdp, how, remote, ext, ports);
}

/*
 * The ports an inside port may map to (RFC 4787 REQ-3): well-known ports
 * (below 1024) to well-known ports if the range has any, others never to
 * well-known ports.  Returns false when the range has none of the class.
 */
static __always_inline bool port_class_range(__u16 in_port, __be32 ext,
					     __u32 *lo, __u32 *span)
{
	struct ext_pool_val *e = ext_pool_get(ext);
	__u32 l = cfg_port_lo, h = cfg_port_hi;

	if (e && e->port_hi) {
		l = e->port_lo;
		h = e->port_hi;
	}

	if (in_port < 1024 && l < 1024) {
		if (h > 1023)
			h = 1023;
	} else if (l < 1024) {
		if (h < 1024)
			return false;
		l = 1024;
	}
	*lo = l;
	*span = h - l + 1;
	return true;
}

/*
 * May a new flow use this binding?  One still BIND_NEW (its maker, on
 * another CPU, has not stored its first flow yet) is claimed, so that the
 * maker's rollback leaves it; one BIND_GONE is on its way out.
 */
static __always_inline bool bind_claim(struct bind_val *b)
{
	return b->state == BIND_LIVE ||
	       __sync_val_compare_and_swap(&b->state, BIND_NEW, BIND_LIVE) !=
	       BIND_GONE;
}

/*
 * Claim a free external port for an inside endpoint: the inside port itself
 * when it is in range, else random ports, the first half of them with the
 * inside port's parity (RFC 4787 REQ-4).  The
 * DIR_IN binding is the lock: BPF_NOEXIST makes exactly one CPU win each
 * port.  Ports a gateway socket or a conntrack entry (the kernel's own
 * NAT) uses toward this remote are skipped.
 * Returns 1 when it made the binding (BIND_NEW: see bind_settle()), 0
 * when another CPU made it first, or a negative drop reason.
 */
static __always_inline int port_alloc_key(void *ctx, bool xdp,
					  const struct flow_key *out_key,
					  __be32 ext, __be16 *out_port)
{
	__u16 in_port = bpf_ntohs(out_key->sport);
	__u64 now = bpf_ktime_get_coarse_ns();
	struct bind_key bk_in = { .addr = ext, .proto = out_key->proto,
				  .dir = DIR_IN };
	struct bind_key bk_out = { .addr = out_key->saddr,
				   .port = out_key->sport,
				   .proto = out_key->proto, .dir = DIR_OUT };
	struct bind_val bv_in = { .addr = out_key->saddr,
				  .port = out_key->sport, .last_used_ns = now,
				  .state = BIND_NEW };
	struct bind_val bv_out = { .addr = ext, .last_used_ns = now,
				   .state = BIND_NEW };
	struct bind_val *raced;
	__u32 lo, span, start, i;
	long err;

	if (!port_class_range(in_port, ext, &lo, &span))
		return -DROP_PORTS_EXHAUSTED;
	start = bpf_get_prandom_u32() % span;

	for (i = 0; i < PORT_TRIES && i < span; i++) {
		__u32 off;
		__be16 port;

		/* A small range is scanned whole from a random start; in a
		 * large one every try is a fresh random port, so that a run
		 * of ports in use (they fill up in clusters) costs no more
		 * than its share.  The first half keep the parity. */
		if (span <= PORT_TRIES)
			off = (start + i) % span;
		else if (i < PORT_TRIES / 2)
			off = ((bpf_get_prandom_u32() % span) & ~1U) |
			      ((lo ^ in_port) & 1);
		else
			off = bpf_get_prandom_u32() % span;
		if (off >= span)
			off = span - 1;

		if (i == 0 && in_port - lo < span)
			port = out_key->sport;
		else
			port = bpf_htons(lo + off);

		if (host_owns_tuple(ctx, xdp, true, out_key->proto,
				    out_key->daddr, out_key->dport, ext, port))
			continue;
		bk_in.port = port;
		err = bpf_map_update_elem(&binds, &bk_in, &bv_in, BPF_NOEXIST);
		if (err == -EEXIST)
			continue;
		if (err)
			return -DROP_TABLE_FULL;

		bv_out.port = port;
		err = bpf_map_update_elem(&binds, &bk_out, &bv_out, BPF_NOEXIST);
		if (!err) {
			*out_port = port;
			return 1;
		}
		bpf_map_delete_elem(&binds, &bk_in);
		if (err != -EEXIST)
			return -DROP_TABLE_FULL;
		/* Another CPU bound this endpoint first: share its port. */
		raced = bpf_map_lookup_elem(&binds, &bk_out);
		if (!raced || !bind_claim(raced))
			return -DROP_TABLE_FULL;
		*out_port = raced->port;
		return 0;
	}
	return -DROP_PORTS_EXHAUSTED;
}

/*
 * port_alloc_key() as per-hook twins (flow key in two words): the
 * verifier checks its loop of tries once, on its own, rather than inside
 * every path of the programs that call it.  The port (network order, bit
 * 16 set when this call made the binding) or a negative drop reason.
 */
static __always_inline int port_alloc_body(void *ctx, bool xdp, __u64 k0,
					   __u64 k1, __be32 ext)
{
	struct flow_key key;
	__be16 port = 0;
	int err;

	flow_key_unpack(&key, k0, k1);
	err = port_alloc_key(ctx, xdp, &key, ext, &port);
	return err < 0 ? err : port | err << 16;
}

HOOK_TWINS(int, port_alloc, (__u64 k0, __u64 k1, __be32 ext), (k0, k1, ext))

/*
 * Insert both directions of a connection.  The outbound half goes first and
 * is removed again if the inbound half cannot be stored, so a full table
 * never leaves half a pair.  Only the opening direction gets a timestamp:
 * a zero last_seen_ns tells the controller that no answer came yet.
 */
static __always_inline int flow_pair_insert(const struct flow_key *out_key,
					    __be32 ext, __be16 ext_port,
					    bool opened_out, __u8 seen,
					    bool new_binding)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct flow_key in_key = {
		.saddr = out_key->daddr, .daddr = ext,
		.sport = out_key->dport, .dport = ext_port,
		.proto = out_key->proto, .dir = DIR_IN,
	};
	struct flow_val out_val = { .nat_addr = ext, .nat_port = ext_port,
				    .seen = opened_out ? seen : 0,
				    .last_seen_ns = opened_out ? now : 0 };
	struct flow_val in_val = { .nat_addr = out_key->saddr,
				   .nat_port = out_key->sport,
				   .seen = opened_out ? 0 : seen,
				   .last_seen_ns = opened_out ? 0 : now };
	long err;

	err = bpf_map_update_elem(&flows, out_key, &out_val, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Another CPU created it just now, on the binding this
		 * packet made: that binding is still to be told of. */
		if (new_binding)
			bind_event_g(out_key->saddr,
				     out_key->sport | (__u32)ext_port << 16, ext,
				     out_key->proto);
		return 0;
	}
	if (err)
		return -DROP_TABLE_FULL;
	err = bpf_map_update_elem(&flows, &in_key, &in_val, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		bpf_map_delete_elem(&flows, out_key);
		return -DROP_TABLE_FULL;
	}
	count(CNT_NEW_FLOWS);
	conn_event_flow(out_key, ext, ext_port, opened_out, new_binding, now);
	return 0;
}

/* flow_pair_insert() as a global function (flow key in two words,
 * direction and seen bits packed): keeps its keys and values off the
 * stack frames of the programs, which are near the 512-byte limit. */
__attribute__((noinline)) int flow_pair_insert_g(__u64 k0, __u64 k1,
						 __be32 ext, __u32 port_dir_seen)
{
	struct flow_key key;

	flow_key_unpack(&key, k0, k1);
	return flow_pair_insert(&key, ext, port_dir_seen & 0xffff,
				port_dir_seen & (1 << 16),
				(port_dir_seen >> 24) & 0xff,
				port_dir_seen & (1 << 17));
}

static __always_inline int flow_pair_create(const struct flow_key *out_key,
					    __be32 ext, __be16 ext_port,
					    bool opened_out, __u8 seen,
					    bool new_binding)
{
	__u64 w[2];

	flow_key_pack(out_key, w);
	return flow_pair_insert_g(w[0], w[1], ext,
				  ext_port | (opened_out ? 1 << 16 : 0) |
				  (new_binding ? 1 << 17 : 0) |
				  (__u32)seen << 24);
}

/*
 * The bindings port_alloc() made for an outbound flow, once the flow's
 * insert has answered (flow key in two words, port | stored << 16).  Not
 * stored (a full table): they go at once, or every new endpoint would
 * hold a port until the controller's walk for unused bindings, and a flood
 * would take the whole range.  Stored, or claimed meanwhile by another
 * CPU's flow (bind_claim()): they are live, open to inbound flows too.
 * Scalars only (inside port | protocol << 16, external port | stored <<
 * 16), so that the callers' stack, near its limit, holds no keys for it.
 */
__attribute__((noinline)) int bind_settle_g(__be32 in_addr, __u32 port_proto,
					    __be32 ext, __u32 port_stored)
{
	__be16 port = port_stored & 0xffff;
	struct bind_key bk_out = { .addr = in_addr,
				   .port = port_proto & 0xffff,
				   .proto = port_proto >> 16, .dir = DIR_OUT };
	struct bind_key bk_in = { .addr = ext, .port = port,
				  .proto = port_proto >> 16, .dir = DIR_IN };
	struct bind_val *b;

	b = bpf_map_lookup_elem(&binds, &bk_out);
	/* (Not ours any more: the controller flushed it.) */
	if (!b || b->addr != ext || b->port != port)
		return 0;
	if (!(port_stored >> 16) &&
	    __sync_val_compare_and_swap(&b->state, BIND_NEW, BIND_GONE) ==
	    BIND_NEW) {
		bpf_map_delete_elem(&binds, &bk_in);
		bpf_map_delete_elem(&binds, &bk_out);
		return 0;
	}
	b->state = BIND_LIVE;
	b = bpf_map_lookup_elem(&binds, &bk_in);
	if (b)
		b->state = BIND_LIVE;
	count(CNT_NEW_BINDINGS);
	return 0;
}

/* Whether nat_out() may make a flow, and in which kind of program. */
enum nat_create {
	CREATE_NONE,	/* look up only: a miss is NAT_PASS */
	CREATE_TC,
	CREATE_XDP,
};

/* Make the flow for an outbound packet that has none yet. */
static __always_inline int flow_create_out(void *ctx,
					   const struct flow_key *out_key,
					   __be32 ext, __u8 seen,
					   enum nat_create create)
{
	struct bind_key bk = { .addr = out_key->saddr, .port = out_key->sport,
			       .proto = out_key->proto, .dir = DIR_OUT };
	struct bind_val *b = bpf_map_lookup_elem(&binds, &bk);
	bool made = false;
	__be16 ext_port;
	int err;

	/* The endpoint keeps the address it has on every connection
	 * (RFC 4787 REQ-2, paired pooling): another of the pool's, even
	 * one on a peer now, whose owner learns the flow by state sync. */
	if (b && b->addr != ext && ext_pool_get(b->addr))
		ext = b->addr;
	if (b && b->addr == ext) {
		if (!bind_claim(b))
			return -DROP_TABLE_FULL;	/* being rolled back */
		ext_port = b->port;
		b->last_used_ns = bpf_ktime_get_coarse_ns();
	} else {
		/* A binding on an external address no longer ours is
		 * stale: the controller is about to flush it. */
		if (b)
			return -DROP_NO_EXT_ADDR;
		__u64 w[2];

		flow_key_pack(out_key, w);
		err = port_alloc(ctx, create == CREATE_XDP, w[0], w[1], ext);
		if (err < 0)
			return err;
		ext_port = err & 0xffff;
		made = err >> 16;
	}
	/* One record tells of both: the flow and, when it made one, the
	 * binding, which its storing settles (bind_settle_g()). */
	err = flow_pair_create(out_key, ext, ext_port, true, seen, made);
	if (made)
		bind_settle_g(out_key->saddr,
			      out_key->sport | (__u32)out_key->proto << 16, ext,
			      ext_port | (err ? 0 : 1 << 16));
	return err;
}

/* RFC 5382: only a SYN opens a TCP mapping. */
static __always_inline bool may_open(const struct pkt *p)
{
	if (p->key.proto != IPPROTO_TCP)
		return true;
	return (p->tcp_seen & (SEEN_SYN | SEEN_RST)) == SEEN_SYN;
}

/* Does the packet have a flow key: TCP, UDP, or an ICMP echo request? */
static __always_inline bool flow_keyed(const struct pkt *p)
{
	return p->has_ports &&
	       (p->key.proto != IPPROTO_ICMP || p->is_echo_request);
}

/* frag.h: the source of an outbound later fragment. */
__be32 frag_out_addr_g(__u64 addrs, __u32 id_proto, __be32 dflt);

/* Outbound through a flow that exists, or NAT_PASS. */
static __always_inline int nat_out_flow(const struct nat_state *st,
					const struct pkt *p, struct xlate *x,
					struct flow_val **vp)
{
	struct flow_key key = p->key;
	struct flow_val *v;

	/* (The gateway's own packets have no flow of ours.) */
	if (!st->ext_addr || p->key.saddr == st->ext_addr ||
	    p->later_fragment || !flow_keyed(p))
		return NAT_PASS;
	key.dir = DIR_OUT;
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v)
		return NAT_PASS;
	xlate_fill(x, p, true, v);
	*vp = v;
	return NAT_XLATE;
}

/*
 * Outbound, from a source not yet judged: an inside host's packet is
 * translated through its flow, which it may open (create: CREATE_TC or
 * CREATE_XDP); anything else passes or is a drop reason.  Callers that
 * judged the source themselves (hairpin) call it directly.
 */
static __always_inline int nat_out_open(void *ctx, const struct nat_state *st,
					const struct pkt *p, struct xlate *x,
					enum nat_create create,
					struct flow_val **vp)
{
	struct flow_key key;
	struct flow_val *v;
	int err;

	/* (The pool's other addresses are the gateway's too.) */
	if (!is_internal(p->key.saddr, st->ext_addr) ||
	    (st->ext_want && ext_pool_get(p->key.saddr)))
		return NAT_PASS;
	if (!st->ext_addr)
		return -DROP_NO_EXT_ADDR;
	/* A later fragment needs no flow: only its source changes (its
	 * first fragment carried the L4 header and the checksum of the
	 * whole datagram), to the address new connections take, or with a
	 * pool to the one its first fragment left as (frag.h). */
	if (p->later_fragment) {
		__be32 src = st->ext_addr;

		if (st->ext_want)
			src = frag_out_addr_g(p->key.saddr |
					      (__u64)p->key.daddr << 32,
					      p->ip_id |
					      (__u32)p->key.proto << 16,
					      st->ext_addr);
		xlate_fill_l3(x, p, true, src);
		*vp = NULL;
		return NAT_XLATE;
	}
	if (!flow_keyed(p))
		return -DROP_UNSUPPORTED_PROTO;

	key = p->key;
	key.dir = DIR_OUT;
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		if (!may_open(p))
			return -DROP_TCP_NOT_SYN;
		err = flow_create_out(ctx, &key, st->ext_addr, p->tcp_seen,
				      create);
		if (err)
			return err;
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v)
			return -DROP_TABLE_FULL;
	}
	xlate_fill(x, p, true, v);
	*vp = v;
	return NAT_XLATE;
}

/*
 * Outbound (inside -> WAN).  A flow's source was judged when it opened, so
 * the flow is looked for first and the --internal prefix trie (a helper
 * call) is asked only when there is none.  With CREATE_NONE (the LAN fast
 * path without --lan-new) a packet without a flow is left for the slow
 * path, which may create one.  st: the caller's state_get(), not NULL.
 * (Inside nat_out_open() the flow-first order put masq_lan_hairpin over
 * the verifier's 512-byte stack; a miss looks once more there, which is
 * little next to judging the source and opening a flow.)
 */
static __always_inline int nat_out(void *ctx, const struct nat_state *st,
				   const struct pkt *p, struct xlate *x,
				   enum nat_create create, struct flow_val **vp)
{
	int ret = nat_out_flow(st, p, x, vp);

	if (ret == NAT_XLATE || create == CREATE_NONE)
		return ret;
	return nat_out_open(ctx, st, p, x, create, vp);
}

/*
 * An ALG expectation has had its one connection: from now on it is an
 * ordinary binding of the announced endpoint (so its flows keep the port
 * and the controller frees it with them), no longer open to new flows.
 */
static __always_inline void expect_fulfilled(struct bind_val *b,
					     const struct bind_key *bk)
{
	struct bind_key out = { .addr = b->addr, .port = b->port,
				.proto = bk->proto, .dir = DIR_OUT };
	struct bind_val v = { .addr = bk->addr, .port = bk->port,
			      .last_used_ns = b->last_used_ns };

	b->flags &= ~BIND_EXPECT;
	/* From here on it is a mapping like any other, and is logged as
	 * one: its release comes from the controller's walk. */
	if (!bpf_map_update_elem(&binds, &out, &v, BPF_NOEXIST))
		bind_event_g(out.addr, out.port | (__u32)bk->port << 16,
			     bk->addr, bk->proto);
	count(CNT_EXPECT_USED);
}

/*
 * An inbound binding not yet live: is its outbound half live now (another
 * CPU's flow claimed it)?  Then so is it.  The key in one word; a global
 * function, as masq_lan_hairpin has no stack left for the second key.
 */
__attribute__((noinline)) int bind_in_live_g(__u64 in_key)
{
	struct bind_key bk, out;
	struct bind_val *b, *o;

	bind_key_unpack(&bk, in_key);
	b = bpf_map_lookup_elem(&binds, &bk);
	if (!b)
		return 0;
	out = (struct bind_key){ .addr = b->addr, .port = b->port,
				 .proto = bk.proto, .dir = DIR_OUT };
	o = bpf_map_lookup_elem(&binds, &out);
	if (!o || o->state != BIND_LIVE || o->port != bk.port)
		return 0;
	b->state = BIND_LIVE;
	return 1;
}

/* Full-cone filtering: an unknown remote may open a flow to a binding. */
static __always_inline int flow_create_in(void *ctx, const struct pkt *p,
					  __be32 ext)
{
	struct bind_key bk = { .addr = ext, .port = p->key.dport,
			       .proto = p->key.proto, .dir = DIR_IN };
	struct bind_val *b = bpf_map_lookup_elem(&binds, &bk);
	struct flow_key out_key;
	int err;

	/* Nobody inside owns this port: a gateway socket may (then it is
	 * the stack's; echo replies always are: ping ids are not sockets we
	 * can look up), else stay silent (RFC 5382 REQ-4: no RST). */
	if (!b)
		return p->key.proto == IPPROTO_ICMP ||
		       host_socket_owns(ctx, p->key.proto, p->key.saddr,
					p->key.sport, ext, p->key.dport) ?
		       NAT_PASS : -DROP_NO_MAPPING;
	/* Its maker has not stored the first flow yet: no mapping until it
	 * has (it may yet be rolled back).  Another CPU's flow may have
	 * claimed the outbound half meanwhile. */
	if (b->state != BIND_LIVE && !bind_in_live_g(bind_key_pack(&bk)))
		return -DROP_NO_MAPPING;
	if (b->flags & BIND_EXPECT) {
		/* FTP names the one peer; a DCC offer is open to anyone. */
		if (b->peer && b->peer != p->key.saddr)
			return -DROP_FILTERED;
	} else if (!cfg_filter_cone && !(b->flags & BIND_STATIC)) {
		return -DROP_FILTERED;
	}
	if (!may_open(p))
		return -DROP_TCP_NOT_SYN;
	b->last_used_ns = bpf_ktime_get_coarse_ns();
	out_key = (struct flow_key){
		.saddr = b->addr, .daddr = p->key.saddr,
		.sport = b->port, .dport = p->key.sport,
		.proto = p->key.proto, .dir = DIR_OUT,
	};
	err = flow_pair_create(&out_key, ext, p->key.dport, false, p->tcp_seen,
			       false);
	if (!err && (b->flags & BIND_EXPECT))
		expect_fulfilled(b, &bk);
	return err;
}

/* Which conntrack lookup nat_in() may make before a drop: its program
 * type's, or none (the hairpin path has no stack left for the call, and
 * an inside host's hairpinned packet is no reply of netfilter's NAT). */
enum ct_ask {
	CT_ASK_NONE,
	CT_ASK_XDP,
	CT_ASK_TC,
};

/* Inbound (WAN -> inside), for packets addressed to the external address. */
static __always_inline int nat_in(void *ctx, enum ct_ask ask, const struct pkt *p,
				  __be32 ext, struct xlate *x,
				  struct flow_val **vp)
{
	struct flow_key key;
	struct flow_val *v;
	int err;

	/* The gateway's own traffic (ports outside the NAT range, fragments,
	 * ICMP other than echo replies) belongs to its stack. */
	if (!p->has_ports || p->later_fragment || p->is_echo_request ||
	    !port_is_nat_on(ext, p->key.dport))
		return NAT_PASS;

	key = p->key;
	key.dir = DIR_IN;
	v = bpf_map_lookup_elem(&flows, &key);
	if (!v) {
		err = flow_create_in(ctx, p, ext);
		/* Not ours to drop: a connection of the kernel's own
		 * conntrack (netfilter's masquerade beside us chose a port
		 * in our range).  Asked only here, on the way to a drop. */
		if (err < 0 && ask != CT_ASK_NONE && cfg_conntrack &&
		    host_owns_tuple(ctx, ask == CT_ASK_XDP, false, p->key.proto,
				    p->key.saddr, p->key.sport, ext,
				    p->key.dport))
			return NAT_PASS;
		if (err != 0)
			return err;
		v = bpf_map_lookup_elem(&flows, &key);
		if (!v)
			return NAT_PASS;
	}
	xlate_fill(x, p, false, v);
	*vp = v;
	return NAT_XLATE;
}

#endif
