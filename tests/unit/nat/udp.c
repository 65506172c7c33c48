// SPDX-License-Identifier: GPL-2.0
/*
 * UDP through the gateway: translation both ways, checksums (including the
 * one that folds to zero), bindings.
 */
#include "nat_test.h"

/* 5: UDP, with and without checksum. */
static const struct step udp[] = {
	{
		.name = "out with checksum",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_UDP, IN1, 40000, REM, 53, V0, 0),
			   FLOW_IN(P_UDP, REM, 53, V0, IN1, 40000, 0) },
		.binds = { BIND(P_UDP, IN1, 40000, V0) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "reply in",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0, .payload = 301),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000, .payload = 301),
		.cnt = { IN_XLATED },
	}, {
		.name = "out with checksum 0 keeps 0",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53, .udp_nocsum = true),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53, .udp_nocsum = true),
		.cnt = { OUT_XLATED },
	}, {
		.name = "in with checksum 0 keeps 0",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0, .udp_nocsum = true),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000, .udp_nocsum = true),
		.cnt = { IN_XLATED },
	}, {
		/* 61500 is in range and free: kept, so the output is known
		 * before the run and its checksum can be steered. */
		.name = "out whose new checksum computes to 0 sends 0xffff",
		.prog = WAN_OUT,
		.in = UDP(IN2, 61500, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 61500, REM, 53),
		.fold_zero = true,
		.cnt = { OUT_NEW },
		.binds = { BIND(P_UDP, IN2, 61500, 61500) },
	}, {
		.name = "in whose new checksum computes to 0 sends 0xffff",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61500),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN2, 61500),
		.fold_zero = true,
		.cnt = { IN_XLATED },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

static const struct group groups[] = {
	{ .name = "udp", STEPS(udp) },
};

FIXTURE(udp, groups);
