/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests of the bpfmasq data plane (test_nat): each program is loaded
 * (never attached) and run with BPF_PROG_TEST_RUN on frames from pkt.h.
 *
 * The tests are groups of steps, kept in one file per concern (tcp.c,
 * udp.c, ... each ending in its table of groups and FIXTURE()), listed
 * once in NAT_FIXTURES below.  A group gets a fresh skeleton loaded with
 * its own configuration, so maps never leak from one group to the next;
 * the steps inside a group run in order on purpose (a SYN-ACK needs the
 * SYN's flow).  Each step states the verdict, the byte-exact output
 * frame, the counter deltas (every counter not named must stay unchanged)
 * and the map entries that must or must not exist.  After every step,
 * every flow and binding must have its twin.  steps.c runs them.
 *
 * The whole run happens in a private network namespace, so that the FIB
 * lookups of the WAN guard and the LAN fast path see routes set up here and
 * nothing of the host's.
 */
#ifndef BPFMASQ_NAT_TEST_H
#define BPFMASQ_NAT_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define HARNESS_BPF
#include "harness.h"
#include "testnet.h"
#include "bpfmasq.h"
#include "bpfmasq.skel.h"
#include "pkt.h"

/* Step specs spell out a default and then let a case override it. */
#pragma GCC diagnostic ignored "-Woverride-init"


/* External ports the programs choose; see struct pspec. */
#define NVARS		4
#define PORT_VAR(n)	(0x10000u | (n))
#define V0		PORT_VAR(0)
#define V1		PORT_VAR(1)
#define V2		PORT_VAR(2)
#define V3		PORT_VAR(3)
#define IS_VAR(p)	((p) & 0x10000u)

#define TCP(s, sp, d, dp, fl, ...)					\
	{ .proto = P_TCP, .saddr = s, .sport = sp, .daddr = d,		\
	  .dport = dp, .tcp_flags = fl, __VA_ARGS__ }
#define UDP(s, sp, d, dp, ...)						\
	{ .proto = P_UDP, .saddr = s, .sport = sp, .daddr = d,		\
	  .dport = dp, .payload = 24, __VA_ARGS__ }
#define ICMP(s, d, type, id, ...)					\
	{ .proto = P_ICMP, .saddr = s, .daddr = d, .icmp_type = type,	\
	  .sport = id, .payload = 16, __VA_ARGS__ }
#define ECHO(s, d, id, ...)	ICMP(s, d, ICMP_T_ECHO, id, __VA_ARGS__)
#define ECHO_REPLY(s, d, id, ...) ICMP(s, d, ICMP_T_ECHOREPLY, id, __VA_ARGS__)
#define ETHER(type, len)	{ .ethertype = type, .payload = len }

/*
 * ICMP errors: ICMP_ERR(from, to, type, code, QUOTE(...), more fields).
 * QUOTE_* name the offending packet as it was sent (its headers, whose
 * checksums cover the whole original packet) and how much of it is quoted.
 */
#define ICMP_ERR(s, d, type, code, ...)					\
	{ .proto = P_ICMP, .saddr = s, .daddr = d, .icmp_type = type,	\
	  .icmp_code = code, .err = true, __VA_ARGS__ }
#define QUOTE_TCP(s, sp, d, dp, fl, ...)				\
	.inner = { .proto = P_TCP, .saddr = s, .sport = sp, .daddr = d,	\
		   .dport = dp, .tcp_flags = fl, __VA_ARGS__ }
#define QUOTE_UDP(s, sp, d, dp, ...)					\
	.inner = { .proto = P_UDP, .saddr = s, .sport = sp, .daddr = d,	\
		   .dport = dp, .payload = 24, __VA_ARGS__ }
#define QUOTE_ECHO(s, d, id, ...)					\
	.inner = { .proto = P_ICMP, .saddr = s, .daddr = d,		\
		   .icmp_type = ICMP_T_ECHO, .sport = id, .payload = 56,	\
		   __VA_ARGS__ }
#define TIME_EXCEEDED(s, d, ...)	ICMP_ERR(s, d, ICMP_T_TIME_EXCEEDED, 0, __VA_ARGS__)
#define FRAG_NEEDED(s, d, mtu, ...)					\
	ICMP_ERR(s, d, ICMP_T_UNREACH, ICMP_C_FRAG_NEEDED,		\
		 .icmp_rest = ICMP_MTU(mtu), __VA_ARGS__)
#define PORT_UNREACH(s, d, ...)						\
	ICMP_ERR(s, d, ICMP_T_UNREACH, ICMP_C_PORT_UNREACH, __VA_ARGS__)

/* (enum prog, the programs a step runs: harness.h) */

struct cnt_delta {
	int idx;		/* enum bpfmasq_counter */
	int delta;
};

#define SEEN_CHECKED	0x100
#define SEEN_ANY	0

/* A flows entry that must exist with these values, or must not exist. */
struct flow_check {
	bool used, absent;
	__u8 proto, dir;
	__u32 saddr, sport, daddr, dport;
	__u32 nat_addr, nat_port;
	int seen;		/* SEEN_CHECKED | bits, or SEEN_ANY */
	int ts;			/* what last_seen_ns must be */
};

enum { TS_ANY, TS_ZERO, TS_SET };	/* TS_ZERO: never carried a packet */

#define FLOW_OUT(pr, in, inp, rem, remp, extp, sn, ...)			\
	{ .used = true, .proto = pr, .dir = DIR_OUT, .saddr = in,	\
	  .sport = inp, .daddr = rem, .dport = remp, .nat_addr = EXT,	\
	  .nat_port = extp, .seen = (sn) | SEEN_CHECKED, __VA_ARGS__ }
#define FLOW_IN(pr, rem, remp, extp, in, inp, sn, ...)			\
	{ .used = true, .proto = pr, .dir = DIR_IN, .saddr = rem,	\
	  .sport = remp, .daddr = EXT, .dport = extp, .nat_addr = in,	\
	  .nat_port = inp, .seen = (sn) | SEEN_CHECKED, __VA_ARGS__ }
#define NO_FLOW_OUT(pr, in, inp, rem, remp)				\
	{ .used = true, .absent = true, .proto = pr, .dir = DIR_OUT,	\
	  .saddr = in, .sport = inp, .daddr = rem, .dport = remp }

/* Both halves of an inside endpoint's binding, or the absence of one. */
struct bind_check {
	bool used, absent;
	__u8 proto;
	__u32 in_addr, in_port, ext_port;
};

#define BIND(pr, in, inp, extp)						\
	{ .used = true, .proto = pr, .in_addr = in, .in_port = inp,	\
	  .ext_port = extp }
#define NO_BIND(pr, in, inp)						\
	{ .used = true, .absent = true, .proto = pr, .in_addr = in,	\
	  .in_port = inp }

/* Entry counts are checked when given; COUNT(0) means "map empty". */
#define COUNT(n)	((n) + 1)

struct env;

struct step {
	const char *name;
	enum prog prog;
	struct pspec in;
	int verdict;
	bool same;		/* output must equal the input */
	struct pspec out;	/* else the expected output */
	bool fold_zero;		/* pick a payload word that makes the
				 * expected UDP checksum compute to 0 */
	__u16 gso_size;		/* HAIRPIN: a GSO/GRO super-packet of
				 * segments this long */
	bool partial_as_none;	/* in has .l4_partial; expect its L4
				 * checksum updated as a full one (see
				 * expect_partial_as_none()) */
	struct cnt_delta cnt[4];
	struct flow_check flows[4];
	struct bind_check binds[2];
	int nflows, nbinds;	/* COUNT(n) or 0 */
	void (*before)(struct env *e);
	void (*after)(struct env *e);
};

struct group {
	const char *name;
	__u16 port_lo, port_hi;	/* 0: the program's default range */
	bool cone;
	bool internal;		/* --internal 10.0.0.0/24 */
	bool wan_ifindex;	/* state.wan_ifindex = wan0 of the test netns */
	bool lan_inbound;	/* --lan lan0 --lan-inbound */
	bool lan_new;		/* --lan-new */
	bool conntrack;		/* cfg_conntrack: nf_conntrack's kfuncs */
	bool no_alg;		/* --no-alg ftp --no-alg irc */
	__u16 mss_clamp;	/* --mss-clamp (MSS_CLAMP_AUTO: auto) */
	bool needs_net;		/* needs the routes of testnet_setup() */
	bool wan_l3;		/* cfg_wan_l3: a WAN without Ethernet */
	bool needs_l3;		/* needs testnet_add_l3()'s interfaces */
	__u32 max_flows;	/* flows map entries (0: the default) */
	const struct step *steps;
	size_t nsteps;
};

struct env {
	struct bpfmasq_bpf *skel;
	struct ring_buffer *cev_ring;	/* conn_events */
	const struct group *g;
	const struct step *s;
	__u32 var[NVARS];
	bool bound[NVARS];
};

#define STEPS(a)	.steps = a, .nsteps = sizeof(a) / sizeof(a[0])

/* ---- verdicts and counter deltas more than one file uses ---- */

#define AGED_NS	1ULL	/* "a long time ago" for last_seen_ns */

#define OUT_NEW		{ CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 }, \
			{ CNT_NEW_BINDINGS, 1 }
#define OUT_XLATED	{ CNT_OUT_TRANSLATED, 1 }
#define IN_XLATED	{ CNT_IN_TRANSLATED, 1 }
#define PASS_HOST	{ CNT_PASS_HOST, 1 }

/* 8: what the parser must refuse, and what is not its business. */
#define MALFORMED(prog_, name_, spec, verdict_, reason)			\
	{ .name = name_, .prog = prog_, .in = spec, .verdict = verdict_, \
	  .same = true, .cnt = { { reason, 1 } }, .nflows = COUNT(0),	\
	  .nbinds = COUNT(0) }
#define IGNORED(prog_, name_, spec, verdict_)				\
	{ .name = name_, .prog = prog_, .in = spec, .verdict = verdict_, \
	  .same = true, .nflows = COUNT(0), .nbinds = COUNT(0) }
#define SYN_OUT(...)	TCP(IN1, 40000, REM, 80, F_SYN, __VA_ARGS__)
#define SYN_IN(...)	TCP(REM, 80, EXT, 61000, F_SYN, __VA_ARGS__)

/*
 * --lan-inbound: replies of established flows routed to a --lan interface
 * are translated, aged and redirected there (lan0, inside host IN1 behind
 * a permanent neighbour); anything else is translated for the stack.
 */
#define IN_FAST		IN_XLATED, { CNT_WAN_FASTPATH, 1 }
#define UNROUTED_IN	IP4(10, 9, 9, 9)

/*
 * A WAN without Ethernet (cfg_wan_l3: PPP, TUN, WireGuard): frames start at
 * the IP header, masq_wan_out translates them on the way out and
 * masq_wan_in_tc does the whole inbound path (no XDP there).  Run as if on
 * wantun; see tc_ctx_of() for how faithful that is.
 */
#define L3		.l3 = true
#define IPV6_L3(len)	{ .ethertype = ETHERTYPE_IPV6, .payload = len, L3 }
#define L3_DROP(r)	{ r, 1 }

/* ---- the fixture files ---- */

/* One file's groups, in the order they run. */
struct fixture {
	const char *name;		/* the file's name, for -t */
	const struct group *groups;
	size_t ngroups;
};

#define FIXTURE(name_, groups_)						\
	const struct fixture fixture_##name_ = {			\
		.name = #name_, .groups = groups_,			\
		.ngroups = sizeof(groups_) / sizeof(groups_[0]),	\
	}

