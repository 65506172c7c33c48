// SPDX-License-Identifier: GPL-2.0
/*
 * test_nat's runner: one step through BPF_PROG_TEST_RUN and its checks,
 * the skeleton of a group, main.  The steps are in the fixture files
 * (nat_test.h says which).
 */
#include <sched.h>
#include <stdarg.h>
#include <time.h>
#include <sys/socket.h>

#include "nat_test.h"


static bool net_ready, l3_ready;

/* ---- ports chosen by the programs ---- */

bool var_get(struct env *e, __u32 p, __u32 *out)
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

/* An address of the --external pool the group planted (pool.c), with
 * its block in *lo-*hi (0-0: --ports). */
static bool pool_has(struct env *e, __be32 addr, __u16 *lo, __u16 *hi)
{
	struct ext_pool_val v;

	if (bpf_map__lookup_elem(e->skel->maps.ext_pool, &addr, sizeof(addr),
				 &v, sizeof(v), 0))
		return false;
	*lo = v.port_lo;
	*hi = v.port_hi;
	return true;
}

/* A port of the NAT range, or of the block of an address in the pool. */
static bool port_of_nat(struct env *e, __u32 port)
{
	__be32 key, *prev = NULL;
	__u16 lo, hi;

	if (port >= port_lo(e->g) && port <= port_hi(e->g))
		return true;
	while (!bpf_map__get_next_key(e->skel->maps.ext_pool, prev, &key,
				      sizeof(key))) {
		prev = &key;
		if (pool_has(e, key, &lo, &hi) && hi && port >= lo &&
		    port <= hi)
			return true;
	}
	return false;
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
	if (!port_of_nat(e, port))
		fail(e, "external port %u outside range %u-%u", port,
		     port_lo(e->g), port_hi(e->g));
	e->var[n] = port;
	e->bound[n] = true;
}

/* ---- maps ---- */

