// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the bpfmasq data plane: each program is loaded (never
 * attached) and run with BPF_PROG_TEST_RUN on frames from pkt.h.
 *
 * The tests are groups of steps.  A group gets a fresh skeleton loaded with
 * its own configuration, so maps never leak from one group to the next; the
 * steps inside a group run in order on purpose (a SYN-ACK needs the SYN's
 * flow).  Each step states the verdict, the byte-exact output frame, the
 * counter deltas (every counter not named must stay unchanged) and the map
 * entries that must or must not exist.  After every step, every flow and
 * binding must have its twin.
 *
 * The whole run happens in a private network namespace, so that the FIB
 * lookups of the WAN guard and the LAN fast path see routes set up here and
 * nothing of the host's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "testnet.h"
#include "bpfmasq.h"
#include "bpfmasq.skel.h"
#include "pkt.h"

/*
 * The controller's expiry (user/lib/flowtable.c) is tested when it is linked
 * in (make links user/lib/); a bare build of this file skips it.
 */
#if __has_include("flowtable.h")
#include "flowtable.h"
#define HAVE_FLOWTABLE 1
#pragma weak flows_expire
#endif

/* Step specs spell out a default and then let a case override it. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define EXT		IP4(192, 0, 2, 1)
#define IN1		IP4(10, 0, 0, 2)
#define IN2		IP4(10, 0, 0, 3)
#define OUTSIDER	IP4(172, 16, 0, 5)	/* not in --internal */
#define REM		IP4(198, 51, 100, 2)
#define REM2		IP4(198, 51, 100, 3)
#define REM3		IP4(198, 51, 100, 4)
#define UNROUTED	IP4(100, 64, 0, 9)	/* no route in the test netns */
#define ROUTER		IP4(192, 0, 2, 254)	/* a hop between EXT and REM */

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

/* HAIRPIN: masq_lan_hairpin, run as if the frame came in on lan0.
 * WAN_IN_TC: masq_wan_in_tc; HAIRPIN_L3: masq_hairpin_l3 (lantun). */
enum prog { WAN_OUT = 1, WAN_IN, LAN_FAST, HAIRPIN, WAN_IN_TC, HAIRPIN_L3 };

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
	__u16 mss_clamp;	/* --mss-clamp (MSS_CLAMP_AUTO: auto) */
	bool needs_net;		/* needs the routes of testnet_setup() */
	bool needs_expire;	/* needs flows_expire() from user/lib/ */
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
	bool failed;		/* the current step */
};

static const char *const counter_names[CNT_MAX] = {
#define BPFMASQ_NAME(sym, name) [sym] = name,
	BPFMASQ_COUNTERS(BPFMASQ_NAME)
#undef BPFMASQ_NAME
};

static int n_passed, n_failed;
static bool net_ready, l3_ready;
static int ncpus;

