// SPDX-License-Identifier: GPL-2.0
/*
 * bpfmasq data plane: IPv4 masquerade.
 *
 *   masq_wan_out  tc egress on the WAN: inside sources -> external address
 *   masq_wan_in   XDP on the WAN: replies -> inside; guards the inside
 *   masq_wan_in_tc tc ingress on the WAN: replies whose checksum is
 *                 partial; on a layer-3 WAN (no XDP) all of masq_wan_in
 *   masq_lan_hairpin tc ingress on an inside interface: established
 *                 flows' skbs (partial checksums, GSO) translated and
 *                 redirected to the WAN; inside -> external address ->
 *                 inside (_l3: without Ethernet, hairpin only)
 *   masq_lan_fast XDP on a LAN: established flows translated and
 *                 redirected straight to the WAN, skipping the stack
 *   masq_lan_open the same, also opening new flows (--lan-new)
 *
 * This file only composes the pieces; the translation core is nat.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpfmasq.h"

#include "consts.h"
#include "config.h"
#include "maps.h"
#include "csum.h"
#include "ctx.h"
#include "parse.h"
#include "xlate.h"
#include "connev.h"
#include "tcpopt.h"
#include "nat.h"
#include "icmp.h"
#include "frag.h"
#include "alg.h"
#include "fib.h"
#include "mss.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Headers up to the L4 ports must be linear for direct reads; an ICMP
 * error is read whole (checksum check, embedded headers).  Pointers are
 * invalid after a pull, so the packet is parsed again.
 */
static __always_inline int tc_parse(struct __sk_buff *skb, __u32 l3_off,
				    struct pkt *p)
{
	int ret;

	if (ctx_data(skb) + 128 > ctx_data_end(skb))
		bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
	ret = parse_ipv4(ctx_data(skb), ctx_data_end(skb), skb->len, l3_off, p);
	if (ret == PARSE_OK && p->is_icmp_error &&
	    ctx_data(skb) + skb->len > ctx_data_end(skb)) {
		bpf_skb_pull_data(skb, skb->len);
		ret = parse_ipv4(ctx_data(skb), ctx_data_end(skb), skb->len,
				 l3_off, p);
	}
	return ret;
}

/*
 * A translation's rewrite in full, for either hook: addresses and ports,
 * the sequence adjustment of a flow an ALG rewrote, and the MSS of a SYN
 * when clamping (remote and local: the route whose MTU auto asks for).
 * NAT_XLATE, or a negative drop reason.
 */
static __always_inline int apply_xlate(void *ctx, bool xdp,
				       const struct pkt *p,
				       const struct xlate *x,
				       const struct flow_val *v, __u8 dir,
				       __be32 remote, __be32 local)
{
	int ret = xdp ? xdp_apply(ctx, p, x) : tc_apply(ctx, p, x);

	if (!ret && v && (v->flags & FLOW_SEQADJ))
		ret = seqadj_packet(ctx, xdp, p, dir);
	if (!ret && mss_wanted(p))
		ret = mss_clamp(ctx, xdp, mss_offsets(p), remote, local);
	return ret ? ret : NAT_XLATE;
}

/* How a program ends (finish()): a constant at each call, so that only
 * what that program needs is left of it. */
#define END_XDP		(1 << 0)	/* XDP's verdicts, else tc's */
#define END_INBOUND	(1 << 1)	/* from the WAN: what is not ours is
					 * pass_host; a DROP record names the
					 * remote as its source */
#define END_RECORD	(1 << 2)	/* a drop writes a DROP record too */
#define END_NEXT_FILTER	(1 << 3)	/* what is not ours goes on to the
					 * filters behind ours (TC_ACT_UNSPEC) */

/*
 * The last step of every program (but the LAN's XDP fast path, which
 * drops nothing and leaves all it does not forward to the stack): a
 * path's result to its hook's verdict, counted once.
 *   < 0        dropped, counted under that reason, with a DROP record
 *              when END_RECORD (a call some frames have no stack for)
 *   NAT_HELD   the controller has it: dropped here, counted as done
 *   NAT_XLATE  translated: counted as done; verdict sent (on to the
 *              stack, or a redirect's)
 *   NAT_PASS   not ours
 */
