/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What connrate.bpf.c (the stateless TCP client and server in XDP) and its
 * loader connrate.c share: the frame, the counters, and the two functions
 * that make the endpoints stateless, i.e. connection number n -> its inside
 * endpoint, and n <-> its initial sequence numbers.  Plain __u32 types only.
 */
#ifndef BMBENCH_CONNRATE_H
#define BMBENCH_CONNRATE_H

/* Ethernet 14 + IPv4 20 + TCP 20 (no options) = 54 bytes; the generator
 * pads to the 60 of a minimum Ethernet frame (what a NIC hands over). */
#define CR_L3_OFF	14
#define CR_L4_OFF	34
#define CR_PKT_LEN	54
#define CR_FRAME_LEN	60
#define CR_IP_LEN	40

#define CR_TCP_FIN	0x01
#define CR_TCP_SYN	0x02
#define CR_TCP_RST	0x04
#define CR_TCP_ACK	0x10

/*
 * Inside endpoints: port 1024 + e for e = n % CR_NPORTS, on inside address
 * e % nsrc.  So there are exactly as many inside endpoints as ports in a
 * 1024-65535 NAT range on one external address: both NATs can keep every
 * port, and bpfmasq's endpoint-independent bindings (kept 10 s after last
 * use) are reused instead of exhausting the range.  The server port moves
 * on after every CR_NPORTS connections, so a 5-tuple repeats only after
 * CR_NPORTS * nports connections.
 */
#define CR_PORT_LO	1024
#define CR_NPORTS	64512

/* Packet counters (per-CPU array slots). */
enum cr_counter {
	CR_GEN_SYN,		/* sent by the client, per kind */
	CR_GEN_ACK,		/* handshake ACK */
	CR_GEN_FINACK,		/* ACK of the server's FIN */
	CR_GEN_RST,
	CR_SRV_SYN,		/* arrived at the server, correct */
	CR_SRV_ACK,
	CR_SRV_FINACK,
	CR_SRV_RST,
	CR_SRV_BAD,		/* IPv4 at the server, not what a correct gateway sends */
	CR_CLI_SYNACK,		/* arrived at the client, correct */
	CR_CLI_FIN,
	CR_CLI_BAD,
	CR_OTHER,		/* not IPv4 (passed to the stack) */
	CR_MAX
};

/* struct cr_conn.seen: which of a connection's 6 packets arrived correct. */
#define CR_SEEN_SYN	(1 << 0)	/* at the server */
#define CR_SEEN_SYNACK	(1 << 1)	/* at the client */
#define CR_SEEN_ACK	(1 << 2)	/* at the server */
#define CR_SEEN_FIN	(1 << 3)	/* at the client */
#define CR_SEEN_FINACK	(1 << 4)	/* at the server */
#define CR_SEEN_RST	(1 << 5)	/* at the server */
#define CR_SEEN_ALL	0x3f

/* One per connection of the run, indexed by n. */
struct cr_conn {
	__u32 seen;
	__u32 src;	/* 1 << 16 | the source port the server saw first */
};

/*
 * Client ISN: a bijection of n, so that whoever sees a sequence number
 * knows which connection it belongs to (the server cannot tell from the
 * translated port).  0xa5cb9243 is the inverse of 0x85ebca6b mod 2^32.
 */
#define CR_ISN_MUL	0x85ebca6bU
#define CR_ISN_INV	0xa5cb9243U
#define CR_ISN_XOR	0x2545f491U

static inline __u32 cr_isn_c(__u32 n)
{
	return (n * CR_ISN_MUL) ^ CR_ISN_XOR;
}

static inline __u32 cr_conn_of(__u32 isn_c)
{
	return (isn_c ^ CR_ISN_XOR) * CR_ISN_INV;
}

/* The server's ISN, from the client's: the client can check an answer
 * without knowing the port the NAT chose. */
static inline __u32 cr_isn_s(__u32 isn_c)
{
	return isn_c * 2654435761U + 12345;
}

#endif
