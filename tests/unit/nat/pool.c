// SPDX-License-Identifier: GPL-2.0
/*
 * The --external pool: the connections of a peer's address translate
 * while that address is here (taken over) and not while it is away; new
 * connections take the first address on the WAN, an inside endpoint keeps
 * the address it has; the pool's addresses are never inside sources; an
 * address's own port block, and the block a reload replaced; outbound
 * fragments of an endpoint mapped on the peer's address.
 */
#include "nat_test.h"
#include "extpool.h"

#define EXT2	IP4(192, 0, 2, 100)	/* a peer gateway's address */
#define PEER_PORT 62000

/* The pool as `up --external EXT --external EXT2` makes it, EXT2 on the
 * WAN here or not. */
static void pool_set(struct env *e, const struct ext_spec *v, int n,
		     bool ext2_here)
{
	int fd = bpf_map__fd(e->skel->maps.ext_pool);
	struct nat_state st;
	__u32 zero = 0;

	if (ext_pool_write(fd, v, n, NULL, NULL) ||
	    ext_pool_set_on_wan(fd, htonl(EXT), true) ||
	    (n > 1 && ext_pool_set_on_wan(fd, htonl(EXT2), ext2_here)) ||
	    bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.state), &zero, &st))
		fail(e, "setting up the pool failed");
	st.ext_want = htonl(EXT);
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.state), &zero, &st,
				BPF_ANY))
		fail(e, "writing the state failed");
}

/* A connection IN1:in_port -> REM:rem_port the peer made on EXT2, as
 * state sync installs it: both flow halves and both binding halves. */
static void plant_peer(struct env *e, __u8 proto, __u16 in_port,
		       __u16 rem_port)
{
	int flows = bpf_map__fd(e->skel->maps.flows);
	int binds = bpf_map__fd(e->skel->maps.binds);
	struct flow_key ko = flow_key_of(proto, DIR_OUT, IN1, in_port, REM,
					 rem_port);
	struct flow_key ki = flow_key_of(proto, DIR_IN, REM, rem_port, EXT2,
					 PEER_PORT);
	struct flow_val vo = { .nat_addr = htonl(EXT2),
			       .nat_port = htons(PEER_PORT),
			       .seen = SEEN_SYN | SEEN_ACK,
			       .last_seen_ns = now_coarse_ns() };
	struct flow_val vi = { .nat_addr = htonl(IN1), .nat_port = htons(in_port),
			       .seen = SEEN_SYN | SEEN_ACK,
			       .last_seen_ns = now_coarse_ns() };
	struct bind_key bo = { .addr = htonl(IN1), .port = htons(in_port),
			       .proto = proto, .dir = DIR_OUT };
	struct bind_key bi = { .addr = htonl(EXT2), .port = htons(PEER_PORT),
			       .proto = proto, .dir = DIR_IN };
	struct bind_val bvo = { .addr = htonl(EXT2), .port = htons(PEER_PORT),
				.last_used_ns = now_coarse_ns() };
	struct bind_val bvi = { .addr = htonl(IN1), .port = htons(in_port),
				.last_used_ns = now_coarse_ns() };

	if (bpf_map_update_elem(flows, &ko, &vo, BPF_NOEXIST) ||
	    bpf_map_update_elem(flows, &ki, &vi, BPF_NOEXIST) ||
	    bpf_map_update_elem(binds, &bo, &bvo, BPF_NOEXIST) ||
	    bpf_map_update_elem(binds, &bi, &bvi, BPF_NOEXIST))
		fail(e, "planting the peer's connection failed");
}

static void plant_peer_conn(struct env *e)
{
	plant_peer(e, P_TCP, 40000, 80);
}

static const struct ext_spec two[] = {
	{ .addr = 0x010200c0 },		/* EXT, network order */
	{ .addr = 0x640200c0 },		/* EXT2 */
};

static void peer_here(struct env *e)
{
	pool_set(e, two, 2, true);
	plant_peer_conn(e);
}

static void peer_away(struct env *e)
{
	pool_set(e, two, 2, false);
	plant_peer_conn(e);
}

