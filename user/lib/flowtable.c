// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "expiry.h"
#include "extpool.h"
#include "flowtable.h"
#include "util.h"


/*
 * Entries per batch syscall.  The kernel walks a batch without a
 * rescheduling point: on a kernel without preemption, 100k entries held the
 * CPU for tens of milliseconds, and packet processing (threaded NAPI, or
 * softirqs) on that CPU with it, long enough to overflow a NIC ring (256
 * frames last 1.3 ms at 200 kpps).  512 entries take about 100 us and still
 * make the syscalls' own cost negligible.
 */
#define BATCH_MAX 512

/* Double the key and value arrays of a dump. */
static int dump_grow(char **k, char **v, size_t *cap, size_t ksz, size_t vsz)
{
	char *nk = realloc(*k, 2 * *cap * ksz);
	char *nv = nk ? realloc(*v, 2 * *cap * vsz) : NULL;

	if (nk)
		*k = nk;
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap *= 2;
	return 0;
}

/*
 * A hash map into arrays, in batches of many entries per syscall (the
 * controller walks the tables every few seconds: per-entry syscalls
 * dominated its cost).  Kernels or maps without batch support, or a
 * bucket larger than the buffer, fall back to get_next_key.  Deleting while walking would
 * restart get_next_key from the first key, so callers delete afterwards.
 */
static int map_dump_batch(int fd, size_t ksz, size_t vsz, char **k, char **v,
			  size_t *cap, size_t *cnt)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 token = 0, count;
	bool first = true;

	for (;;) {
		if (*cap - *cnt < 1024 && dump_grow(k, v, cap, ksz, vsz))
			return -ENOMEM;
		count = *cap - *cnt < BATCH_MAX ? *cap - *cnt : BATCH_MAX;
		if (bpf_map_lookup_batch(fd, first ? NULL : &token, &token,
					 *k + *cnt * ksz, *v + *cnt * vsz,
					 &count, &opts)) {
			if (errno != ENOENT)
				return -errno;
			*cnt += count;	/* the last batch */
			return 0;
		}
		*cnt += count;
		first = false;
	}
}

static int map_dump(int fd, size_t ksz, size_t vsz, void **keys, void **vals,
		    size_t *n)
{
	size_t cap = 4096, cnt = 0;
	char *k = malloc(cap * ksz), *v = malloc(cap * vsz);
	char prev[64], cur[64];
	void *prevp = NULL;
	int err;

	if (!k || !v)
		goto nomem;
	err = map_dump_batch(fd, ksz, vsz, &k, &v, &cap, &cnt);
	if (err == -ENOMEM)
		goto nomem;
	if (!err)
		goto done;
	cnt = 0;
	while (!bpf_map_get_next_key(fd, prevp, cur)) {
		if (cnt == cap && dump_grow(&k, &v, &cap, ksz, vsz))
			goto nomem;
		/* An entry deleted under us by the data plane is skipped. */
		if (!bpf_map_lookup_elem(fd, cur, v + cnt * vsz)) {
			memcpy(k + cnt * ksz, cur, ksz);
			cnt++;
		}
		memcpy(prev, cur, ksz);
		prevp = prev;
	}
done:
	*keys = k;
	*vals = v;
	*n = cnt;
	return 0;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}

/* Delete keys in batches; one that is already gone (the data plane, or a
 * twin deleted before) stops a batch, and the rest go on after it. */
static void delete_keys(int fd, const char *keys, size_t n, size_t ksz)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t done = 0;

	while (done < n) {
		__u32 count = n - done < BATCH_MAX ? n - done : BATCH_MAX;

		if (!bpf_map_delete_batch(fd, keys + done * ksz, &count, &opts)) {
			done += count;
			continue;
		}
		if (errno != ENOENT) {
			/* No batch support: one at a time. */
			for (; done < n; done++)
				bpf_map_delete_elem(fd, keys + done * ksz);
			return;
		}
		done += count + 1;	/* past the one that was gone */
	}
}

