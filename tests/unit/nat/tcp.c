// SPDX-License-Identifier: GPL-2.0
/*
 * TCP through the gateway: a connection's life (SYN to FIN and RST), its
 * opening from either side, simultaneous open.
 */
#include "nat_test.h"

/* 1-3: a TCP connection through its whole life. */
static const struct step tcp_life[] = {
	{
		.name = "syn out gets ext addr and a port in range",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN,
				    .ts = TS_SET),
			   FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000, 0,
				   .ts = TS_ZERO) },
		.binds = { BIND(P_TCP, IN1, 40000, V0) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "syn-ack in goes back to the inside endpoint",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK, .ts = TS_SET) },
		.nflows = COUNT(2),
	}, {
		.name = "ack with data out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK | F_PSH, .payload = 100),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK | F_PSH, .payload = 100),
		.cnt = { OUT_XLATED },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK) },
		.nflows = COUNT(2),
	}, {
		.name = "data in (odd length)",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK | F_PSH, .payload = 1001),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK | F_PSH, .payload = 1001),
		.cnt = { IN_XLATED },
	}, {
		.name = "fin out sets SEEN_FIN on the out half",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_FIN | F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_FIN | F_ACK),
		.cnt = { OUT_XLATED },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK | SEEN_FIN),
			   FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK) },
	}, {
		.name = "fin in sets SEEN_FIN on the in half",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_FIN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_FIN | F_ACK),
		.cnt = { IN_XLATED },
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK | SEEN_FIN) },
	}, {
		.name = "rst out sets SEEN_RST",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_RST),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_RST),
		.cnt = { OUT_XLATED },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK | SEEN_FIN | SEEN_RST) },
	}, {
		.name = "rst in sets SEEN_RST",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_RST | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_RST | F_ACK),
		.cnt = { IN_XLATED },
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK | SEEN_FIN | SEEN_RST) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	},
};

/* 4: only a SYN opens a TCP mapping (RFC 5382). */
static const struct step tcp_open[] = {
	{
		.name = "ack out without flow is dropped",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TCP_NOT_SYN, 1 } },
		.flows = { NO_FLOW_OUT(P_TCP, IN1, 40000, REM, 80) },
		.binds = { NO_BIND(P_TCP, IN1, 40000) },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "fin out without flow is dropped",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_FIN | F_ACK),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TCP_NOT_SYN, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "syn+rst out without flow is dropped",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN | F_RST),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TCP_NOT_SYN, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "unsolicited syn in to a NAT port with no binding is dropped silently",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 61000, F_SYN),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	},
};

/* RFC 5382 REQ-2: simultaneous open, both ends send a SYN. */
static const struct step simultaneous_open[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "the remote's own syn in is translated",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN),
		.cnt = { IN_XLATED },
	}, {
		.name = "syn-ack out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN | F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN | F_ACK),
		.cnt = { OUT_XLATED },
	}, {
		.name = "syn-ack in",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	},
};

static const struct group groups[] = {
	{ .name = "tcp-life", STEPS(tcp_life) },
	{ .name = "tcp-open", STEPS(tcp_open) },
	{ .name = "simultaneous-open", STEPS(simultaneous_open) },
};

FIXTURE(tcp, groups);
