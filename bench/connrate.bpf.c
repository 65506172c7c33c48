// SPDX-License-Identifier: GPL-2.0
/*
 * Stateless TCP endpoints in XDP for the new-connections-per-second
 * benchmark, so that the endpoints cost next to nothing and the gateway
 * between them, not a TCP stack, limits the rate.
 *
 *   gen  the client: one BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
 *        on the client's veth, paced inside (like gen.bpf.c).  Slot s sends
 *        one packet of a pipeline of connections: kind k = s % 4 of
 *        connection s / 4 - k * lag, k = 0 SYN, 1 handshake ACK, 2 ACK of
 *        the server's FIN, 3 RST.  A connection's packets are thus `lag`
 *        connection slots (~2 ms) apart, long enough for the answer to have
 *        come back through the gateway, without the client keeping state.
 *   cli  XDP on the client's veth: counts the SYN|ACKs and FINs that reach
 *        the right inside endpoint, drops everything else but ARP.
 *   srv  XDP on the server's veth: checks each packet is translated as a
 *        correct gateway would, answers SYN with SYN|ACK and the handshake
 *        ACK with FIN|ACK (sent back out of the same veth), counts the ACK
 *        of its FIN and the RST.
 *
 * The sequence numbers carry the state: the client's ISN is a bijection of
 * the connection number n (the server recovers n from it, whatever port the
 * NAT chose) and the server's ISN a function of the client's.  Every packet
 * is a valid TCP segment with full IPv4 and TCP checksums: conntrack checks
 * both, and its window tracking sees a normal connection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "connrate.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800
#define IP_DF		0x4000

/* Set by the loader before load. */
const volatile __u64 interval_ns = 0;	/* slot length; 0: as fast as possible */
const volatile __u32 lag = 1;		/* connections between two packets of one */
const volatile __u32 nconn = 0;		/* connections of the run */
const volatile __u32 nsrc = 1;		/* inside addresses src_base .. +nsrc-1 */
const volatile __u32 src_base = 0;	/* host order */
const volatile __be32 dst_addr = 0;	/* the server */
const volatile __u32 port_base = 0;	/* server ports port_base .. +nports-1 */
const volatile __u32 nports = 1;
const volatile __u8 want_ttl = 63;	/* TTL an endpoint sees: one hop */
/* What the server must see as source: the NAT's address and port range,
 * or (nat_saddr 0) the connection's own inside address and port. */
const volatile __be32 nat_saddr = 0;
const volatile __u32 nat_lo = 0;	/* host order */
const volatile __u32 nat_hi = 0;

/*
 * The client's frame: Ethernet, IPv4 (TTL 64, DF), TCP (window 65535, no
 * options), padding.  .data, not const volatile: clang 14 folds a read of a
 * const array through a cast that drops volatile into compile-time zeros.
 */
__u8 tmpl[CR_FRAME_LEN] SEC(".data") = {};

/* Generator state and results, read back by the loader. */
__u64 slot SEC(".data") = 0;
#include "pace.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Per connection (n): what arrived, and the source the server saw. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* nconn, set by the loader */
	__type(key, __u32);
	__type(value, struct cr_conn);
} conns SEC(".maps");

#include "counters.bpf.h"

/* Sum of the 10 16-bit words of an option-less IPv4 or TCP header. */
static __always_inline __u32 sum20(const void *p)
{
	const __u16 *w = p;
	__u32 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		s += w[i];
	return s;
}

static __always_inline __u32 pseudo_sum(const struct iphdr *iph)
{
	return (iph->saddr & 0xffff) + (iph->saddr >> 16) +
	       (iph->daddr & 0xffff) + (iph->daddr >> 16) +
	       bpf_htons(IPPROTO_TCP) + bpf_htons(CR_IP_LEN - 20);
}

/* Both checksums from scratch: the frame's fields are all new anyway. */
static __always_inline void set_csums(struct iphdr *iph, struct tcphdr *th)
{
	iph->check = 0;
	iph->check = ~fold(sum20(iph));
	th->check = 0;
	th->check = ~fold(pseudo_sum(iph) + sum20(th));
}

static __always_inline __u8 *tcp_flags(struct tcphdr *th)
{
	return (__u8 *)th + 13;
}

/* Connection n's inside endpoint and server port (see connrate.h). */
static __always_inline __be32 inside_addr(__u32 n)
{
	return bpf_htonl(src_base + n % CR_NPORTS % nsrc);
}

static __always_inline __be16 inside_port(__u32 n)
{
	return bpf_htons(CR_PORT_LO + n % CR_NPORTS);
}

static __always_inline __be16 server_port(__u32 n)
{
	return bpf_htons(port_base + n / CR_NPORTS % nports);
}