int flow_dump(int flows_fd, struct flow_dump *d)
{
	return map_dump(flows_fd, sizeof(struct flow_key), sizeof(struct flow_val),
			(void **)&d->keys, (void **)&d->vals, &d->n);
}

void flow_dump_free(struct flow_dump *d)
{
	free(d->keys);
	free(d->vals);
	memset(d, 0, sizeof(*d));
}

int conns_list(int flows_fd, struct conn **out, size_t *n)
{
	struct flow_dump d;
	struct conn *c;
	size_t cnt = 0;
	int err;

	err = flow_dump(flows_fd, &d);
	if (err)
		return err;
	c = calloc(d.n ? d.n : 1, sizeof(*c));
	if (!c) {
		flow_dump_free(&d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d.n; i++) {
		if (d.keys[i].dir != DIR_OUT)
			continue;
		c[cnt].out_key = d.keys[i];
		c[cnt].out = d.vals[i];
		flow_twin_key(&d.keys[i], &d.vals[i], &c[cnt].in_key);
		if (bpf_map_lookup_elem(flows_fd, &c[cnt].in_key, &c[cnt].in))
			continue;	/* half pair: expiry removes it */
		cnt++;
	}
	flow_dump_free(&d);
	*out = c;
	*n = cnt;
	return 0;
}

int conn_state_of(const struct conn *c)
{
	return flow_pair_state(c->out_key.proto, &c->out, &c->in);
}

#define CONN_STATE_NAME(sym, name) [sym] = name,
static const char *const conn_state_names[CS_MAX] = {
	CONN_STATES(CONN_STATE_NAME)
};
#undef CONN_STATE_NAME

const char *conn_state_name(const struct conn *c)
{
	return conn_state_names[conn_state_of(c)];
}

__u32 conn_timeout_s(const struct conn *c, const struct nat_state *st)
{
	return flow_pair_timeout_s(c->out_key.proto, conn_state_of(c), st);
}

__u64 conn_last_seen(const struct conn *c)
{
	return flow_pair_last_seen(&c->out, &c->in);
}

static void delete_pair(int flows_fd, const struct flow_key *k,
			const struct flow_val *v)
{
	struct flow_key twin;

	flow_twin_key(k, v, &twin);
	bpf_map_delete_elem(flows_fd, &twin);
	bpf_map_delete_elem(flows_fd, k);
}

/* The inside endpoints (proto, addr, port) of live connections: a set of
 * words, open addressing; 0 is an empty slot, which no word is. */
struct endpoint_set {
	__u64 *slot;
	size_t mask;
};

static __u64 endpoint_word(__u8 proto, __be32 addr, __be16 port)
{
	return (__u64)addr << 32 | (__u32)port << 16 | (__u32)proto << 8 | 1;
}

static size_t endpoint_slot(const struct endpoint_set *s, __u64 w)
{
	size_t i = (w * 0x9e3779b97f4a7c15ULL >> 17) & s->mask;

	while (s->slot[i] && s->slot[i] != w)
		i = (i + 1) & s->mask;
	return i;
}

/* Slots of an open-addressing table for n entries: at most half full. */
static size_t table_size(size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	return size;
}

static int endpoint_set_init(struct endpoint_set *s, size_t n)
{
	size_t size = table_size(n);

	s->slot = calloc(size, sizeof(*s->slot));
	s->mask = size - 1;
	return s->slot ? 0 : -ENOMEM;
}

static void endpoint_add(struct endpoint_set *s, __u64 w)
{
	s->slot[endpoint_slot(s, w)] = w;
}

static bool endpoint_live(const struct endpoint_set *s, __u64 w)
{
	return s->slot[endpoint_slot(s, w)] == w;
}

/*
 * Free bindings no live flow uses; the DIR_IN half goes last because it is
 * what port allocation locks on.  A binding that opened a flow less than
 * grace_ns before now_ns stays (the flow may be on its way into the map,
 * or have come after the dump of `live`).  With `only`, just the bindings
 * of those inside endpoints are looked at, and no expectation.
 */
static int bindings_gc(int binds_fd, const struct endpoint_set *live,
		       const struct endpoint_set *only, __u64 now_ns,
		       __u64 grace_ns, struct expire_result *r,
		       const struct gone_sink *sink, int reason)
{
	struct bind_key *bk = NULL;
	struct bind_val *bv = NULL;
	size_t nb = 0;
	int err;

	err = map_dump(binds_fd, sizeof(*bk), sizeof(*bv), (void **)&bk,
		       (void **)&bv, &nb);
	if (err)
		return err;
	for (size_t i = 0; i < nb; i++) {
		struct bind_key twin;
		bool gone;
		__u64 e;

		if (bv[i].flags & BIND_EXPECT) {
			if (!only && age_ns(bv[i].last_used_ns, now_ns) > EXPECT_TIMEOUT_NS &&
			    !bpf_map_delete_elem(binds_fd, &bk[i]))
				r->expectations_expired++;
			continue;
		}
		if (bv[i].flags & BIND_STATIC ||
		    age_ns(bv[i].last_used_ns, now_ns) < grace_ns)
			continue;
		if (bk[i].dir == DIR_OUT)
			e = endpoint_word(bk[i].proto, bk[i].addr, bk[i].port);
		else
			e = endpoint_word(bk[i].proto, bv[i].addr, bv[i].port);
		if (endpoint_live(live, e) || (only && !endpoint_live(only, e)))
			continue;
		if (bk[i].dir == DIR_IN) {
			/* Orphan lock whose owner is gone (or never came). */
			twin = (struct bind_key){ .addr = bv[i].addr,
						  .port = bv[i].port,
						  .proto = bk[i].proto,
						  .dir = DIR_OUT };
			if (!bpf_map_lookup_elem(binds_fd, &twin, &bv[i]))
				continue;	/* freed through its owner */
			bpf_map_delete_elem(binds_fd, &bk[i]);
			continue;
		}
		twin = (struct bind_key){ .addr = bv[i].addr, .port = bv[i].port,
					  .proto = bk[i].proto, .dir = DIR_IN };
		gone = !bpf_map_delete_elem(binds_fd, &bk[i]);
		bpf_map_delete_elem(binds_fd, &twin);
		r->bindings_freed++;
		if (gone && sink && sink->bind)
			sink->bind(sink->ctx, &bk[i], &bv[i], reason);
	}
	free(bk);
	free(bv);
	return 0;
}

/*
 * The dumped keys in an open-addressing hash table, for finding twins
 * without syscalls.  (Sorting them cost the controller a third of its time
 * at 50k new connections per second.)
 */
struct flow_index {
	__u32 *slot;		/* position in the dump + 1; 0: empty */
	size_t mask;
	const struct flow_dump *d;
};

static size_t flow_key_hash(const struct flow_key *k)
{
	__u64 h = ((__u64)k->saddr << 32 | k->daddr) * 0x9e3779b97f4a7c15ULL;

	h ^= ((__u64)k->sport << 32 | (__u64)k->dport << 16 |
	      (__u64)k->proto << 8 | k->dir) * 0xc2b2ae3d27d4eb4fULL;
	return h ^ (h >> 31);
}

static long flow_index_find(const struct flow_index *x, const struct flow_key *k)
{
	size_t i = flow_key_hash(k) & x->mask;
	__u32 s;

	while ((s = x->slot[i])) {
		if (!memcmp(&x->d->keys[s - 1], k, sizeof(*k)))
			return s - 1;
		i = (i + 1) & x->mask;
	}
	return -1;
}

static int flow_index_build(const struct flow_dump *d, struct flow_index *x)
{
	size_t size = table_size(d->n);

	x->slot = calloc(size, sizeof(*x->slot));
	if (!x->slot)
		return -ENOMEM;
	x->mask = size - 1;
	x->d = d;
	for (size_t i = 0; i < d->n; i++) {
		size_t j = flow_key_hash(&d->keys[i]) & x->mask;

		while (x->slot[j])
			j = (j + 1) & x->mask;
		x->slot[j] = i + 1;
	}
	return 0;
}

/*
 * Is the twin of entry i really missing?  The dump is not a snapshot: the
 * data plane inserts a pair's halves one after the other, and one may be
 * dumped without the other.  So a half pair is confirmed live (rare).
 */
static bool twin_missing(int flows_fd, const struct flow_key *twin)
{
	struct flow_val v;

	return bpf_map_lookup_elem(flows_fd, twin, &v) != 0;
}

__u32 expire_interval_ms(const struct nat_state *st)
{
	__u32 t = st->timeout_tcp_est;
	__u64 ms;

	if (st->timeout_tcp_trans < t)
		t = st->timeout_tcp_trans;
	if (st->timeout_udp < t)
		t = st->timeout_udp;
	if (st->timeout_icmp < t)
		t = st->timeout_icmp;
	ms = (__u64)t * 1000 / 4;
	if (ms < EXPIRE_INTERVAL_MIN_MS)
		return EXPIRE_INTERVAL_MIN_MS;
	return ms > EXPIRE_INTERVAL_MAX_MS ? EXPIRE_INTERVAL_MAX_MS : ms;
}

int conn_idle_reason(const struct conn *c)
{
	int s = conn_state_of(c);

	return s == CS_FIN_WAIT || s == CS_CLOSE ? GONE_CLOSED : GONE_TIMEOUT;
}

int flows_expire(int flows_fd, int binds_fd, const struct nat_state *st,
		 __u64 now_ns, bool free_bindings, struct expire_result *r,
		 const struct gone_sink *sink, struct expiry *requeue)
{
	struct flow_key *del = NULL;
	struct endpoint_set live = {};
	struct flow_index x = {};
	struct flow_dump d;
	bool *handled = NULL;
	size_t ndel = 0;
	int err;

	memset(r, 0, sizeof(*r));
	err = flow_dump(flows_fd, &d);
	if (err)
		return err;
	if (requeue)
		expiry_clear(requeue);
	err = flow_index_build(&d, &x);
	handled = calloc(d.n ? d.n : 1, sizeof(*handled));
	del = malloc((d.n ? d.n : 1) * sizeof(*del));
	if (!err)
		err = endpoint_set_init(&live, d.n);
	if (err || !handled || !del) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		struct conn c;
		__u64 last;
		__u32 timeout;
		int state;
		long t;

		if (d.keys[i].dir != DIR_OUT)
			continue;
		c.out_key = d.keys[i];
		c.out = d.vals[i];
		flow_twin_key(&c.out_key, &c.out, &c.in_key);
		t = flow_index_find(&x, &c.in_key);
		handled[i] = true;
		if (t < 0) {
			if (twin_missing(flows_fd, &c.in_key)) {
				del[ndel++] = c.out_key;
				r->half_pairs++;
			}
			continue;
		}
		handled[t] = true;
		c.in = d.vals[t];
		state = conn_state_of(&c);
		timeout = flow_pair_timeout_s(c.out_key.proto, state, st);
		last = conn_last_seen(&c);
		if (flow_pair_idle(last, timeout, now_ns)) {
			/* The inbound half first: see delete_pair(). */
			del[ndel++] = c.in_key;
			del[ndel++] = c.out_key;
			r->conns_expired++;
			if (sink && sink->conn)
				sink->conn(sink->ctx, &c, conn_idle_reason(&c));
			continue;
		}
		endpoint_add(&live, endpoint_word(c.out_key.proto,
						  c.out_key.saddr,
						  c.out_key.sport));
		if (requeue)
			expiry_add(requeue, &c.out_key,
				   flow_pair_due_ns(state, last, timeout, st,
						    now_ns));
	}
	/* Inbound halves no outbound one claimed. */
	for (size_t i = 0; i < d.n; i++) {
		struct flow_key twin;

		if (handled[i])
			continue;
		flow_twin_key(&d.keys[i], &d.vals[i], &twin);
		if (twin_missing(flows_fd, &twin)) {
			del[ndel++] = d.keys[i];
			r->half_pairs++;
		}
	}
	delete_keys(flows_fd, (const char *)del, ndel, sizeof(*del));
	err = free_bindings ? bindings_gc(binds_fd, &live, NULL, now_ns,
					  BIND_GRACE_NS, r, sink, GONE_UNUSED) : 0;
out:
	free(x.slot);
	free(handled);
	free(del);
	free(live.slot);
	flow_dump_free(&d);
	return err;
}

