// SPDX-License-Identifier: GPL-2.0
/*
 * Bindings and flows: port collisions and allocation (RFC 4787 port class
 * and parity), exhaustion, a full table, bindings another CPU is claiming,
 * the refresh of last_seen.
 */
#include "nat_test.h"

static void out_refreshed(struct env *e)
{
	check_refreshed(e, DIR_OUT);
}

static void in_refreshed(struct env *e)
{
	check_refreshed(e, DIR_IN);
}

static void v0_not_5000(struct env *e)
{
	ports_differ(e, V0, 5000);
}

static void v0_not_v1(struct env *e)
{
	ports_differ(e, V0, V1);
}

/* RFC 4787 REQ-3 (port class) and REQ-4 (parity) of a chosen port. */
static void port_class_parity(struct env *e, __u32 var, bool low, int parity)
{
	__u32 p;

	if (!var_get(e, var, &p))
		return;
	if (low != (p < 1024))
		fail(e, "external port %u is not in the %s class", p,
		     low ? "well-known (< 1024)" : "1024-65535");
	if (parity >= 0 && (int)(p & 1) != parity)
		fail(e, "external port %u lost the inside port's parity", p);
}

static void v0_well_known(struct env *e)
{
	port_class_parity(e, V0, true, -1);
}

static void v1_high_odd(struct env *e)
{
	port_class_parity(e, V1, false, 1);
}

static void v2_high_even(struct env *e)
{
	port_class_parity(e, V2, false, 0);
}


static void bind_plant(struct env *e, __u8 proto, __u32 in_addr,
		       __u16 in_port, __u16 ext_port, __u16 flags, __u32 state)
{
	int fd = bpf_map__fd(e->skel->maps.binds);
	struct bind_key out = { .addr = htonl(in_addr), .port = htons(in_port),
				.proto = proto, .dir = DIR_OUT };
	struct bind_key in = { .addr = htonl(EXT), .port = htons(ext_port),
			       .proto = proto, .dir = DIR_IN };
	struct bind_val vo = { .addr = htonl(EXT), .port = htons(ext_port),
			       .flags = flags, .state = state,
			       .last_used_ns = now_coarse_ns() };
	struct bind_val vi = { .addr = htonl(in_addr), .port = htons(in_port),
			       .flags = flags, .state = state,
			       .last_used_ns = now_coarse_ns() };

	if (bpf_map_update_elem(fd, &out, &vo, BPF_ANY) ||
	    bpf_map_update_elem(fd, &in, &vi, BPF_ANY))
		fail(e, "planting a binding failed");
}

/* What the state of a binding half is (-1: none). */
static int bind_state_of(struct env *e, __u8 proto, __u8 dir, __u32 addr,
			 __u16 port)
{
	struct bind_key k = { .addr = htonl(addr), .port = htons(port),
			      .proto = proto, .dir = dir };
	struct bind_val v;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.binds), &k, &v))
		return -1;
	return v.state;
}

static void bind_state_is(struct env *e, __u8 dir, __u32 addr, __u16 port,
			  int want)
{
	int got = bind_state_of(e, P_UDP, dir, addr, port);

	if (got != want)
		fail(e, "binding %s %08x:%u: state %d, expected %d",
		     dir == DIR_OUT ? "out" : "in", addr, port, got, want);
}

static void bind_plant_state_out(struct env *e, __u32 addr, __u16 port,
				 __u32 state)
{
	int fd = bpf_map__fd(e->skel->maps.binds);
	struct bind_key k = { .addr = htonl(addr), .port = htons(port),
			      .proto = P_UDP, .dir = DIR_OUT };
	struct bind_val v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return fail(e, "no binding to change");
	v.state = state;
	bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
}

void plant_forward(struct env *e)
{
	__u32 word = FWD_PORT / 64;
	__u64 bits = 1ULL << (FWD_PORT % 64);

	bind_plant(e, P_UDP, IN2, FWD_PORT, FWD_PORT, BIND_STATIC, BIND_LIVE);
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.fwd_ports), &word,
				&bits, BPF_ANY))
		fail(e, "marking the forwarded port failed");
}

/* Another CPU made these and is storing their first flow. */
static void plant_new_6000(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6000, 61234, 0, BIND_NEW);
}

