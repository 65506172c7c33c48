// SPDX-License-Identifier: GPL-2.0
/*
 * The LAN fast path (masq_lan_fast, masq_lan_open with --lan-new):
 * redirect to the WAN from XDP, its next-hop cache, --internal, traffic
 * for the gateway itself.
 */
#include "nat_test.h"

#define FAST_KEY	flow_key_of(P_TCP, DIR_OUT, IN1, 40000, REM, 80)

static bool fast_flow(struct env *e, struct flow_val *v)
{
	struct flow_key k = FAST_KEY;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flows), &k, v)) {
		fail(e, "the fast path's flow is missing");
		return false;
	}
	return true;
}

static void fast_flow_put(struct env *e, const struct flow_val *v)
{
	struct flow_key k = FAST_KEY;

	bpf_map_update_elem(bpf_map__fd(e->skel->maps.flows), &k, v, BPF_EXIST);
}

/* What the FIB says for REM, and the IP length it was checked for. */
static void nh_is(struct env *e, __u16 len_ok, __u16 gen)
{
	struct flow_val v;

	if (!fast_flow(e, &v))
		return;
	if (memcmp(v.nh.dmac, mac_wan_nexthop, 6) ||
	    memcmp(v.nh.smac, mac_wan_self, 6) ||
	    v.nh.ifindex != if_nametoindex("wan0"))
		fail(e, "next hop %02x..%02x/%02x..%02x via %u, expected the FIB's",
		     v.nh.dmac[0], v.nh.dmac[5], v.nh.smac[0], v.nh.smac[5],
		     v.nh.ifindex);
	if (v.nh.len_ok != len_ok || v.nh.gen != gen)
		fail(e, "next hop len_ok %u gen %u, expected %u and %u",
		     v.nh.len_ok, v.nh.gen, len_ok, gen);
}

static void nh_after_syn_ack(struct env *e)
{
	nh_is(e, 20 + 20 + 64, 0);
}

static void nh_after_long(struct env *e)
{
	nh_is(e, 20 + 20 + 600, 0);
}

static void nh_after_gen(struct env *e)
{
	nh_is(e, 20 + 20 + 64, 1);
}

/* The kernel's jiffies (low 32 bits, as nh.stamp keeps them), from a
 * two-instruction program: userspace has no other way to read them. */
static __u32 jiffies_now(struct env *e)
{
	static int fd = -1;
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_jiffies64 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	__u8 frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = sizeof(frame));

	if (fd < 0)
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "jiffies", "GPL", insns, 2,
				   NULL);
	if (fd < 0 || bpf_prog_test_run_opts(fd, &o)) {
		fail(e, "cannot read jiffies: %s", strerror(errno));
		return 0;
	}
	return o.retval;
}

/*
 * A destination MAC the FIB would never give, cached just now: a packet
 * that carries it was sent from the cache, without a lookup.  `age`
 * jiffies older makes it one the program must not trust.
 */
static void nh_plant_aged(struct env *e, __u32 age)
{
	struct flow_val v;

	if (!fast_flow(e, &v))
		return;
	memcpy(v.nh.dmac, mac_planted, 6);
	v.nh.stamp = jiffies_now(e) - age;
	fast_flow_put(e, &v);
}

static void nh_plant(struct env *e)
{
	nh_plant_aged(e, 0);
}

static void nh_plant_old(struct env *e)
{
	nh_plant_aged(e, NH_MAX_AGE);
}

/* What the controller does on a route, neighbour or link change. */
static void nh_plant_and_bump(struct env *e)
{
	struct nat_state st;
	__u32 zero = 0;
	int fd = bpf_map__fd(e->skel->maps.state);

	nh_plant(e);
	if (bpf_map_lookup_elem(fd, &zero, &st))
		return;
	st.route_gen++;
	bpf_map_update_elem(fd, &zero, &st, BPF_EXIST);
}

/* The LAN fast path with --internal 10.0.0.0/24: a flow's packets are
 * translated without the prefix trie, which only judges new flows. */