/* ---- the client ---------------------------------------------------- */

/* Kind 0 SYN, 1 handshake ACK, 2 ACK of the server's FIN, 3 RST|ACK. */
static __always_inline void client_fill(void *data, __u32 n, __u32 kind)
{
	struct iphdr *iph = data + CR_L3_OFF;
	struct tcphdr *th = data + CR_L4_OFF;
	__u32 isn = cr_isn_c(n), isn_s = cr_isn_s(isn);

	iph->saddr = inside_addr(n);
	th->source = inside_port(n);
	th->dest = server_port(n);
	if (kind == 0) {
		th->seq = bpf_htonl(isn);
		th->ack_seq = 0;
		*tcp_flags(th) = CR_TCP_SYN;
	} else {
		th->seq = bpf_htonl(isn + 1);
		th->ack_seq = bpf_htonl(isn_s + (kind == 1 ? 1 : 2));
		*tcp_flags(th) = kind == 3 ? CR_TCP_RST | CR_TCP_ACK : CR_TCP_ACK;
	}
	set_csums(iph, th);
}

SEC("xdp")
int gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 kind;
	__s64 n;

	if (data + CR_FRAME_LEN > data_end)
		return XDP_ABORTED;

	pace(interval_ns);

	kind = slot & 3;
	n = (__s64)(slot >> 2) - (__s64)kind * lag;
	slot++;
	/* The pipeline's head and tail: slots of connections that do not
	 * exist still take their time, so the spacing stays the same. */
	if (n < 0 || n >= nconn)
		return XDP_DROP;

	/* The page may hold what the gateway wrote into an earlier frame. */
	__builtin_memcpy(data, tmpl, CR_FRAME_LEN);
	client_fill(data, n, kind);
	count(CR_GEN_SYN + kind);
	return XDP_TX;
}

/* ---- what both receivers check ------------------------------------- */

/* An option-less IPv4/TCP packet of our size, one hop old, both checksums
 * valid.  The caller has checked data + CR_PKT_LEN <= data_end. */
static __always_inline bool tcp_ok(struct iphdr *iph, struct tcphdr *th)
{
	if (iph->version != 4 || iph->ihl != 5 || iph->protocol != IPPROTO_TCP ||
	    iph->tot_len != bpf_htons(CR_IP_LEN) || iph->ttl != want_ttl ||
	    (iph->frag_off & bpf_htons(0x3fff)) || th->doff != 5)
		return false;
	return fold(sum20(iph)) == 0xffff &&
	       fold(pseudo_sum(iph) + sum20(th)) == 0xffff;
}

static __always_inline struct cr_conn *conn_get(__u32 n)
{
	return n < nconn ? bpf_map_lookup_elem(&conns, &n) : NULL;
}

/* ---- the client's receiver ----------------------------------------- */

/* Counter of a correct answer, or -1. */
static __always_inline int cli_check(void *data, void *data_end)
{
	struct iphdr *iph = data + CR_L3_OFF;
	struct tcphdr *th = data + CR_L4_OFF;
	__u32 seq, isn, isn_s, n;
	struct cr_conn *c;
	__u8 flags;

	if (data + CR_PKT_LEN > data_end || !tcp_ok(iph, th) ||
	    iph->saddr != dst_addr)
		return -1;
	/* Both answers acknowledge the client's SYN: ack - 1 is its ISN,
	 * which names the connection, which names its inside endpoint. */
	isn = bpf_ntohl(th->ack_seq) - 1;
	n = cr_conn_of(isn);
	c = conn_get(n);
	if (!c || iph->daddr != inside_addr(n) || th->dest != inside_port(n) ||
	    th->source != server_port(n))
		return -1;
	isn_s = cr_isn_s(isn);
	seq = bpf_ntohl(th->seq);
	flags = *tcp_flags(th);
	if (flags == (CR_TCP_SYN | CR_TCP_ACK) && seq == isn_s) {
		__sync_fetch_and_or(&c->seen, CR_SEEN_SYNACK);
		return CR_CLI_SYNACK;
	}
	if (flags == (CR_TCP_FIN | CR_TCP_ACK) && seq == isn_s + 1) {
		__sync_fetch_and_or(&c->seen, CR_SEEN_FIN);
		return CR_CLI_FIN;
	}
	return -1;
}

#define IS_IPV4	(-1)

/* Both peers' first look at a frame: the verdict for one that is not
 * IPv4 (ARP goes to the stack, counted), IS_IPV4 for the rest. */
static __always_inline int not_ipv4(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(CR_OTHER);
		return XDP_PASS;	/* ARP */
	}
	return IS_IPV4;
}

