// SPDX-License-Identifier: GPL-2.0
/*
 * What may come in: address-and-port-dependent and endpoint-independent
 * filtering, the gateway's own traffic, --internal, the WAN guard, replies
 * conntrack owns.
 */
#include "nat_test.h"

/*
 * Connections of the kernel's own conntrack toward REM from EXT:62000
 * (UDP, to port 53) and EXT:62001 (TCP, to port 80, SYN sent), whose
 * sockets are closed again: what netfilter's masquerade leaves behind for
 * a container's connection.  Their entries stay (UDP 30 s, SYN_SENT 120 s).
 */
static void ct_plant(struct env *e)
{
	static const char script[] =
		"set -e; exec >/dev/null 2>&1;"
		"ip addr add 192.0.2.1/32 dev wan0;"
		"nft -f - <<'EOF'\n"
		"table ip bmtest_ct {\n"
		"	chain out { type filter hook output priority 0; ct state new counter; }\n"
		"}\n"
		"EOF\n";
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(EXT) };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(REM) };
	int fd, one = 1;

	if (system(script)) {
		fail(e, "cannot add 192.0.2.1 and an nftables ct rule");
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	src.sin_port = htons(62000);
	dst.sin_port = htons(53);
	if (fd < 0 || bind(fd, (void *)&src, sizeof(src)) ||
	    sendto(fd, "x", 1, 0, (void *)&dst, sizeof(dst)) != 1)
		fail(e, "UDP from 192.0.2.1:62000: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	src.sin_port = htons(62001);
	dst.sin_port = htons(80);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (void *)&src, sizeof(src)) ||
	    (connect(fd, (void *)&dst, sizeof(dst)) && errno != EINPROGRESS))
		fail(e, "TCP from 192.0.2.1:62001: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void ct_unplant(struct env *e)
{
	(void)e;
	if (system("nft delete table ip bmtest_ct >/dev/null 2>&1;"
		   "ip addr del 192.0.2.1/32 dev wan0 >/dev/null 2>&1"))
		printf("# could not remove the conntrack group's table\n");
}

static void v0_not_62000(struct env *e)
{
	ports_differ(e, V0, 62000);
	ct_unplant(e);
}

/* 11: address-and-port-dependent filtering (default). */
static const struct step filter_strict[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn from another remote to the mapped port is dropped",
		.prog = WAN_IN,
		.in = TCP(REM2, 80, EXT, V0, F_SYN),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 } },
		.nflows = COUNT(2),
	}, {
		.name = "same remote, other port, is dropped too",
		.prog = WAN_IN,
		.in = TCP(REM, 81, EXT, V0, F_ACK),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 } },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	},
};

/* 11: endpoint-independent ("cone") filtering. */
static const struct step filter_cone[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn from a new remote reaches the inside endpoint",
		.prog = WAN_IN,
		.in = TCP(REM2, 443, EXT, V0, F_SYN),
		.verdict = XDP_PASS,
		.out = TCP(REM2, 443, IN1, 40000, F_SYN),
		.cnt = { IN_XLATED, { CNT_NEW_FLOWS, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM2, 443, V0, 0,
				    .ts = TS_ZERO),
			   FLOW_IN(P_TCP, REM2, 443, V0, IN1, 40000, SEEN_SYN,
				   .ts = TS_SET) },
		.nflows = COUNT(4), .nbinds = COUNT(2),
	}, {
		.name = "its syn-ack out uses the new flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM2, 443, F_SYN | F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM2, 443, F_SYN | F_ACK),
		.cnt = { OUT_XLATED },
		.nflows = COUNT(4),
	}, {
		.name = "non-syn from a new remote is dropped",
		.prog = WAN_IN,
		.in = TCP(REM3, 443, EXT, V0, F_ACK),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_TCP_NOT_SYN, 1 } },
		.nflows = COUNT(4),
	}, {
		.name = "udp to the port of a tcp binding finds no udp mapping",
		.prog = WAN_IN,
		.in = UDP(REM3, 53, EXT, V0),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.nflows = COUNT(4),
	},
};

/* 12: the gateway's own traffic is never touched. */
static const struct step host_traffic[] = {
	{
		.name = "tcp to ext:22 (below the range) passes",
		.prog = WAN_IN,
		.in = TCP(REM, 40000, EXT, 22, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "udp to ext:60999 (just below the range) passes",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 60999),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "gateway's own syn from ext passes untranslated",
		.prog = WAN_OUT,
		.in = TCP(EXT, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "reply to the gateway's own socket passes",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 40000, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	},
};

/* 15: --internal 10.0.0.0/24. */
static const struct step internal[] = {
	{
		.name = "source outside the prefixes passes untranslated",
		.prog = WAN_OUT,
		.in = TCP(OUTSIDER, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "source inside the prefix is translated",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.nflows = COUNT(2),
	}, {
		.name = "reply in is translated",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "in to an address outside the prefixes is the host's",
		.prog = WAN_IN,
		.in = TCP(REM, 80, OUTSIDER, 40000, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(2),
	},
};

/* The WAN guard: nobody may route straight at an inside address. */
static const struct step guard[] = {
	{
		.name = "syn routed at an inside address is dropped",
		.prog = WAN_IN,
		.in = TCP(REM, 80, IN1, 40000, F_SYN),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_UNSOLICITED, 1 } },
		.nflows = COUNT(0),
	}, {
		.name = "packet to an unrouted address is the host's",
		.prog = WAN_IN,
		.in = TCP(REM, 80, UNROUTED, 40000, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0),
	},
};

/*
 * Beside netfilter's own NAT (a container runtime's masquerade): a reply
 * to a port in our range that no binding or socket owns, but a conntrack
 * entry does, is the stack's; nothing else changes.  And a new binding
 * never takes a port conntrack uses toward that remote.
 */
static const struct step conntrack[] = {
	{
		.name = "udp reply of a conntrack entry passes to the stack",
		.prog = WAN_IN,
		.before = ct_plant,
		.in = UDP(REM, 53, EXT, 62000),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "tcp syn-ack of a conntrack entry passes to the stack",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 62001, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.cnt = { PASS_HOST },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "the same port from another remote port is still dropped",
		.prog = WAN_IN,
		.in = UDP(REM, 54, EXT, 62000),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "an unsolicited syn to a port conntrack does not know is dropped",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 62002, F_SYN),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "a new binding skips the port conntrack uses toward the remote",
		.prog = WAN_OUT,
		.in = UDP(IN1, 62000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { { CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 },
			 { CNT_NEW_BINDINGS, 1 } },
		.nflows = COUNT(2), .nbinds = COUNT(2),
		.after = v0_not_62000,
	},
};

static const struct group groups[] = {
	{ .name = "filter-strict", STEPS(filter_strict) },
	{ .name = "filter-cone", .cone = true, STEPS(filter_cone) },
	{ .name = "host-traffic", STEPS(host_traffic) },
	{ .name = "internal", .internal = true, STEPS(internal) },
	{ .name = "guard", .needs_net = true, STEPS(guard) },
	{ .name = "conntrack", .needs_net = true, .conntrack = true,
	  STEPS(conntrack) },
};

FIXTURE(filtering, groups);