static void fail(struct env *e, const char *fmt, ...)
{
	va_list ap;

	/* One FAIL line per case (tests/run.sh counts them); further
	 * problems of the same case are indented under it. */
	if (e->failed)
		printf("    also: ");
	else
		printf("FAIL %s/%s: ", e->g->name, e->s->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	e->failed = true;
}

/* ---- ports chosen by the programs ---- */

static bool var_get(struct env *e, __u32 p, __u32 *out)
{
	if (!IS_VAR(p)) {
		*out = p;
		return true;
	}
	if (!e->bound[p & 0xff]) {
		fail(e, "table error: port variable %u used before bound",
		     p & 0xff);
		return false;
	}
	*out = e->var[p & 0xff];
	return true;
}

static bool spec_resolve(struct env *e, struct pspec *s)
{
	return var_get(e, s->sport, &s->sport) &&
	       var_get(e, s->dport, &s->dport) &&
	       var_get(e, s->inner.sport, &s->inner.sport) &&
	       var_get(e, s->inner.dport, &s->inner.dport);
}

static __u16 port_lo(const struct group *g)
{
	return g->port_lo ? g->port_lo : 61000;
}

static __u16 port_hi(const struct group *g)
{
	return g->port_hi ? g->port_hi : 65535;
}

/*
 * The first expected output that names an unbound variable binds it to
 * what the program wrote there, which must be inside the NAT range; the
 * byte comparison then checks everything else.
 */
static void var_capture(struct env *e, __u32 p, const __u8 *got, size_t len,
			size_t off)
{
	unsigned int n = p & 0xff;
	__u32 port;

	if (!IS_VAR(p) || e->bound[n])
		return;
	port = off + 2 <= len ? (got[off] << 8) | got[off + 1] : 0;
	if (port < port_lo(e->g) || port > port_hi(e->g))
		fail(e, "external port %u outside range %u-%u", port,
		     port_lo(e->g), port_hi(e->g));
	e->var[n] = port;
	e->bound[n] = true;
}

/* ---- maps ---- */

static void counters_read(struct env *e, __u64 *c)
{
	int fd = bpf_map__fd(e->skel->maps.stats);
	__u64 v[ncpus];

	for (__u32 i = 0; i < CNT_MAX; i++) {
		c[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++)
			c[i] += v[cpu];
	}
}

static int map_count(struct bpf_map *map)
{
	char key[64], next[64];
	int fd = bpf_map__fd(map), n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static struct flow_key flow_key_of(__u8 proto, __u8 dir, __u32 s, __u32 sp,
				   __u32 d, __u32 dp)
{
	return (struct flow_key){ .saddr = htonl(s), .daddr = htonl(d),
				  .sport = htons(sp), .dport = htons(dp),
				  .proto = proto, .dir = dir };
}

static void fmt_key(const struct flow_key *k, char *buf, size_t len)
{
	char s[16], d[16];

	inet_ntop(AF_INET, &k->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &k->daddr, d, sizeof(d));
	snprintf(buf, len, "%s %s %s:%u -> %s:%u",
		 k->proto == P_TCP ? "tcp" : k->proto == P_UDP ? "udp" : "icmp",
		 k->dir == DIR_OUT ? "out" : "in", s, ntohs(k->sport), d,
		 ntohs(k->dport));
}

static void check_flow(struct env *e, const struct flow_check *fc)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	__u32 sp, dp, np;
	struct flow_key k;
	struct flow_val v;
	char name[96];
	bool found;

	if (!var_get(e, fc->sport, &sp) || !var_get(e, fc->dport, &dp) ||
	    !var_get(e, fc->nat_port, &np))
		return;
	k = flow_key_of(fc->proto, fc->dir, fc->saddr, sp, fc->daddr, dp);
	fmt_key(&k, name, sizeof(name));
	found = !bpf_map_lookup_elem(fd, &k, &v);
	if (fc->absent) {
		if (found)
			fail(e, "flow %s exists, expected none", name);
		return;
	}
	if (!found) {
		fail(e, "flow %s missing", name);
		return;
	}
	if (v.nat_addr != htonl(fc->nat_addr) || v.nat_port != htons(np))
		fail(e, "flow %s: nat %08x:%u, expected %08x:%u", name,
		     ntohl(v.nat_addr), ntohs(v.nat_port), fc->nat_addr, np);
	if ((fc->seen & SEEN_CHECKED) && v.seen != (fc->seen & 0xff))
		fail(e, "flow %s: seen 0x%x, expected 0x%x", name, v.seen,
		     fc->seen & 0xff);
	if (fc->ts == TS_ZERO && v.last_seen_ns)
		fail(e, "flow %s: last_seen_ns %llu, expected 0 (no packet yet)",
		     name, (unsigned long long)v.last_seen_ns);
	if (fc->ts == TS_SET && !v.last_seen_ns)
		fail(e, "flow %s: last_seen_ns is 0", name);
}

static void check_bind(struct env *e, const struct bind_check *bc)
{
	int fd = bpf_map__fd(e->skel->maps.binds);
	struct bind_key out = { .addr = htonl(bc->in_addr),
				.port = htons(bc->in_port),
				.proto = bc->proto, .dir = DIR_OUT };
	struct bind_key in = { .addr = htonl(EXT), .proto = bc->proto,
			       .dir = DIR_IN };
	struct bind_val v;
	__u32 ep;

	if (bpf_map_lookup_elem(fd, &out, &v)) {
		if (!bc->absent)
			fail(e, "binding of inside port %u missing", bc->in_port);
		return;
	}
	if (bc->absent) {
		fail(e, "binding of inside port %u exists, expected none",
		     bc->in_port);
		return;
	}
	if (!var_get(e, bc->ext_port, &ep))
		return;
	if (v.addr != htonl(EXT) || v.port != htons(ep))
		fail(e, "binding out %u: %08x:%u, expected ext:%u", bc->in_port,
		     ntohl(v.addr), ntohs(v.port), ep);
	/* A binding a packet made is live once its flow is stored. */
	if (v.state != BIND_LIVE)
		fail(e, "binding out %u: state %u, expected live", bc->in_port,
		     v.state);
	in.port = htons(ep);
	if (bpf_map_lookup_elem(fd, &in, &v))
		fail(e, "binding in ext:%u missing", ep);
	else if (v.addr != htonl(bc->in_addr) || v.port != htons(bc->in_port))
		fail(e, "binding in ext:%u -> %08x:%u, expected %08x:%u", ep,
		     ntohl(v.addr), ntohs(v.port), bc->in_addr, bc->in_port);
	else if (v.state != BIND_LIVE)
		fail(e, "binding in ext:%u: state %u, expected live", ep,
		     v.state);
}

/* Every flow entry has its twin pointing back at it; same for bindings.
 * A half pair is exactly what a failed insert must never leave. */
static void check_twins(struct env *e)
{
	int ffd = bpf_map__fd(e->skel->maps.flows);
	int bfd = bpf_map__fd(e->skel->maps.binds);
	struct flow_key fk, fnext, twin;
	struct bind_key bk, bnext, btwin;
	struct flow_val fv, tv;
	struct bind_val bv, btv;
	void *prev = NULL;
	char name[96];

	while (!bpf_map_get_next_key(ffd, prev, &fnext)) {
		fk = fnext;
		prev = &fk;
		if (bpf_map_lookup_elem(ffd, &fk, &fv))
			continue;
		memset(&twin, 0, sizeof(twin));
		twin.proto = fk.proto;
		twin.dir = !fk.dir;
		twin.saddr = fk.dir == DIR_OUT ? fk.daddr : fv.nat_addr;
		twin.sport = fk.dir == DIR_OUT ? fk.dport : fv.nat_port;
		twin.daddr = fk.dir == DIR_OUT ? fv.nat_addr : fk.saddr;
		twin.dport = fk.dir == DIR_OUT ? fv.nat_port : fk.sport;
		fmt_key(&fk, name, sizeof(name));
		if (bpf_map_lookup_elem(ffd, &twin, &tv))
			fail(e, "flow %s has no twin", name);
		else if (tv.nat_addr != (fk.dir == DIR_OUT ? fk.saddr : fk.daddr) ||
			 tv.nat_port != (fk.dir == DIR_OUT ? fk.sport : fk.dport))
			fail(e, "flow %s: twin points elsewhere", name);
	}
	prev = NULL;
	while (!bpf_map_get_next_key(bfd, prev, &bnext)) {
		bk = bnext;
		prev = &bk;
		if (bpf_map_lookup_elem(bfd, &bk, &bv))
			continue;
		btwin = (struct bind_key){ .addr = bv.addr, .port = bv.port,
					   .proto = bk.proto, .dir = !bk.dir };
		if (bpf_map_lookup_elem(bfd, &btwin, &btv) ||
		    btv.addr != bk.addr || btv.port != bk.port)
			fail(e, "binding %s %08x:%u has no matching twin",
			     bk.dir == DIR_OUT ? "out" : "in", ntohl(bk.addr),
			     ntohs(bk.port));
	}
}

/* ---- one step ---- */

static void hexdump(const char *label, const __u8 *b, size_t len, size_t from)
{
	size_t i, end = from + 16 < len ? from + 16 : len;

	printf("    %-8s @%-4zu", label, from);
	for (i = from; i < end; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

static void check_bytes(struct env *e, const struct pspec *layout,
			const __u8 *want, size_t want_len,
			const __u8 *got, size_t got_len)
{
	size_t i, n = want_len < got_len ? want_len : got_len;

	for (i = 0; i < n && want[i] == got[i]; i++)
		;
	if (i == n && want_len == got_len)
		return;
	if (i == n)
		fail(e, "output length %zu, expected %zu", got_len, want_len);
	else
		fail(e, "output differs at byte %zu (%s): 0x%02x, expected 0x%02x",
		     i, pkt_field_name(layout, i), got[i], want[i]);
	i &= ~(size_t)15;
	hexdump("expected", want, want_len, i);
	hexdump("actual", got, got_len, i);
}

/* Chooses the payload word that makes out's UDP checksum sum to zero, so
 * that RFC 768's "send 0 as 0xffff" rule is exercised. */
static void fold_to_zero(struct pspec *in, struct pspec *out)
{
	static __u8 buf[PKT_MAX];
	size_t off = pkt_l4_off(out) + 6;
	__u16 c;

	if (out->err) {
		/* The quoted datagram's checksum, as built whole. */
		struct pspec q = inner_as_pspec(&out->inner);

		q.set_word = true;
		q.word = 0;
		pkt_build(&q, buf);
		off = pkt_l4_off(&q) + 6;
		c = (buf[off] << 8) | buf[off + 1];
		out->inner.set_word = in->inner.set_word = true;
		out->inner.word = in->inner.word = c == 0xffff ? 0 : c;
		return;
	}

	out->set_word = true;
	out->word = 0;
	pkt_build(out, buf);
	c = (buf[off] << 8) | buf[off + 1];
	/* c is ~sum; adding it as a word makes the sum 0xffff.  0xffff here
	 * already stands for a computed 0. */
	out->word = c == 0xffff ? 0 : c;
	in->set_word = true;
	in->word = out->word;
}

static int prog_fd(struct env *e, enum prog p)
{
	struct bpf_program *prog = p == WAN_OUT ? e->skel->progs.masq_wan_out :
				   p == WAN_IN ? e->skel->progs.masq_wan_in :
				   p == HAIRPIN ? e->skel->progs.masq_lan_hairpin :
				   p == WAN_IN_TC ? e->skel->progs.masq_wan_in_tc :
				   p == HAIRPIN_L3 ? e->skel->progs.masq_hairpin_l3 :
				   e->g->lan_new ? e->skel->progs.masq_lan_open :
						   e->skel->progs.masq_lan_fast;

	return bpf_program__fd(prog);
}

/*
 * BPF_PROG_TEST_RUN never hands a program a CHECKSUM_PARTIAL skb (it
 * makes CHECKSUM_NONE ones), and on those bpf_l4_csum_replace() updates
 * the field as a full checksum, whatever it holds: inet_proto_csum_replace4()
 * does csum_replace4() unless ip_summed is CHECKSUM_PARTIAL.  So a field
 * that only holds the pseudo-header sum comes out moved by exactly what
 * moves a full checksum of the same translation: P + (C_out - C_in), in
 * ones' complement, where C_in and C_out are the full checksums of the
 * input and of the expected output.  want holds the expected output built
 * with a full checksum; its field is rewritten to that.
 */
static void expect_partial_as_none(const struct pspec *in,
				   const struct pspec *out, __u8 *want)
{
	static __u8 buf[PKT_MAX];
	struct pspec full = *in;
	size_t off = pkt_l4_off(out) + (out->proto == P_TCP ? 16 : 6);
	size_t in_off = pkt_l4_off(in) + (in->proto == P_TCP ? 16 : 6);
	__u32 p, c_in, c_out = (want[off] << 8) | want[off + 1], sum;

	pkt_build(in, buf);
	p = (buf[in_off] << 8) | buf[in_off + 1];
	full.l4_partial = false;
	pkt_build(&full, buf);
	c_in = (buf[in_off] << 8) | buf[in_off + 1];
	sum = (~p & 0xffff) + (~c_out & 0xffff) + c_in;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	/* BPF_F_MARK_MANGLED_0: a UDP checksum that comes to 0 is sent
	 * as all ones. */
	if (out->proto == P_UDP && !sum)
		sum = 0xffff;
	put16(want + off, sum);
}

/*
 * The __sk_buff a tc step runs with.  The hairpin asks the FIB from the
 * inside interface the frame came in on.
 *
 * A frame without Ethernet (pspec .l3) is run as if on a TUN interface of
 * the test netns, but the kernel has no faithful way to make a layer-3 skb
 * for BPF_PROG_TEST_RUN.  bpf_prog_test_run_skb() (net/bpf/test_run.c)
 * refuses data shorter than ETH_HLEN, takes ctx->ifindex (> 1) as
 * skb->dev and then calls eth_type_trans(skb, dev) whatever dev->type is:
 * it pulls ETH_HLEN bytes of what is our IP header, sets skb->protocol from
 * bytes 12-13 (the top of the IPv4 source address) and pkt_type from byte
 * 0, and leaves the network header 14 bytes in.  For SCHED_CLS (is_l2) it
 * then pushes back hh_len, which is the constant ETH_HLEN and not
 * dev->hard_header_len, so data..data_end and skb->len are exactly the IP
 * packet, as on a real PPP/TUN/WireGuard ingress or egress.  What stays
 * wrong (skb->protocol, pkt_type, the mac and network header offsets) is
 * what the programs never read: no skb->protocol or pkt_type access, no
 * bpf_skb_load_bytes_relative(), adjust_room or change_proto; their
 * offsets come from parse_ipv4(l3_off 0).  The one kernel check keyed on
 * that protocol (IPv4/IPv6 EtherType with a short L3 header: EINVAL) never
 * sees 0x0800 or 0x86dd here, as no test address begins with 8.0 or
 * 134.221.  So: frames under 14 bytes cannot be tested; for the rest,
 * skb->dev and skb_iif are those of a layer-3 interface, which is what the
 * FIB lookups (WAN guard, hairpin) see.
 */
static bool tc_ctx_of(const struct step *s, const struct pspec *in,
		      size_t in_len, struct __sk_buff *ctx)
{
	const char *dev = NULL;

	memset(ctx, 0, sizeof(*ctx));
	if (s->prog == HAIRPIN)
		dev = "lan0";
	else if (s->prog == HAIRPIN_L3)
		dev = "lantun";
	else if (in->l3 && (s->prog == WAN_OUT || s->prog == WAN_IN_TC))
		dev = "wantun";
	if (!dev)
		return false;
	ctx->ifindex = if_nametoindex(dev);
	/* Egress keeps the skb_iif of wherever the packet came from. */
	if (s->prog != WAN_OUT)
		ctx->ingress_ifindex = ctx->ifindex;
	ctx->gso_size = s->gso_size;
	if (s->gso_size)
		ctx->gso_segs = (in_len + s->gso_size - 1) / s->gso_size;
	return true;
}

static void cev_drain(struct env *e);
static void check_conn_events(struct env *e, __u64 t0, const __u64 *before,
			      const __u64 *after, long *expect);
static __u64 now_coarse_ns(void);

static void run_step(struct env *e, const struct step *s)
{
	static __u8 in_buf[PKT_MAX], got[PKT_MAX + 256], want[PKT_MAX];
	struct pspec in = s->in, out = s->out;
	struct __sk_buff skb_ctx = {};
	__u64 before[CNT_MAX], after[CNT_MAX];
	long expect[CNT_MAX] = {};
	size_t in_len, want_len;
	int err, i;
	__u64 t0;

	e->s = s;
	e->failed = false;
	if (!spec_resolve(e, &in))
		goto done;
	if (s->fold_zero) {
		if (!spec_resolve(e, &out))
			goto done;
		fold_to_zero(&in, &out);
	}
	if (!s->same && !out.proto && !out.ethertype) {
		fail(e, "table error: neither .same nor .out given");
		goto done;
	}
	if (s->before)
		s->before(e);

	in_len = pkt_build(&in, in_buf);
	cev_drain(e);
	t0 = now_coarse_ns();
	counters_read(e, before);
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in_buf,
		.data_size_in = in_len,
		.data_out = got,
		.data_size_out = sizeof(got),
		.repeat = 1,
	);
	if (tc_ctx_of(s, &in, in_len, &skb_ctx)) {
		opts.ctx_in = &skb_ctx;
		opts.ctx_size_in = sizeof(skb_ctx);
	}
	err = bpf_prog_test_run_opts(prog_fd(e, s->prog), &opts);
	if (err) {
		fail(e, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		goto done;
	}
	counters_read(e, after);
	cev_drain(e);
	check_conn_events(e, t0, before, after, expect);

	if ((int)opts.retval != s->verdict)
		fail(e, "verdict %d, expected %d", opts.retval, s->verdict);

	if (s->same) {
		check_bytes(e, &in, in_buf, in_len, got, opts.data_size_out);
	} else {
		var_capture(e, out.sport, got, opts.data_size_out,
			    pkt_sport_off(&out));
		var_capture(e, out.dport, got, opts.data_size_out,
			    pkt_dport_off(&out));
		if (spec_resolve(e, &out)) {
			want_len = pkt_build(&out, want);
			if (s->partial_as_none)
				expect_partial_as_none(&in, &out, want);
			check_bytes(e, &out, want, want_len, got,
				    opts.data_size_out);
		}
	}

	for (i = 0; i < 4; i++)
		if (s->cnt[i].delta)
			expect[s->cnt[i].idx] += s->cnt[i].delta;
	for (i = 0; i < CNT_MAX; i++)
		if ((long)(after[i] - before[i]) != expect[i])
			fail(e, "counter %s changed by %ld, expected %ld",
			     counter_names[i], (long)(after[i] - before[i]),
			     expect[i]);

	for (i = 0; i < 4; i++)
		if (s->flows[i].used)
			check_flow(e, &s->flows[i]);
	for (i = 0; i < 2; i++)
		if (s->binds[i].used)
			check_bind(e, &s->binds[i]);
	if (s->nflows && map_count(e->skel->maps.flows) != s->nflows - 1)
		fail(e, "%d flow entries, expected %d",
		     map_count(e->skel->maps.flows), s->nflows - 1);
	if (s->nbinds && map_count(e->skel->maps.binds) != s->nbinds - 1)
		fail(e, "%d binding entries, expected %d",
		     map_count(e->skel->maps.binds), s->nbinds - 1);
	check_twins(e);
	if (s->after)
		s->after(e);
done:
	if (e->failed) {
		n_failed++;
	} else {
		n_passed++;
		printf("PASS %s/%s\n", e->g->name, s->name);
	}
}

/* ---- hooks for what a table row cannot say ---- */

/* ---- the connection event stream (struct conn_event) ---- */

/* The records one step's run wrote into conn_events. */
#define CEV_MAX	8
static struct conn_event cev[CEV_MAX];
static int n_cev;
static bool cev_bad_size;
static long n_cev_checked[CE_TYPE_MAX];

static int on_conn_event(void *ctx, void *data, size_t size)
{
	if (size != sizeof(struct conn_event))
		cev_bad_size = true;
	else if (n_cev < CEV_MAX)
		memcpy(&cev[n_cev], data, sizeof(cev[0]));
	n_cev++;
	return 0;
}

static void cev_drain(struct env *e)
{
	n_cev = 0;
	cev_bad_size = false;
	if (e->cev_ring)
		ring_buffer__consume(e->cev_ring);
}

static bool step_counts(const struct step *s, int idx)
{
	for (int i = 0; i < 4; i++)
		if (s->cnt[i].delta && s->cnt[i].idx == idx)
			return true;
	return false;
}

/*
 * What every step's records must say, whatever the step: one FLOW_NEW per
 * connection stored (new_flows), naming a flow that is in the table as it
 * says; one BIND_NEW per binding kept (new_bindings, and an expectation
 * that became a binding); a DROP record per drop unless the CPU's budget
 * was spent (suppressed_drop_events), none for the hairpin programs; no
 * record is ever lost (the ring is far from full here).  The suppressed
 * counter is then expected to move as it did, unless the step says.
 */
static void check_conn_events(struct env *e, __u64 t0, const __u64 *before,
			      const __u64 *after, long *expect)
{
	const struct step *s = e->s;
	long d_supp = after[CNT_DROP_EVENTS_SUPPRESSED] -
		      before[CNT_DROP_EVENTS_SUPPRESSED];
	long d_binds = after[CNT_NEW_BINDINGS] - before[CNT_NEW_BINDINGS];
	long d_used = after[CNT_EXPECT_USED] - before[CNT_EXPECT_USED];
	bool hairpin = s->prog == HAIRPIN || s->prog == HAIRPIN_L3;
	int n[CE_TYPE_MAX] = {};
	long drops = 0;

	for (int i = CNT_FIRST_DROP; i < CNT_MAX; i++)
		drops += after[i] - before[i];
	if (cev_bad_size)
		fail(e, "conn_events: a record of the wrong size");
	if (n_cev > CEV_MAX)
		fail(e, "conn_events: %d records for one packet", n_cev);
	for (int i = 0; i < n_cev && i < CEV_MAX; i++) {
		const struct conn_event *r = &cev[i];
		struct flow_key k = { .saddr = r->in_addr, .daddr = r->rem_addr,
				      .sport = r->in_port, .dport = r->rem_port,
				      .proto = r->proto, .dir = DIR_OUT };
		struct bind_key bk = { .addr = r->in_addr, .port = r->in_port,
				       .proto = r->proto, .dir = DIR_OUT };
		struct flow_val v;
		struct bind_val bv;

		if (r->type == 0 || r->type >= CE_TYPE_MAX || r->seq ||
		    r->time_ns < t0 || r->time_ns > now_coarse_ns() + 1) {
			fail(e, "conn_events: record %d: type %u, seq %llu, time %llu not from this run",
			     i, r->type, (unsigned long long)r->seq,
			     (unsigned long long)r->time_ns);
			continue;
		}
		n[r->type]++;
		n_cev_checked[r->type]++;
		/* A new connection's record tells of the binding it made. */
		if (r->type == CE_FLOW_NEW && (r->flags & CEF_NEW_BINDING)) {
			n[CE_BIND_NEW]++;
			n_cev_checked[CE_BIND_NEW]++;
		}
		if (r->type == CE_FLOW_NEW &&
		    (bpf_map__lookup_elem(e->skel->maps.flows, &k, sizeof(k),
					  &v, sizeof(v), 0) ||
		     v.nat_addr != r->out_addr || v.nat_port != r->out_port ||
		     r->out_addr != htonl(EXT)))
			fail(e, "conn_events: FLOW_NEW names no such flow");
		if ((r->type == CE_BIND_NEW ||
		     (r->type == CE_FLOW_NEW && (r->flags & CEF_NEW_BINDING))) &&
		    (bpf_map__lookup_elem(e->skel->maps.binds, &bk, sizeof(bk),
					  &bv, sizeof(bv), 0) ||
		     bv.addr != r->out_addr || bv.port != r->out_port))
			fail(e, "conn_events: BIND_NEW names no such binding");
		if (r->type == CE_DROP &&
		    (r->reason < CNT_FIRST_DROP || r->reason >= CNT_MAX ||
		     after[r->reason] == before[r->reason]))
			fail(e, "conn_events: DROP with reason %u, which did not move",
			     r->reason);
		if (r->type != CE_FLOW_NEW && r->type != CE_BIND_NEW &&
		    r->type != CE_DROP)
			fail(e, "conn_events: type %u comes from the controller, not the data plane",
			     r->type);
	}
	if (n[CE_FLOW_NEW] != (long)(after[CNT_NEW_FLOWS] - before[CNT_NEW_FLOWS]))
		fail(e, "conn_events: %d FLOW_NEW records for %ld new flows",
		     n[CE_FLOW_NEW],
		     (long)(after[CNT_NEW_FLOWS] - before[CNT_NEW_FLOWS]));
	if (n[CE_BIND_NEW] < d_binds || n[CE_BIND_NEW] > d_binds + d_used)
		fail(e, "conn_events: %d BIND_NEW records for %ld new bindings",
		     n[CE_BIND_NEW], d_binds);
	if (hairpin ? n[CE_DROP] || d_supp : n[CE_DROP] + d_supp != drops)
		fail(e, "conn_events: %d DROP records and %ld suppressed for %ld drops",
		     n[CE_DROP], d_supp, drops);
	if (after[CNT_EVENTS_LOST] != before[CNT_EVENTS_LOST])
		fail(e, "conn_events: records lost");
	if (!step_counts(s, CNT_DROP_EVENTS_SUPPRESSED))
		expect[CNT_DROP_EVENTS_SUPPRESSED] = d_supp;
}

/* Every CPU's DROP budget for this second: spent, or whole. */
static void drop_budget_set(struct env *e, __u32 used)
{
	struct drop_budget b[ncpus];
	__u32 zero = 0;

	for (int i = 0; i < ncpus; i++)
		b[i] = (struct drop_budget){
			.second = now_coarse_ns() / 1000000000ULL,
			.used = used };
	bpf_map__update_elem(e->skel->maps.drop_budget, &zero, sizeof(zero),
			     b, sizeof(b), BPF_ANY);
}

static void drop_budget_spent(struct env *e)
{
	drop_budget_set(e, DROP_EVENTS_PER_SEC);
}

static void drop_budget_whole(struct env *e)
{
	drop_budget_set(e, 0);
}

static void cev_is(struct env *e, int i, __u8 type, __u8 proto, __u32 in,
		   __u16 inp, __u32 out, __u32 outp, __u32 rem, __u16 remp)
{
	const struct conn_event *r = &cev[i];
	__u32 op;

	if (i >= n_cev) {
		fail(e, "conn_events: record %d missing (%d)", i, n_cev);
		return;
	}
	if (!var_get(e, outp, &op))
		return;
	if (r->type != type || r->proto != proto || r->in_addr != htonl(in) ||
	    r->in_port != htons(inp) || r->out_addr != htonl(out) ||
	    r->out_port != htons(op) || r->rem_addr != htonl(rem) ||
	    r->rem_port != htons(remp))
		fail(e, "conn_events: record %d is type %u proto %u %08x:%u %08x:%u %08x:%u",
		     i, r->type, r->proto, ntohl(r->in_addr), ntohs(r->in_port),
		     ntohl(r->out_addr), ntohs(r->out_port), ntohl(r->rem_addr),
		     ntohs(r->rem_port));
}

static void cev_new_udp(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one FLOW_NEW", n_cev);
	cev_is(e, 0, CE_FLOW_NEW, IPPROTO_UDP, IN1, 40000, EXT, V0, REM, 53);
	if (cev[0].flags != CEF_NEW_BINDING)
		fail(e, "conn_events: flags %#x, expected the new binding's alone",
		     cev[0].flags);
}

static void cev_new_flow_bound(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one FLOW_NEW", n_cev);
	cev_is(e, 0, CE_FLOW_NEW, IPPROTO_UDP, IN1, 40000, EXT, V0, REM2, 53);
	if (cev[0].flags & CEF_NEW_BINDING)
		fail(e, "conn_events: a flow on an existing binding says it made one");
}

static void cev_none(struct env *e)
{
	if (n_cev)
		fail(e, "conn_events: %d records from a packet of a flow that exists",
		     n_cev);
}

static void cev_drop_in(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one DROP", n_cev);
	cev_is(e, 0, CE_DROP, IPPROTO_UDP, 0, 0, EXT, 61234, REM, 53);
	if (cev[0].reason != DROP_NO_MAPPING || !(cev[0].flags & CEF_INBOUND))
		fail(e, "conn_events: DROP reason %u flags %u", cev[0].reason,
		     cev[0].flags);
}

static void cev_drop_budget_after(struct env *e)
{
	cev_none(e);
	drop_budget_whole(e);
}

static void cev_drop_budget_whole_before(struct env *e)
{
	drop_budget_whole(e);
}


#define AGED_NS	1ULL	/* "a long time ago" for last_seen_ns */

static void age_all_flows(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	struct flow_key k, next;
	struct flow_val v;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		v.last_seen_ns = AGED_NS;
		bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
	}
}

static __u64 now_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Entries of direction dir must have been refreshed to about now, the
 * others must still carry AGED_NS. */
static void check_refreshed(struct env *e, int dir)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	__u64 now = now_coarse_ns();
	struct flow_key k, next;
	struct flow_val v;
	void *prev = NULL;
	char name[96];

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		fmt_key(&k, name, sizeof(name));
		if (k.dir == dir && (v.last_seen_ns <= AGED_NS ||
				     v.last_seen_ns > now))
			fail(e, "flow %s: last_seen_ns %llu not refreshed (now %llu)",
			     name, (unsigned long long)v.last_seen_ns,
			     (unsigned long long)now);
		if (k.dir != dir && v.last_seen_ns != AGED_NS)
			fail(e, "flow %s: last_seen_ns %llu changed, expected %llu",
			     name, (unsigned long long)v.last_seen_ns, AGED_NS);
	}
}