struct flow_key flow_key_of(__u8 proto, __u8 dir, __u32 s, __u32 sp,
			    __u32 d, __u32 dp)
{
	return (struct flow_key){ .saddr = htonl(s), .daddr = htonl(d),
				  .sport = htons(sp), .dport = htons(dp),
				  .proto = proto, .dir = dir };
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
	fmt_flow_key(&k, name, sizeof(name));
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
		fmt_flow_key(&fk, name, sizeof(name));
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

/* LAN_FAST is masq_lan_open in a group with --lan-new, as `up` attaches. */
static int prog_fd(struct env *e, enum prog p)
{
	return harness_prog_fd(e->skel, p == LAN_FAST && e->g->lan_new ?
					LAN_OPEN : p);
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
	else if (s->prog == WAN_IN_TC)
		dev = "wan0";
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

/*
 * Run one step and check it.  quiet: a -t filter did not select it, it
 * only sets up the steps after it (reported only if it fails).
 */
static void cev_drain(struct env *e);
static void check_conn_events(struct env *e, __u64 t0, const __u64 *before,
			      const __u64 *after, long *expect);

static void run_step(struct env *e, const struct step *s, bool quiet)
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
	test_start("%s/%s", e->g->name, s->name);
	test_start_quiet(quiet);
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
	counters_read(e->skel->maps.stats, before);
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
	counters_read(e->skel->maps.stats, after);
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
	test_end();
}

/* ---- hooks for what a table row cannot say ---- */


/* ---- the connection event stream (struct conn_event) ---- */

/* The records one step's run wrote into conn_events. */
struct conn_event cev[CEV_MAX];
int n_cev;
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
	__u16 lo, hi;

	for (int i = CNT_FIRST_DROP; i < CNT_END_DROP; i++)
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
		     (r->out_addr != htonl(EXT) &&
		      !pool_has(e, r->out_addr, &lo, &hi))))
			fail(e, "conn_events: FLOW_NEW names no such flow");
		if ((r->type == CE_BIND_NEW ||
		     (r->type == CE_FLOW_NEW && (r->flags & CEF_NEW_BINDING))) &&
		    (bpf_map__lookup_elem(e->skel->maps.binds, &bk, sizeof(bk),
					  &bv, sizeof(bv), 0) ||
		     bv.addr != r->out_addr || bv.port != r->out_port))
			fail(e, "conn_events: BIND_NEW names no such binding");
		if (r->type == CE_DROP &&
		    (r->reason < CNT_FIRST_DROP || r->reason >= CNT_END_DROP ||
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

/* ---- hooks more than one file uses ---- */

void age_all_flows(struct env *e)
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

/* Entries of direction dir must have been refreshed to about now, the
 * others must still carry AGED_NS. */
void check_refreshed(struct env *e, int dir)
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
		fmt_flow_key(&k, name, sizeof(name));
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

void none_refreshed(struct env *e)
{
	check_refreshed(e, -1);
}

void ports_differ(struct env *e, __u32 a, __u32 b)
{
	__u32 pa, pb;

	if (var_get(e, a, &pa) && var_get(e, b, &pb) && pa == pb)
		fail(e, "two inside endpoints share external port %u", pa);
}

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
	if (g->no_alg) {
		memset((void *)skel->rodata->cfg_ftp_ports, 0,
		       sizeof(skel->rodata->cfg_ftp_ports));
		memset((void *)skel->rodata->cfg_irc_ports, 0,
		       sizeof(skel->rodata->cfg_irc_ports));
	}
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

static void run_group(const struct fixture *fx, const struct group *g)
{
	bool all = test_selected(fx->name);
	struct env e = { .g = g };
	size_t last = 0;

	if (!test_selected(fx->name) && !test_selected(g->name))
		return;
	for (size_t i = 0; i < g->nsteps; i++)
		if (all || test_selected_in(g->name, g->steps[i].name))
			last = i + 1;
	if (!last)
		return;
	if (g->needs_net && !net_ready) {
		test_skip(g->name, "needs the test network namespace");
		return;
	}
	if (g->needs_l3 && !l3_ready) {
		test_skip(g->name, "needs the TUN interfaces of the test netns");
		return;
	}
	e.skel = load(g);
	if (!e.skel) {
		test_error(g->name, "loading the BPF programs failed");
		return;
	}
	e.cev_ring = ring_buffer__new(bpf_map__fd(e.skel->maps.conn_events),
				      on_conn_event, NULL, NULL);
	if (!e.cev_ring)
		test_error(g->name, "cannot read the conn_events ring");
	/* Steps build on each other: a selected one needs those before it. */
	for (size_t i = 0; i < last; i++)
		run_step(&e, &g->steps[i],
			 !all && !test_selected_in(g->name, g->steps[i].name));
	ring_buffer__free(e.cev_ring);
	bpfmasq_bpf__destroy(e.skel);
}

#define NAT_FIXTURE_REF(name_) &fixture_##name_,
static const struct fixture *const fixtures[] = { NAT_FIXTURES(NAT_FIXTURE_REF) };

int main(int argc, char **argv)
{
	harness_init(argc, argv,
		     "  NAME: a fixture file (tcp, udp, ...), a group (tcp-life) or\n"
		     "  GROUP/TEXT (tcp-life/syn)\n");
	if (!harness_bpf_init("test_nat"))
		return harness_exit();
	net_ready = testnet_setup();
	l3_ready = net_ready && testnet_add_l3();
	if (net_ready)
		testnet_add_small_mtu();

	for (size_t f = 0; f < ARRAY_LEN(fixtures); f++)
		for (size_t i = 0; i < fixtures[f]->ngroups; i++)
			run_group(fixtures[f], &fixtures[f]->groups[i]);
	/* The invariants of check_conn_events() held on real records (on a
	 * whole run: a -t run checks fewer). */
	if (test_selected("conn-events-total"))
		check(n_cev_checked[CE_FLOW_NEW] >= 20 &&
		      n_cev_checked[CE_BIND_NEW] >= 10 &&
		      n_cev_checked[CE_DROP] >= 10, "conn-events-total",
		      "only %ld FLOW_NEW, %ld BIND_NEW and %ld DROP records checked over the run",
		      n_cev_checked[CE_FLOW_NEW], n_cev_checked[CE_BIND_NEW],
		      n_cev_checked[CE_DROP]);
	return harness_exit();
}