static __always_inline int finish(__u32 end, const struct pkt *p, int ret,
				  __u32 done, int sent)
{
	bool xdp = end & END_XDP;

	if (ret < 0) {
		if (end & END_RECORD)
			drop_report(p, ret, end & END_INBOUND);
		else
			count(-ret);
		return ACT_DROP(xdp);
	}
	if (ret == NAT_PASS) {
		if (end & END_INBOUND)
			count(CNT_PASS_HOST);
		return end & END_NEXT_FILTER ? TC_ACT_UNSPEC : ACT_PASS(xdp);
	}
	count(done);
	return ret == NAT_HELD ? ACT_DROP(xdp) : sent;
}

/* finish() of a packet redirected here: fwd is the redirect's verdict,
 * or the drop reason that stopped it. */
static __always_inline int finish_forward(__u32 end, const struct pkt *p,
					  int fwd, __u32 done)
{
	return finish(end, p, fwd < 0 ? fwd : NAT_XLATE, done, fwd);
}

/* Where the WAN's frames have their IP header. */
static __always_inline __u32 wan_l3_off(void)
{
	return cfg_wan_l3 ? 0 : ETH_HLEN;
}

/*
 * No port left for an inside host: the controller answers it with ICMP
 * destination unreachable, administratively prohibited, quoting the packet.
 * A full ring only costs the answer, never the drop count.
 */
static __always_inline void report_exhausted(struct __sk_buff *skb,
					     const struct pkt *p)
{
	__u32 len = p->l4_off - p->l3_off + 8;
	struct bpfmasq_event *ev;

	/* (Never below 28: the bound the verifier needs to see.) */
	if (len < sizeof(struct iphdr) + 8 || len > EV_QUOTE_MAX)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->type = EV_PORTS_EXHAUSTED;
	ev->quote_len = len;
	if (bpf_skb_load_bytes(skb, p->l3_off, ev->quote, len)) {
		bpf_ringbuf_discard(ev, 0);
		return;
	}
	bpf_ringbuf_submit(ev, 0);
}

/*
 * The ALG's part of an outbound segment: hand a control segment that may
 * carry a command to the controller (NAT_HELD).  Segments the controller
 * sent back are not handed over again.
 */
static __always_inline bool alg_behind_out(const struct pkt *p)
{
	struct flow_key key = p->key;

	key.dir = DIR_OUT;
	return alg_behind(&key);
}

static __always_inline int out_alg(struct __sk_buff *skb, const struct pkt *p,
				   const struct xlate *x)
{
	bool to_server = false;
	__u8 alg;

	alg = alg_of_out(p, &to_server);
	if (alg == ALG_NONE || skb->mark == BPFMASQ_ALG_MARK)
		return NAT_XLATE;
	/* Control segments are few and small: read them whole. */
	if (ctx_data(skb) + skb->len > ctx_data_end(skb))
		bpf_skb_pull_data(skb, skb->len);
	if (!alg_behind_out(p) &&
	    !alg_worth_inspecting(ctx_data(skb), ctx_data_end(skb), p, alg,
				  to_server))
		return NAT_XLATE;
	if (alg_punt_out(skb, p, x, alg, to_server) == NAT_HELD)
		return NAT_HELD;
	count(CNT_ALG_UNHANDLED);
	return NAT_XLATE;
}

/*
 * TCP or UDP that leaves from the external address already: the
 * gateway's own, or what the inside interfaces' tc fast path translated
 * and redirected here.  Nothing to do for it, and nothing worth pulling a
 * GSO packet's payload into its head for (tc_parse()).  The gateway's
 * ICMP errors are not among them: they may quote an inside host.
 */
static __always_inline bool wan_out_external(struct __sk_buff *skb,
					     const struct nat_state *st)
{
	void *data = ctx_data(skb), *end = ctx_data_end(skb);
	struct iphdr *iph = data + wan_l3_off();

	if ((void *)(iph + 1) > end || iph->version != 4 ||
	    (!cfg_wan_l3 &&
	     ((struct ethhdr *)data)->h_proto != bpf_htons(ETH_P_IP)))
		return false;
	return (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) &&
	       ext_here(st, iph->saddr);
}

