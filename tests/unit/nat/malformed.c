// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: truncated and malformed headers, IP options; each gets its
 * named drop reason or passes untouched.
 */
#include "nat_test.h"

/* 7: IP options shift the L4 header; they are carried untouched. */
static const struct step ip_options[] = {
	{
		.name = "tcp syn out, ihl 6",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .ip_opts = 4),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ip_opts = 4),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
	}, {
		.name = "tcp syn-ack in, ihl 6",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .ip_opts = 4),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .ip_opts = 4),
		.cnt = { IN_XLATED },
	}, {
		.name = "udp out, ihl 15",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40001, REM, 53, .ip_opts = 40),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53, .ip_opts = 40),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_UDP, IN1, 40001, REM, 53, V1, 0) },
	}, {
		.name = "udp in, ihl 15",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V1, .ip_opts = 40),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40001, .ip_opts = 40),
		.cnt = { IN_XLATED },
		.nflows = COUNT(4),
	},
};

static const struct step malformed[] = {
	/* BPF_PROG_TEST_RUN refuses skbs whose IPv4 header is cut short
	 * (EINVAL), so those cases exist for XDP only. */
	MALFORMED(WAN_OUT, "out: version 6 in an IPv4 frame",
		  SYN_OUT(.version = 6), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: ihl 4",
		  SYN_OUT(.ihl = 4), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: tot_len beyond the frame",
		  SYN_OUT(.tot_len = 200), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: tot_len shorter than ihl",
		  SYN_OUT(.tot_len = 16), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: tcp header cut at 10 bytes",
		  SYN_OUT(.tot_len = IP_LEN + 10, .trunc = ETH_LEN + IP_LEN + 10),
		  TC_ACT_SHOT, DROP_MALFORMED_L4),
	MALFORMED(WAN_OUT, "out: tcp doff 4",
		  SYN_OUT(.doff = 4), TC_ACT_SHOT, DROP_MALFORMED_L4),
	MALFORMED(WAN_OUT, "out: tcp doff beyond the packet",
		  SYN_OUT(.doff = 15), TC_ACT_SHOT, DROP_MALFORMED_L4),
	MALFORMED(WAN_OUT, "out: udp len beyond the ip payload",
		  UDP(IN1, 40000, REM, 53, .udp_len = 100), TC_ACT_SHOT,
		  DROP_MALFORMED_L4),
	MALFORMED(WAN_OUT, "out: udp len below the udp header",
		  UDP(IN1, 40000, REM, 53, .udp_len = 4), TC_ACT_SHOT,
		  DROP_MALFORMED_L4),
	MALFORMED(WAN_OUT, "out: icmp header cut at 4 bytes",
		  ECHO(IN1, REM, 1, .payload = 0, .tot_len = IP_LEN + 4,
		       .trunc = ETH_LEN + IP_LEN + 4),
		  TC_ACT_SHOT, DROP_MALFORMED_L4),
	IGNORED(WAN_OUT, "out: arp passes", ETHER(ETHERTYPE_ARP, 28), TC_ACT_OK),
	IGNORED(WAN_OUT, "out: ipv6 passes", ETHER(ETHERTYPE_IPV6, 60), TC_ACT_OK),

	MALFORMED(WAN_IN, "in: ethernet header only",
		  SYN_IN(.trunc = ETH_LEN), XDP_DROP, DROP_MALFORMED_IP),
	MALFORMED(WAN_IN, "in: ip header cut at 10 bytes",
		  SYN_IN(.trunc = ETH_LEN + 10), XDP_DROP, DROP_MALFORMED_IP),
	MALFORMED(WAN_IN, "in: ihl 4",
		  SYN_IN(.ihl = 4), XDP_DROP, DROP_MALFORMED_IP),
	MALFORMED(WAN_IN, "in: tot_len beyond the frame",
		  SYN_IN(.tot_len = 200), XDP_DROP, DROP_MALFORMED_IP),
	MALFORMED(WAN_IN, "in: tcp header cut at 10 bytes",
		  SYN_IN(.tot_len = IP_LEN + 10, .trunc = ETH_LEN + IP_LEN + 10),
		  XDP_DROP, DROP_MALFORMED_L4),
	MALFORMED(WAN_IN, "in: tcp doff 4",
		  SYN_IN(.doff = 4), XDP_DROP, DROP_MALFORMED_L4),
	MALFORMED(WAN_IN, "in: udp len beyond the ip payload",
		  UDP(REM, 53, EXT, 61000, .udp_len = 100), XDP_DROP,
		  DROP_MALFORMED_L4),
	IGNORED(WAN_IN, "in: arp passes", ETHER(ETHERTYPE_ARP, 28), XDP_PASS),
	IGNORED(WAN_IN, "in: ipv6 passes", ETHER(ETHERTYPE_IPV6, 60), XDP_PASS),

	/* The fast path leaves every judgement to the slow path. */
	IGNORED(LAN_FAST, "lan: ihl 4 passes untouched",
		SYN_OUT(.ihl = 4), XDP_PASS),
	IGNORED(LAN_FAST, "lan: tcp doff 4 passes untouched",
		SYN_OUT(.doff = 4), XDP_PASS),
	IGNORED(LAN_FAST, "lan: arp passes", ETHER(ETHERTYPE_ARP, 28), XDP_PASS),
};

static const struct group groups[] = {
	{ .name = "ip-options", STEPS(ip_options) },
	{ .name = "malformed", STEPS(malformed) },
};

FIXTURE(malformed, groups);
