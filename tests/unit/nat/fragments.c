// SPDX-License-Identifier: GPL-2.0
/*
 * IP fragments: the first one translated and remembered, the later ones
 * following it.
 */
#include "nat_test.h"

/* 13: fragments (later ones carry no ports). */
static const struct step fragments[] = {
	{
		/* Its "UDP header" is only payload here: a zero checksum
		 * keeps the builder from writing one that depends on the
		 * addresses, so only saddr and the IP checksum may change. */
		.name = "later fragment out gets the external source, no state",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53, .frag = 185, .udp_nocsum = true),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 40000, REM, 53, .frag = 185, .udp_nocsum = true),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "later fragment in before its first fragment is held",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61000, .frag = 185, .udp_nocsum = true),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { CNT_FRAG_HELD, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "udp out opens a flow",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		/* A 4000-byte datagram's first fragment: udp.len says 4008,
		 * the fragment holds 1480 bytes of it.  Its ports are all
		 * there (RFC 4787 REQ-14) and its checksum covers the whole
		 * datagram, which the incremental update does not mind. */
		.name = "first fragment of a big datagram out is translated",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53, .frag = 0x2000, .payload = 1472,
			  .udp_len = 4008),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53, .frag = 0x2000, .payload = 1472,
			   .udp_len = 4008),
		.cnt = { OUT_XLATED },
	}, {
		.name = "first fragment of a big datagram in is translated",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0, .frag = 0x2000, .payload = 1472,
			  .udp_len = 4008),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000, .frag = 0x2000, .payload = 1472,
			   .udp_len = 4008),
		.cnt = { IN_XLATED },
	}, {
		.name = "later fragment in follows its first fragment",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0, .frag = 185, .udp_nocsum = true),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, V0, .frag = 185, .udp_nocsum = true),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
	},
};

static const struct group groups[] = {
	{ .name = "fragments", STEPS(fragments) },
};

FIXTURE(fragments, groups);