/* Every fixture file, in the order they run: a new one is a line here. */
#define NAT_FIXTURES(X)							\
	X(tcp) X(udp) X(icmp) X(malformed) X(state) X(filtering)	\
	X(fragments) X(icmp_errors) X(lan_fast) X(offload)		\
	X(lan_inbound) X(hairpin) X(wan_l3) X(mss) X(alg) X(expire)	\
	X(tc_fast) X(conn_events) X(pool)

#define NAT_FIXTURE_DECL(name_) extern const struct fixture fixture_##name_;
NAT_FIXTURES(NAT_FIXTURE_DECL)
#undef NAT_FIXTURE_DECL

/* ---- what steps.c gives the fixture files ---- */

/* A failure of the running step: harness.h's test_fail(). */
#define fail(e, ...)	((void)(e), (void)test_fail(__VA_ARGS__))
bool var_get(struct env *e, __u32 p, __u32 *out);
/* A forward ext:FWD_PORT -> IN2:FWD_PORT (state.c), as `forward add`
 * makes one. */
#define FWD_PORT	8080

/* The records of conn_events the running step wrote (steps.c reads the
 * ring around every step and checks them against counters and maps). */
#define CEV_MAX	8
extern struct conn_event cev[CEV_MAX];
extern int n_cev;
void plant_forward(struct env *e);
struct flow_key flow_key_of(__u8 proto, __u8 dir, __u32 s, __u32 sp,
			    __u32 d, __u32 dp);
/* The controller's clock (user/lib/util.c), which last_seen_ns follows. */
uint64_t now_coarse_ns(void);
void age_all_flows(struct env *e);
void check_refreshed(struct env *e, int dir);
void none_refreshed(struct env *e);
void ports_differ(struct env *e, __u32 a, __u32 b);

#endif