SEC("xdp")
int cli(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int idx = not_ipv4(data, data_end);

	if (idx != IS_IPV4)
		return idx;
	idx = cli_check(data, data_end);
	count(idx < 0 ? CR_CLI_BAD : idx);
	return XDP_DROP;
}

/* ---- the server ---------------------------------------------------- */

/* Source as a correct gateway sends it: its address and a port of its
 * range, or, without NAT, the connection's inside endpoint. */
static __always_inline bool src_ok(struct iphdr *iph, struct tcphdr *th, __u32 n)
{
	__u32 sport = bpf_ntohs(th->source);

	if (!nat_saddr)
		return iph->saddr == inside_addr(n) && th->source == inside_port(n);
	return iph->saddr == nat_saddr && sport >= nat_lo && sport <= nat_hi;
}

/* Turn the packet into the answer: swapped ends, new TCP fields. */
static __always_inline void answer(void *data, __u8 flags, __u32 seq, __u32 ack)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = data + CR_L3_OFF;
	struct tcphdr *th = data + CR_L4_OFF;
	__u8 mac[6];
	__be32 a;
	__be16 p;

	__builtin_memcpy(mac, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, mac, 6);
	a = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = a;
	iph->ttl = 64;
	iph->id = 0;
	iph->frag_off = bpf_htons(IP_DF);
	p = th->source;
	th->source = th->dest;
	th->dest = p;
	th->seq = bpf_htonl(seq);
	th->ack_seq = bpf_htonl(ack);
	*tcp_flags(th) = flags;
	th->window = bpf_htons(65535);
	th->urg_ptr = 0;
	set_csums(iph, th);
}

/* 1 (answered), 0 (counted, drop it), or -1 (bad). */
static __always_inline int srv_handle(void *data, void *data_end)
{
	struct iphdr *iph = data + CR_L3_OFF;
	struct tcphdr *th = data + CR_L4_OFF;
	__u32 seq, ack, isn, isn_s, n, src;
	struct cr_conn *c;
	__u8 flags;

	if (data + CR_PKT_LEN > data_end || !tcp_ok(iph, th) ||
	    iph->daddr != dst_addr)
		return -1;
	seq = bpf_ntohl(th->seq);
	ack = bpf_ntohl(th->ack_seq);
	flags = *tcp_flags(th);
	/* The SYN carries the client's ISN, every later segment ISN + 1. */
	isn = flags == CR_TCP_SYN ? seq : seq - 1;
	n = cr_conn_of(isn);
	c = conn_get(n);
	if (!c || th->dest != server_port(n) || !src_ok(iph, th, n))
		return -1;
	/* One connection, one translation: every packet of it must come
	 * from the port its first one came from.  (Only this CPU's NAPI
	 * thread writes src.) */
	src = 1 << 16 | bpf_ntohs(th->source);
	if (!c->src)
		c->src = src;
	else if (c->src != src)
		return -1;
	isn_s = cr_isn_s(isn);

	switch (flags) {
	case CR_TCP_SYN:
		__sync_fetch_and_or(&c->seen, CR_SEEN_SYN);
		count(CR_SRV_SYN);
		answer(data, CR_TCP_SYN | CR_TCP_ACK, isn_s, seq + 1);
		return 1;
	case CR_TCP_ACK:
		if (ack == isn_s + 1) {
			/* Handshake done: the server closes at once. */
			__sync_fetch_and_or(&c->seen, CR_SEEN_ACK);
			count(CR_SRV_ACK);
			answer(data, CR_TCP_FIN | CR_TCP_ACK, isn_s + 1, seq);
			return 1;
		}
		if (ack == isn_s + 2) {
			__sync_fetch_and_or(&c->seen, CR_SEEN_FINACK);
			count(CR_SRV_FINACK);
			return 0;
		}
		return -1;
	case CR_TCP_RST | CR_TCP_ACK:
		if (ack != isn_s + 2)
			return -1;
		__sync_fetch_and_or(&c->seen, CR_SEEN_RST);
		count(CR_SRV_RST);
		return 0;
	}
	return -1;
}

SEC("xdp")
int srv(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int ret = not_ipv4(data, data_end);

	if (ret != IS_IPV4)
		return ret;
	ret = srv_handle(data, data_end);
	if (ret < 0)
		count(CR_SRV_BAD);
	if (ret <= 0)
		return XDP_DROP;
	/*
	 * Back out of our own veth.  Not XDP_TX: veth's XDP_TX wakes the
	 * peer's NAPI only if the peer has an XDP program, and the gateway's
	 * WAN veth has none for nft and route.  A redirect to ourselves (what
	 * live frames do for XDP_TX) needs only the peer's NAPI, which GRO
	 * gives it.
	 */
	return bpf_redirect(ctx->ingress_ifindex, 0);
}