SEC("tc")
int masq_wan_out(struct __sk_buff *skb)
{
	struct nat_state *st = state_get();
	struct flow_val *v = NULL;
	__u32 done = 0;
	struct xlate x = {};
	struct pkt p = {};
	int ret;

	if (!st || wan_out_external(skb, st))
		return TC_ACT_OK;
#ifdef BPFMASQ_UPGRADE_TEST
	count(CNT_UPGRADE_TEST);
#endif
	ret = tc_parse(skb, wan_l3_off(), &p);
	if (ret == PARSE_NOT_IPV4)
		return TC_ACT_OK;
	/*
	 * ICMP errors from inside, and the gateway's own errors about
	 * packets it was forwarding inside (TTL exceeded, frag-needed on
	 * the LAN): both quote an inside endpoint that must not leak.  The
	 * gateway's errors about anything else are its own business.
	 */
	if (ret == PARSE_OK && p.is_icmp_error &&
	    (is_internal(p.key.saddr, st->ext_addr) ||
	     (p.key.saddr == st->ext_addr && st->ext_addr))) {
		ret = icmp_error_apply(skb, false, &p, true, st->ext_addr);
		done = CNT_ICMP_ERR_TRANSLATED;
	} else if (ret == PARSE_OK) {
		ret = nat_out(skb, st, &p, &x, CREATE_TC, &v);
		if (ret == NAT_XLATE && v)
			ret = out_alg(skb, &p, &x);	/* or NAT_HELD */
		if (ret == NAT_XLATE || ret == NAT_HELD)
			flow_touch(v, p.tcp_seen);
		if (ret == NAT_HELD)
			done = CNT_ALG_PUNTED;
		if (ret == NAT_XLATE && p.first_fragment && st->ext_want &&
		    x.new_addr != st->ext_addr)
			frag_out_remember(&p, x.new_addr);
		if (ret == NAT_XLATE) {
			ret = apply_xlate(skb, false, &p, &x, v, DIR_OUT,
					  p.key.daddr, x.new_addr);
			done = x.l3_only ? CNT_FRAG_TRANSLATED :
					   CNT_OUT_TRANSLATED;
		}
	}
	if (ret == -DROP_PORTS_EXHAUSTED)
		report_exhausted(skb, &p);
	return finish(END_RECORD, &p, ret, done, TC_ACT_OK);
}

/*
 * What neither outbound fast path takes, and leaves to the slow path: a
 * SYN to clamp (a redirect skips tc egress, where --mss-clamp works on
 * SYNs leaving: an inside client's, a forwarded server's SYN-ACK), and
 * the segments of ALG control connections, which are made and inspected
 * there.
 */
static __always_inline bool out_fast_refused(const struct pkt *p)
{
	bool to_server;

	return mss_wanted(p) || alg_of_out(p, &to_server) != ALG_NONE;
}

/*
 * --lan-inbound: may this translated reply skip the stack?  The shape the
 * LAN fast path takes (see parse_fast()), on a flow with no sequence
 * adjustment to apply.
 */
static __always_inline bool in_fast_path(const struct pkt *p,
					 const struct flow_val *v)
{
	return cfg_lan_inbound && v && !(v->flags & FLOW_SEQADJ) &&
	       p->l4_off == p->l3_off + sizeof(struct iphdr) &&
	       !p->first_fragment && !p->later_fragment && p->ttl > 1 &&
	       p->has_ports && !p->csum_partial;
}

/*
 * The inbound path: replies to the inside, ICMP errors, later fragments,
 * and the guard that drops what is routed at the inside unasked.  XDP
 * runs it on an Ethernet WAN and leaves to tc only what its direct writes
 * cannot rewrite (a partial checksum); a layer-3 WAN has no XDP, and tc
 * runs all of it.
 */
