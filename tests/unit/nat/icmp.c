// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP echo through the gateway: the identifier stands in for the port.
 */
#include "nat_test.h"

/* 6: ICMP echo; the identifier is the port. */
static const struct step icmp[] = {
	{
		.name = "echo request out translates the id",
		.prog = WAN_OUT,
		.in = ECHO(IN1, REM, 0x1234),
		.verdict = TC_ACT_OK,
		.out = ECHO(EXT, REM, V0),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_ICMP, IN1, 0x1234, REM, 0, V0, 0),
			   FLOW_IN(P_ICMP, REM, 0, V0, IN1, 0x1234, 0) },
		.binds = { BIND(P_ICMP, IN1, 0x1234, V0) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "echo reply in restores the id",
		.prog = WAN_IN,
		.in = ECHO_REPLY(REM, EXT, V0),
		.verdict = XDP_PASS,
		.out = ECHO_REPLY(REM, IN1, 0x1234),
		.cnt = { IN_XLATED },
	}, {
		.name = "echo request in to ext is the host's",
		.prog = WAN_IN,
		.in = ECHO(REM, EXT, V0),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(2),
	}, {
		.name = "echo reply in with an id outside the range is the host's",
		.prog = WAN_IN,
		.in = ECHO_REPLY(REM, EXT, 0x1234),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(2),
	}, {
		.name = "echo reply to an unbound id in the range is the gateway's own",
		.prog = WAN_IN,
		.in = ECHO_REPLY(REM2, EXT, 65000),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(2),
	}, {
		.name = "echo reply from another remote to the mapped id is filtered",
		.prog = WAN_IN,
		.in = ECHO_REPLY(REM2, EXT, V0),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 } },
		.nflows = COUNT(2),
	}, {
		.name = "timestamp request out is unsupported",
		.prog = WAN_OUT,
		.in = ICMP(IN1, REM, ICMP_T_TIMESTAMP, 7),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_UNSUPPORTED_PROTO, 1 } },
		.nflows = COUNT(2),
	}, {
		.name = "destination unreachable out without the offending packet is malformed",
		.prog = WAN_OUT,
		.in = ICMP(IN1, REM, ICMP_T_UNREACH, 0),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_MALFORMED_L4, 1 } },
		.nflows = COUNT(2),
	}, {
		.name = "other protocol (GRE) out is unsupported",
		.prog = WAN_OUT,
		.in = { .proto = 47, .saddr = IN1, .daddr = REM, .payload = 8 },
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_UNSUPPORTED_PROTO, 1 } },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	},
};

static const struct group groups[] = {
	{ .name = "icmp", STEPS(icmp) },
};

FIXTURE(icmp, groups);