static void out_refreshed(struct env *e)
{
	check_refreshed(e, DIR_OUT);
}

static void in_refreshed(struct env *e)
{
	check_refreshed(e, DIR_IN);
}

static void none_refreshed(struct env *e)
{
	check_refreshed(e, -1);
}

/* ---- the LAN fast path's next-hop cache (struct flow_nexthop) ---- */

#define FAST_KEY	flow_key_of(P_TCP, DIR_OUT, IN1, 40000, REM, 80)

static bool fast_flow(struct env *e, struct flow_val *v)
{
	struct flow_key k = FAST_KEY;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.flows), &k, v)) {
		fail(e, "the fast path's flow is missing");
		return false;
	}
	return true;
}

static void fast_flow_put(struct env *e, const struct flow_val *v)
{
	struct flow_key k = FAST_KEY;

	bpf_map_update_elem(bpf_map__fd(e->skel->maps.flows), &k, v, BPF_EXIST);
}

/* What the FIB says for REM, and the IP length it was checked for. */
static void nh_is(struct env *e, __u16 len_ok, __u16 gen)
{
	struct flow_val v;

	if (!fast_flow(e, &v))
		return;
	if (memcmp(v.nh.dmac, mac_wan_nexthop, 6) ||
	    memcmp(v.nh.smac, mac_wan_self, 6) ||
	    v.nh.ifindex != if_nametoindex("wan0"))
		fail(e, "next hop %02x..%02x/%02x..%02x via %u, expected the FIB's",
		     v.nh.dmac[0], v.nh.dmac[5], v.nh.smac[0], v.nh.smac[5],
		     v.nh.ifindex);
	if (v.nh.len_ok != len_ok || v.nh.gen != gen)
		fail(e, "next hop len_ok %u gen %u, expected %u and %u",
		     v.nh.len_ok, v.nh.gen, len_ok, gen);
}

static void nh_after_syn_ack(struct env *e)
{
	nh_is(e, 20 + 20 + 64, 0);
}

static void nh_after_long(struct env *e)
{
	nh_is(e, 20 + 20 + 600, 0);
}

static void nh_after_gen(struct env *e)
{
	nh_is(e, 20 + 20 + 64, 1);
}

/* The kernel's jiffies (low 32 bits, as nh.stamp keeps them), from a
 * two-instruction program: userspace has no other way to read them. */
static __u32 jiffies_now(struct env *e)
{
	static int fd = -1;
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_jiffies64 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	__u8 frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = sizeof(frame));

	if (fd < 0)
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "jiffies", "GPL", insns, 2,
				   NULL);
	if (fd < 0 || bpf_prog_test_run_opts(fd, &o)) {
		fail(e, "cannot read jiffies: %s", strerror(errno));
		return 0;
	}
	return o.retval;
}

/*
 * A destination MAC the FIB would never give, cached just now: a packet
 * that carries it was sent from the cache, without a lookup.  `age`
 * jiffies older makes it one the program must not trust.
 */
static void nh_plant_aged(struct env *e, __u32 age)
{
	struct flow_val v;

	if (!fast_flow(e, &v))
		return;
	memcpy(v.nh.dmac, mac_planted, 6);
	v.nh.stamp = jiffies_now(e) - age;
	fast_flow_put(e, &v);
}

static void nh_plant(struct env *e)
{
	nh_plant_aged(e, 0);
}

static void nh_plant_old(struct env *e)
{
	nh_plant_aged(e, NH_MAX_AGE);
}

/* What the controller does on a route, neighbour or link change. */
static void nh_plant_and_bump(struct env *e)
{
	struct nat_state st;
	__u32 zero = 0;
	int fd = bpf_map__fd(e->skel->maps.state);

	nh_plant(e);
	if (bpf_map_lookup_elem(fd, &zero, &st))
		return;
	st.route_gen++;
	bpf_map_update_elem(fd, &zero, &st, BPF_EXIST);
}

static void ports_differ(struct env *e, __u32 a, __u32 b)
{
	__u32 pa, pb;

	if (var_get(e, a, &pa) && var_get(e, b, &pb) && pa == pb)
		fail(e, "two inside endpoints share external port %u", pa);
}

static void v0_not_5000(struct env *e)
{
	ports_differ(e, V0, 5000);
}

static void v0_not_v1(struct env *e)
{
	ports_differ(e, V0, V1);
}

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


/* RFC 4787 REQ-3 (port class) and REQ-4 (parity) of a chosen port. */
static void port_class_parity(struct env *e, __u32 var, bool low, int parity)
{
	__u32 p;

	if (!var_get(e, var, &p))
		return;
	if (low != (p < 1024))
		fail(e, "external port %u is not in the %s class", p,
		     low ? "well-known (< 1024)" : "1024-65535");
	if (parity >= 0 && (int)(p & 1) != parity)
		fail(e, "external port %u lost the inside port's parity", p);
}

static void v0_well_known(struct env *e)
{
	port_class_parity(e, V0, true, -1);
}

static void v1_high_odd(struct env *e)
{
	port_class_parity(e, V1, false, 1);
}

static void v2_high_even(struct env *e)
{
	port_class_parity(e, V2, false, 0);
}

/* ---- the table ---- */

/* ---- bindings planted as other CPUs or the controller leave them ---- */

#define FWD_PORT	8080	/* a forward ext:8080 -> IN2:8080 */

static void bind_plant(struct env *e, __u8 proto, __u32 in_addr,
		       __u16 in_port, __u16 ext_port, __u16 flags, __u32 state)
{
	int fd = bpf_map__fd(e->skel->maps.binds);
	struct bind_key out = { .addr = htonl(in_addr), .port = htons(in_port),
				.proto = proto, .dir = DIR_OUT };
	struct bind_key in = { .addr = htonl(EXT), .port = htons(ext_port),
			       .proto = proto, .dir = DIR_IN };
	struct bind_val vo = { .addr = htonl(EXT), .port = htons(ext_port),
			       .flags = flags, .state = state,
			       .last_used_ns = now_coarse_ns() };
	struct bind_val vi = { .addr = htonl(in_addr), .port = htons(in_port),
			       .flags = flags, .state = state,
			       .last_used_ns = now_coarse_ns() };

	if (bpf_map_update_elem(fd, &out, &vo, BPF_ANY) ||
	    bpf_map_update_elem(fd, &in, &vi, BPF_ANY))
		fail(e, "planting a binding failed");
}

/* What the state of a binding half is (-1: none). */
static int bind_state_of(struct env *e, __u8 proto, __u8 dir, __u32 addr,
			 __u16 port)
{
	struct bind_key k = { .addr = htonl(addr), .port = htons(port),
			      .proto = proto, .dir = dir };
	struct bind_val v;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.binds), &k, &v))
		return -1;
	return v.state;
}

static void bind_state_is(struct env *e, __u8 dir, __u32 addr, __u16 port,
			  int want)
{
	int got = bind_state_of(e, P_UDP, dir, addr, port);

	if (got != want)
		fail(e, "binding %s %08x:%u: state %d, expected %d",
		     dir == DIR_OUT ? "out" : "in", addr, port, got, want);
}