static __always_inline int wan_in(void *ctx, bool xdp)
{
	__u32 end = (xdp ? END_XDP : 0) | END_INBOUND | END_RECORD;
	struct nat_state *st = state_get();
	struct flow_val *v = NULL;
	struct xlate x = {};
	struct pkt p = {};
	bool to_ext;
	int ret;

	if (!st)
		return ACT_PASS(xdp);
	if (xdp)
		ret = parse_ipv4(pkt_data(ctx, xdp), pkt_end(ctx, xdp),
				 pkt_end(ctx, xdp) - pkt_data(ctx, xdp),
				 ETH_HLEN, &p);
	else
		ret = tc_parse(ctx, wan_l3_off(), &p);
	if (ret == PARSE_NOT_IPV4)
		return ACT_PASS(xdp);
	to_ext = ret == PARSE_OK && ext_here(st, p.key.daddr);
	/* Everything else reached tc translated by XDP already (destination
	 * no longer the external address), or is the gateway's own. */
	if (!xdp && !cfg_wan_l3 &&
	    (!to_ext || !p.csum_partial || p.is_icmp_error ||
	     p.later_fragment))
		return TC_ACT_OK;
	if (ret == PARSE_OK) {
		if (to_ext && p.is_icmp_error) {
			ret = icmp_error_apply(ctx, xdp, &p, false,
					       p.key.daddr);
			return finish(end, &p, ret, CNT_ICMP_ERR_TRANSLATED,
				      ACT_PASS(xdp));
		} else if (to_ext && p.later_fragment) {
			ret = frag_in_later(ctx, xdp, &p, &x);
			if (ret == NAT_HELD)
				return finish(end, &p, ret, CNT_FRAG_HELD, 0);
		} else if (to_ext) {
			/* Left for masq_wan_in_tc, whose csum helpers know
			 * how to rewrite a partial checksum. */
			if (xdp && p.csum_partial)
				return XDP_PASS;
			ret = nat_in(ctx, xdp ? CT_ASK_XDP : CT_ASK_TC, &p,
				     p.key.daddr, &x, &v);
			if (p.first_fragment && ret >= 0)
				frag_remember(&p, ret == NAT_XLATE ? x.new_addr : 0,
					      ret == NAT_XLATE ? 0 : FRAG_TO_HOST);
		} else if (!cfg_match_all_sources &&
			   !is_internal(p.key.daddr, st->ext_addr)) {
			ret = NAT_PASS;
		} else if (fib_forwards(ctx, xdp, &p)) {
			ret = -DROP_UNSOLICITED;
		} else {
			ret = NAT_PASS;
		}
	}
	if (ret == NAT_XLATE && v && alg_punt_in(ctx, xdp, &p, v) == NAT_HELD) {
		flow_touch(v, p.tcp_seen);
		return finish(end, &p, NAT_HELD, CNT_ALG_PUNTED, 0);
	}
	if (ret == NAT_XLATE) {
		struct flow_nexthop *nh = NULL;

		if (xdp && in_fast_path(&p, v))
			nh = nh_get(ctx, &p, p.key.saddr, x.new_addr, v, st, true);
		if (!nh)
			flow_touch(v, p.tcp_seen);
		ret = apply_xlate(ctx, xdp, &p, &x, v, DIR_IN, p.key.saddr,
				  p.key.daddr);
		/* (No fragment takes the fast path: in_fast_path().) */
		if (ret == NAT_XLATE && nh) {
			count(CNT_WAN_FASTPATH);
			return finish(end, &p, ret, CNT_IN_TRANSLATED,
				      fast_forward(ctx, nh));
		}
	}
	return finish(end, &p, ret,
		      x.l3_only ? CNT_FRAG_TRANSLATED : CNT_IN_TRANSLATED,
		      ACT_PASS(xdp));
}

SEC("xdp")
int masq_wan_in(struct xdp_md *ctx)
{
	return wan_in(ctx, true);
}

/* Forward declarations: the tc fast paths live with the LAN programs. */
int wan_in_fast_tc(struct __sk_buff *skb);
int wan_in_slow_tc(struct __sk_buff *skb);

/*
 * A reply the XDP program translated comes here as an skb (GRO made
 * super-packets of them): the way back of the tc fast path, first.
 */
SEC("tc")
int masq_wan_in_tc(struct __sk_buff *skb)
{
	int ret;

	if (!cfg_wan_l3) {
		ret = wan_in_fast_tc(skb);
		if (ret != TC_ACT_UNSPEC)
			return ret;
		return wan_in_slow_tc(skb);
	}
	return wan_in(skb, false);
}

/*
 * The LAN fast path.  open_new (--lan-new, the masq_lan_open program) also
 * makes new flows; without it no bpf-to-bpf call is left in the program,
 * which keeps its hit path the cheapest the JIT makes.
 */
