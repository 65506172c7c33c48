// SPDX-License-Identifier: GPL-2.0
/*
 * The expiry queue (see expiry.h): a timing wheel of DIR_OUT flow keys,
 * one slot a tick, and the kernel program that judges a batch of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "expiry.h"
#include "expire.skel.h"
#include "util.h"

/* A quarter of a second: timeouts are whole seconds, and a connection
 * outlives its timeout by at most a tick (and the controller's wake-up). */
#define EXPIRY_TICK_NS	(250ULL * 1000000ULL)
/* 8192 s of ticks, more than the longest default timeout (7440 s); a
 * later due time is filed at the last tick and looked at again then. */
#define EXPIRY_SLOTS	(1U << 15)

struct expiry_slot {
	struct flow_key *keys;
	__u32 n, cap;
};

struct expiry {
	struct expire_bpf *skel;
	__u32 flows_id, state_id;	/* the maps it was loaded over */
	struct expiry_slot *slot;	/* EXPIRY_SLOTS, by tick */
	__u64 next_tick;		/* the first tick not yet run */
	size_t queued;
	struct nat_state timeouts;	/* only the timeout_* fields */
	struct expire_batch *batch;	/* the program's, mmap()ed */
	size_t batch_len;
};

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static int load(struct expiry *q, const struct instance *in)
{
	struct expire_bpf *skel = expire_bpf__open();
	size_t page = sysconf(_SC_PAGESIZE), len = 0;
	struct expire_batch *b = NULL;
	struct bpf_map *map;
	int err;

	if (!skel)
		return -errno;
	bpf_object__for_each_map(map, skel->obj)
		if (map != skel->maps.flows && map != skel->maps.state &&
		    map != skel->maps.batch)
			bpf_map__set_autocreate(map, false);
	err = bpf_map__reuse_fd(skel->maps.flows, in->flows_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.state, in->state_fd);
	if (!err)
		err = expire_bpf__load(skel);
	if (!err) {
		len = (sizeof(*b) + page - 1) / page * page;
		b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(skel->maps.batch), 0);
		if (b == MAP_FAILED)
			err = -errno;
	}
	if (err) {
		expire_bpf__destroy(skel);
		return err;
	}
	if (q->batch)
		munmap(q->batch, q->batch_len);
	q->batch = b;
	q->batch_len = len;
	q->skel = skel;
	q->flows_id = map_id(in->flows_fd);
	q->state_id = map_id(in->state_fd);
	return 0;
}

struct expiry *expiry_open(const struct instance *in)
{
	struct expiry *q = calloc(1, sizeof(*q));
	struct nat_state st;
	int err;

	if (!q)
		return NULL;
	q->slot = calloc(EXPIRY_SLOTS, sizeof(*q->slot));
	err = q->slot ? load(q, in) : -ENOMEM;
	if (err) {
		free(q->slot);
		free(q);
		errno = -err;
		return NULL;
	}
	q->next_tick = now_coarse_ns() / EXPIRY_TICK_NS;
	if (!instance_get_state(in, &st))
		expiry_set_timeouts(q, &st);
	return q;
}

void expiry_clear(struct expiry *q)
{
	for (size_t i = 0; i < EXPIRY_SLOTS; i++) {
		free(q->slot[i].keys);
		q->slot[i] = (struct expiry_slot){};
	}
	q->queued = 0;
}

void expiry_close(struct expiry *q)
{
	if (!q)
		return;
	expiry_clear(q);
	free(q->slot);
	if (q->batch)
		munmap(q->batch, q->batch_len);
	expire_bpf__destroy(q->skel);
	free(q);
}

int expiry_follow(struct expiry *q, const struct instance *in)
{
	struct expire_bpf *old = q->skel;
	int err;

	if (map_id(in->flows_fd) == q->flows_id &&
	    map_id(in->state_fd) == q->state_id)
		return 0;
	err = load(q, in);
	if (err)
		return err;
	expire_bpf__destroy(old);
	return 1;
}

bool expiry_set_timeouts(struct expiry *q, const struct nat_state *st)
{
	bool changed = q->timeouts.timeout_tcp_est != st->timeout_tcp_est ||
		       q->timeouts.timeout_tcp_trans != st->timeout_tcp_trans ||
		       q->timeouts.timeout_udp != st->timeout_udp ||
		       q->timeouts.timeout_icmp != st->timeout_icmp;

	q->timeouts.timeout_tcp_est = st->timeout_tcp_est;
	q->timeouts.timeout_tcp_trans = st->timeout_tcp_trans;
	q->timeouts.timeout_udp = st->timeout_udp;
	q->timeouts.timeout_icmp = st->timeout_icmp;
	return changed;
}