static void bind_plant_state_out(struct env *e, __u32 addr, __u16 port,
				 __u32 state)
{
	int fd = bpf_map__fd(e->skel->maps.binds);
	struct bind_key k = { .addr = htonl(addr), .port = htons(port),
			      .proto = P_UDP, .dir = DIR_OUT };
	struct bind_val v;

	if (bpf_map_lookup_elem(fd, &k, &v))
		return fail(e, "no binding to change");
	v.state = state;
	bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
}

static void plant_forward(struct env *e)
{
	__u32 word = FWD_PORT / 64;
	__u64 bits = 1ULL << (FWD_PORT % 64);

	bind_plant(e, P_UDP, IN2, FWD_PORT, FWD_PORT, BIND_STATIC, BIND_LIVE);
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.fwd_ports), &word,
				&bits, BPF_ANY))
		fail(e, "marking the forwarded port failed");
}

/* Another CPU made these and is storing their first flow. */
static void plant_new_6000(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6000, 61234, 0, BIND_NEW);
}

static void plant_gone_6001(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6001, 61235, 0, BIND_GONE);
}

static void plant_new_6002(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6002, 61236, 0, BIND_NEW);
}

/* ... and stored it: the outbound half is live, the inbound one not yet. */
static void plant_half_live_6003(struct env *e)
{
	bind_plant(e, P_UDP, IN1, 6003, 61237, 0, BIND_NEW);
	bind_plant_state_out(e, IN1, 6003, BIND_LIVE);
}

static void claimed_6000(struct env *e)
{
	bind_state_is(e, DIR_OUT, IN1, 6000, BIND_LIVE);
}

static void still_new_6002(struct env *e)
{
	bind_state_is(e, DIR_OUT, IN1, 6002, BIND_NEW);
	bind_state_is(e, DIR_IN, EXT, 61236, BIND_NEW);
}

static void in_live_6003(struct env *e)
{
	bind_state_is(e, DIR_IN, EXT, 61237, BIND_LIVE);
}

#define OUT_NEW		{ CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 }, \
			{ CNT_NEW_BINDINGS, 1 }
#define OUT_XLATED	{ CNT_OUT_TRANSLATED, 1 }
#define IN_XLATED	{ CNT_IN_TRANSLATED, 1 }
#define PASS_HOST	{ CNT_PASS_HOST, 1 }

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

/* 9: port collisions and endpoint-independent mapping (range 1024-65535). */
static const struct step collisions[] = {
	{
		.name = "10.0.0.2:5000 keeps port 5000",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 5000, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.binds = { BIND(P_TCP, IN1, 5000, 5000) },
	}, {
		.name = "10.0.0.3:5000 to the same remote gets another port",
		.prog = WAN_OUT,
		.in = TCP(IN2, 5000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.binds = { BIND(P_TCP, IN1, 5000, 5000),
			   BIND(P_TCP, IN2, 5000, V0) },
		.after = v0_not_5000,
	}, {
		.name = "10.0.0.2:5000 to a second remote reuses 5000 (EIM)",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5000, REM2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 5000, REM2, 80, F_SYN),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 5000, REM2, 80, 5000, SEEN_SYN,
				    .ts = TS_SET),
			   FLOW_IN(P_TCP, REM2, 80, 5000, IN1, 5000, 0,
				   .ts = TS_ZERO) },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "reply to 5000 reaches 10.0.0.2",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, 5000, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "reply to the other port reaches 10.0.0.3",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN2, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "second remote's reply to 5000 reaches 10.0.0.2",
		.prog = WAN_IN,
		.in = TCP(REM2, 80, EXT, 5000, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM2, 80, IN1, 5000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
		.nflows = COUNT(6), .nbinds = COUNT(4),
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

/* RFC 4787 REQ-3/4: a range of 1000-1200 has well-known ports and others.
 * The kept port goes first: a random port chosen before could be it. */
static const struct step port_class[] = {
	{
		.name = "an inside port in range and free is kept",
		.prog = WAN_OUT,
		.in = TCP(IN2, 1100, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, 1100, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "a well-known inside port gets a well-known port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 80, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v0_well_known,
	}, {
		.name = "an odd inside port gets an odd port of 1024 and up",
		.prog = WAN_OUT,
		.in = TCP(IN1, 5001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v1_high_odd,
	}, {
		.name = "an even inside port gets an even port of 1024 and up",
		.prog = WAN_OUT,
		.in = TCP(IN2, 6000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v2_high_even,
	},
};

/* 10: a two-port range and three inside endpoints. */
static const struct step exhaustion[] = {
	{
		.name = "first endpoint gets a port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "second endpoint gets the other port",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = v0_not_v1,
	}, {
		.name = "third endpoint is dropped, no half pair left",
		.prog = WAN_OUT,
		.in = TCP(IN2, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_PORTS_EXHAUSTED, 1 } },
		.flows = { NO_FLOW_OUT(P_TCP, IN2, 40000, REM, 80) },
		.binds = { NO_BIND(P_TCP, IN2, 40000) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "existing endpoint to a new remote still works",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM2, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM2, 80, F_SYN),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.nflows = COUNT(6), .nbinds = COUNT(4),
	}, {
		.name = "udp has its own port space",
		.prog = WAN_OUT,
		.in = UDP(IN2, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V2, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(8), .nbinds = COUNT(6),
	},
};

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

/* 14: the data plane stamps last_seen_ns; the controller expires. */
static const struct step refresh[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "outbound packet refreshes an aged out half",
		.prog = WAN_OUT,
		.before = age_all_flows,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK),
		.cnt = { OUT_XLATED },
		.after = out_refreshed,
	}, {
		.name = "inbound packet refreshes an aged in half",
		.prog = WAN_IN,
		.before = age_all_flows,
		.in = TCP(REM, 80, EXT, V0, F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK),
		.cnt = { IN_XLATED },
		.after = in_refreshed,
	}, {
		.name = "filtered packet refreshes nothing",
		.prog = WAN_IN,
		.before = age_all_flows,
		.in = TCP(REM2, 80, EXT, V0, F_ACK),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_FILTERED, 1 } },
		.after = none_refreshed,
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

/* The LAN fast path with --internal 10.0.0.0/24: a flow's packets are
 * translated without the prefix trie, which only judges new flows. */
static const struct step lan_fast_internal[] = {
	{
		.name = "a source outside the prefixes passes, creates nothing",
		.prog = LAN_FAST,
		.in = TCP(OUTSIDER, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "slow path creates the flow of an inside source",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "its next packet: translated and redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "the outside source still passes untouched",
		.prog = LAN_FAST,
		.in = TCP(OUTSIDER, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_PASS,
		.same = true,
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

/* The LAN fast path (wan_ifindex = wan0, route to REM via wan0). */
static const struct step lan_fast[] = {
	{
		.name = "no flow: passes untouched, creates nothing",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "slow path creates the flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "established flow: translated, ttl-1, new macs, redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK) },
		.after = nh_after_syn_ack,
	}, {
		.name = "next packet: the cached next hop, no FIB lookup",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true, .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
	}, {
		.name = "a shorter packet: the cached next hop",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .ttl = 63, .wan_macs = true,
			   .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
	}, {
		.name = "a FIN: recorded for the expiry, the cached next hop",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK | F_FIN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK | F_FIN, .ttl = 63,
			   .wan_macs = true, .stale_nexthop = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0,
				    SEEN_SYN | SEEN_ACK | SEEN_FIN, .ts = TS_SET) },
		.before = nh_plant,
	}, {
		.name = "a longer packet than any before: the FIB checks its MTU",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 600),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 600, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant,
		.after = nh_after_long,
	}, {
		.name = "a next hop cached NH_MAX_AGE jiffies ago: the FIB again",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant_old,
		.after = nh_after_syn_ack,
	}, {
		.name = "after a route change (route_gen bumped): the FIB again",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 64),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 64, .ttl = 63,
			   .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
		.before = nh_plant_and_bump,
		.after = nh_after_gen,
	}, {
		.name = "ttl 1 passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .ttl = 1),
		.verdict = XDP_PASS,
		.same = true,
	}, {
		/* What generic XDP sees of a GRO packet: the stack
		 * forwards (and segments) it. */
		.name = "longer than the route mtu: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 2896),
		.verdict = XDP_PASS,
		.same = true,
	}, {
		.name = "slow path creates a flow to an unrouted remote",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, UNROUTED, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, UNROUTED, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "no route to the WAN: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40001, UNROUTED, 80, F_ACK | F_FIN),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_OUT(P_TCP, IN1, 40001, UNROUTED, 80, V1,
				    SEEN_SYN) },
		.nflows = COUNT(4),
	},
};

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

/*
 * --lan-inbound: replies of established flows routed to a --lan interface
 * are translated, aged and redirected there (lan0, inside host IN1 behind
 * a permanent neighbour); anything else is translated for the stack.
 */
#define IN_FAST		IN_XLATED, { CNT_WAN_FASTPATH, 1 }
#define UNROUTED_IN	IP4(10, 9, 9, 9)

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

/* --lan-new: the LAN's XDP opens connections itself; what it cannot
 * decide (ALG ports, a segment that may not open one) stays the slow
 * path's, untouched. */
static const struct step lan_new[] = {
	{
		.name = "syn: binding and flow made in XDP, redirected",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "the reply finds it",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "udp from the same inside port: a binding of its own",
		.prog = LAN_FAST,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V1, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "an ack without a flow: the slow path's to judge",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40001, REM, 80, F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(4),
	}, {
		.name = "a new ftp control connection: the slow path's (ALG)",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40002, REM, 21, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(4),
	},
};

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
 * A WAN without Ethernet (cfg_wan_l3: PPP, TUN, WireGuard): frames start at
 * the IP header, masq_wan_out translates them on the way out and
 * masq_wan_in_tc does the whole inbound path (no XDP there).  Run as if on
 * wantun; see tc_ctx_of() for how faithful that is.
 */
#define L3		.l3 = true
#define IPV6_L3(len)	{ .ethertype = ETHERTYPE_IPV6, .payload = len, L3 }
#define L3_DROP(r)	{ r, 1 }

static const struct step wan_l3[] = {
	{
		.name = "unsolicited syn to a nat port with no binding: dropped",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, 61000, F_SYN, L3),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { L3_DROP(DROP_NO_MAPPING) },
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "syn routed at an inside address: dropped",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, IN1, 40000, F_SYN, L3),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { L3_DROP(DROP_UNSOLICITED) },
		.nflows = COUNT(0),
	}, {
		.name = "later fragment in before its first fragment is held",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, 61000, .frag = 185, .udp_nocsum = true,
			  L3),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { CNT_FRAG_HELD, 1 } },
		.nflows = COUNT(0),
	}, {
		.name = "tcp syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, L3),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN,
				    .ts = TS_SET),
			   FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000, 0,
				   .ts = TS_ZERO) },
		.binds = { BIND(P_TCP, IN1, 40000, V0) },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "tcp syn-ack in",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, L3),
		.cnt = { IN_XLATED },
		.flows = { FLOW_IN(P_TCP, REM, 80, V0, IN1, 40000,
				   SEEN_SYN | SEEN_ACK, .ts = TS_SET) },
	}, {
		.name = "tcp data in (odd length)",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_ACK | F_PSH, .payload = 1001, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_ACK | F_PSH, .payload = 1001,
			   L3),
		.cnt = { IN_XLATED },
	}, {
		/* No XDP to leave it to: translated here (see
		 * expect_partial_as_none() for the checksum field). */
		.name = "tcp in with a partial checksum is translated",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .payload = 100,
			  .l4_partial = true, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .payload = 100, L3),
		.partial_as_none = true,
		.cnt = { IN_XLATED },
	}, {
		.name = "tcp data out with ip options",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .payload = 50,
			  .ip_opts = 8, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .payload = 50, .ip_opts = 8,
			   L3),
		.cnt = { OUT_XLATED },
	}, {
		.name = "udp out",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40001, REM, 53, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53, L3),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_UDP, IN1, 40001, REM, 53, V1, 0) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "udp reply in",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, V1, .payload = 301, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(REM, 53, IN1, 40001, .payload = 301, L3),
		.cnt = { IN_XLATED },
	}, {
		.name = "udp reply in without checksum keeps 0",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, V1, .udp_nocsum = true, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(REM, 53, IN1, 40001, .udp_nocsum = true, L3),
		.cnt = { IN_XLATED },
	}, {
		.name = "udp reply in with a partial checksum is translated",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, V1, .l4_partial = true, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(REM, 53, IN1, 40001, L3),
		.partial_as_none = true,
		.cnt = { IN_XLATED },
	}, {
		.name = "echo request out",
		.prog = WAN_OUT,
		.in = ECHO(IN1, REM, 0x1234, L3),
		.verdict = TC_ACT_OK,
		.out = ECHO(EXT, REM, V2, L3),
		.cnt = { OUT_NEW },
		.flows = { FLOW_OUT(P_ICMP, IN1, 0x1234, REM, 0, V2, 0) },
	}, {
		.name = "echo reply in",
		.prog = WAN_IN_TC,
		.in = ECHO_REPLY(REM, EXT, V2, L3),
		.verdict = TC_ACT_OK,
		.out = ECHO_REPLY(REM, IN1, 0x1234, L3),
		.cnt = { IN_XLATED },
	}, {
		.name = "echo request in to ext is the host's",
		.prog = WAN_IN_TC,
		.in = ECHO(REM, EXT, V2, L3),
		.verdict = TC_ACT_OK,
		.same = true,
		.cnt = { PASS_HOST },
	}, {
		.name = "port unreachable in quoting the translated udp",
		.prog = WAN_IN_TC,
		.in = PORT_UNREACH(REM, EXT, QUOTE_UDP(EXT, V1, REM, 53,
						       .quote = QUOTE_ALL), L3),
		.verdict = TC_ACT_OK,
		.out = PORT_UNREACH(REM, IN1, QUOTE_UDP(IN1, 40001, REM, 53,
							.quote = QUOTE_ALL), L3),
		.cnt = { { CNT_ICMP_ERR_TRANSLATED, 1 } },
	}, {
		.name = "time exceeded in quoting the tcp syn, 8 bytes",
		.prog = WAN_IN_TC,
		.in = TIME_EXCEEDED(ROUTER, EXT,
				    QUOTE_TCP(EXT, V0, REM, 80, F_SYN), L3),
		.verdict = TC_ACT_OK,
		.out = TIME_EXCEEDED(ROUTER, IN1,
				     QUOTE_TCP(IN1, 40000, REM, 80, F_SYN), L3),
		.cnt = { { CNT_ICMP_ERR_TRANSLATED, 1 } },
	}, {
		.name = "port unreachable out from inside about a reply",
		.prog = WAN_OUT,
		.in = PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40001), L3),
		.verdict = TC_ACT_OK,
		.out = PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V1), L3),
		.cnt = { { CNT_ICMP_ERR_TRANSLATED, 1 } },
	}, {
		.name = "first fragment of a big datagram in",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, V1, .frag = 0x2000, .payload = 1472,
			  .udp_len = 4008, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(REM, 53, IN1, 40001, .frag = 0x2000, .payload = 1472,
			   .udp_len = 4008, L3),
		.cnt = { IN_XLATED },
	}, {
		.name = "later fragment in follows its first fragment",
		.prog = WAN_IN_TC,
		.in = UDP(REM, 53, EXT, V1, .frag = 185, .udp_nocsum = true, L3),
		.verdict = TC_ACT_OK,
		.out = UDP(REM, 53, IN1, V1, .frag = 185, .udp_nocsum = true, L3),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
	}, {
		.name = "later fragment out gets the external source",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40001, REM, 53, .frag = 185, .udp_nocsum = true,
			  L3),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 40001, REM, 53, .frag = 185, .udp_nocsum = true,
			   L3),
		.cnt = { { CNT_FRAG_TRANSLATED, 1 } },
		.nflows = COUNT(6), .nbinds = COUNT(6),
	},
};

