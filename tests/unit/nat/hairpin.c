// SPDX-License-Identifier: GPL-2.0
/*
 * Hairpinning: an inside host reaching another through the gateway's
 * external address (masq_lan_hairpin, masq_hairpin_l3).
 */
#include "nat_test.h"

/*
 * Hairpinning (masq_lan_hairpin, cone filtering so that IN2 may open a
 * flow to IN1's mapping).  A super-packet longer than the LAN's MTU (GSO
 * from a local sender, GRO on the way in) is forwarded whole: the stack
 * segments it on the way out.  What cannot be forwarded is dropped under
 * its own reason.
 */
#define HP_NEW		{ CNT_HAIRPINNED, 1 }, { CNT_NEW_FLOWS, 2 }, \
			{ CNT_NEW_BINDINGS, 1 }
#define HP_NEW_DROP(r)	{ r, 1 }, { CNT_NEW_FLOWS, 2 }, { CNT_NEW_BINDINGS, 1 }
static const struct step hairpin[] = {
	{
		.name = "in1 maps a port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "in2 -> ext:mapped: to in1, from in2's mapping, ttl-1",
		.prog = HAIRPIN,
		.in = TCP(IN2, 40001, EXT, V0, F_SYN),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V1, IN1, 40000, F_SYN, .ttl = 63),
		.cnt = { HP_NEW },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "a gso super-packet longer than the mtu: forwarded whole",
		.prog = HAIRPIN,
		.in = TCP(IN2, 40001, EXT, V0, F_ACK, .payload = 2896),
		.gso_size = 1448,
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V1, IN1, 40000, F_ACK, .payload = 2896,
			   .ttl = 63),
		.cnt = { { CNT_HAIRPINNED, 1 } },
	}, {
		.name = "the same length without gso: too big, dropped as such",
		.prog = HAIRPIN,
		.in = TCP(IN2, 40001, EXT, V0, F_ACK, .payload = 2896),
		.verdict = TC_ACT_SHOT,
		.out = TCP(EXT, V1, IN1, 40000, F_ACK, .payload = 2896),
		.cnt = { { DROP_TOO_BIG, 1 } },
	}, {
		.name = "a full-size packet: forwarded",
		.prog = HAIRPIN,
		.in = TCP(IN2, 40001, EXT, V0, F_ACK, .payload = 1460),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V1, IN1, 40000, F_ACK, .payload = 1460,
			   .ttl = 63),
		.cnt = { { CNT_HAIRPINNED, 1 } },
	}, {
		.name = "ttl 1: dropped as expired",
		.prog = HAIRPIN,
		.in = TCP(IN2, 40001, EXT, V0, F_ACK, .ttl = 1),
		.verdict = TC_ACT_SHOT,
		.out = TCP(EXT, V1, IN1, 40000, F_ACK, .ttl = 1),
		.cnt = { { DROP_TTL_EXPIRED, 1 } },
	}, {
		.name = "an inside host without a route maps a port",
		.prog = WAN_OUT,
		.in = UDP(UNROUTED_IN, 7000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V2, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "hairpin to it: no route, dropped as such",
		.prog = HAIRPIN,
		.in = UDP(IN2, 5000, EXT, V2),
		.verdict = TC_ACT_SHOT,
		.out = UDP(EXT, V3, UNROUTED_IN, 7000),
		.cnt = { HP_NEW_DROP(DROP_NO_ROUTE) },
	},
};

/*
 * masq_hairpin_l3 on lantun, an inside VPN (10.8.0.0/24) without
 * Ethernet, on a gateway whose WAN has none either; cone filtering, so a
 * second inside host may open a flow to the first one's mapping.  These
 * steps check the verdict and the bytes handed to bpf_redirect_neigh():
 * the packet behind 14 bytes of room for a MAC header, without which
 * __bpf_redirect_neigh() (net/core/filter.c) drops an skb from a layer-3
 * ingress.  The test run never carries the redirect out; the lab's
 * l3wan_hairpin_* cases do.
 */
#define VPN1		IP4(10, 8, 0, 2)
#define VPN2		IP4(10, 8, 0, 3)