static void endpoint_add_key(void *ctx, const struct flow_key *k)
{
	endpoint_add(ctx, endpoint_word(k->proto, k->saddr, k->sport));
}

int bindings_expire(int binds_fd, const struct expiry *q, __u64 now_ns,
		    struct expire_result *r, const struct gone_sink *sink)
{
	struct endpoint_set live = {};
	int err;

	memset(r, 0, sizeof(*r));
	err = endpoint_set_init(&live, expiry_queued(q));
	if (err)
		return err;
	expiry_for_each(q, endpoint_add_key, &live);
	err = bindings_gc(binds_fd, &live, NULL, now_ns, BIND_GRACE_NS, r,
			  sink, GONE_UNUSED);
	free(live.slot);
	return err;
}

int conns_delete(int flows_fd, int binds_fd, const struct conn *c, size_t n,
		 const struct bind_key *expect, size_t nexp,
		 struct delete_result *r, const struct gone_sink *sink)
{
	struct endpoint_set only = {}, live = {};
	struct expire_result gc = {};
	struct flow_dump d;
	__u64 now;
	int err;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < nexp; i++)
		if (!bpf_map_delete_elem(binds_fd, &expect[i]))
			r->expectations_deleted++;
	err = endpoint_set_init(&only, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		/* The inbound half first, as on expiry (see delete_pair()). */
		bool in = !bpf_map_delete_elem(flows_fd, &c[i].in_key);
		bool out = !bpf_map_delete_elem(flows_fd, &c[i].out_key);

		if (!in && !out)
			continue;	/* expired or deleted meanwhile */
		r->conns_deleted++;
		if (sink && sink->conn)
			sink->conn(sink->ctx, &c[i], GONE_DELETED);
		endpoint_add(&only, endpoint_word(c[i].out_key.proto,
						  c[i].out_key.saddr,
						  c[i].out_key.sport));
	}
	if (!r->conns_deleted)
		goto out;
	/* What still uses an endpoint: every entry left, half pairs too.
	 * The clock is read first: a flow opened after it is younger than
	 * the grace, and so is its binding's stamp. */
	now = now_coarse_ns();
	err = flow_dump(flows_fd, &d);
	if (err)
		goto out;
	err = endpoint_set_init(&live, d.n);
	if (!err) {
		for (size_t i = 0; i < d.n; i++) {
			const struct flow_key *k = &d.keys[i];
			const struct flow_val *v = &d.vals[i];

			endpoint_add(&live, k->dir == DIR_OUT ?
				     endpoint_word(k->proto, k->saddr, k->sport) :
				     endpoint_word(k->proto, v->nat_addr,
						   v->nat_port));
		}
		err = bindings_gc(binds_fd, &live, &only, now,
				  BIND_DELETE_GRACE_NS, &gc, sink, GONE_DELETED);
		r->bindings_freed = gc.bindings_freed;
	}
	flow_dump_free(&d);