static __always_inline int lan_fast(struct xdp_md *ctx, bool open_new)
{
	struct flow_nexthop *nh;
	struct flow_val *v = NULL;
	struct nat_state *st;
	struct xlate x = {};
	struct pkt p = {};
	int ret;

	/* A partial checksum cannot survive the redirect (the frame loses
	 * its skb); the TC slow path completes it. */
	if (!parse_fast(ctx_data(ctx), ctx_data_end(ctx), &p))
		return XDP_PASS;
	/* Established flows, and with --lan-new new ones too; any drop
	 * decision is the slow path's, so it is taken (and counted) in one
	 * place. */
	if (out_fast_refused(&p))
		return XDP_PASS;
	st = state_get();
	if (!st)
		return XDP_PASS;
	/* The flow first: the hit path asks nothing else.  A miss opens a
	 * flow (--lan-new) only for a packet the FIB sends out of the WAN;
	 * one for the gateway itself is delivered, never translated. */
	ret = nat_out_flow(st, &p, &x, &v);
	if (ret != NAT_XLATE && open_new) {
		if (!fib_leaves_wan(ctx, &p, st))
			return XDP_PASS;
		ret = nat_out_open(ctx, st, &p, &x, CREATE_XDP, &v);
	}
	if (ret != NAT_XLATE || !v || (v->flags & FLOW_SEQADJ))
		return XDP_PASS;
	nh = nh_get(ctx, &p, x.new_addr, p.key.daddr, v, st, false);
	if (!nh || xdp_apply(ctx, &p, &x))
		return XDP_PASS;
	count(CNT_LAN_FASTPATH);
	count(CNT_OUT_TRANSLATED);
	return fast_forward(ctx, nh);
}

SEC("xdp")
int masq_lan_fast(struct xdp_md *ctx)
{
	return lan_fast(ctx, false);
}

SEC("xdp")
int masq_lan_open(struct xdp_md *ctx)
{
	return lan_fast(ctx, true);
}

/* ip_decrease_ttl() on an skb; p->ttl > 1.  TTL and protocol share a
 * checksum word. */
static __always_inline int tc_ttl_decrement(struct __sk_buff *skb,
					    const struct pkt *p)
{
	__u32 ttl_off = p->l3_off + offsetof(struct iphdr, ttl);
	__be16 old_word = bpf_htons((__u16)p->ttl << 8 | p->key.proto);
	__be16 new_word = bpf_htons((__u16)(p->ttl - 1) << 8 | p->key.proto);

	if (bpf_l3_csum_replace(skb, p->l3_off + offsetof(struct iphdr, check),
				old_word, new_word, 2) ||
	    bpf_skb_store_bytes(skb, ttl_off, (__u8 *)&new_word, 1, 0))
		return -DROP_MALFORMED_IP;
	return 0;
}

/*
 * Send a hairpinned packet straight back to the inside host.  Handing it to
 * the stack would not do: its source is now the gateway's own address,
 * which input routing rejects as a martian.  So route it here, age it as
 * forwarding would, and let the kernel resolve the neighbour.
 *
 * For the same reason a packet that cannot be forwarded cannot be left to
 * the stack's ICMP errors either (untranslated, it is addressed to the
 * gateway and would be delivered, not forwarded): it is dropped, under
 * its own reason.
 */
static __always_inline int hairpin_forward(struct __sk_buff *skb,
					   const struct pkt *p, __be32 daddr)
{
	/*
	 * No tot_len: the FIB would hold the IP length against the MTU, and
	 * a GSO or GRO super-packet (what a local sender or GRO hands us) is
	 * longer than the MTU yet is segmented on the way out.  Without it
	 * the kernel checks the skb against the egress device as the stack's
	 * forwarding does (is_skb_forwardable(): GSO passes, a plain frame
	 * must fit).  The neighbour is bpf_redirect_neigh()'s to resolve.
	 */
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.ipv4_src = p->key.saddr,
		.ipv4_dst = daddr,
		.l4_protocol = p->key.proto,
		.ifindex = skb->ingress_ifindex,
	};
	__u32 mtu = 0;
	long rc;

	if (p->ttl <= 1)
		return -DROP_TTL_EXPIRED;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return -DROP_TOO_BIG;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return -DROP_NO_ROUTE;
	/* Kernels whose SKIP_NEIGH answers NO_NEIGH skip that check. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH &&
	    bpf_check_mtu(skb, fib.ifindex, &mtu, 0, 0))
		return -DROP_TOO_BIG;
	if (tc_ttl_decrement(skb, p))
		return -DROP_MALFORMED_IP;
	/* bpf_redirect_neigh() drops an skb with no MAC header before its
	 * network header, and one from a layer-3 ingress (TUN, PPP) has
	 * none: give it room for one.  The bytes are never read; the
	 * egress device's own header (or none) is built in their place. */
	if (!p->l3_off && bpf_skb_change_head(skb, ETH_HLEN, 0))
		return -DROP_NO_MEMORY;
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

/*
 * An inside host's ICMP error about a hairpinned packet (RFC 5508 REQ-7):
 * it is addressed to the external address and quotes ext:mapped -> host.
 * Translated as an error leaving (quote's destination back to the
 * external endpoint) and then as one coming in (quote's source back to
 * the inside host that sent the original), it reaches that host.
 */