static const struct step lan_fast_internal[] = {
	{
		.name = "a source outside the prefixes passes, creates nothing",
		.prog = LAN_FAST,
		.in = TCP(OUTSIDER, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "slow path creates the flow of an inside source",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "its next packet: translated and redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "the outside source still passes untouched",
		.prog = LAN_FAST,
		.in = TCP(OUTSIDER, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(2),
	},
};

/* The LAN fast path (wan_ifindex = wan0, route to REM via wan0). */
static const struct step lan_fast[] = {
	{
		.name = "no flow: passes untouched, creates nothing",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "slow path creates the flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "established flow: translated, ttl-1, new macs, redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK) },
		.after = nh_after_syn_ack,
	}, {
		.name = "next packet: the cached next hop, no FIB lookup",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true, .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
	}, {
		.name = "a shorter packet: the cached next hop",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .ttl = 63, .wan_macs = true,
			   .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
	}, {
		.name = "a FIN: recorded for the expiry, the cached next hop",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK | F_FIN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK | F_FIN, .ttl = 63,
			   .wan_macs = true, .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK | SEEN_FIN, .ts = TS_SET) },
		.before = nh_plant,
	}, {
		.name = "a longer packet than any before: the FIB checks its MTU",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 600),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 600, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
		.after = nh_after_long,
	}, {
		.name = "a next hop cached NH_MAX_AGE jiffies ago: the FIB again",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant_old,
		.after = nh_after_syn_ack,
	}, {
		.name = "after a route change (route_gen bumped): the FIB again",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant_and_bump,
		.after = nh_after_gen,
	}, {
		.name = "ttl 1 passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .ttl = 1),
		.verdict = XDP_PASS,
		.same = true,
	}, {
		/* What generic XDP sees of a GRO packet: the stack
		 * forwards (and segments) it. */
		.name = "longer than the route mtu: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 2896),
		.verdict = XDP_PASS,
		.same = true,
	}, {
		.name = "slow path creates a flow to an unrouted remote",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, UNROUTED, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, UNROUTED, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "no route to the WAN: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40001, UNROUTED, 80, F_ACK | F_FIN),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_OUT(P_TCP, IN1, 40001, UNROUTED, 80, V1,
				    SEEN_SYN) },
		.nflows = COUNT(4),
	},
};

/* --lan-new: the LAN's XDP opens connections itself; what it cannot
 * decide (ALG ports, a segment that may not open one) stays the slow
 * path's, untouched. */
static const struct step lan_new[] = {
	{
		.name = "syn: binding and flow made in XDP, redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "the reply finds it",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "udp from the same inside port: a binding of its own",
		.prog = LAN_FAST,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V1, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "an ack without a flow: the slow path's to judge",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40001, REM, 80, F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(4),
	}, {
		.name = "a new ftp control connection: the slow path's (ALG)",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40002, REM, 21, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(4),
	},
};

/* wan_ifindex unset: the fast path never redirects. */
static const struct step lan_fast_off[] = {
	{
		.name = "slow path creates the flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "routed remote but no WAN ifindex: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
	},
};

/*
 * --lan-new and traffic for the gateway itself (the LAN's own address,
 * the WAN's): delivered, never translated, so no flow and no binding; the
 * FIB is asked before a flow is opened.
 */
static const struct step lan_new_local[] = {
	{
		.name = "ping of the lan address opens nothing",
		.prog = LAN_FAST,
		.in = ECHO(IN1, IP4(10, 0, 0, 1), 0x1234),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "syn to a port of the lan address opens nothing",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, IP4(10, 0, 0, 1), 8001, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "ping of the wan address opens nothing",
		.prog = LAN_FAST,
		.in = ECHO(IN1, IP4(203, 0, 113, 1), 0x1235),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "udp to the wan address opens nothing",
		.prog = LAN_FAST,
		.in = UDP(IN1, 40001, IP4(203, 0, 113, 1), 53),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "no route: nothing opened, the stack answers",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40002, UNROUTED, 80, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "a syn out of the wan still opens its flow in XDP",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40003, REM, 80, F_SYN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	},
};

static const struct group groups[] = {
	{ .name = "lan-fast", .needs_net = true, .wan_ifindex = true,
	  STEPS(lan_fast) },
	{ .name = "lan-fast-internal", .internal = true, .needs_net = true,
	  .wan_ifindex = true, STEPS(lan_fast_internal) },
	{ .name = "lan-fast-off", .needs_net = true, STEPS(lan_fast_off) },
	{ .name = "lan-new", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, STEPS(lan_new) },
	{ .name = "lan-new-local", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, STEPS(lan_new_local) },
};

FIXTURE(lan_fast, groups);