out:
	free(only.slot);
	free(live.slot);
	return err;
}

int flows_flush(int flows_fd, int binds_fd, __be32 ext, unsigned int *flushed,
		const struct gone_sink *sink)
{
	struct bind_key *bk = NULL;
	struct bind_val *bv = NULL;
	struct flow_dump d;
	size_t nb = 0;
	int err;

	*flushed = 0;
	err = flow_dump(flows_fd, &d);
	if (err)
		return err;
	for (size_t i = 0; i < d.n; i++) {
		if (d.keys[i].dir != DIR_OUT ||
		    (ext && d.vals[i].nat_addr != ext))
			continue;
		if (sink && sink->conn) {
			struct conn c = { .out_key = d.keys[i], .out = d.vals[i] };

			flow_twin_key(&c.out_key, &c.out, &c.in_key);
			bpf_map_lookup_elem(flows_fd, &c.in_key, &c.in);
			sink->conn(sink->ctx, &c, GONE_ADDRESS);
		}
		delete_pair(flows_fd, &d.keys[i], &d.vals[i]);
		(*flushed)++;
	}
	flow_dump_free(&d);

	err = map_dump(binds_fd, sizeof(*bk), sizeof(*bv), (void **)&bk,
		       (void **)&bv, &nb);
	if (err)
		return err;
	for (size_t i = 0; i < nb; i++) {
		__be32 on = bk[i].dir == DIR_OUT ? bv[i].addr : bk[i].addr;

		/* Forwards stay: bindings_move_static() re-homes them. */
		if ((!ext || on == ext) && !(bv[i].flags & BIND_STATIC) &&
		    !bpf_map_delete_elem(binds_fd, &bk[i]) && sink &&
		    sink->bind && bk[i].dir == DIR_OUT &&
		    !(bv[i].flags & BIND_EXPECT))
			sink->bind(sink->ctx, &bk[i], &bv[i], GONE_ADDRESS);
	}
	free(bk);
	free(bv);
	return 0;
}