/* Fresh maps: IGNORED and MALFORMED expect none.  Frames under 14 bytes
 * cannot be run at all (tc_ctx_of()). */
static const struct step wan_l3_malformed[] = {
	MALFORMED(WAN_IN_TC, "in: ip header cut at 16 bytes",
		  SYN_IN(.trunc = 16, L3), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_IN_TC, "in: tcp header cut at 10 bytes",
		  SYN_IN(.tot_len = IP_LEN + 10, .trunc = IP_LEN + 10, L3),
		  TC_ACT_SHOT, DROP_MALFORMED_L4),
	MALFORMED(WAN_IN_TC, "in: tot_len beyond the frame",
		  SYN_IN(.tot_len = 200, L3), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: ip header cut at 16 bytes",
		  SYN_OUT(.trunc = 16, L3), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: ihl 4",
		  SYN_OUT(.ihl = 4, L3), TC_ACT_SHOT, DROP_MALFORMED_IP),
	MALFORMED(WAN_OUT, "out: udp len beyond the ip payload",
		  UDP(IN1, 40000, REM, 53, .udp_len = 100, L3), TC_ACT_SHOT,
		  DROP_MALFORMED_L4),
	IGNORED(WAN_IN_TC, "in: ipv6 passes untouched", IPV6_L3(60),
		TC_ACT_OK),
	IGNORED(WAN_OUT, "out: ipv6 passes untouched", IPV6_L3(60),
		TC_ACT_OK),
	/* An Ethernet IPv4 frame on it is no IPv4 packet: byte 0 is 0x02. */
	IGNORED(WAN_IN_TC, "in: an ethernet frame is not ipv4",
		SYN_IN(), TC_ACT_OK),
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
 * A full flows table (--max-flows 2: four entries).  A packet whose flow
 * cannot be stored leaves no binding behind, or every new endpoint would
 * hold an external port until the controller's walk; bindings it did not
 * make (earlier flows', forwards) stay.
 */
static const struct step table_full[] = {
	{
		.name = "first flow",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(2), .nbinds = COUNT(2),
	}, {
		.name = "second flow fills the table",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5001, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53),
		.cnt = { OUT_NEW },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new udp endpoint: dropped, its binding gone with it",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5002, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_UDP, IN1, 5002) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "another one: still no binding left",
		.prog = WAN_OUT,
		.in = UDP(IN2, 5003, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_UDP, IN2, 5003) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new tcp endpoint: the same",
		.prog = WAN_OUT,
		.in = TCP(IN2, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { NO_BIND(P_TCP, IN2, 40000) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "existing endpoint, new remote: its binding stays",
		.prog = WAN_OUT,
		.in = UDP(IN1, 5000, REM2, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN1, 5000, V0) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "a forward's target going out: the forward stays",
		.prog = WAN_OUT,
		.before = plant_forward,
		.in = UDP(IN2, FWD_PORT, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN2, FWD_PORT, FWD_PORT) },
		.nflows = COUNT(4), .nbinds = COUNT(6),
	}, {
		.name = "a remote opening the forward: the forward stays",
		.prog = WAN_IN,
		.in = UDP(REM, 1234, EXT, FWD_PORT),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
		.binds = { BIND(P_UDP, IN2, FWD_PORT, FWD_PORT) },
		.nflows = COUNT(4), .nbinds = COUNT(6),
	},
};

/* The same in the LAN's XDP (--lan-new), which leaves the drop to the
 * slow path but must not leave the binding. */
static const struct step table_full_xdp[] = {
	{
		.name = "first flow",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5000, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V0, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
	}, {
		.name = "second flow fills the table",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5001, REM, 53),
		.verdict = XDP_REDIRECT,
		.out = UDP(EXT, V1, REM, 53, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	}, {
		.name = "new endpoint: passed to the slow path, no binding left",
		.prog = LAN_FAST,
		.in = UDP(IN1, 5002, REM, 53),
		.verdict = XDP_PASS,
		.same = true,
		.binds = { NO_BIND(P_UDP, IN1, 5002) },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

/*
 * Bindings another CPU made and is still storing the first flow of
 * (BIND_NEW): a flow of this endpoint claims them, so that a rollback
 * cannot take them; inbound, they are no mapping until live.  Cone
 * filtering, so that an inbound packet may open a flow.
 */
static const struct step bind_claim[] = {
	{
		.name = "outbound on a new binding: claimed and used",
		.prog = WAN_OUT,
		.before = plant_new_6000,
		.in = UDP(IN1, 6000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, 61234, REM, 53),
		.cnt = { OUT_XLATED, { CNT_NEW_FLOWS, 1 } },
		.after = claimed_6000,
	}, {
		.name = "outbound on a binding being rolled back: dropped",
		.prog = WAN_OUT,
		.before = plant_gone_6001,
		.in = UDP(IN1, 6001, REM, 53),
		.verdict = TC_ACT_SHOT,
		.same = true,
		.cnt = { { DROP_TABLE_FULL, 1 } },
	}, {
		.name = "inbound to a new binding: no mapping yet",
		.prog = WAN_IN,
		.before = plant_new_6002,
		.in = UDP(REM, 53, EXT, 61236),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.after = still_new_6002,
	}, {
		.name = "inbound once the outbound half is live: opens",
		.prog = WAN_IN,
		.before = plant_half_live_6003,
		.in = UDP(REM, 53, EXT, 61237),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 6003),
		.cnt = { IN_XLATED, { CNT_NEW_FLOWS, 1 } },
		.after = in_live_6003,
	},
};

/* wan_ifindex unset: the fast path never redirects. */
static const struct step lan_fast_off[] = {
	{
		.name = "slow path creates the flow",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "routed remote but no WAN ifindex: passes untouched",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_PASS,
		.same = true,
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN) },
	},
};

/*
 * ICMP errors (RFC 5508).  Every translating step ages all flows first and
 * checks afterwards that the error refreshed none of them; the entry counts
 * check that none was deleted.  The quoted packets' checksums are computed
 * from scratch over the whole original packet (see struct inner_spec).
 */
#define ERR_XLATED	{ CNT_ICMP_ERR_TRANSLATED, 1 }
/* Each macro spells its step out: a braced spec passed on to another
 * macro would be split at its commas. */
#define ERR_IN(name_, in_, out_)					\
	{ .name = name_, .prog = WAN_IN, .before = age_all_flows,	\
	  .in = in_, .verdict = XDP_PASS, .out = out_,			\
	  .cnt = { ERR_XLATED }, .after = none_refreshed,		\
	  .nflows = COUNT(6), .nbinds = COUNT(6) }
#define ERR_OUT(name_, in_, out_)					\
	{ .name = name_, .prog = WAN_OUT, .before = age_all_flows,	\
	  .in = in_, .verdict = TC_ACT_OK, .out = out_,		\
	  .cnt = { ERR_XLATED }, .after = none_refreshed,		\
	  .nflows = COUNT(4), .nbinds = COUNT(4) }
/* An error that must leave unchanged, counted as reason (0: nothing). */
#define ERR_IN_KEEP(name_, in_, verdict_, reason)			\
	{ .name = name_, .prog = WAN_IN, .before = age_all_flows,	\
	  .in = in_, .verdict = verdict_, .same = true,		\
	  .cnt = { { reason, (reason) ? 1 : 0 } },			\
	  .after = none_refreshed, .nflows = COUNT(6),		\
	  .nbinds = COUNT(6) }
#define ERR_OUT_KEEP(name_, in_, verdict_, reason)			\
	{ .name = name_, .prog = WAN_OUT, .before = age_all_flows,	\
	  .in = in_, .verdict = verdict_, .same = true,		\
	  .cnt = { { reason, (reason) ? 1 : 0 } },			\
	  .after = none_refreshed, .nflows = COUNT(4),		\
	  .nbinds = COUNT(4) }

/* Inbound: a router (or the remote) reports a packet a NAT flow sent. */
static const struct step icmp_err_in[] = {
	{
		.name = "tcp syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "udp out",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40001, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V1, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "echo out",
		.prog = WAN_OUT,
		.in = ECHO(IN1, REM, 0x1234),
		.verdict = TC_ACT_OK,
		.out = ECHO(EXT, REM, V2),
		.cnt = { OUT_NEW },
		.nflows = COUNT(6), .nbinds = COUNT(6),
	},
	ERR_IN("time exceeded about tcp, 8 bytes quoted",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80, F_SYN)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_TCP(IN1, 40000, REM, 80, F_SYN))),
	ERR_IN("time exceeded about tcp, 16 bytes quoted: no tcp checksum to fix",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80, F_SYN,
						    .quote = 16)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_TCP(IN1, 40000, REM, 80, F_SYN,
						    .quote = 16))),
	ERR_IN("time exceeded about tcp, 18 bytes quoted: tcp checksum fixed",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80, F_SYN,
						    .quote = 18)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_TCP(IN1, 40000, REM, 80, F_SYN,
						    .quote = 18))),
	ERR_IN("time exceeded about tcp with data, all quoted",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80,
				F_ACK | F_PSH, .payload = 201,
				.quote = QUOTE_ALL)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_TCP(IN1, 40000, REM, 80,
				F_ACK | F_PSH, .payload = 201,
				.quote = QUOTE_ALL))),
	/* What Linux sends: 576 bytes in all, so 528 of the segment. */
	ERR_IN("frag needed (mtu 1280) about a 1400-byte tcp segment",
	       FRAG_NEEDED(ROUTER, EXT, 1280, QUOTE_TCP(EXT, V0, REM, 80,
				F_ACK, .payload = 1360, .ttl = 63,
				.quote = 528)),
	       FRAG_NEEDED(ROUTER, IN1, 1280, QUOTE_TCP(IN1, 40000, REM, 80,
				F_ACK, .payload = 1360, .ttl = 63,
				.quote = 528))),
	ERR_IN("frag needed from the remote itself about tcp",
	       FRAG_NEEDED(REM, EXT, 1400, QUOTE_TCP(EXT, V0, REM, 80,
				F_ACK, .payload = 1460, .quote = 20)),
	       FRAG_NEEDED(REM, IN1, 1400, QUOTE_TCP(IN1, 40000, REM, 80,
				F_ACK, .payload = 1460, .quote = 20))),
	ERR_IN("parameter problem about tcp keeps its pointer",
	       ICMP_ERR(ROUTER, EXT, ICMP_T_PARAMPROB, 0,
			.icmp_rest = ICMP_PTR(9),
			QUOTE_TCP(EXT, V0, REM, 80, F_SYN, .quote = 20)),
	       ICMP_ERR(ROUTER, IN1, ICMP_T_PARAMPROB, 0,
			.icmp_rest = ICMP_PTR(9),
			QUOTE_TCP(IN1, 40000, REM, 80, F_SYN, .quote = 20))),
	ERR_IN("time exceeded about udp, 8 bytes quoted: udp checksum fixed",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_UDP(IN1, 40001, REM, 53))),
	ERR_IN("frag needed about a 1000-byte udp datagram, all quoted",
	       FRAG_NEEDED(ROUTER, EXT, 576, QUOTE_UDP(EXT, V1, REM, 53,
				.payload = 1000, .quote = QUOTE_ALL)),
	       FRAG_NEEDED(ROUTER, IN1, 576, QUOTE_UDP(IN1, 40001, REM, 53,
				.payload = 1000, .quote = QUOTE_ALL))),
	ERR_IN("port unreachable about udp without checksum keeps 0",
	       PORT_UNREACH(REM, EXT, QUOTE_UDP(EXT, V1, REM, 53,
						.udp_nocsum = true)),
	       PORT_UNREACH(REM, IN1, QUOTE_UDP(IN1, 40001, REM, 53,
						.udp_nocsum = true))),
	{
		.name = "quoted udp checksum that computes to 0 becomes 0xffff",
		.prog = WAN_IN,
		.before = age_all_flows,
		.in = PORT_UNREACH(REM, EXT, QUOTE_UDP(EXT, V1, REM, 53)),
		.verdict = XDP_PASS,
		.out = PORT_UNREACH(REM, IN1, QUOTE_UDP(IN1, 40001, REM, 53)),
		.fold_zero = true,
		.cnt = { ERR_XLATED },
		.after = none_refreshed,
	},
	ERR_IN("time exceeded about echo, 8 bytes quoted: id and echo checksum fixed",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_ECHO(EXT, REM, V2)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_ECHO(IN1, REM, 0x1234))),
	ERR_IN("host unreachable about echo, all quoted",
	       ICMP_ERR(ROUTER, EXT, ICMP_T_UNREACH, ICMP_C_HOST_UNREACH,
			QUOTE_ECHO(EXT, REM, V2, .quote = QUOTE_ALL)),
	       ICMP_ERR(ROUTER, IN1, ICMP_T_UNREACH, ICMP_C_HOST_UNREACH,
			QUOTE_ECHO(IN1, REM, 0x1234, .quote = QUOTE_ALL))),
	ERR_IN("quoted udp with 8 bytes of ip options",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
						    .ip_opts = 8)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_UDP(IN1, 40001, REM, 53,
						    .ip_opts = 8))),
	ERR_IN("quoted tcp with 40 bytes of ip options (ihl 15), 20 quoted",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80, F_SYN,
						    .ip_opts = 40, .quote = 20)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_TCP(IN1, 40000, REM, 80, F_SYN,
						    .ip_opts = 40, .quote = 20))),
	ERR_IN("quoted echo with 4 bytes of ip options",
	       TIME_EXCEEDED(ROUTER, EXT, QUOTE_ECHO(EXT, REM, V2, .ip_opts = 4)),
	       TIME_EXCEEDED(ROUTER, IN1, QUOTE_ECHO(IN1, REM, 0x1234,
						     .ip_opts = 4))),
	ERR_IN("error with ip options of its own (ihl 6)",
	       TIME_EXCEEDED(ROUTER, EXT, .ip_opts = 4,
			     QUOTE_UDP(EXT, V1, REM, 53)),
	       TIME_EXCEEDED(ROUTER, IN1, .ip_opts = 4,
			     QUOTE_UDP(IN1, 40001, REM, 53))),
	ERR_IN("both headers with options, tcp all quoted",
	       FRAG_NEEDED(ROUTER, EXT, 1280, .ip_opts = 12,
			   QUOTE_TCP(EXT, V0, REM, 80, F_ACK, .ip_opts = 24,
				     .payload = 33, .quote = QUOTE_ALL)),
	       FRAG_NEEDED(ROUTER, IN1, 1280, .ip_opts = 12,
			   QUOTE_TCP(IN1, 40000, REM, 80, F_ACK, .ip_opts = 24,
				     .payload = 33, .quote = QUOTE_ALL))),

	/* A frame may be longer than its IP packet (padding, a trailer):
	 * what lies beyond tot_len is neither quoted data nor checksummed. */
	ERR_IN("trailer after an error quoting 8 bytes of tcp is left alone",
	       TIME_EXCEEDED(ROUTER, EXT, .trailer = 12,
			     QUOTE_TCP(EXT, V0, REM, 80, F_SYN)),
	       TIME_EXCEEDED(ROUTER, IN1, .trailer = 12,
			     QUOTE_TCP(IN1, 40000, REM, 80, F_SYN))),
	ERR_IN("trailer after an error quoting udp is left alone",
	       TIME_EXCEEDED(ROUTER, EXT, .trailer = 12,
			     QUOTE_UDP(EXT, V1, REM, 53)),
	       TIME_EXCEEDED(ROUTER, IN1, .trailer = 12,
			     QUOTE_UDP(IN1, 40001, REM, 53))),
	ERR_IN_KEEP("bad icmp checksum (tcp) is dropped",
		    TIME_EXCEEDED(ROUTER, EXT, .icmp_bad_csum = true,
				  QUOTE_TCP(EXT, V0, REM, 80, F_SYN)),
		    XDP_DROP, DROP_ICMP_BAD_CSUM),
	ERR_IN_KEEP("bad icmp checksum (echo, all quoted) is dropped",
		    TIME_EXCEEDED(ROUTER, EXT, .icmp_bad_csum = true,
				  QUOTE_ECHO(EXT, REM, V2, .quote = QUOTE_ALL)),
		    XDP_DROP, DROP_ICMP_BAD_CSUM),
	ERR_IN_KEEP("about tcp to a remote the mapping never saw: no flow",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM2, 80,
							 F_SYN)),
		    XDP_DROP, DROP_ICMP_NO_FLOW),
	ERR_IN_KEEP("about udp to another port of the remote: no flow",
		    PORT_UNREACH(REM, EXT, QUOTE_UDP(EXT, V1, REM, 54)),
		    XDP_DROP, DROP_ICMP_NO_FLOW),
	ERR_IN_KEEP("about echo to another remote: no flow",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_ECHO(EXT, REM2, V2)),
		    XDP_DROP, DROP_ICMP_NO_FLOW),
	ERR_IN_KEEP("about the gateway's own tcp (port below the range) passes",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, 40000, REM, 80,
							 F_SYN)),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("about the gateway's own udp passes",
		    FRAG_NEEDED(ROUTER, EXT, 1280, QUOTE_UDP(EXT, 60999, REM, 53)),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("about the gateway's own echo (id in the range, unbound) passes",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_ECHO(EXT, REM, 65000)),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("about the gateway's own echo (id outside the range) passes",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_ECHO(EXT, REM, 0x1234)),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("about a packet another host sent passes",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(ROUTER, V0, REM, 80,
							 F_SYN)),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("about gre passes",
		    TIME_EXCEEDED(ROUTER, EXT,
				  .inner = { .proto = 47, .saddr = EXT,
					     .daddr = REM, .payload = 8 }),
		    XDP_PASS, CNT_PASS_HOST),
	ERR_IN_KEEP("quoted udp cut at 4 bytes is malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
							 .quote = 4)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("quoted udp cut at 4 bytes is malformed, trailer or not",
		    TIME_EXCEEDED(ROUTER, EXT, .trailer = 8,
				  QUOTE_UDP(EXT, V1, REM, 53, .quote = 4)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("quoted tcp cut at 7 bytes is malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_TCP(EXT, V0, REM, 80, F_SYN,
							 .quote = 7)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("quoted ip header cut at 12 bytes is malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
							 .quote_ip = 12)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("quoted ip options without the 8 bytes after them are malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
							 .ip_opts = 40,
							 .quote_ip = 60)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("quoted ihl 4 is malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
							 .ihl = 4)),
		    XDP_DROP, DROP_MALFORMED_L4),
	ERR_IN_KEEP("error without a quoted packet is malformed",
		    TIME_EXCEEDED(ROUTER, EXT, QUOTE_UDP(EXT, V1, REM, 53,
							 .quote_ip = 0,
							 .quote = 0),
				  .tot_len = IP_LEN + ICMP_LEN,
				  .trunc = ETH_LEN + IP_LEN + ICMP_LEN),
		    XDP_DROP, DROP_MALFORMED_L4),
	{
		.name = "the flows still translate after all those errors",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
		.flows = { FLOW_OUT(P_TCP, IN1, 40000, REM, 80, V0, SEEN_SYN),
			   FLOW_IN(P_UDP, REM, 53, V1, IN1, 40001, 0),
			   FLOW_IN(P_ICMP, REM, 0, V2, IN1, 0x1234, 0) },
		.nflows = COUNT(6), .nbinds = COUNT(6),
	},
};

