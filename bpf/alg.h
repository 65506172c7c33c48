/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane's share of the FTP and IRC ALGs.  It only recognises the
 * few control segments that can carry a command to rewrite (a cheap look
 * at their first bytes) and hands them, whole and untranslated, to the
 * controller, which parses, rewrites, sets up the expectation and sends
 * them back with BPFMASQ_ALG_MARK.  Everything else on a control
 * connection stays on the fast path, with its sequence numbers shifted
 * by what the rewrites added (the `seqadj` map, same logic as the
 * controller's: headers/seqadj.h).
 */
#ifndef BPFMASQ_ALG_H
#define BPFMASQ_ALG_H

#include "alg_ports.h"

/* Which ALG a connection belongs to, by its inside and its outside port,
 * and whether the inside end is the client. */
static __always_inline __u8 alg_of_ports(__u8 proto, __be16 inside,
					 __be16 outside, bool *to_server)
{
	return alg_of_conn(proto, inside, outside, cfg_ftp_ports,
			   cfg_irc_ports, to_server);
}

/* Which ALG an outbound TCP segment belongs to, and which way it goes. */
static __always_inline __u8 alg_of_out(const struct pkt *p, bool *to_server)
{
	return alg_of_ports(p->key.proto, p->key.sport, p->key.dport,
			    to_server);
}

static __always_inline __u32 upper4(const __u8 *b)
{
	/* ASCII letters only differ from upper case in bit 5. */
	return ((__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3]) &
	       ~0x20202020U;
}

/*
 * Could this segment carry what the ALG rewrites?  FTP commands and
 * replies are looked for at the start of the segment (as Linux does);
 * IRC messages anywhere in it, by their CTCP marker.
 */
static __always_inline bool alg_worth_inspecting(void *data, void *data_end,
						 const struct pkt *p, __u8 alg,
						 bool to_server)
{
	__u32 off = p->l4_off + p->l4_hlen;
	__u32 len = p->l3_off + p->tot_len - off;
	__u8 *b = data + (off & 0xff);

	if (off >= p->l3_off + p->tot_len)
		return false;
	if (alg == ALG_FTP) {
		if ((void *)(b + 5) > data_end)
			return false;
		if (to_server)
			return b[4] == ' ' && (upper4(b) == 0x504f5254 ||  /* PORT */
					       upper4(b) == 0x45505254);   /* EPRT */
		return b[3] == ' ' && b[0] == '2' && b[1] == '2' &&
		       (b[2] == '7' || b[2] == '9');
	}
	for (__u32 i = 0; i < IRC_SCAN_MAX; i++) {
		__u8 *c = data + ((off + i) & 0x7ff);

		if (i >= len || (void *)(c + 1) > data_end)
			break;
		if (*c == 1)
			return true;
	}
	return false;
}

/* Where a TCP segment's data ends, as sequence number. */
static __always_inline __u32 seg_end_seq(void *ctx, bool xdp, const struct pkt *p)
{
	__be32 seq;

	if (pkt_load(ctx, xdp, p->l4_off + offsetof(struct tcphdr, seq), &seq,
		     sizeof(seq)))
		return 0;
	return bpf_ntohl(seq) + (p->tot_len - (p->l4_off - p->l3_off) -
				 p->l4_hlen);
}

/* Is the controller still holding a segment of this direction? */
static __always_inline bool alg_behind(const struct flow_key *entry)
{
	__u32 *handed = bpf_map_lookup_elem(&alg_handed, entry);
	__u32 *sent;

	if (!handed)
		return false;
	sent = bpf_map_lookup_elem(&alg_sent, entry);
	return !sent || *sent != *handed;
}

/*
 * Hand a control segment, whole and untranslated, to the controller.
 * NAT_HELD, or NAT_XLATE when the ring is full or the segment too big:
 * then it goes on uninspected.  entry is the flow entry of the segment's
 * direction.
 */
static __always_inline int alg_punt(void *ctx, bool xdp, const struct pkt *p,
				    const struct flow_key *out_key,
				    const struct flow_key *entry,
				    __be32 ext, __be16 ext_port, __u8 alg,
				    bool to_server, __u8 dir)
{
	struct bpfmasq_alg_event *ev;
	__u32 len, end;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return NAT_XLATE;
	len = p->tot_len;
	/* Keep the bound check on the register the helper gets. */
	asm volatile("" : "+r"(len));
	if (len > EV_PKT_MAX || len < sizeof(struct iphdr) ||
	    pkt_load(ctx, xdp, p->l3_off, ev->pkt, len)) {
		bpf_ringbuf_discard(ev, 0);
		return NAT_XLATE;
	}
	ev->type = EV_ALG_SEGMENT;
	ev->len = len;
	ev->out_key = *out_key;
	ev->ext_addr = ext;
	ev->ext_port = ext_port;
	ev->alg = alg;
	ev->to_server = to_server;
	ev->dir = dir;
	/* Before the submit: the controller may answer at once. */
	end = seg_end_seq(ctx, xdp, p);
	bpf_map_update_elem(&alg_handed, entry, &end, BPF_ANY);
	bpf_ringbuf_submit(ev, 0);
	return NAT_HELD;
}

/* An outbound control segment (tc egress), before translation. */
static __always_inline int alg_punt_out(struct __sk_buff *skb,
					const struct pkt *p,
					const struct xlate *x, __u8 alg,
					bool to_server)
{
	struct flow_key key = p->key;

	key.dir = DIR_OUT;
	return alg_punt(skb, false, p, &key, &key, x->new_addr, x->new_port,
			alg, to_server, DIR_OUT);
}

/*
 * An inbound IRC segment that may carry a DCC RESUME for a port we
 * rewrote.  v is the flow's inbound entry, which names the inside
 * endpoint.
 */
static __always_inline int alg_punt_in(void *ctx, bool xdp, const struct pkt *p,
				       const struct flow_val *v)
{
	struct flow_key out_key = {
		.saddr = v->nat_addr, .daddr = p->key.saddr,
		.sport = v->nat_port, .dport = p->key.sport,
		.proto = IPPROTO_TCP, .dir = DIR_OUT,
	};

	struct flow_key entry = p->key;

	entry.dir = DIR_IN;
	if (p->key.proto != IPPROTO_TCP ||
	    !alg_port_listed(cfg_irc_ports, p->key.sport) ||
	    (!alg_behind(&entry) &&
	     !alg_worth_inspecting(pkt_data(ctx, xdp), pkt_end(ctx, xdp), p,
				   ALG_IRC, false)))
		return NAT_XLATE;
	return alg_punt(ctx, xdp, p, &out_key, &entry, p->key.daddr,
			p->key.dport, ALG_IRC, false, DIR_IN);
}

/* Change one 32-bit TCP field and the checksum with it. */
static __always_inline int seq_rewrite(void *ctx, bool xdp, const struct pkt *p,
				       __u32 off, __be32 old, __u32 new_host)
{
	__be32 new = bpf_htonl(new_host);

	if (new == old)
		return 0;
	return pkt_store4_l4csum(ctx, xdp, off, p->csum_off, old, new);
}

/*
 * Where the SACK option of a TCP header is: its offset << 8 | its length,
 * or 0.  Twins of its own, so the verifier walks the options once, not
 * once for every path of a caller.
 */
static __always_inline __u32 sack_find_body(void *ctx, bool xdp, __u32 opt,
					    __u32 end)
{
	return tcp_opt_find(ctx, xdp, opt & 0xff, end & 0xff, TCPOPT_SACK);
}

HOOK_TWINS(__u32, sack_find, (__u32 opt, __u32 end), (opt, end))

/*
 * Apply the sequence adjustment of flow entry `key`: SEQ by this
 * direction's offset, ACK and SACK edges back by the other direction's.
 */
static __always_inline int seqadj_apply(void *ctx, bool xdp, const struct pkt *p,
					const struct flow_key *key)
{
	struct flow_seqadj *sa = bpf_map_lookup_elem(&seqadj, key);
	__u32 seq_off = p->l4_off + offsetof(struct tcphdr, seq);
	__u32 ack_off = p->l4_off + offsetof(struct tcphdr, ack_seq);
	__u32 sack, sack_off, sack_len;
	struct tcphdr th;
	int err;

	if (!sa || pkt_load(ctx, xdp, p->l4_off, &th, sizeof(th)))
		return 0;
	err = seq_rewrite(ctx, xdp, p, seq_off, th.seq,
			  seqadj_seq(&sa->seq, bpf_ntohl(th.seq)));
	if (err || !th.ack)
		return err;
	err = seq_rewrite(ctx, xdp, p, ack_off, th.ack_seq,
			  seqadj_ack(&sa->ack, bpf_ntohl(th.ack_seq)));
	if (err)
		return err;

	sack = sack_find(ctx, xdp, p->l4_off + sizeof(th),
			 p->l4_off + p->l4_hlen);
	sack_off = (sack >> 8) & 0xff;
	sack_len = sack & 0xff;
	for (__u32 j = 0; j < SACK_MAX_EDGES; j++) {
		__u32 eoff = sack_off + 2 + 4 * j;
		__be32 edge;

		if (!sack || 2 + 4 * (j + 1) > sack_len ||
		    pkt_load(ctx, xdp, eoff, &edge, sizeof(edge)))
			break;
		err = seq_rewrite(ctx, xdp, p, eoff, edge,
				  seqadj_ack(&sa->ack, bpf_ntohl(edge)));
		if (err)
			return err;
	}
	return 0;
}

/*
 * seqadj_apply() as per-hook twins: the verifier checks each once on its
 * own instead of inside every path of the programs that call it (the
 * option walk would multiply them).  The flow key travels as two words
 * and the offsets packed in one.
 */
static __always_inline int seqadj_key_body(void *ctx, bool xdp, __u64 k0,
					   __u64 k1, __u32 offs)
{
	struct flow_key key;
	struct pkt p = {};

	flow_key_unpack(&key, k0, k1);
	p.l4_off = offs & 0xff;
	p.l4_hlen = (offs >> 8) & 0xff;
	p.csum_off = (offs >> 16) & 0xff;
	return seqadj_apply(ctx, xdp, &p, &key);
}

HOOK_TWINS(int, seqadj_key, (__u64 k0, __u64 k1, __u32 offs), (k0, k1, offs))

/* The sequence adjustment of a translated packet's flow entry
 * (entry_dir: DIR_OUT or DIR_IN). */
static __always_inline int seqadj_packet(void *ctx, bool xdp,
					 const struct pkt *p, __u8 entry_dir)
{
	struct flow_key key = p->key;
	__u64 w[2];

	key.dir = entry_dir;
	flow_key_pack(&key, w);
	return seqadj_key(ctx, xdp, w[0], w[1],
			  p->l4_off | (__u32)p->l4_hlen << 8 |
			  p->csum_off << 16);
}

#endif