static void plant_gone_6001(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6001, 61235, 0, BIND_GONE);
}

static void plant_new_6002(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6002, 61236, 0, BIND_NEW);
}

/* ... and stored it: the outbound half is live, the inbound one not yet. */
static void plant_half_live_6003(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6003, 61237, 0, BIND_NEW);
	bind_plant_state_out(e, IN1, 6003, BIND_LIVE);
}

static void claimed_6000(struct env *e)
{
	bind_state_is(e, DIR_OUT, IN1, 6000, BIND_LIVE);
}

static void still_new_6002(struct env *e)
{
	bind_state_is(e, DIR_OUT, IN1, 6002, BIND_NEW);
	bind_state_is(e, DIR_IN, EXT, 61236, BIND_NEW);
}

static void in_live_6003(struct env *e)
{
	bind_state_is(e, DIR_IN, EXT, 61237, BIND_LIVE);
}

/* 9: port collisions and endpoint-independent mapping (range 1024-65535). */
static const struct step collisions[] = {
	{
		.name = "10.0.0.2:5000 keeps port 5000",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 5000, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.binds = { BIND(P_TCP, IN1, 5000, 5000) },
	}, {
		.name = "10.0.0.3:5000 to the same remote gets another port",
		.prog = WAN_OUT,
		.in = TCP(IN2, 5000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.binds = { BIND(P_TCP, IN1, 5000, 5000),
			   BIND(P_TCP, IN2, 5000, V0) },
		.after = v0_not_5000,
	}, {
		.name = "10.0.0.2:5000 to a second remote reuses 5000 (EIM)",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5000, REM2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 5000, REM2, 80, F_SYN),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 5000, REM2, 80, 5000, SEEN_SYN,
				    .ts = TS_SET),
			   FLOW_IN(P_TCP, REM2, 80, 5000, IN1, 5000, 0,
				   .ts = TS_ZERO) },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "reply to 5000 reaches 10.0.0.2",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 5000, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "reply to the other port reaches 10.0.0.3",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN2, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "second remote's reply to 5000 reaches 10.0.0.2",
		.prog = WAN_IN,
		.in = TCP(REM2, 80, EXT, 5000, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM2, 80, IN1, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	},
};

/* RFC 4787 REQ-3/4: a range of 1000-1200 has well-known ports and others.
 * The kept port goes first: a random port chosen before could be it. */
static const struct step port_class[] = {
	{
		.name = "an inside port in range and free is kept",
		.prog = WAN_OUT,
		.in = TCP(IN2, 1100, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 1100, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "a well-known inside port gets a well-known port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 80, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v0_well_known,
	}, {
		.name = "an odd inside port gets an odd port of 1024 and up",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v1_high_odd,
	}, {
		.name = "an even inside port gets an even port of 1024 and up",
		.prog = WAN_OUT,
		.in = TCP(IN2, 6000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v2_high_even,
	},
};

/* 10: a two-port range and three inside endpoints. */
static const struct step exhaustion[] = {
	{
		.name = "first endpoint gets a port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "second endpoint gets the other port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v0_not_v1,
	}, {
		.name = "third endpoint is dropped, no half pair left",
		.prog = WAN_OUT,
		.in = TCP(IN2, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_PORTS_EXHAUSTED, 1 } },
		.flows = { NO_FLOW_OUT(P_TCP, IN2, 40000, REM, 80) },
		.binds = { NO_BIND(P_TCP, IN2, 40000) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "existing endpoint to a new remote still works",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM2, 80, F_SYN),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "udp has its own port space",
		.prog = WAN_OUT,
		.in = UDP(IN2, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V2, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(8), .nbinds = COUNT(6),
	},
};

/* 14: the data plane stamps last_seen_ns; the controller expires. */
static const struct step refresh[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "outbound packet refreshes an aged out half",
		.prog = WAN_OUT,
		.before = age_all_flows,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK),
		.cnt = { OUT_XLATED },
		.after = out_refreshed,
	}, {
		.name = "inbound packet refreshes an aged in half",
		.prog = WAN_IN,
		.before = age_all_flows,
		.in = TCP(REM, 80, EXT, V0, F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK),
		.cnt = { IN_XLATED },
		.after = in_refreshed,
	}, {
		.name = "filtered packet refreshes nothing",
		.prog = WAN_IN,
		.before = age_all_flows,
		.in = TCP(REM2, 80, EXT, V0, F_ACK),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 } },
		.after = none_refreshed,
	},
};

