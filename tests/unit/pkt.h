/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test packet builder: Ethernet + IPv4 + TCP/UDP/ICMP frames described by a
 * struct pspec (with .l3, the same frame without its Ethernet header, as a
 * PPP, TUN or WireGuard interface carries it).  Every checksum is computed from scratch over the final
 * bytes, never incrementally, so that comparing a BPF-translated frame with
 * a built one checks the programs' incremental updates against an
 * independent computation.
 */
#ifndef BPFMASQ_TEST_PKT_H
#define BPFMASQ_TEST_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/types.h>
#include "inet_csum.h"	/* csum_add(), csum_fold(): the controller's own */

#define IP4(a, b, c, d)	(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#define PKT_MAX		4200	/* a 4096-byte UDP datagram, unfragmented */
#define ETH_LEN		14
#define IP_LEN		20
#define TCP_LEN		20
#define UDP_LEN		8
#define ICMP_LEN	8

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

#define P_TCP	6
#define P_UDP	17
#define P_ICMP	1

#define ICMP_T_ECHOREPLY	0
#define ICMP_T_UNREACH		3
#define ICMP_T_ECHO		8
#define ICMP_T_TIME_EXCEEDED	11
#define ICMP_T_PARAMPROB	12
#define ICMP_T_TIMESTAMP	13

/* Codes of destination unreachable. */
#define ICMP_C_HOST_UNREACH	1
#define ICMP_C_PORT_UNREACH	3
#define ICMP_C_FRAG_NEEDED	4
#define ICMP_C_ADMIN_PROHIB	13

#define ETHERTYPE_IP	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_IPV6	0x86dd

/*
 * The packet an ICMP error quotes (RFC 792: its IP header and at least the
 * first 8 bytes of its data).  It is built whole by pkt_build(), checksums
 * over the whole original packet included, and then cut: so an embedded L4
 * checksum is only right after translation if it was updated as the full
 * original packet would have been.
 */
#define QUOTE_ALL	0xffff

struct inner_spec {
	__u32 saddr, daddr;
	__u8 proto;
	__u32 sport, dport;	/* may be PORT_VAR(n); ICMP: echo id */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 ip_opts;
	__u8 ttl;		/* 0: 1, as a router that expired it saw it */
	__u16 payload;
	bool set_word;		/* first two payload bytes = word */
	__u16 word;
	bool udp_nocsum;
	__u16 quote;		/* bytes of its L4 message quoted; 0: 8,
				 * QUOTE_ALL: every byte */
	/* malformations */
	__u8 ihl;		/* 0: from ip_opts */
	__u16 quote_ip;		/* non-zero: quote only this many bytes of
				 * the IP header and no L4 at all */
};

/*
 * One frame.  Addresses and ports are host order.  A port may also be a
 * PORT_VAR(n): an external port the program picks at random, bound by the
 * test runner the first time it appears in an expected output.  For ICMP,
 * sport is the echo identifier.  Zero fields take the usual defaults; the
 * "malformation" fields override what the builder would write, and the
 * checksums are then computed over the malformed bytes.
 */
struct pspec {
	__u16 ethertype;	/* 0: IPv4; others get a dummy payload */
	bool l3;		/* no Ethernet header: the frame starts at
				 * the IP header (ETHERTYPE_IPV6: at a
				 * minimal IPv6 header); trunc counts from
				 * there */
	bool blank_eth;		/* an Ethernet header of zeros: the room
				 * bpf_skb_change_head() gives a layer-3
				 * packet before bpf_redirect_neigh() */
	bool wan_macs;		/* MACs as the LAN fast path rewrites them */
	bool stale_nexthop;	/* with wan_macs: the destination MAC a test
				 * planted in a flow's next-hop cache */
	__u32 saddr, daddr;
	__u8 proto;
	__u32 sport, dport;
	__u8 tcp_flags;
	/* TCP options: opts_before[] as given (NOPs, SACK-permitted...),
	 * then an MSS option if mss is not 0, then EOL padding to 4 bytes. */
	__u8 opts_before[16];
	__u8 opts_before_len;
	__u16 mss;
	__u8 icmp_type;
	__u8 ip_opts;		/* bytes of IP options, multiple of 4, <= 40 */
	__u16 frag;		/* flags + fragment offset field */
	__u8 ttl;		/* 0: 64 */
	__u16 payload;		/* bytes after the L4 header in this frame */
	bool set_word;		/* first two payload bytes = word */
	__u16 word;
	const char *text;	/* the payload's bytes (TEXT()), instead of
				 * payload_byte()'s pattern */
	bool udp_nocsum;	/* UDP checksum 0: "none" */
	bool l4_partial;	/* TCP/UDP checksum field holds only the
				 * pseudo-header sum (CHECKSUM_PARTIAL) */
	/* ICMP errors (proto P_ICMP, icmp_type 3, 11 or 12): the header's
	 * second word, then the quoted packet instead of a payload. */
	bool err;
	__u8 icmp_code;
	__u32 icmp_rest;	/* ICMP_MTU(n), ICMP_PTR(n) or 0 */
	struct inner_spec inner;
	bool icmp_bad_csum;	/* malformation: checksum off by one */
	/* malformations */
	__u8 version;		/* 0: 4 */
	__u8 ihl;		/* 0: from ip_opts */
	__u8 doff;		/* 0: 5 */
	__u16 tot_len;		/* 0: computed */
	__u16 udp_len;		/* 0: computed; larger = datagram continues
				 * in later fragments (checksum covers it) */
	__u16 trunc;		/* 0: whole frame; else cut to this length */
	__u16 trailer;		/* bytes after the IP packet (beyond tot_len,
				 * in no checksum), as a frame may carry */
};

