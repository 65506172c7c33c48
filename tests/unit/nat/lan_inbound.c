// SPDX-License-Identifier: GPL-2.0
/*
 * --lan-inbound: replies redirected from the WAN straight into a --lan
 * interface.
 */
#include "nat_test.h"

static const struct step lan_inbound[] = {
	{
		.name = "slow path creates the flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "reply: translated, ttl-1, lan macs, redirected",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .wan_macs = true),
		.verdict = XDP_REDIRECT,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .ttl = 63),
		.cnt = { IN_FAST },
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK) },
	}, {
		.name = "a udp flow out",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5353, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "udp reply: translated and redirected",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V1, .payload = 300, .wan_macs = true),
		.verdict = XDP_REDIRECT,
		.out = UDP(REM, 53, IN1, 5353, .payload = 300, .ttl = 63),
		.cnt = { IN_FAST },
	}, {
		.name = "ip options: translated for the stack",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .ip_opts = 4),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .ip_opts = 4),
		.cnt = { IN_XLATED },
	}, {
		.name = "ttl 1: translated for the stack (time exceeded)",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .ttl = 1),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .ttl = 1),
		.cnt = { IN_XLATED },
	}, {
		.name = "longer than the lan mtu: translated for the stack",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .payload = 2896),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 2896),
		.cnt = { IN_XLATED },
	}, {
		.name = "inside host without a route on a --lan: for the stack",
		.prog = WAN_OUT,
		.in = UDP(UNROUTED_IN, 7000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V2, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "its reply is translated and passed",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V2),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, UNROUTED_IN, 7000),
		.cnt = { IN_XLATED },
	},
};

static const struct group groups[] = {
	{ .name = "lan-inbound", .needs_net = true, .wan_ifindex = true,
	  .lan_inbound = true, STEPS(lan_inbound) },
};

FIXTURE(lan_inbound, groups);