/*
 * A full flows table (--max-flows 2: four entries).  A packet whose flow
 * cannot be stored leaves no binding behind, or every new endpoint would
 * hold an external port until the controller's walk; bindings it did not
 * make (earlier flows', forwards) stay.
 */
static const struct step table_full[] = {
	{
		.name = "first flow",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "second flow fills the table",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5001, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new udp endpoint: dropped, its binding gone with it",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5002, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_UDP, IN1, 5002) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "another one: still no binding left",
		.prog = WAN_OUT,
		.in = UDP(IN2, 5003, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_UDP, IN2, 5003) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new tcp endpoint: the same",
		.prog = WAN_OUT,
		.in = TCP(IN2, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_TCP, IN2, 40000) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "existing endpoint, new remote: its binding stays",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM2, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN1, 5000, V0) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "a forward's target going out: the forward stays",
		.prog = WAN_OUT,
		.before = plant_forward,
		.in = UDP(IN2, FWD_PORT, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN2, FWD_PORT, FWD_PORT) },
		.nflows = COUNT(4), .nbinds = COUNT(6),
	}, {
		.name = "a remote opening the forward: the forward stays",
		.prog = WAN_IN,
		.in = UDP(REM, 1234, EXT, FWD_PORT),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN2, FWD_PORT, FWD_PORT) },
		.nflows = COUNT(4), .nbinds = COUNT(6),
	},
};

/* The same in the LAN's XDP (--lan-new), which leaves the drop to the
 * slow path but must not leave the binding. */
static const struct step table_full_xdp[] = {
	{
		.name = "first flow",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5000, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V0, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "second flow fills the table",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5001, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V1, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new endpoint: passed to the slow path, no binding left",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5002, REM, 53),
		.verdict = XDP_PASS,
		.same = true,
		.binds = { NO_BIND(P_UDP, IN1, 5002) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

/*
 * Bindings another CPU made and is still storing the first flow of
 * (BIND_NEW): a flow of this endpoint claims them, so that a rollback
 * cannot take them; inbound, they are no mapping until live.  Cone
 * filtering, so that an inbound packet may open a flow.
 */
static const struct step bind_claim[] = {
	{
		.name = "outbound on a new binding: claimed and used",
		.prog = WAN_OUT,
		.before = plant_new_6000,
		.in = UDP(IN1, 6000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 61234, REM, 53),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.after = claimed_6000,
	}, {
		.name = "outbound on a binding being rolled back: dropped",
		.prog = WAN_OUT,
		.before = plant_gone_6001,
		.in = UDP(IN1, 6001, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
	}, {
		.name = "inbound to a new binding: no mapping yet",
		.prog = WAN_IN,
		.before = plant_new_6002,
		.in = UDP(REM, 53, EXT, 61236),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.after = still_new_6002,
	}, {
		.name = "inbound once the outbound half is live: opens",
		.prog = WAN_IN,
		.before = plant_half_live_6003,
		.in = UDP(REM, 53, EXT, 61237),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 6003),
		.cnt = { IN_XLATED, { CNT_NEW_FLOWS, 1 } },
		.after = in_live_6003,
	},
};

static const struct group groups[] = {
	{ .name = "collisions", .port_lo = 1024, .port_hi = 65535,
	  STEPS(collisions) },
	{ .name = "exhaustion", .port_lo = 61000, .port_hi = 61001,
	  STEPS(exhaustion) },
	{ .name = "port-class", .port_lo = 1000, .port_hi = 1200,
	  STEPS(port_class) },
	{ .name = "refresh", STEPS(refresh) },
	{ .name = "table-full", .max_flows = 4, STEPS(table_full) },
	{ .name = "table-full-xdp", .max_flows = 4, .needs_net = true,
	  .wan_ifindex = true, .lan_new = true, STEPS(table_full_xdp) },
	{ .name = "bind-claim", .cone = true, STEPS(bind_claim) },
};

FIXTURE(state, groups);