/* A payload of these bytes (an ALG's command line): .text and .payload. */
#define TEXT(t)		.text = (t), .payload = sizeof(t) - 1

#define ICMP_MTU(n)	((__u32)(n))		/* frag-needed next-hop MTU */
#define ICMP_PTR(n)	((__u32)(n) << 24)	/* parameter problem pointer */

static const __u8 mac_lan_gw[6] = { 0x02, 0, 0, 0, 0, 0xaa };
static const __u8 mac_lan_host[6] = { 0x02, 0, 0, 0, 0, 0xbb };
static const __u8 mac_wan_self[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const __u8 mac_wan_nexthop[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const __u8 mac_planted[6] = { 0x02, 0, 0, 0, 0, 0x77 };

/*
 * The addresses of the data-plane tests (test_nat, test_diff), host
 * order: the gateway's external address, inside hosts of 10.0.0.0/24 (IN1
 * behind lan0's permanent neighbour), remotes routed through wan0 (see
 * testnet.h).
 */
#define EXT		IP4(192, 0, 2, 1)
#define LAN_GW		IP4(10, 0, 0, 1)	/* the gateway's own LAN address */
#define IN1		IP4(10, 0, 0, 2)
#define IN2		IP4(10, 0, 0, 3)
#define IN3		IP4(10, 0, 0, 4)
#define OUTSIDER	IP4(172, 16, 0, 5)	/* not in an --internal 10.0.0.0/24 */
#define REM		IP4(198, 51, 100, 2)
#define REM2		IP4(198, 51, 100, 3)
#define REM3		IP4(198, 51, 100, 4)
#define ROUTER		IP4(192, 0, 2, 254)	/* a hop between EXT and REM that
						 * reports errors */
#define UNROUTED	IP4(100, 64, 0, 9)	/* no route in the test netns */

static inline __u8 payload_byte(unsigned int i)
{
	return (__u8)(i * 7 + 3);
}

/* The checksum of a sum (csum_add(), inet_csum.h), in host order. */
static inline __u16 csum_host(__u32 sum)
{
	return (__u16)~csum_fold(sum);
}

static inline void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static inline size_t pkt_l4_off(const struct pspec *s)
{
	return (s->l3 ? 0 : ETH_LEN) + IP_LEN + s->ip_opts;
}

/* Bytes of TCP options, padding included. */
static inline size_t pkt_tcp_opts_len(const struct pspec *s)
{
	return (s->opts_before_len + (s->mss ? 4 : 0) + 3) & ~(size_t)3;
}

static inline size_t pkt_l4_hlen(const struct pspec *s)
{
	return s->proto == P_TCP ? TCP_LEN + pkt_tcp_opts_len(s) :
	       s->proto == P_UDP ? UDP_LEN :
	       s->proto == P_ICMP ? ICMP_LEN : 0;
}

/* Offset of the field that holds sport (or the ICMP id) / dport. */
static inline size_t pkt_sport_off(const struct pspec *s)
{
	return pkt_l4_off(s) + (s->proto == P_ICMP ? 4 : 0);
}

static inline size_t pkt_dport_off(const struct pspec *s)
{
	return pkt_l4_off(s) + (s->proto == P_ICMP ? 4 : 2);
}

/* The quoted packet as a frame spec of its own. */
static inline struct pspec inner_as_pspec(const struct inner_spec *q)
{
	return (struct pspec){
		.saddr = q->saddr, .daddr = q->daddr, .proto = q->proto,
		.sport = q->sport, .dport = q->dport,
		.tcp_flags = q->tcp_flags, .icmp_type = q->icmp_type,
		.ip_opts = q->ip_opts, .ttl = q->ttl ? q->ttl : 1,
		.payload = q->payload, .udp_nocsum = q->udp_nocsum,
		.set_word = q->set_word, .word = q->word, .ihl = q->ihl,
	};
}

static size_t pkt_build(const struct pspec *s, __u8 *buf);
static size_t pkt_build_eth(const struct pspec *s, __u8 *buf);

/* Bytes of the quoted packet (IP header on) an error carries. */
static inline size_t pkt_quote(const struct inner_spec *q, __u8 *out)
{
	static __u8 whole[PKT_MAX];
	struct pspec ip = inner_as_pspec(q);
	size_t len = pkt_build(&ip, whole) - ETH_LEN;
	size_t iph = IP_LEN + q->ip_opts;
	size_t l4 = q->quote == QUOTE_ALL ? len - iph : q->quote ? q->quote : 8;

	if (q->quote_ip)
		len = q->quote_ip;
	else if (iph + l4 < len)
		len = iph + l4;
	memcpy(out, whole + ETH_LEN, len);
	return len;
}

/* Writes the frame into buf (PKT_MAX bytes); returns its length. */
static size_t pkt_build(const struct pspec *s, __u8 *buf)
{
	struct pspec e = *s;
	size_t len;

	if (s->blank_eth) {
		len = pkt_build_eth(s, buf);
		memset(buf, 0, ETH_LEN);
		return len;
	}
	if (!s->l3)
		return pkt_build_eth(s, buf);
	/* The Ethernet frame, whose header is then taken off. */
	e.l3 = false;
	if (s->trunc)
		e.trunc = s->trunc + ETH_LEN;
	len = pkt_build_eth(&e, buf) - ETH_LEN;
	memmove(buf, buf + ETH_LEN, len);
	memset(buf + len, 0, ETH_LEN);
	if (s->ethertype == ETHERTYPE_IPV6 && len >= 40) {
		/* Version 6, no next header: all a parser may look at. */
		memset(buf, 0, 8);
		buf[0] = 0x60;
		put16(buf + 4, len - 40);
		buf[6] = 59;
		buf[7] = 64;
	}
	return len;
}

/* pkt_build() of a frame with its Ethernet header. */
static size_t pkt_build_eth(const struct pspec *s, __u8 *buf)
{
	__u8 l4[PKT_MAX];	/* the whole L4 message, for its checksum */
	size_t l4_off = pkt_l4_off(s), hlen = pkt_l4_hlen(s);
	size_t l4_len = hlen + s->payload, frame_len, i;
	__u8 *ip = buf + ETH_LEN;
	__u32 sum;

	if (s->err)
		l4_len = hlen + pkt_quote(&s->inner, l4 + hlen);

	memset(buf, 0, PKT_MAX);
	memcpy(buf, s->stale_nexthop ? mac_planted :
		    s->wan_macs ? mac_wan_nexthop : mac_lan_host, 6);
	memcpy(buf + 6, s->wan_macs ? mac_wan_self : mac_lan_gw, 6);
	if (s->ethertype && s->ethertype != ETHERTYPE_IP) {
		put16(buf + 12, s->ethertype);
		for (i = 0; i < s->payload; i++)
			buf[ETH_LEN + i] = payload_byte(i);
		return ETH_LEN + s->payload;
	}
	put16(buf + 12, ETHERTYPE_IP);

	/* L4 message in full (a first fragment's checksum covers the rest
	 * of the datagram too), copied into the frame afterwards. */
	if (s->proto == P_UDP && s->udp_len > l4_len)
		l4_len = s->udp_len;
	if (s->err) {
		memset(l4, 0, hlen);
	} else {
		memset(l4, 0, sizeof(l4));
		for (i = hlen; i < l4_len; i++)
			l4[i] = payload_byte(i - hlen);
		if (s->text)
			memcpy(l4 + hlen, s->text, s->payload);
	}
	if (s->set_word)
		put16(l4 + hlen, s->word);

	if (s->proto == P_TCP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 0x11111111);
		put32(l4 + 8, s->tcp_flags & F_ACK ? 0x22222222 : 0);
		l4[12] = (s->doff ? s->doff : hlen / 4) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 65535);
		/* The padding stays zero: EOL. */
		memcpy(l4 + TCP_LEN, s->opts_before, s->opts_before_len);
		if (s->mss) {
			__u8 *o = l4 + TCP_LEN + s->opts_before_len;

			o[0] = 2;
			o[1] = 4;
			put16(o + 2, s->mss);
		}
	} else if (s->proto == P_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, s->udp_len ? s->udp_len : l4_len);
	} else if (s->proto == P_ICMP && s->err) {
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_rest);
	} else if (s->proto == P_ICMP) {
		l4[0] = s->icmp_type;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, 1);
	}

	if (s->proto == P_TCP || s->proto == P_UDP) {
		__u8 pseudo[12];

		put32(pseudo, s->saddr);
		put32(pseudo + 4, s->daddr);
		pseudo[8] = 0;
		pseudo[9] = s->proto;
		put16(pseudo + 10, l4_len);
		sum = csum_add(csum_add(0, pseudo, 12), l4, l4_len);
		__u16 c = csum_host(sum);

		if (s->proto == P_UDP) {
			/* RFC 768: a computed 0 goes out as all ones. */
			if (!c)
				c = 0xffff;
			if (s->udp_nocsum)
				c = 0;
		}
		if (s->l4_partial)
			c = ~csum_host(csum_add(0, pseudo, 12));
		put16(l4 + (s->proto == P_TCP ? 16 : 6), c);
	} else if (s->proto == P_ICMP) {
		put16(l4 + 2, csum_host(csum_add(0, l4, l4_len)) ^
			      (s->icmp_bad_csum ? 1 : 0));
	}
	/* Only this fragment's share of the L4 message is in the frame. */
	if (s->proto == P_UDP && s->udp_len > hlen + s->payload)
		l4_len = hlen + s->payload;
	memcpy(buf + l4_off, l4, l4_len);

	ip[0] = ((s->version ? s->version : 4) << 4) |
		(s->ihl ? s->ihl : (IP_LEN + s->ip_opts) / 4);
	put16(ip + 2, s->tot_len ? s->tot_len : IP_LEN + s->ip_opts + l4_len);
	put16(ip + 4, 0x1234);
	put16(ip + 6, s->frag);
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = s->proto;
	put32(ip + 12, s->saddr);
	put32(ip + 16, s->daddr);
	/* Options: a Router Alert, then NOPs; the programs must not care. */
	for (i = 0; i < s->ip_opts; i++)
		ip[IP_LEN + i] = 1;
	if (s->ip_opts >= 4) {
		ip[IP_LEN] = 0x94;
		ip[IP_LEN + 1] = 4;
		ip[IP_LEN + 2] = 0;
		ip[IP_LEN + 3] = 0;
	}
	put16(ip + 10, csum_host(csum_add(0, ip, IP_LEN + s->ip_opts)));

	frame_len = l4_off + l4_len;
	for (i = 0; i < s->trailer && frame_len < PKT_MAX; i++)
		buf[frame_len++] = 0xee;
	if (s->trunc && s->trunc < frame_len)
		frame_len = s->trunc;
	return frame_len;
}