static __always_inline int hairpin_icmp_error(struct __sk_buff *skb,
					      struct pkt *p, __be32 ext)
{
	struct edits *ed = edits_get();
	__be32 to;
	int ret;

	if (!ed)
		return TC_ACT_SHOT;
	ret = icmp_error_xlate(skb, false, ctx_data(skb), ctx_data_end(skb), p,
			       true, ext, ed);
	if (ret == NAT_XLATE)
		ret = apply_edits(skb, false, ed);
	if (ret == NAT_XLATE) {
		/* Now ext -> ext, quoting ext:mapped -> ext:port. */
		p->key.saddr = ext;
		ret = icmp_error_xlate(skb, false, ctx_data(skb),
				       ctx_data_end(skb), p, false, ext, ed);
	}
	if (ret == NAT_XLATE) {
		to = ed->e[0].val;	/* the outer destination, edited first */
		ret = apply_edits(skb, false, ed);
	}
	if (ret != NAT_XLATE)
		return finish(0, p, ret, 0, 0);
	ret = hairpin_forward(skb, p, to);
	if (ret >= 0)
		count(CNT_ICMP_ERR_TRANSLATED);
	return finish_forward(0, p, ret, CNT_HAIRPINNED);
}

/*
 * tc ingress on an inside interface: hairpinning (RFC 4787 REQ-9, RFC 5382
 * REQ-8).  An inside host that reaches the external address and a NAT
 * port is translated as if its packet had gone out and come back in: the
 * source becomes its own external mapping, the destination the inside
 * endpoint that owns the port, with the same mapping and filtering rules
 * as from outside.  The stack then routes it back into the LAN.
 *
 * What is not ours goes on with TC_ACT_UNSPEC rather than TC_ACT_OK, so
 * that the filters behind ours (another instance's hairpin filter on the
 * same interface, a container runtime's) still see it.
 */
static __always_inline int lan_hairpin(struct __sk_buff *skb, __u32 l3_off)
{
	struct nat_state *st = state_get();
	struct flow_val *vo = NULL, *vi = NULL;
	struct xlate xo = {}, xi = {};
	struct pkt p = {};
	int ret;

	if (!st || !st->ext_addr)
		return TC_ACT_UNSPEC;
	ret = tc_parse(skb, l3_off, &p);
	if (ret == PARSE_OK && p.key.daddr == st->ext_addr && p.is_icmp_error &&
	    is_internal(p.key.saddr, st->ext_addr))
		return hairpin_icmp_error(skb, &p, st->ext_addr);
	if (ret != PARSE_OK || p.key.daddr != st->ext_addr || !p.has_ports ||
	    p.key.proto == IPPROTO_ICMP || p.later_fragment ||
	    !port_is_nat(p.key.dport) || !is_internal(p.key.saddr, st->ext_addr))
		return TC_ACT_UNSPEC;

	/* The source was judged above. */
	ret = nat_out_open(skb, st, &p, &xo, CREATE_TC, &vo);
	if (ret == NAT_XLATE) {
		/* From here on p is the packet as it comes back in; the
		 * offsets tc_apply() needs are the same. */
		p.key.saddr = xo.new_addr;
		p.key.sport = xo.new_port;
		ret = nat_in(skb, CT_ASK_NONE, &p, st->ext_addr, &xi, &vi);
	}
	/* Drops counted only (no END_RECORD): a DROP record's call would
	 * put this frame, three calls deep under port_alloc_tc(), past the
	 * 512-byte stack. */
	if (ret != NAT_XLATE)
		return finish(END_NEXT_FILTER, &p, ret, 0, 0);
	flow_touch(vo, p.tcp_seen);
	flow_touch(vi, p.tcp_seen);
	ret = tc_apply(skb, &p, &xo);
	if (!ret)
		ret = tc_apply(skb, &p, &xi);
	if (!ret)
		ret = hairpin_forward(skb, &p, xi.new_addr);
	return finish_forward(END_NEXT_FILTER, &p, ret, CNT_HAIRPINNED);
}

/*
 * The IP length of the packets an skb leaves as: a GSO super-packet (what
 * a container's TCP stack hands its veth, or GRO made) is cut into
 * gso_size payloads, each behind a copy of its headers.
 */