/* Failover: the peer's connection through this gateway. */
static const struct step pool_taken_over[] = {
	{
		.name = "a reply to the peer's address, here now, is translated",
		.prog = WAN_IN,
		.before = peer_here,
		.in = TCP(REM, 80, EXT2, PEER_PORT, F_ACK, .payload = 100),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 100),
		.cnt = { IN_XLATED },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "the inside host's next segment leaves as the peer's address",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT2, PEER_PORT, REM, 80, F_ACK),
		.cnt = { OUT_XLATED },
	}, {
		.name = "a new connection takes the first address on the WAN",
		.prog = WAN_OUT,
		.in = TCP(IN2, 40001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_TCP, IN2, 40001, REM, 80, V0, SEEN_SYN),
			   FLOW_IN(P_TCP, REM, 80, V0, IN2, 40001, 0) },
		.binds = { BIND(P_TCP, IN2, 40001, V0) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "an endpoint mapped on the peer's address keeps it (paired)",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT2, PEER_PORT, REM2, 80, F_SYN),
		.cnt = { { CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM2, 80, PEER_PORT,
				    SEEN_SYN, .nat_addr = EXT2),
			   FLOW_IN(P_TCP, REM2, 80, PEER_PORT, IN1, 40000, 0,
				   .daddr = EXT2) },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "the gateway's own echo from the peer's address is left alone",
		.prog = WAN_OUT,
		.in = ECHO(EXT2, REM, 77),
		.verdict = TC_ACT_OK,
		.same = true,
		.nflows = COUNT(6), .nbinds = COUNT(4),
	},
};

/* The peer's address is on the peer: its connections wait here. */
static const struct step pool_away[] = {
	{
		.name = "a packet to the peer's address, not here, is not ours",
		.prog = WAN_IN,
		.before = peer_away,
		.in = TCP(REM, 80, EXT2, PEER_PORT, F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "a segment of its connection that comes here still leaves as it",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT2, PEER_PORT, REM, 80, F_ACK),
		.cnt = { OUT_XLATED },
	}, {
		.name = "new connections take the address that is here",
		.prog = WAN_OUT,
		.in = UDP(IN2, 5000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.binds = { BIND(P_UDP, IN2, 5000, V0) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

/* EXT with a block of its own, 20000-20009 (--ports is 61000-65535). */
static const struct ext_spec block[] = { { 0x010200c0, 20000, 20009 } };
static const struct ext_spec block2[] = { { 0x010200c0, 30000, 30009 } };

static void block_set(struct env *e)
{
	pool_set(e, block, 1, false);
}

/* A reload gives it 30000-30009: ext_pool_write() keeps the old block as
 * prev_*. */
static void block_moved(struct env *e)
{
	pool_set(e, block2, 1, false);
}

static void var_in(struct env *e, __u32 var, __u32 lo, __u32 hi)
{
	__u32 p;

	if (var_get(e, var, &p) && (p < lo || p > hi))
		fail(e, "external port %u is not in the block %u-%u", p, lo,
		     hi);
}

static void v0_in_block(struct env *e)
{
	var_in(e, V0, 20000, 20009);
}

static void v1_in_block2(struct env *e)
{
	var_in(e, V1, 30000, 30009);
}

static const struct step pool_block[] = {
	{
		.name = "a new mapping takes a port of the address's block",
		.prog = WAN_OUT,
		.before = block_set,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v0_in_block,
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "its reply, outside --ports, is the NAT's",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "after a reload moved the block, its replies still come in",
		.prog = WAN_IN,
		.before = block_moved,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .payload = 10),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 10),
		.cnt = { IN_XLATED },
	}, {
		.name = "and new mappings take the new block",
		.prog = WAN_OUT,
		.in = UDP(IN2, 5000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53),
		.cnt = { OUT_NEW },
		.after = v1_in_block2,
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

static void peer_udp_here(struct env *e)
{
	pool_set(e, two, 2, true);
	plant_peer(e, P_UDP, 5000, 53);
}

/* A datagram too big for one packet from an endpoint mapped on the
 * peer's address: every fragment leaves as that address. */
static const struct step pool_fragments[] = {
	{
		.name = "a first fragment out leaves as the endpoint's address",
		.prog = WAN_OUT,
		.before = peer_udp_here,
		.in = UDP(IN1, 5000, REM, 53, .frag = 0x2000, .payload = 1472,
			  .udp_len = 4008),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT2, PEER_PORT, REM, 53, .frag = 0x2000,
			   .payload = 1472, .udp_len = 4008),
		.cnt = { OUT_XLATED },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "its later fragment follows it",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM, 53, .frag = 185, .udp_nocsum = true),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT2, 5000, REM, 53, .frag = 185, .udp_nocsum = true),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
	}, {
		.name = "a later fragment of another datagram leaves as the first address",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM2, 53, .frag = 185, .udp_nocsum = true),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 5000, REM2, 53, .frag = 185, .udp_nocsum = true),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
	},
};

static const struct group groups[] = {
	{ .name = "pool-taken-over", STEPS(pool_taken_over) },
	{ .name = "pool-away", STEPS(pool_away) },
	{ .name = "pool-block", STEPS(pool_block) },
	{ .name = "pool-fragments", STEPS(pool_fragments) },
};

FIXTURE(pool, groups);