/* Outbound: an inside host reports a packet it got through the NAT. */
static const struct step icmp_err_out[] = {
	{
		.name = "udp out",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "udp reply in",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000),
		.cnt = { IN_XLATED },
	}, {
		.name = "tcp syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
	ERR_OUT("port unreachable about the udp reply, all quoted",
		PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000, .ttl = 63,
						 .quote = QUOTE_ALL)),
		PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0, .ttl = 63,
						 .quote = QUOTE_ALL))),
	ERR_OUT("port unreachable about the udp reply, 8 bytes quoted",
		PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000)),
		PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0))),
	ERR_OUT("port unreachable about udp without checksum keeps 0",
		PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000,
						 .udp_nocsum = true)),
		PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0,
						 .udp_nocsum = true))),
	{
		.name = "quoted udp checksum that computes to 0 becomes 0xffff",
		.prog = WAN_OUT,
		.before = age_all_flows,
		.in = PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000)),
		.verdict = TC_ACT_OK,
		.out = PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0)),
		.fold_zero = true,
		.cnt = { ERR_XLATED },
		.after = none_refreshed,
	},
	ERR_OUT("admin prohibited about a tcp syn-ack, 20 bytes quoted",
		ICMP_ERR(IN1, REM, ICMP_T_UNREACH, ICMP_C_ADMIN_PROHIB,
			 QUOTE_TCP(REM, 80, IN1, 40001, F_SYN | F_ACK,
				   .quote = 20)),
		ICMP_ERR(EXT, REM, ICMP_T_UNREACH, ICMP_C_ADMIN_PROHIB,
			 QUOTE_TCP(REM, 80, EXT, V1, F_SYN | F_ACK,
				   .quote = 20))),
	ERR_OUT("admin prohibited about tcp, 8 bytes quoted",
		ICMP_ERR(IN1, REM, ICMP_T_UNREACH, ICMP_C_ADMIN_PROHIB,
			 QUOTE_TCP(REM, 80, IN1, 40001, F_ACK)),
		ICMP_ERR(EXT, REM, ICMP_T_UNREACH, ICMP_C_ADMIN_PROHIB,
			 QUOTE_TCP(REM, 80, EXT, V1, F_ACK))),
	ERR_OUT("quoted udp with 12 bytes of ip options",
		PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000,
						 .ip_opts = 12,
						 .quote = QUOTE_ALL)),
		PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0,
						 .ip_opts = 12,
						 .quote = QUOTE_ALL))),
	ERR_OUT("error with ip options of its own",
		PORT_UNREACH(IN1, REM, .ip_opts = 8,
			     QUOTE_UDP(REM, 53, IN1, 40000)),
		PORT_UNREACH(EXT, REM, .ip_opts = 8,
			     QUOTE_UDP(REM, 53, EXT, V0))),
	ERR_OUT_KEEP("bad icmp checksum is dropped",
		     PORT_UNREACH(IN1, REM, .icmp_bad_csum = true,
				  QUOTE_UDP(REM, 53, IN1, 40000)),
		     TC_ACT_SHOT, DROP_ICMP_BAD_CSUM),
	ERR_OUT_KEEP("about udp from a remote with no flow is dropped",
		     PORT_UNREACH(IN1, REM2, QUOTE_UDP(REM2, 53, IN1, 40000)),
		     TC_ACT_SHOT, DROP_ICMP_NO_FLOW),
	ERR_OUT_KEEP("about an echo reply is unsupported",
		     PORT_UNREACH(IN1, REM, QUOTE_ECHO(REM, IN1, 0x1234,
				  .icmp_type = ICMP_T_ECHOREPLY)),
		     TC_ACT_SHOT, DROP_UNSUPPORTED_PROTO),
	ERR_OUT_KEEP("quoted udp cut at 4 bytes is malformed",
		     PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000,
						      .quote = 4)),
		     TC_ACT_SHOT, DROP_MALFORMED_L4),
	ERR_OUT_KEEP("the gateway's own error passes untouched",
		     PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, 5000)),
		     TC_ACT_OK, 0),
	{
		.name = "the flows still translate after all those errors",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000),
		.cnt = { IN_XLATED },
		.nflows = COUNT(4), .nbinds = COUNT(4),
	},
};

