// SPDX-License-Identifier: GPL-2.0
/*
 * The tc fast paths: established flows' skbs (partial checksums, GSO
 * super-packets) translated in the inside interfaces' tc program and
 * redirected to the WAN, and their replies redirected inside from the
 * WAN's tc program.
 */
#include "nat_test.h"

/*
 * The outbound fast path for skbs in masq_lan_hairpin (tc ingress on
 * lan0): an established flow's packet that routes out of wan0 is
 * translated, TTL-1, and redirected (bpf_redirect_neigh() writes the MACs
 * later, so they stay); a GSO super-packet whole, when its segments fit
 * the route MTU.  A partial checksum moves by the address change only:
 * BPF_PROG_TEST_RUN's skbs are CHECKSUM_NONE, so the expected field is
 * the one expect_partial_as_none() derives.  Whatever the stack or the
 * slow path must see goes on untouched (TC_ACT_UNSPEC), counting nothing.
 */
#define TC_FAST		OUT_XLATED, { CNT_LAN_TC_FASTPATH, 1 }

static const struct step lan_tc_fast[] = {
	{
		.name = "syn without a flow: left to the slow path",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.flows = { NO_FLOW_OUT(P_TCP, IN1, 40000, REM, 80) },
		.nflows = COUNT(0),
	}, {
		.name = "the slow path opens it",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "ack: translated, ttl-1, redirected, flow aged",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .ttl = 63),
		.cnt = { TC_FAST },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK, .ts = TS_SET) },
	}, {
		.name = "gso super-packet, partial checksum: translated whole",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 2896,
			  .l4_partial = true),
		.gso_size = 1448,
		.partial_as_none = true,
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 2896, .ttl = 63),
		.cnt = { TC_FAST },
	}, {
		.name = "the same length without gso: longer than the mtu, to the stack",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 2896),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "fin: translated, the flow sees it",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_FIN | F_ACK),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_FIN | F_ACK, .ttl = 63),
		.cnt = { TC_FAST },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK | SEEN_FIN) },
	}, {
		.name = "ttl 1: to the stack (time exceeded is its)",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .ttl = 1),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "ip options: to the stack",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .ip_opts = 4),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "a first fragment: to the stack",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .frag = 0x2000),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "a flow to the small-mtu remote",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM3, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM3, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "gso segments longer than its route mtu: to the stack",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40001, REM3, 80, F_ACK, .payload = 2896,
			  .l4_partial = true),
		.gso_size = 1448,
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "gso segments that fit it: redirected",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40001, REM3, 80, F_ACK, .payload = 2720,
			  .l4_partial = true),
		.gso_size = 1360,
		.partial_as_none = true,
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V1, REM3, 80, F_ACK, .payload = 2720, .ttl = 63),
		.cnt = { TC_FAST },
	}, {
		.name = "an ftp control connection opens",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM, 21, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 21, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "its segments: to the slow path, where the alg is",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40002, REM, 21, F_ACK, .payload = 8),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "a flow to an inside host (as the slow path would make it)",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40003, IN2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V3, IN2, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "routed into the lan, not out of the wan: to the stack",
		.prog = HAIRPIN,
		.in = TCP(IN1, 40003, IN2, 80, F_ACK),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	},
};

/* --lan-new: the first packet of a connection that leaves by the WAN
 * opens its flow here too; one that does not, or a segment that may not
 * open one, is the slow path's. */
static const struct step lan_tc_new[] = {
	{
		.name = "syn: flow opened, translated, redirected",
		.prog = HAIRPIN,
		.in = TCP(IN1, 41000, REM, 80, F_SYN),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ttl = 63),
		.cnt = { OUT_NEW, { CNT_LAN_TC_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 41000, REM, 80, V0, SEEN_SYN) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "an ack without a flow: to the slow path, no flow",
		.prog = HAIRPIN,
		.in = TCP(IN1, 41001, REM, 80, F_ACK),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "a syn into the lan: no flow",
		.prog = HAIRPIN,
		.in = TCP(IN1, 41002, IN2, 80, F_SYN),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "udp with a partial checksum: opened, translated",
		.prog = HAIRPIN,
		.in = UDP(IN1, 5353, REM, 53, .payload = 100, .l4_partial = true),
		.partial_as_none = true,
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(EXT, V1, REM, 53, .payload = 100, .ttl = 63),
		.cnt = { OUT_NEW, { CNT_LAN_TC_FASTPATH, 1 } },
	}, {
		.name = "to the external address: the hairpin's, not ours",
		.prog = HAIRPIN,
		.in = UDP(IN2, 5000, EXT, V1),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 }, { CNT_NEW_FLOWS, 1 },
			 { CNT_NEW_BINDINGS, 1 } },
	},
};

/*
 * The way back (masq_wan_in_tc on wan0, after the XDP program translated
 * a reply): an established flow's reply routed into lan0 is aged and
 * redirected there, GSO whole; what is not established, or the stack's,
 * goes on to the rest of the program, which leaves it to the stack
 * (TC_ACT_OK, untouched).
 */
#define WAN_TC_FAST	{ CNT_WAN_TC_FASTPATH, 1 }

static const struct step wan_tc_fast[] = {
	{
		.name = "the slow path opens a flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "xdp translates the reply",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "tc: ttl-1, redirected inside",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .ttl = 63),
		.cnt = { WAN_TC_FAST },
	}, {
		.name = "a gro super-packet: whole",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 2896),
		.gso_size = 1448,
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 2896, .ttl = 63),
		.cnt = { WAN_TC_FAST },
	}, {
		.name = "the same length without gso: to the stack",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 2896),
		.verdict = TC_ACT_OK,
		.same = true,
	}, {
		.name = "ttl 1: to the stack",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40000, F_ACK, .ttl = 1),
		.verdict = TC_ACT_OK,
		.same = true,
	}, {
		.name = "no flow of the inside host: to the stack",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40001, F_ACK),
		.verdict = TC_ACT_OK,
		.same = true,
	}, {
		.name = "an ftp server's reply: to the stack",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 21, IN1, 40000, F_ACK),
		.verdict = TC_ACT_OK,
		.same = true,
	}, {
		.name = "a remote opens a forward: xdp translates",
		.prog = WAN_IN,
		.before = plant_forward,
		.in = UDP(REM, 1234, EXT, FWD_PORT),
		.verdict = XDP_PASS,
		.out = UDP(REM, 1234, IN2, FWD_PORT),
		.cnt = { IN_XLATED, { CNT_NEW_FLOWS, 1 } },
	}, {
		.name = "not established (nothing from inside yet): to the stack",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 1234, IN2, FWD_PORT),
		.verdict = TC_ACT_OK,
		.same = true,
	}, {
		.name = "the inside host answers",
		.prog = WAN_OUT,
		.in = UDP(IN2, FWD_PORT, REM, 1234),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, FWD_PORT, REM, 1234),
		.cnt = { OUT_XLATED },
	}, {
		.name = "established: redirected",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 1234, IN2, FWD_PORT),
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(REM, 1234, IN2, FWD_PORT, .ttl = 63),
		.cnt = { WAN_TC_FAST },
	},
};

static const struct group groups[] = {
	{ .name = "lan-tc-fast", .needs_net = true, .wan_ifindex = true,
	  STEPS(lan_tc_fast) },
	{ .name = "lan-tc-new", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, STEPS(lan_tc_new) },
	{ .name = "wan-tc-fast", .needs_net = true, .wan_ifindex = true,
	  STEPS(wan_tc_fast) },
};

FIXTURE(tc_fast, groups);
