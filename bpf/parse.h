/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPv4 parsing shared by every program.  It only reads; what to do with a
 * packet is decided by the translation core.
 */
#ifndef BPFMASQ_PARSE_H
#define BPFMASQ_PARSE_H

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IPV4 = 1,	/* not ours to judge: hand to the stack */
};

/* What the core needs to know about a packet. */
struct pkt {
	struct flow_key key;	/* wire 5-tuple; ICMP echo id as a port */
	__u32 l3_off;
	__u32 l4_off;
	__u32 sport_off;	/* where key.sport / key.dport live; for ICMP */
	__u32 dport_off;	/* echo both point at the identifier */
	__u32 csum_off;		/* L4 checksum */
	__u16 tot_len;
	__u16 l4_hlen;		/* TCP header with options */
	__u8 ttl;
	__u8 tcp_seen;		/* SEEN_* bits this segment carries */
	bool has_ports;		/* TCP, UDP or ICMP echo: translatable */
	bool later_fragment;	/* fragment offset != 0: no L4 header */
	bool first_fragment;	/* offset 0 with more fragments to come */
	__be16 ip_id;
	bool is_echo_request;
	bool csum_partial;	/* see csum_looks_partial() */
	bool is_icmp_error;	/* carries an offending packet (RFC 5508) */
};

/* The SEEN_* bits a TCP segment carries. */
static __always_inline __u8 tcp_seen_of(const struct tcphdr *th)
{
	return (th->syn ? SEEN_SYN : 0) | (th->fin ? SEEN_FIN : 0) |
	       (th->rst ? SEEN_RST : 0) | (th->ack ? SEEN_ACK : 0);
}

/*
 * What TCP and UDP have alike: the ports first in the header, and a
 * checksum at csum_at over a pseudo-header (proto: a constant, so each
 * caller keeps only its own protocol's test).
 */
static __always_inline void pkt_ports_of(struct pkt *p,
					 const struct iphdr *iph, __u8 proto,
					 const __be16 *ports, __u32 csum_at,
					 __sum16 check, __u16 l4_len)
{
	p->key.sport = ports[0];
	p->key.dport = ports[1];
	p->sport_off = p->l4_off;
	p->dport_off = p->l4_off + sizeof(__be16);
	p->csum_off = p->l4_off + csum_at;
	/* A zero UDP checksum is none, never a partial one. */
	p->csum_partial = (proto != IPPROTO_UDP || check) &&
			  csum_looks_partial(iph->saddr, iph->daddr, proto,
					     l4_len, check);
	p->has_ports = true;
}

/*
 * Returns PARSE_OK, PARSE_NOT_IPV4, or a negative drop reason for an IPv4
 * packet whose headers are truncated or inconsistent.  pkt_len is the
 * packet's full length (skb->len for TC), which may exceed what is linear.
 * l3_off is where the IP header starts: after an Ethernet header
 * (ETH_HLEN), or at once on a layer-3 interface (PPP, TUN, WireGuard),
 * where only the version nibble tells IPv4 from IPv6.
 */