/* --internal 10.0.0.0/24: an error from another source is not ours. */
static const struct step icmp_err_internal[] = {
	{
		.name = "udp out",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
	}, {
		.name = "error from a source outside the prefixes passes untouched",
		.prog = WAN_OUT,
		.in = PORT_UNREACH(OUTSIDER, REM, QUOTE_UDP(REM, 53, OUTSIDER,
							    40000)),
		.verdict = TC_ACT_OK,
		.same = true,
		.nflows = COUNT(2),
	}, {
		.name = "error from an inside source is translated",
		.prog = WAN_OUT,
		.in = PORT_UNREACH(IN1, REM, QUOTE_UDP(REM, 53, IN1, 40000)),
		.verdict = TC_ACT_OK,
		.out = PORT_UNREACH(EXT, REM, QUOTE_UDP(REM, 53, EXT, V0)),
		.cnt = { ERR_XLATED },
		.nflows = COUNT(2),
	},
};

#ifdef HAVE_FLOWTABLE
/* ---- expiry by the controller (user/lib/flowtable.c) ---- */

#define NSEC	1000000000ULL

static const struct nat_state timeouts = {
	.ext_addr = 0x010200c0,		/* 192.0.2.1, network order */
	.timeout_tcp_est = 7440, .timeout_tcp_trans = 240,
	.timeout_udp = 300, .timeout_icmp = 60,
};

static __u64 newest_last_seen(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	struct flow_key k, next;
	struct flow_val v;
	void *prev = NULL;
	__u64 t = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &v) && v.last_seen_ns > t)
			t = v.last_seen_ns;
	}
	return t;
}

#define HALF_ANY	(-1)	/* see expire_many() */

/* What expiry told the event stream it removed (struct gone_sink). */
struct gone_count {
	unsigned int conns, binds, bad;
};

static void gone_conn_count(void *ctx, const struct conn *c, int reason)
{
	struct gone_count *g = ctx;

	g->conns++;
	/* An idle connection: closed after a FIN or RST, else timed out. */
	if (reason != ((c->out.seen | c->in.seen) & (SEEN_FIN | SEEN_RST) &&
		       c->out_key.proto == IPPROTO_TCP ? GONE_CLOSED :
							 GONE_TIMEOUT) ||
	    c->out_key.dir != DIR_OUT || c->in_key.dir != DIR_IN)
		g->bad++;
}

static void gone_bind_count(void *ctx, const struct bind_key *k,
			    const struct bind_val *v, int reason)
{
	struct gone_count *g = ctx;

	g->binds++;
	if (reason != GONE_UNUSED || k->dir != DIR_OUT || v->addr != htonl(EXT))
		g->bad++;
}

/* Runs expiry idle_s seconds after base and checks what it removed and
 * what is left. */
static void expire_at(struct env *e, __u64 base, __u32 idle_s,
		      unsigned int expired, int half, int flows_left,
		      int binds_left)
{
	struct gone_count g = {};
	struct gone_sink sink = { .conn = gone_conn_count,
				  .bind = gone_bind_count, .ctx = &g };
	struct expire_result r;
	__u64 now = base + idle_s * NSEC;
	int err;

	if (!flows_expire) {
		fail(e, "flows_expire() not linked in");
		return;
	}
	err = flows_expire(bpf_map__fd(e->skel->maps.flows),
			   bpf_map__fd(e->skel->maps.binds), &timeouts, now, true,
			   &r, &sink);
	if (err)
		fail(e, "flows_expire at +%us: %s", idle_s, strerror(-err));
	/* Every removal reaches the event stream, with its reason. */
	if (g.conns != r.conns_expired || g.binds != r.bindings_freed || g.bad)
		fail(e, "flows_expire at +%us told the stream of %u connections and %u bindings (%u wrong) for %u and %u removed",
		     idle_s, g.conns, g.binds, g.bad, r.conns_expired,
		     r.bindings_freed);
	if (r.conns_expired != expired)
		fail(e, "flows_expire at +%us: %u expired, expected %u",
		     idle_s, r.conns_expired, expired);
	if (half != HALF_ANY && r.half_pairs != (unsigned int)half)
		fail(e, "flows_expire at +%us: %u half pairs, expected %d",
		     idle_s, r.half_pairs, half);
	if (map_count(e->skel->maps.flows) != flows_left)
		fail(e, "after expiry at +%us: %d flow entries, expected %d",
		     idle_s, map_count(e->skel->maps.flows), flows_left);
	if (map_count(e->skel->maps.binds) != binds_left)
		fail(e, "after expiry at +%us: %d binding entries, expected %d",
		     idle_s, map_count(e->skel->maps.binds), binds_left);
}

/* Half-pair counts are checked by expire_many() only: whether a pair's
 * DIR_IN entry is walked before or after its DIR_OUT one depends on the
 * map's random hash seed. */
static void expire_after(struct env *e, __u32 idle_s, unsigned int expired,
			 int flows_left, int binds_left)
{
	expire_at(e, newest_last_seen(e), idle_s, expired, HALF_ANY,
		  flows_left, binds_left);
}

static void expire_syn_sent(struct env *e)
{
	expire_after(e, 239, 0, 2, 2);
	expire_after(e, 241, 1, 0, 0);
}

static void expire_established(struct env *e)
{
	/* Past the transitory timeout, within the established one. */
	expire_after(e, 241, 0, 2, 2);
	expire_after(e, 7439, 0, 2, 2);
	expire_after(e, 7441, 1, 0, 0);
}

static void expire_udp(struct env *e)
{
	expire_after(e, 299, 0, 2, 2);
	expire_after(e, 301, 1, 0, 0);
}

static void expire_icmp(struct env *e)
{
	expire_after(e, 59, 0, 2, 2);
	expire_after(e, 61, 1, 0, 0);
}

/* An inbound half without its twin is removed at once; the binding stays
 * through its grace period, then goes. */
static void expire_half_pair(struct env *e)
{
	struct flow_key k = flow_key_of(P_UDP, DIR_OUT, IN1, 40000, REM, 53);
	__u64 base = newest_last_seen(e);

	bpf_map_delete_elem(bpf_map__fd(e->skel->maps.flows), &k);
	expire_at(e, base, 1, 0, 1, 0, 2);
	expire_at(e, base, BIND_GRACE_NS / NSEC + 1, 0, 0, 0, 0);
}

/*
 * A connection opened while the controller walks: its binding's stamp is
 * newer than the walk's clock reading, and its flows may not be in the
 * dump.  It must stay, however the clock difference wraps.
 */
static void expire_bind_during_walk(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	__u64 base = newest_last_seen(e);
	struct flow_key k;

	/* Forget the flows: as if created after the flows were dumped. */
	while (!bpf_map_get_next_key(fd, NULL, &k))
		bpf_map_delete_elem(fd, &k);
	expire_at(e, base - NSEC, 0, 0, 0, 0, 2);
}

/*
 * Eight idle pairs expire as eight connections and no half pair: a pair
 * deleted from its DIR_OUT entry must not be counted again when the walk
 * reaches its DIR_IN entry.  With one pair the walk order is a coin toss;
 * with eight, a miscount shows up all but once in 256 runs.
 */
static void expire_many(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	__u64 base = newest_last_seen(e);

	for (__u32 i = 1; i < 8; i++) {
		struct flow_key ok = flow_key_of(P_UDP, DIR_OUT, IN1, 40000 + i,
						 REM, 53);
		struct flow_key ik = flow_key_of(P_UDP, DIR_IN, REM, 53, EXT,
						 62000 + i);
		struct flow_val ov = { .nat_addr = htonl(EXT),
				       .nat_port = htons(62000 + i),
				       .last_seen_ns = base };
		struct flow_val iv = { .nat_addr = htonl(IN1),
				       .nat_port = htons(40000 + i),
				       .last_seen_ns = base };

		if (bpf_map_update_elem(fd, &ok, &ov, BPF_NOEXIST) ||
		    bpf_map_update_elem(fd, &ik, &iv, BPF_NOEXIST))
			fail(e, "cannot insert pair %u", i);
	}
	expire_at(e, base, 301, 8, 0, 0, 0);
}

static const struct step expire_tcp_syn[] = {
	{
		.name = "unanswered syn expires after the transitory timeout",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
		.after = expire_syn_sent,
	},
};

static const struct step expire_tcp_est[] = {
	{
		.name = "syn out",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn-ack in",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK),
		.cnt = { IN_XLATED },
	}, {
		.name = "established connection expires after the established timeout",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK),
		.cnt = { OUT_XLATED },
		.after = expire_established,
	},
};

static const struct step expire_udp_steps[] = {
	{
		.name = "udp flow expires after the udp timeout",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_udp,
	},
};

static const struct step expire_icmp_steps[] = {
	{
		.name = "echo flow expires after the icmp timeout",
		.prog = WAN_OUT,
		.in = ECHO(IN1, REM, 0x1234),
		.verdict = TC_ACT_OK,
		.out = ECHO(EXT, REM, V0),
		.cnt = { OUT_NEW },
		.after = expire_icmp,
	},
};

static const struct step expire_half[] = {
	{
		.name = "a half pair is removed at once",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_half_pair,
	},
};

static const struct step expire_during_walk[] = {
	{
		.name = "a binding newer than the walk's clock stays",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_bind_during_walk,
	},
};

static const struct step expire_many_steps[] = {
	{
		.name = "eight idle pairs: eight expired, no half pair",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_many,
	},
};
#endif

/*
 * --mss-clamp: SYN and SYN-ACK segments crossing the WAN (out at tc, in at
 * XDP, or at tc on a layer-3 WAN) leave with their MSS option lowered and
 * the checksum pkt.h computes from scratch; nothing else changes.
 */
#define MSS_CLAMPED	{ CNT_MSS_CLAMPED, 1 }
/* SACK-permitted, timestamps, NOP, window scale: the MSS after them all. */
#define OPTS_BUSY	.opts_before = { 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, \
					 1, 3, 3, 7 }, .opts_before_len = 16
/* One NOP: the MSS value then straddles two checksum words. */
#define OPTS_ODD	.opts_before = { 1 }, .opts_before_len = 1

static const struct step mss_fixed[] = {
	{
		.name = "syn out: mss 1460 lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: mss 1460 lowered to 1360",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "an ack carrying an mss option is left alone",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_ACK, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .mss = 1460),
		.cnt = { OUT_XLATED },
	}, {
		.name = "same on the way in",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .mss = 1460),
		.cnt = { IN_XLATED },
	}, {
		.name = "syn out: a smaller mss (1200) is not raised",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 1200),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1200),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out: the mss equal to the clamp stays",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM, 80, F_SYN, .mss = 1360),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out without an mss option gets none",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40003, REM, 80, F_SYN, .opts_before = { 4, 2 },
			  .opts_before_len = 2),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V3, REM, 80, F_SYN, .opts_before = { 4, 2 },
			   .opts_before_len = 2),
		.cnt = { OUT_NEW },
	},
};

/* Where the option is: after others, at an odd offset. */
static const struct step mss_where[] = {
	{
		.name = "syn out: mss after sack-perm, timestamps, wscale",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460, OPTS_BUSY),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360, OPTS_BUSY),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: the same",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, OPTS_BUSY),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360,
			   OPTS_BUSY),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn out: mss at an odd offset",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 0xffff, OPTS_ODD),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1360, OPTS_ODD),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in: mss at an odd offset",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V1, F_SYN | F_ACK, .mss = 1461, OPTS_ODD),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40001, F_SYN | F_ACK, .mss = 1360,
			   OPTS_ODD),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "an option list cut short (EOL) ends the walk",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM, 80, F_SYN, .mss = 1460,
			  .opts_before = { 0 }, .opts_before_len = 1),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM, 80, F_SYN, .mss = 1460,
			   .opts_before = { 0 }, .opts_before_len = 1),
		.cnt = { OUT_NEW },
	},
};

/* Off (the default): the same segments as mss_fixed keep their MSS. */
static const struct step mss_off[] = {
	{
		.name = "syn out keeps mss 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn-ack in keeps mss 1460",
		.prog = WAN_IN,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1460),
		.cnt = { IN_XLATED },
	},
};

/*
 * auto: the WAN route's MTU - 40, per remote.  testnet_add_small_mtu()
 * gives REM3 a route of locked MTU 1400; REM's is wan0's 1500; UNROUTED
 * has none out of the WAN, and keeps its MSS.
 */
static const struct step mss_auto[] = {
	{
		.name = "syn out to a 1500-byte route keeps mss 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW },
	}, {
		.name = "syn out to a 1500-byte route: 8960 lowered to 1460",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40001, REM, 80, F_SYN, .mss = 8960),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V1, REM, 80, F_SYN, .mss = 1460),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn out to a 1400-byte route: 1460 lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40002, REM3, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V2, REM3, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in from behind that route: lowered to 1360",
		.prog = WAN_IN,
		.in = TCP(REM3, 80, EXT, V2, F_SYN | F_ACK, .mss = 1460),
		.verdict = XDP_PASS,
		.out = TCP(REM3, 80, IN1, 40002, F_SYN | F_ACK, .mss = 1360),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn out with no route out of the wan keeps its mss",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40003, UNROUTED, 80, F_SYN, .mss = 8960),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V3, UNROUTED, 80, F_SYN, .mss = 8960),
		.cnt = { OUT_NEW },
	},
};