static __always_inline __u32 tc_wire_len(const struct __sk_buff *skb,
					 const struct pkt *p)
{
	__u32 seg = skb->gso_size;

	if (!seg)
		return p->tot_len;
	seg += p->l4_off - p->l3_off + (p->key.proto == IPPROTO_TCP ?
					p->l4_hlen : sizeof(struct udphdr));
	return seg < p->tot_len ? seg : p->tot_len;
}

/*
 * The shape both tc fast paths take: TCP, UDP or an ICMP echo, no IP
 * options, not a fragment, not an ICMP error, TTL left to forward it.
 * Only the headers up to the TCP flags are made linear; the payload of a
 * GSO packet stays in its pages.
 */
static __always_inline bool tc_fast_shape(struct __sk_buff *skb,
					  struct pkt *p)
{
	if (ctx_data(skb) + ETH_HLEN + 40 > ctx_data_end(skb))
		bpf_skb_pull_data(skb, skb->len < ETH_HLEN + 40 ? skb->len :
				  ETH_HLEN + 40);
	return parse_ipv4(ctx_data(skb), ctx_data_end(skb), skb->len, ETH_HLEN,
			  p) == PARSE_OK &&
	       p->has_ports && !p->is_icmp_error && !p->first_fragment &&
	       !p->later_fragment &&
	       p->l4_off == p->l3_off + sizeof(struct iphdr) && p->ttl > 1;
}

/*
 * Where the stack would forward the packet as it is, from where it came
 * in: the egress ifindex, 0 when it would not (local, unreachable, or a
 * segment longer than the route's MTU: the stack answers that one).
 */
static __always_inline __u32 tc_route(struct __sk_buff *skb,
				      const struct pkt *p,
				      struct bpf_fib_lookup *fib)
{
	long rc;

	fib->family = AF_INET;
	fib->ipv4_src = p->key.saddr;
	fib->ipv4_dst = p->key.daddr;
	fib->l4_protocol = p->key.proto;
	fib->tot_len = tc_wire_len(skb, p);
	fib->ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return 0;
	return fib->ifindex;
}

/* Forward it there: TTL-1, the neighbour bpf_redirect_neigh()'s to
 * resolve.  TC_ACT_REDIRECT, or a negative drop reason. */
static __always_inline int tc_forward(struct __sk_buff *skb,
				      const struct pkt *p,
				      const struct bpf_fib_lookup *fib)
{
	struct bpf_redir_neigh nh = {
		.nh_family = AF_INET,
		.ipv4_nh = fib->ipv4_dst,	/* the next hop, after the lookup */
	};

	if (tc_ttl_decrement(skb, p))
		return -DROP_MALFORMED_IP;
	return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
}

/*
 * The outbound fast path for skbs, tc ingress on an Ethernet inside
 * interface: what the --lan XDP cannot take (a partial checksum, a GSO
 * super-packet, i.e. what a container sends) or never sees (a bridge has
 * no XDP of its own).  A packet of an established flow (--lan-new: of a
 * new one too) that the FIB routes out of the WAN, in segments that fit
 * the route's MTU, is translated with the kernel's checksum helpers (a
 * partial checksum stays partial: only its pseudo-header part moves; GSO
 * stays intact), aged and redirected to the WAN's next hop, past the
 * stack's forwarding.  Everything else goes on (TC_ACT_UNSPEC) to the
 * hairpin path and the stack, which judge and count it: ALG control
 * connections, flows with a sequence adjustment, SYNs to clamp,
 * fragments, IP options, TTL 1, ICMP errors, a segment too long (the
 * stack answers with frag-needed), a WAN without Ethernet.  A global
 * function, so that its stack frame is its own and not added to the
 * hairpin path's, which is near the verifier's limit.
 */