/* Name of the header field at a frame offset, for failure messages. */
static inline const char *pkt_field_name(const struct pspec *s, size_t off)
{
	size_t l4 = pkt_l4_off(s);

	if (s->l3) {
		struct pspec e = *s;

		e.l3 = false;
		return pkt_field_name(&e, off + ETH_LEN);
	}

	if (off < 6)
		return "eth.dst";
	if (off < 12)
		return "eth.src";
	if (off < ETH_LEN)
		return "eth.type";
	if (off < ETH_LEN + IP_LEN) {
		static const char *const ipf[] = {
			"ip.ver_ihl", "ip.tos", "ip.tot_len", "ip.tot_len",
			"ip.id", "ip.id", "ip.frag", "ip.frag", "ip.ttl",
			"ip.proto", "ip.check", "ip.check", "ip.saddr",
			"ip.saddr", "ip.saddr", "ip.saddr", "ip.daddr",
			"ip.daddr", "ip.daddr", "ip.daddr",
		};
		return ipf[off - ETH_LEN];
	}
	if (off < l4)
		return "ip.options";
	off -= l4;
	if (s->err && off >= ICMP_LEN) {
		/* Name the quoted packet's field as if it were a frame. */
		static char name[64];
		struct pspec q = inner_as_pspec(&s->inner);

		snprintf(name, sizeof(name), "inner.%s",
			 pkt_field_name(&q, off - ICMP_LEN + ETH_LEN));
		return name;
	}
	if (s->err && off < ICMP_LEN)
		return off < 2 ? "icmp.type_code" : off < 4 ? "icmp.check" :
		       "icmp.rest";
	if (s->proto == P_TCP && off < TCP_LEN)
		return off < 2 ? "tcp.sport" : off < 4 ? "tcp.dport" :
		       off == 16 || off == 17 ? "tcp.check" : "tcp.header";
	if (s->proto == P_TCP && off < pkt_l4_hlen(s))
		return "tcp.options";
	if (s->proto == P_UDP && off < UDP_LEN)
		return off < 2 ? "udp.sport" : off < 4 ? "udp.dport" :
		       off < 6 ? "udp.len" : "udp.check";
	if (s->proto == P_ICMP && off < ICMP_LEN)
		return off < 2 ? "icmp.type_code" : off < 4 ? "icmp.check" :
		       off < 6 ? "icmp.id" : "icmp.seq";
	return "payload";
}

#endif