/* A layer-3 WAN: tc does the inbound side too (masq_wan_in_tc). */
static const struct step mss_l3[] = {
	{
		.name = "syn out: lowered to 1360",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360, L3),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "syn-ack in at tc: lowered to 1360",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360, L3),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "syn-ack in at tc, mss at an odd offset",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_SYN | F_ACK, .mss = 1460, OPTS_ODD, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_SYN | F_ACK, .mss = 1360,
			   OPTS_ODD, L3),
		.cnt = { IN_XLATED, MSS_CLAMPED },
	}, {
		.name = "ack in at tc is left alone",
		.prog = WAN_IN_TC,
		.in = TCP(REM, 80, EXT, V0, F_ACK, .mss = 1460, L3),
		.verdict = TC_ACT_OK,
		.out = TCP(REM, 80, IN1, 40000, F_ACK, .mss = 1460, L3),
		.cnt = { IN_XLATED },
	},
};

/* --lan-new: a SYN takes the stack (and tc egress, where it is clamped)
 * instead of the XDP redirect, which would skip tc. */
static const struct step mss_lan_new[] = {
	{
		.name = "syn from the lan is left to the stack",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0),
	}, {
		.name = "which clamps it at tc egress",
		.prog = WAN_OUT,
		.in = TCP(IN1, 40000, REM, 80, F_SYN, .mss = 1460),
		.verdict = TC_ACT_OK,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .mss = 1360),
		.cnt = { OUT_NEW, MSS_CLAMPED },
	}, {
		.name = "the rest of the connection takes the fast path",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, REM, 80, F_ACK),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_ACK, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_XLATED, { CNT_LAN_FASTPATH, 1 } },
	},
};

#define STEPS(a)	.steps = a, .nsteps = sizeof(a) / sizeof(a[0])

/* The records the data plane writes for monitor and the mapping log:
 * creation only, never on a hit; DROP records within a budget. */
static const struct step conn_events[] = {
	{
		.name = "a new connection writes one FLOW_NEW with its endpoints, saying it made the binding",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = cev_new_udp,
	}, {
		.name = "a packet of that flow writes nothing",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_XLATED },
		.after = cev_none,
	}, {
		.name = "its reply writes nothing",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000),
		.cnt = { IN_XLATED },
		.after = cev_none,
	}, {
		.name = "a second remote on the same binding writes FLOW_NEW only",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM2, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM2, 53),
		.cnt = { { CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 } },
		.after = cev_new_flow_bound,
	}, {
		.name = "a drop writes one DROP record with the packet's endpoints and reason",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61234),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.before = cev_drop_budget_whole_before,
		.after = cev_drop_in,
	}, {
		.name = "a drop past the CPU's budget is counted as suppressed, no record",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61234),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 }, { CNT_DROP_EVENTS_SUPPRESSED, 1 } },
		.before = drop_budget_spent,
		.after = cev_drop_budget_after,
	},
};

/*
 * --lan-new and traffic for the gateway itself (the LAN's own address,
 * the WAN's): delivered, never translated, so no flow and no binding; the
 * FIB is asked before a flow is opened.
 */
static const struct step lan_new_local[] = {
	{
		.name = "ping of the lan address opens nothing",
		.prog = LAN_FAST,
		.in = ECHO(IN1, IP4(10, 0, 0, 1), 0x1234),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "syn to a port of the lan address opens nothing",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40000, IP4(10, 0, 0, 1), 8001, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "ping of the wan address opens nothing",
		.prog = LAN_FAST,
		.in = ECHO(IN1, IP4(203, 0, 113, 1), 0x1235),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "udp to the wan address opens nothing",
		.prog = LAN_FAST,
		.in = UDP(IN1, 40001, IP4(203, 0, 113, 1), 53),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "no route: nothing opened, the stack answers",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40002, UNROUTED, 80, F_SYN),
		.verdict = XDP_PASS,
		.same = true,
		.nflows = COUNT(0), .nbinds = COUNT(0),
	}, {
		.name = "a syn out of the wan still opens its flow in XDP",
		.prog = LAN_FAST,
		.in = TCP(IN1, 40003, REM, 80, F_SYN),
		.verdict = XDP_REDIRECT,
		.out = TCP(EXT, V0, REM, 80, F_SYN, .ttl = 63, .wan_macs = true),
		.cnt = { OUT_NEW, { CNT_LAN_FASTPATH, 1 } },
		.nflows = COUNT(2), .nbinds = COUNT(2),
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
	{ .name = "tcp-life", STEPS(tcp_life) },
	{ .name = "conn-events", STEPS(conn_events) },
	{ .name = "tcp-open", STEPS(tcp_open) },
	{ .name = "udp", STEPS(udp) },
	{ .name = "icmp", STEPS(icmp) },
	{ .name = "ip-options", STEPS(ip_options) },
	{ .name = "malformed", STEPS(malformed) },
	{ .name = "collisions", .port_lo = 1024, .port_hi = 65535,
	  STEPS(collisions) },
	{ .name = "exhaustion", .port_lo = 61000, .port_hi = 61001,
	  STEPS(exhaustion) },
	{ .name = "port-class", .port_lo = 1000, .port_hi = 1200,
	  STEPS(port_class) },
	{ .name = "simultaneous-open", STEPS(simultaneous_open) },
	{ .name = "filter-strict", STEPS(filter_strict) },
	{ .name = "filter-cone", .cone = true, STEPS(filter_cone) },
	{ .name = "host-traffic", STEPS(host_traffic) },
	{ .name = "fragments", STEPS(fragments) },
	{ .name = "icmp-err-in", STEPS(icmp_err_in) },
	{ .name = "icmp-err-out", STEPS(icmp_err_out) },
	{ .name = "icmp-err-internal", .internal = true,
	  STEPS(icmp_err_internal) },
	{ .name = "refresh", STEPS(refresh) },
	{ .name = "internal", .internal = true, STEPS(internal) },
	{ .name = "guard", .needs_net = true, STEPS(guard) },
	{ .name = "lan-fast", .needs_net = true, .wan_ifindex = true,
	  STEPS(lan_fast) },
	{ .name = "lan-fast-internal", .internal = true, .needs_net = true,
	  .wan_ifindex = true, STEPS(lan_fast_internal) },
	{ .name = "lan-fast-off", .needs_net = true, STEPS(lan_fast_off) },
	{ .name = "hairpin", .needs_net = true, .cone = true, STEPS(hairpin) },
	{ .name = "table-full", .max_flows = 4, STEPS(table_full) },
	{ .name = "table-full-xdp", .max_flows = 4, .needs_net = true,
	  .wan_ifindex = true, .lan_new = true, STEPS(table_full_xdp) },
	{ .name = "bind-claim", .cone = true, STEPS(bind_claim) },
	{ .name = "lan-inbound", .needs_net = true, .wan_ifindex = true,
	  .lan_inbound = true, STEPS(lan_inbound) },
	{ .name = "lan-new", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, STEPS(lan_new) },
	{ .name = "lan-new-local", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, STEPS(lan_new_local) },
	{ .name = "conntrack", .needs_net = true, .conntrack = true,
	  STEPS(conntrack) },
#ifdef HAVE_FLOWTABLE
	{ .name = "expire-tcp-syn", .needs_expire = true, STEPS(expire_tcp_syn) },
	{ .name = "expire-tcp-est", .needs_expire = true, STEPS(expire_tcp_est) },
	{ .name = "expire-udp", .needs_expire = true, STEPS(expire_udp_steps) },
	{ .name = "expire-icmp", .needs_expire = true, STEPS(expire_icmp_steps) },
	{ .name = "expire-half", .needs_expire = true, STEPS(expire_half) },
	{ .name = "expire-many", .needs_expire = true, STEPS(expire_many_steps) },
	{ .name = "expire-during-walk", .needs_expire = true,
	  STEPS(expire_during_walk) },
#endif
	{ .name = "csum-partial", .needs_net = true, .wan_ifindex = true,
	  STEPS(csum_partial) },
	{ .name = "wan-l3", .wan_l3 = true, .needs_net = true, .needs_l3 = true,
	  STEPS(wan_l3) },
	{ .name = "wan-l3-malformed", .wan_l3 = true, .needs_net = true,
	  .needs_l3 = true, STEPS(wan_l3_malformed) },
	{ .name = "hairpin-l3", .wan_l3 = true, .cone = true, .needs_net = true,
	  .needs_l3 = true, STEPS(hairpin_l3) },
	{ .name = "mss-clamp", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = 1360, STEPS(mss_fixed) },
	{ .name = "mss-clamp-where", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = 1360, STEPS(mss_where) },
	{ .name = "mss-clamp-off", .needs_net = true, .wan_ifindex = true,
	  STEPS(mss_off) },
	{ .name = "mss-clamp-auto", .needs_net = true, .wan_ifindex = true,
	  .mss_clamp = MSS_CLAMP_AUTO, STEPS(mss_auto) },
	{ .name = "mss-clamp-l3", .needs_net = true, .needs_l3 = true,
	  .wan_ifindex = true, .wan_l3 = true, .mss_clamp = 1360,
	  STEPS(mss_l3) },
	{ .name = "mss-clamp-lan-new", .needs_net = true, .wan_ifindex = true,
	  .lan_new = true, .mss_clamp = 1360, STEPS(mss_lan_new) },
};

/* ---- setup ---- */


static struct bpfmasq_bpf *load(const struct group *g)
{
	struct nat_state st = { .ext_addr = htonl(EXT) };
	struct internal_key ik = { .prefixlen = 24,
				   .addr = htonl(IP4(10, 0, 0, 0)) };
	struct bpfmasq_bpf *skel;
	__u32 zero = 0;
	__u8 one = 1;

	skel = bpfmasq_bpf__open();
	if (!skel)
		return NULL;
	if (g->port_lo) {
		skel->rodata->cfg_port_lo = g->port_lo;
		skel->rodata->cfg_port_hi = g->port_hi;
	}
	skel->rodata->cfg_filter_cone = g->cone;
	skel->rodata->cfg_match_all_sources = !g->internal;
	if (g->wan_ifindex)
		st.wan_ifindex = if_nametoindex("wan0");
	if (g->lan_inbound) {
		skel->rodata->cfg_lan_inbound = true;
		st.lan_ifindex[0] = if_nametoindex("lan0");
	}
	skel->rodata->cfg_lan_new = g->lan_new;
	skel->rodata->cfg_conntrack = g->conntrack;
	skel->rodata->cfg_wan_l3 = g->wan_l3;
	skel->rodata->cfg_mss_clamp = g->mss_clamp;
	if (g->max_flows &&
	    bpf_map__set_max_entries(skel->maps.flows, g->max_flows))
		goto err;
	if (bpfmasq_bpf__load(skel))
		goto err;
	if (bpf_map__update_elem(skel->maps.state, &zero, sizeof(zero), &st,
				 sizeof(st), BPF_ANY))
		goto err;
	if (g->internal &&
	    bpf_map__update_elem(skel->maps.internal_nets, &ik, sizeof(ik),
				 &one, sizeof(one), BPF_ANY))
		goto err;
	return skel;
err:
	bpfmasq_bpf__destroy(skel);
	return NULL;
}

static void run_group(const struct group *g)
{
	struct env e = { .g = g };

	if (g->needs_net && !net_ready) {
		printf("SKIP %s: needs the test network namespace\n", g->name);
		return;
	}
	if (g->needs_l3 && !l3_ready) {
		printf("SKIP %s: needs the TUN interfaces of the test netns\n",
		       g->name);
		return;
	}
#ifdef HAVE_FLOWTABLE
	if (g->needs_expire && !flows_expire) {
		printf("SKIP %s: flows_expire() from user/lib/ is not linked in\n",
		       g->name);
		return;
	}
#endif
	e.skel = load(g);
	if (!e.skel) {
		printf("FAIL %s: loading the BPF programs failed\n", g->name);
		n_failed++;
		return;
	}
	e.cev_ring = ring_buffer__new(bpf_map__fd(e.skel->maps.conn_events),
				      on_conn_event, NULL, NULL);
	if (!e.cev_ring) {
		printf("FAIL %s: cannot read the conn_events ring\n", g->name);
		n_failed++;
	}
	for (size_t i = 0; i < g->nsteps; i++)
		run_step(&e, &g->steps[i]);
	ring_buffer__free(e.cev_ring);
	bpfmasq_bpf__destroy(e.skel);
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: test_nat loads BPF programs and needs root\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(print_libbpf);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		printf("FAIL: cannot count possible CPUs\n");
		return 1;
	}
	net_ready = testnet_setup();
	l3_ready = net_ready && testnet_add_l3();
	if (net_ready)
		testnet_add_small_mtu();

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		run_group(&groups[i]);

	/* The invariants of check_conn_events() held on real records. */
	if (n_cev_checked[CE_FLOW_NEW] < 20 || n_cev_checked[CE_BIND_NEW] < 10 ||
	    n_cev_checked[CE_DROP] < 10) {
		printf("FAIL conn-events: only %ld FLOW_NEW, %ld BIND_NEW and %ld DROP records checked over the run\n",
		       n_cev_checked[CE_FLOW_NEW], n_cev_checked[CE_BIND_NEW],
		       n_cev_checked[CE_DROP]);
		n_failed++;
	} else {
		printf("PASS conn-events: %ld FLOW_NEW, %ld BIND_NEW and %ld DROP records matched the counters and the maps over the run\n",
		       n_cev_checked[CE_FLOW_NEW], n_cev_checked[CE_BIND_NEW],
		       n_cev_checked[CE_DROP]);
		n_passed++;
	}
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