__attribute__((noinline)) int lan_out_fast_tc(struct __sk_buff *skb)
{
	struct bpf_fib_lookup fib = {};
	struct flow_val *v = NULL;
	struct nat_state *st;
	struct xlate x = {};
	struct pkt p = {};
	int ret;

	st = state_get();
	if (!st || !st->ext_addr || !st->wan_ifindex || cfg_wan_l3)
		return TC_ACT_UNSPEC;
	if (!tc_fast_shape(skb, &p) || p.key.daddr == st->ext_addr ||
	    out_fast_refused(&p))
		return TC_ACT_UNSPEC;
	ret = nat_out_flow(st, &p, &x, &v);
	if (ret != NAT_XLATE && !cfg_lan_new)
		return TC_ACT_UNSPEC;
	/* Routed untranslated, as the stack routes before its NAT. */
	if (tc_route(skb, &p, &fib) != st->wan_ifindex)
		return TC_ACT_UNSPEC;
	/* A new flow is opened only for a packet that leaves by the WAN;
	 * whatever stops it (no SYN, no port) is the slow path's to count. */
	if (ret != NAT_XLATE &&
	    nat_out_open(skb, st, &p, &x, CREATE_TC, &v) != NAT_XLATE)
		return TC_ACT_UNSPEC;
	if (!v || (v->flags & FLOW_SEQADJ))
		return TC_ACT_UNSPEC;

	flow_touch(v, p.tcp_seen);
	ret = tc_apply(skb, &p, &x);
	if (!ret)
		ret = tc_forward(skb, &p, &fib);
	if (ret >= 0)
		count(CNT_LAN_TC_FASTPATH);
	return finish_forward(END_NEXT_FILTER, &p, ret, CNT_OUT_TRANSLATED);
}

/*
 * The way back: tc ingress on an Ethernet WAN (masq_wan_in_tc), for a
 * reply the WAN's XDP has translated (its destination is now the inside
 * host) and handed on as an skb.  One of an established flow (the inside
 * host has sent on it) that the FIB routes inside in segments that fit
 * is aged as forwarding would age it and redirected to the inside host's
 * next hop (into a bridge too, which XDP cannot), past the stack's
 * forwarding.  A reply XDP left alone (a partial checksum: for wan_in(),
 * which translates it) and anything the stack must see (the shape
 * tc_fast_shape() refuses, ALG control connections, flows with a
 * sequence adjustment) goes on: TC_ACT_UNSPEC.
 */
__attribute__((noinline)) int wan_in_fast_tc(struct __sk_buff *skb)
{
	struct bpf_fib_lookup fib = {};
	struct flow_val *v;
	struct flow_key key;
	struct nat_state *st;
	struct pkt p = {};
	bool to_server;
	int ret;

	st = state_get();
	if (!st || !st->ext_addr || !st->wan_ifindex)
		return TC_ACT_UNSPEC;
	if (!tc_fast_shape(skb, &p) || p.key.daddr == st->ext_addr)
		return TC_ACT_UNSPEC;
	/* Translated by XDP: the inside host's flow, seen from inside. */
	key = (struct flow_key){
		.saddr = p.key.daddr, .daddr = p.key.saddr,
		.sport = p.key.dport, .dport = p.key.sport,
		.proto = p.key.proto, .dir = DIR_OUT,
	};
	v = bpf_map_lookup_elem(&flows, &key);
	/* Never a packet from inside on it yet: a connection from outside
	 * (a forward, an ALG expectation) that is not established; its
	 * first packets are the forward rules' to see.  An ALG control
	 * connection's segments are the stack's whichever way they go. */
	if (!v || (v->flags & FLOW_SEQADJ) || !v->last_seen_ns ||
	    alg_of_ports(p.key.proto, p.key.dport, p.key.sport, &to_server) !=
	    ALG_NONE)
		return TC_ACT_UNSPEC;
	ret = tc_route(skb, &p, &fib);
	if (!ret || ret == st->wan_ifindex)
		return TC_ACT_UNSPEC;
	return finish_forward(END_INBOUND | END_RECORD, &p,
			      tc_forward(skb, &p, &fib), CNT_WAN_TC_FASTPATH);
}

/* The rest of masq_wan_in_tc, in its own frame. */
__attribute__((noinline)) int wan_in_slow_tc(struct __sk_buff *skb)
{
	return wan_in(skb, false);
}

/* The hairpin path as a global function too: each of the two has its
 * own frame, and only one of them is ever on the stack. */
__attribute__((noinline)) int lan_hairpin_eth(struct __sk_buff *skb)
{
	return lan_hairpin(skb, ETH_HLEN);
}

/*
 * Outbound fast path first: it takes only packets for beyond the WAN,
 * never one for the external address, which is the hairpin's.
 */
SEC("tc")
int masq_lan_hairpin(struct __sk_buff *skb)
{
	int ret = lan_out_fast_tc(skb);

	if (ret != TC_ACT_UNSPEC)
		return ret;
	return lan_hairpin_eth(skb);
}

/* The same on an inside interface without Ethernet (a VPN of inside
 * hosts); the controller picks by the interface's link type. */
SEC("tc")
int masq_hairpin_l3(struct __sk_buff *skb)
{
	return lan_hairpin(skb, 0);
}
