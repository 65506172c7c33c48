// SPDX-License-Identifier: GPL-2.0
/*
 * --mss-clamp: the MSS option of SYN segments crossing the WAN lowered.
 */
#include "nat_test.h"

/*
 * --mss-clamp: SYN and SYN-ACK segments crossing the WAN (out at tc, in at
 * XDP, or at tc on a layer-3 WAN) leave with their MSS option lowered and
 * the checksum pkt.h computes from scratch; nothing else changes.
 */
#define MSS_CLAMPED	{ CNT_MSS_CLAMPED, 1 }
/* SACK-permitted, timestamps, NOP, window scale: the MSS after them all. */
#define OPTS_BUSY	.opts_before = { 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, \
					 1, 3, 3, 7 }, .opts_before_len = 16
/* One NOP: the MSS value then straddles two checksum words. */
#define OPTS_ODD	.opts_before = { 1 }, .opts_before_len = 1

static const struct step mss_fixed[] = {
	{
		.name = "syn out: mss 1460 lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: mss 1460 lowered to 1360",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "an ack carrying an mss option is left alone",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .mss = 1460),
		.cnt = { OUT_XLATED },
	}, {
		.name = "same on the way in",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .mss = 1460),
		.cnt = { IN_XLATED },
	}, {
		.name = "syn out: a smaller mss (1200) is not raised",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 1200),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1200),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out: the mss equal to the clamp stays",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM, 80, F_SYN, .mss = 1360),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out without an mss option gets none",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40003, REM, 80, F_SYN, .opts_before = { 4, 2 },
			  .opts_before_len = 2),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V3, REM, 80, F_SYN, .opts_before = { 4, 2 },
			   .opts_before_len = 2),
		.cnt = { OUT_NEW },
	},
};

/* Where the option is: after others, at an odd offset. */
static const struct step mss_where[] = {
	{
		.name = "syn out: mss after sack-perm, timestamps, wscale",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460, OPTS_BUSY),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360, OPTS_BUSY),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: the same",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, OPTS_BUSY),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360,
			   OPTS_BUSY),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn out: mss at an odd offset",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 0xffff, OPTS_ODD),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1360, OPTS_ODD),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: mss at an odd offset",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V1, F_SYN | F_ACK, .mss = 1461, OPTS_ODD),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40001, F_SYN | F_ACK, .mss = 1360,
			   OPTS_ODD),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "an option list cut short (EOL) ends the walk",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM, 80, F_SYN, .mss = 1460,
			  .opts_before = { 0 }, .opts_before_len = 1),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN, .mss = 1460,
			   .opts_before = { 0 }, .opts_before_len = 1),
		.cnt = { OUT_NEW },
	},
};

/* Off (the default): the same segments as mss_fixed keep their MSS. */
static const struct step mss_off[] = {
	{
		.name = "syn out keeps mss 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn-ack in keeps mss 1460",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1460),
		.cnt = { IN_XLATED },
	},
};

/*
 * auto: the WAN route's MTU - 40, per remote.  testnet_add_small_mtu()
 * gives REM3 a route of locked MTU 1400; REM's is wan0's 1500; UNROUTED
 * has none out of the WAN, and keeps its MSS.
 */
static const struct step mss_auto[] = {
	{
		.name = "syn out to a 1500-byte route keeps mss 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out to a 1500-byte route: 8960 lowered to 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 8960),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn out to a 1400-byte route: 1460 lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM3, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM3, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in from behind that route: lowered to 1360",
		.prog = WAN_IN,
		.in = TCP(REM3, 80, EXT, V2, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM3, 80, IN1, 40002, F_SYN | F_ACK, .mss = 1360),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn out with no route out of the wan keeps its mss",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40003, UNROUTED, 80, F_SYN, .mss = 8960),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V3, UNROUTED, 80, F_SYN, .mss = 8960),
		.cnt = { OUT_NEW },
	},
};

/* A layer-3 WAN: tc does the inbound side too (masq_wan_in_tc). */
static const struct step mss_l3[] = {
	{
		.name = "syn out: lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360, L3),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in at tc: lowered to 1360",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360, L3),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn-ack in at tc, mss at an odd offset",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, OPTS_ODD, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360,
			   OPTS_ODD, L3),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "ack in at tc is left alone",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .mss = 1460, L3),
		.cnt = { IN_XLATED },
	},
};

/* --lan-new: a SYN takes the stack (and tc egress, where it is clamped)
 * instead of the XDP redirect, which would skip tc. */
static const struct step mss_lan_new[] = {
	{
		.name = "syn from the lan is left to the stack",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0),
	}, {
		.name = "which clamps it at tc egress",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "the rest of the connection takes the fast path",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
	},
};

static const struct group groups[] = {
	{ .name = "mss-clamp", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = 1360, STEPS(mss_fixed) },
	{ .name = "mss-clamp-where", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = 1360, STEPS(mss_where) },
	{ .name = "mss-clamp-off", .needs_net = true, .wan_ifindex = true,
	  STEPS(mss_off) },
	{ .name = "mss-clamp-auto", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = MSS_CLAMP_AUTO, STEPS(mss_auto) },
	{ .name = "mss-clamp-l3", .needs_net = true, .needs_l3 = true,
	  .wan_ifindex = true, .wan_l3 = true, .mss_clamp = 1360,
	  STEPS(mss_l3) },
	{ .name = "mss-clamp-lan-new", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, .mss_clamp = 1360, STEPS(mss_lan_new) },
};

FIXTURE(mss, groups);