static int slot_push(struct expiry_slot *s, const struct flow_key *k)
{
	if (s->n == s->cap) {
		__u32 cap = s->cap ? s->cap * 2 : 16;
		struct flow_key *keys = realloc(s->keys, cap * sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		s->keys = keys;
		s->cap = cap;
	}
	s->keys[s->n++] = *k;
	return 0;
}

void expiry_add(struct expiry *q, const struct flow_key *out_key,
		__u64 due_ns)
{
	__u64 tick = due_ns / EXPIRY_TICK_NS;

	if (tick < q->next_tick)
		tick = q->next_tick;
	if (tick >= q->next_tick + EXPIRY_SLOTS)
		tick = q->next_tick + EXPIRY_SLOTS - 1;
	/* Out of memory, the connection waits for the next full walk. */
	if (!slot_push(&q->slot[tick % EXPIRY_SLOTS], out_key))
		q->queued++;
}

void expiry_add_new(struct expiry *q, const struct flow_key *out_key,
		    __u64 now_ns)
{
	/* Every new connection starts out in a state with the shorter of
	 * its protocol's timeouts (TCP: not yet established). */
	int state = out_key->proto == IPPROTO_TCP ? CS_SYN_SENT : CS_UNREPLIED;
	__u32 t = flow_pair_timeout_s(out_key->proto, state, &q->timeouts);

	expiry_add(q, out_key, now_ns + (__u64)t * 1000000000ULL);
}

size_t expiry_queued(const struct expiry *q)
{
	return q->queued;
}

/* The kernel's verdict on n keys; the ones not judged are queued again
 * by the caller when this fails. */
static int judge(struct expiry *q, const struct flow_key *keys, __u32 n,
		 __u64 now_ns, struct expire_result *r,
		 const struct gone_sink *sink)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct expire_batch *b = q->batch;

	b->now_ns = now_ns;
	b->n = n;
	for (__u32 i = 0; i < n; i++)
		b->slot[i].key = keys[i];
	if (bpf_prog_test_run_opts(bpf_program__fd(q->skel->progs.expire_batch),
				   &opts))
		return -errno;
	if (opts.retval)
		return -EINVAL;
	r->checked += n;
	for (__u32 i = 0; i < n; i++) {
		struct expire_slot *s = &b->slot[i];
		struct conn c;

		switch (s->verdict) {
		case EXPIRE_LIVE:
			expiry_add(q, &s->key, s->due_ns);
			break;
		case EXPIRE_RETIRED:
			r->conns_expired++;
			if (!sink || !sink->conn)
				break;
			c.out_key = s->key;
			c.out = s->out;
			c.in = s->in;
			flow_twin_key(&c.out_key, &c.out, &c.in_key);
			sink->conn(sink->ctx, &c, conn_idle_reason(&c));
			break;
		case EXPIRE_HALF:
			r->half_pairs++;
			break;
		default:	/* gone meanwhile: whoever removed it told of it */
			break;
		}
	}
	return 0;
}

int expiry_run(struct expiry *q, __u64 now_ns, struct expire_result *r,
	       const struct gone_sink *sink)
{
	__u64 now_tick = now_ns / EXPIRY_TICK_NS;
	int err = 0;

	while (q->next_tick <= now_tick) {
		struct expiry_slot s = q->slot[q->next_tick % EXPIRY_SLOTS];
		__u32 done = 0;

		q->slot[q->next_tick % EXPIRY_SLOTS] = (struct expiry_slot){};
		q->next_tick++;
		q->queued -= s.n;
		for (; !err && done < s.n; done += EXPIRE_BATCH) {
			__u32 m = s.n - done < EXPIRE_BATCH ? s.n - done :
							     EXPIRE_BATCH;

			err = judge(q, s.keys + done, m, now_ns, r, sink);
		}
		/* Nothing is dropped for a refused call: the caller walks
		 * the table, which finds them all. */
		if (err) {
			for (done -= EXPIRE_BATCH; done < s.n; done++)
				expiry_add(q, &s.keys[done], now_ns);
			free(s.keys);
			return err;
		}
		free(s.keys);
	}
	return 0;
}

__u64 expiry_wait_ms(const struct expiry *q, __u64 now_ns, __u64 max_ms)
{
	__u64 next = q->next_tick * EXPIRY_TICK_NS, ms;

	if (!q->queued)
		return max_ms;
	ms = next > now_ns ? (next - now_ns + 999999) / 1000000 : 0;
	return ms < max_ms ? ms : max_ms;
}

void expiry_for_each(const struct expiry *q,
		     void (*fn)(void *ctx, const struct flow_key *k), void *ctx)
{
	for (size_t i = 0; i < EXPIRY_SLOTS; i++)
		for (__u32 j = 0; j < q->slot[i].n; j++)
			fn(ctx, &q->slot[i].keys[j]);
}
