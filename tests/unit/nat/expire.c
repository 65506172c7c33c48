// SPDX-License-Identifier: GPL-2.0
/*
 * The controller's expiry of idle flows over what the programs stored,
 * both ways it does it: the walk of the whole table (flows_expire(),
 * user/lib/flowtable.c), and the expiry queue with its kernel program
 * (user/lib/expiry.c, bpf/expire.bpf.c), which must judge every
 * connection as the walk does.  A group whose name ends in "-queue"
 * runs the queue.
 */
#include <string.h>
#include <time.h>
#include "expiry.h"
#include "flowtable.h"
#include "instance.h"
#include "nat_test.h"
#include "util.h"

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

/*
 * The queue's way: every connection queued as due at once, the kernel
 * program judges them at now, then the bindings none of those left uses
 * are freed.  The program takes the timeouts from the state map.
 */
static int queue_expire(struct env *e, __u64 now, struct expire_result *r,
			const struct gone_sink *sink)
{
	int flows_fd = bpf_map__fd(e->skel->maps.flows);
	struct expire_result b;
	struct flow_key k, next;
	struct instance in;
	struct nat_state st;
	struct expiry *q;
	__u32 zero = 0, queued = 0;
	void *prev = NULL;
	int err;

	instance_init(&in);
	in.flows_fd = flows_fd;
	in.state_fd = bpf_map__fd(e->skel->maps.state);
	if (bpf_map_lookup_elem(in.state_fd, &zero, &st))
		return -errno;
	st.timeout_tcp_est = timeouts.timeout_tcp_est;
	st.timeout_tcp_trans = timeouts.timeout_tcp_trans;
	st.timeout_udp = timeouts.timeout_udp;
	st.timeout_icmp = timeouts.timeout_icmp;
	if (bpf_map_update_elem(in.state_fd, &zero, &st, BPF_ANY))
		return -errno;
	q = expiry_open(&in);
	if (!q)
		return -errno;
	while (!bpf_map_get_next_key(flows_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.dir == DIR_OUT) {
			expiry_add(q, &k, 0);
			queued++;
		}
	}
	memset(r, 0, sizeof(*r));
	err = expiry_run(q, now, r, sink);
	if (!err && r->checked != queued)
		fail(e, "the queue looked at %u connections of %u queued",
		     r->checked, queued);
	if (!err)
		err = bindings_expire(bpf_map__fd(e->skel->maps.binds), q, now,
				      &b, sink);
	r->bindings_freed = b.bindings_freed;
	expiry_close(q);
	return err;
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

	if (strstr(e->g->name, "-queue"))
		err = queue_expire(e, now, &r, &sink);
	else
		err = flows_expire(bpf_map__fd(e->skel->maps.flows),
				   bpf_map__fd(e->skel->maps.binds), &timeouts,
				   now, true, &r, &sink, NULL);
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

/* An outbound half whose inbound twin is gone is removed when looked at
 * (the queue holds outbound keys only; a lone inbound half is the
 * walk's, which runs whenever the stream may have missed something). */
static void expire_half_out(struct env *e)
{
	struct flow_key k = flow_key_of(P_UDP, DIR_IN, REM, 53, EXT, 0);
	int fd = bpf_map__fd(e->skel->maps.flows);
	struct flow_key next, cur;
	void *prev = NULL;
	__u64 base = newest_last_seen(e);

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (cur.dir == DIR_IN)
			k = cur;
	}
	bpf_map_delete_elem(fd, &k);
	expire_at(e, base, 1, 0, 1, 0, 2);
	expire_at(e, base, BIND_GRACE_NS / NSEC + 1, 0, 0, 0, 0);
}

/* A packet stamps the connection after expiry read its clock (the
 * data plane runs on beside it): a newer stamp is no age at all.  The
 * stamps are put a minute ahead of the clock expiry runs at. */
static void expire_stamped_after_now(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.flows);
	struct flow_key k, next;
	struct flow_val v;
	void *prev = NULL;
	__u64 now = now_coarse_ns();

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &v)) {
			v.last_seen_ns = now + 60 * NSEC;
			bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
		}
	}
	expire_at(e, now, 1, 0, 0, 2, 2);
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

static const struct step expire_stamped_steps[] = {
	{
		.name = "a connection stamped after the clock was read stays",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_stamped_after_now,
	},
};

static const struct step expire_half_out_steps[] = {
	{
		.name = "an outbound half without its twin is removed when due",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = expire_half_out,
	},
};

static const struct group groups[] = {
	{ .name = "expire-tcp-syn", STEPS(expire_tcp_syn) },
	{ .name = "expire-tcp-est", STEPS(expire_tcp_est) },
	{ .name = "expire-udp", STEPS(expire_udp_steps) },
	{ .name = "expire-icmp", STEPS(expire_icmp_steps) },
	{ .name = "expire-half", STEPS(expire_half) },
	{ .name = "expire-many", STEPS(expire_many_steps) },
	{ .name = "expire-during-walk", STEPS(expire_during_walk) },
	{ .name = "expire-stamped", STEPS(expire_stamped_steps) },
	/* The same connections, judged by the queue's kernel program. */
	{ .name = "expire-tcp-syn-queue", STEPS(expire_tcp_syn) },
	{ .name = "expire-tcp-est-queue", STEPS(expire_tcp_est) },
	{ .name = "expire-udp-queue", STEPS(expire_udp_steps) },
	{ .name = "expire-icmp-queue", STEPS(expire_icmp_steps) },
	{ .name = "expire-many-queue", STEPS(expire_many_steps) },
	{ .name = "expire-half-out-queue", STEPS(expire_half_out_steps) },
	{ .name = "expire-stamped-queue", STEPS(expire_stamped_steps) },
};

FIXTURE(expire, groups);
