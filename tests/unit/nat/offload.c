// SPDX-License-Identifier: GPL-2.0
/*
 * Segments with a partial checksum (a sender with TX offload): left to tc,
 * which can rewrite them.
 */
#include "nat_test.h"

/*
 * A partial checksum (a veth peer with TX offload) cannot be rewritten by
 * XDP; masq_wan_in_tc does it.  Its translation cannot be unit-tested:
 * BPF_PROG_TEST_RUN skbs are never CHECKSUM_PARTIAL.
 */
static const struct step csum_partial[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "tcp in with a partial checksum is left to tc",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .l4_partial = true),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000, 0,
				   .ts = TS_ZERO) },
	}, {
		.name = "udp in with a partial checksum is left to tc",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0, .l4_partial = true),
		.verdict = XDP_PASS,
		.same = true,
	}, {
		.name = "lan fast path leaves a partial checksum to tc",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .l4_partial = true),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
	},
};

static const struct group groups[] = {
	{ .name = "csum-partial", .needs_net = true, .wan_ifindex = true,
	  STEPS(csum_partial) },
};

FIXTURE(offload, groups);