int bindings_move_static(int binds_fd, __be32 ext, const struct ext_spec *keep,
			 int n_keep)
{
	struct bind_key *bk = NULL;
	struct bind_val *bv = NULL;
	size_t nb = 0;
	int err;

	if (!ext)
		return 0;	/* kept as they are until an address comes */
	err = map_dump(binds_fd, sizeof(*bk), sizeof(*bv), (void **)&bk,
		       (void **)&bv, &nb);
	if (err)
		return err;
	for (size_t i = 0; i < nb; i++) {
		struct bind_key k = bk[i];

		if (!(bv[i].flags & BIND_STATIC) ||
		    ext_spec_find(keep, n_keep,
				  k.dir == DIR_OUT ? bv[i].addr : k.addr) >= 0)
			continue;
		if (k.dir == DIR_OUT && bv[i].addr != ext) {
			bv[i].addr = ext;
			bpf_map_update_elem(binds_fd, &k, &bv[i], BPF_ANY);
		} else if (k.dir == DIR_IN && k.addr != ext) {
			bpf_map_delete_elem(binds_fd, &k);
			k.addr = ext;
			bpf_map_update_elem(binds_fd, &k, &bv[i], BPF_ANY);
		}
	}
	free(bk);
	free(bv);
	return 0;
}

int bindings_dump(int binds_fd, struct bind_key **keys, struct bind_val **vals,
		  size_t *n)
{
	return map_dump(binds_fd, sizeof(**keys), sizeof(**vals), (void **)keys,
			(void **)vals, n);
}

int flow_keyed_gc(int map_fd, size_t value_size, int flows_fd)
{
	struct flow_key *keys = NULL;
	struct flow_val v;
	void *vals = NULL;
	size_t n = 0;
	int err;

	err = map_dump(map_fd, sizeof(*keys), value_size, (void **)&keys,
		       &vals, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_lookup_elem(flows_fd, &keys[i], &v))
			bpf_map_delete_elem(map_fd, &keys[i]);
	free(keys);
	free(vals);
	return 0;
}