static const struct step hairpin_l3[] = {
	{
		.name = "vpn1 maps a port",
		.prog = WAN_OUT,
		.in = UDP(VPN1, 5000, REM, 53, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53, L3),
		.cnt = { OUT_NEW },
	}, {
		.name = "in1 (on lan0) maps a port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, L3),
		.cnt = { OUT_NEW },
	}, {
		.name = "vpn2 -> ext:mapped: to vpn1, from vpn2's mapping, ttl-1",
		.prog = HAIRPIN_L3,
		.in = UDP(VPN2, 6000, EXT, V0, L3),
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(EXT, V2, VPN1, 5000, .ttl = 63, .blank_eth = true),
		.cnt = { HP_NEW },
		.nflows = COUNT(8), .nbinds = COUNT(6),
	}, {
		.name = "vpn2 -> ext:mapped of a host on lan0",
		.prog = HAIRPIN_L3,
		.in = TCP(VPN2, 6001, EXT, V1, F_SYN, L3),
		.verdict = TC_ACT_REDIRECT,
		.out = TCP(EXT, V3, IN1, 40000, F_SYN, .ttl = 63,
			   .blank_eth = true),
		.cnt = { HP_NEW },
	}, {
		.name = "ttl 1: dropped as expired",
		.prog = HAIRPIN_L3,
		.in = UDP(VPN2, 6000, EXT, V0, .ttl = 1, L3),
		.verdict = TC_ACT_SHOT,
		.out = UDP(EXT, V2, VPN1, 5000, .ttl = 1, L3),
		.cnt = { { DROP_TTL_EXPIRED, 1 } },
	}, {
		.name = "to a remote: not ours, the next filter's",
		.prog = HAIRPIN_L3,
		.in = UDP(VPN2, 6000, REM, 53, L3),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
	}, {
		.name = "ipv6: not ours",
		.prog = HAIRPIN_L3,
		.in = IPV6_L3(60),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(12), .nbinds = COUNT(8),
	},
};

/*
 * UDP to the gateway's external address from inside: translated byte for
 * byte as if it had gone out and come back in, and what is not a NAT
 * mapping left to the filters behind (TC_ACT_UNSPEC), untouched.
 */
static const struct step hairpin_udp[] = {
	{
		.name = "in1 maps a udp port",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5353, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "in2 -> ext:mapped: to in1, from in2's own mapping",
		.prog = HAIRPIN,
		.in = UDP(IN2, 6000, EXT, V0),
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(EXT, V1, IN1, 5353, .ttl = 63),
		.cnt = { HP_NEW },
		.flows = { FLOW_OUT(P_UDP, IN2, 6000, EXT, V0, V1, SEEN_ANY),
			   FLOW_IN(P_UDP, EXT, V1, V0, IN1, 5353, SEEN_ANY) },
		.binds = { BIND(P_UDP, IN2, 6000, V1) },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "the next datagram takes the same flows",
		.prog = HAIRPIN,
		.in = UDP(IN2, 6000, EXT, V0, .payload = 100),
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(EXT, V1, IN1, 5353, .payload = 100, .ttl = 63),
		.cnt = { { CNT_HAIRPINNED, 1 } },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "a checksum that folds to zero is sent as 0xffff",
		.prog = HAIRPIN,
		.in = UDP(IN2, 6000, EXT, V0),
		.fold_zero = true,
		.verdict = TC_ACT_REDIRECT,
		.out = UDP(EXT, V1, IN1, 5353, .ttl = 63),
		.cnt = { { CNT_HAIRPINNED, 1 } },
	}, {
		.name = "ext at a port outside the nat range: not ours, untouched",
		.prog = HAIRPIN,
		.in = UDP(IN2, 6000, EXT, 22),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "echo to ext: not hairpinned, untouched",
		.prog = HAIRPIN,
		.in = ECHO(IN2, EXT, 7),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(6),
	}, {
		.name = "to another address: not ours, untouched",
		.prog = HAIRPIN,
		.in = UDP(IN2, 6000, REM, 53),
		.verdict = TC_ACT_UNSPEC,
		.same = true,
		.nflows = COUNT(6),
	},
};

static const struct group groups[] = {
	{ .name = "hairpin", .needs_net = true, .cone = true, STEPS(hairpin) },
	{ .name = "hairpin-udp", .needs_net = true, .cone = true,
	  STEPS(hairpin_udp) },
	{ .name = "hairpin-l3", .wan_l3 = true, .cone = true, .needs_net = true,
	  .needs_l3 = true, STEPS(hairpin_l3) },
};

FIXTURE(hairpin, groups);