static __always_inline int parse_ipv4(void *data, void *data_end, __u32 pkt_len,
				      __u32 l3_off, struct pkt *p)
{
	struct iphdr *iph;
	__u32 ihl_len, l4_len;

	if (l3_off) {
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end)
			return PARSE_NOT_IPV4;
		if (eth->h_proto != bpf_htons(ETH_P_IP))
			return PARSE_NOT_IPV4;
		l3_off = sizeof(*eth);
	} else if (data + 1 > data_end || *(__u8 *)data >> 4 != 4) {
		return PARSE_NOT_IPV4;
	}

	p->l3_off = l3_off;
	iph = data + p->l3_off;
	if ((void *)(iph + 1) > data_end)
		return -DROP_MALFORMED_IP;
	if (iph->version != 4)
		return -DROP_MALFORMED_IP;
	ihl_len = iph->ihl * 4;
	p->tot_len = bpf_ntohs(iph->tot_len);
	if (ihl_len < sizeof(*iph) || p->tot_len < ihl_len ||
	    p->l3_off + p->tot_len > pkt_len)
		return -DROP_MALFORMED_IP;

	p->key.saddr = iph->saddr;
	p->key.daddr = iph->daddr;
	p->key.proto = iph->protocol;
	p->key.dir = 0;
	p->key.pad = 0;
	p->key.sport = 0;
	p->key.dport = 0;
	p->ttl = iph->ttl;
	p->tcp_seen = 0;
	p->has_ports = false;
	p->is_echo_request = false;
	p->csum_partial = false;
	p->is_icmp_error = false;
	p->later_fragment = (iph->frag_off & bpf_htons(IP_OFFSET)) != 0;
	p->first_fragment = !p->later_fragment &&
			    (iph->frag_off & bpf_htons(IP_MF));
	p->ip_id = iph->id;
	p->l4_off = p->l3_off + ihl_len;
	l4_len = p->tot_len - ihl_len;
	if (p->later_fragment)
		return PARSE_OK;

	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4_off;

		if ((void *)(th + 1) > data_end || th->doff < 5 ||
		    th->doff * 4 > l4_len)
			return -DROP_MALFORMED_L4;
		p->l4_hlen = th->doff * 4;
		p->tcp_seen = tcp_seen_of(th);
		pkt_ports_of(p, iph, IPPROTO_TCP, (__be16 *)th,
			     offsetof(struct tcphdr, check), th->check, l4_len);
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = data + p->l4_off;

		/* The first fragment of a datagram carries the length of
		 * the whole datagram, not of itself. */
		if ((void *)(uh + 1) > data_end ||
		    l4_len < sizeof(*uh) ||
		    bpf_ntohs(uh->len) < sizeof(*uh) ||
		    (bpf_ntohs(uh->len) > l4_len &&
		     !(iph->frag_off & bpf_htons(IP_MF))))
			return -DROP_MALFORMED_L4;
		pkt_ports_of(p, iph, IPPROTO_UDP, (__be16 *)uh,
			     offsetof(struct udphdr, check), uh->check, l4_len);
	} else if (iph->protocol == IPPROTO_ICMP) {
		struct icmphdr *ih = data + p->l4_off;

		/* Within the IP packet: link padding after it is no header. */
		if ((void *)(ih + 1) > data_end ||
		    l4_len < sizeof(*ih))
			return -DROP_MALFORMED_L4;
		p->csum_off = p->l4_off + offsetof(struct icmphdr, checksum);
		p->sport_off = p->l4_off + offsetof(struct icmphdr, un.echo.id);
		p->dport_off = p->sport_off;
		/* The identifier is the inside "port" of a request and the
		 * outside one of a reply; the remote side has none. */
		if (ih->type == ICMP_ECHO) {
			p->key.sport = ih->un.echo.id;
			p->is_echo_request = true;
			p->has_ports = true;
		} else if (ih->type == ICMP_ECHOREPLY) {
			p->key.dport = ih->un.echo.id;
			p->has_ports = true;
		} else if (ih->type == ICMP_DEST_UNREACH ||
			   ih->type == ICMP_TIME_EXCEEDED ||
			   ih->type == ICMP_PARAMETERPROB) {
			p->is_icmp_error = true;
		}
	}
	return PARSE_OK;
}

/*
 * The LAN fast path's parse: only the shape nearly every packet of an
 * established flow has (no IP options, not a fragment, TCP, UDP or an ICMP
 * echo request, TTL left to forward it, complete checksum).  Anything else
 * is false and goes to the slow path, which parses it with parse_ipv4()
 * and judges it.  Fields it does not set stay as the caller zeroed them.
 */
static __always_inline bool parse_fast(void *data, void *data_end,
				       struct pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__be16 *l4 = (void *)(iph + 1);
	__u16 l4_len;
	__sum16 check;

	/* 8 bytes: a UDP or ICMP header, a TCP header's ports and seq. */
	if ((void *)l4 + 8 > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    *(__u8 *)iph != 0x45 || iph->ttl <= 1 ||
	    (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return false;
	p->tot_len = bpf_ntohs(iph->tot_len);
	if (p->tot_len < sizeof(*iph) + 8 ||
	    sizeof(*eth) + p->tot_len > data_end - data)
		return false;
	l4_len = p->tot_len - sizeof(*iph);

	p->key.saddr = iph->saddr;
	p->key.daddr = iph->daddr;
	p->key.proto = iph->protocol;
	p->ttl = iph->ttl;
	p->l3_off = sizeof(*eth);
	p->l4_off = sizeof(*eth) + sizeof(*iph);
	p->sport_off = p->l4_off;
	p->dport_off = p->l4_off + sizeof(__be16);
	p->has_ports = true;
	if (iph->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;

		if ((void *)(th + 1) > data_end || th->doff < 5 ||
		    th->doff * 4 > l4_len)
			return false;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->l4_hlen = th->doff * 4;
		p->csum_off = p->l4_off + offsetof(struct tcphdr, check);
		p->tcp_seen = tcp_seen_of(th);
		check = th->check;
	} else if (iph->protocol == IPPROTO_UDP) {
		struct udphdr *uh = (void *)l4;

		if (bpf_ntohs(uh->len) < sizeof(*uh) ||
		    bpf_ntohs(uh->len) > l4_len)
			return false;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		p->csum_off = p->l4_off + offsetof(struct udphdr, check);
		check = uh->check;
		if (!check)
			return true;
	} else if (iph->protocol == IPPROTO_ICMP) {
		struct icmphdr *ih = (void *)l4;

		/* Echo requests: the identifier is the inside "port". */
		if (ih->type != ICMP_ECHO)
			return false;
		p->key.sport = ih->un.echo.id;
		p->is_echo_request = true;
		p->csum_off = p->l4_off + offsetof(struct icmphdr, checksum);
		p->sport_off = p->l4_off + offsetof(struct icmphdr, un.echo.id);
		p->dport_off = p->sport_off;
		return true;
	} else {
		return false;
	}
	return !csum_looks_partial(iph->saddr, iph->daddr, iph->protocol,
				   l4_len, check);
}

#endif
