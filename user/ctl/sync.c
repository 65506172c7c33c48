// SPDX-License-Identifier: GPL-2.0
/* State sync between gateways' controllers: see sync.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <sodium.h>
#include "flowtable.h"
#include "fwdmap.h"
#include "instance.h"
#include "log.h"
#include "sync.h"
#include "util.h"

#define SYNC_MAGIC	0x424d5331	/* "BMS1" */
#define SYNC_VERSION	1

enum sync_msg {
	SM_HELLO = 1,		/* receiver -> sender: the session's challenge */
	SM_RECORDS = 2,		/* sender -> receiver */
	SM_ACK = 3,		/* receiver -> sender: applied up to seq */
};

struct sync_hdr {
	__u32 magic;
	__u16 version;
	__u16 type;		/* enum sync_msg */
	__u32 len;		/* bytes of records after the header */
	__u32 pad;
	__u64 seq;
};

enum sync_rec_type {
	SR_FLOW = 1,		/* a flow entry: add, or merge */
	SR_FLOW_DEL = 2,	/* its connection went on the sender */
	SR_BIND = 3,		/* a binding: add, or merge */
	SR_BULK_END = 4,	/* every entry of the maps was sent */
	SR_SEQADJ = 5,		/* an ALG's sequence adjustment of a flow entry */
	SR_FWD_DEL = 6,		/* a forward went: its inbound binding (bind) */
};

struct sync_rec {
	__u8 type;		/* enum sync_rec_type */
	__u8 pad[3];
	__u32 age_ms;		/* since it last carried a packet (a flow)
				 * or took a flow (a binding): clocks of two
				 * machines cannot be compared, ages can */
	union {
		struct {
			struct flow_key k;
			struct flow_val v;
		} flow;
		struct {
			struct bind_key k;
			struct bind_val v;
		} bind;
		struct {
			struct flow_key k;
			struct flow_seqadj v;
		} seqadj;
	};
};

_Static_assert(sizeof(struct sync_hdr) == 24, "sync header changed: bump SYNC_VERSION");
_Static_assert(sizeof(struct sync_rec) == 64, "sync record changed: bump SYNC_VERSION");

#define MAC_LEN		crypto_auth_hmacsha256_BYTES
#define CHALLENGE_LEN	32
#define RECS_PER_MSG	21		/* a message fits one 1500-byte frame */
#define MSG_MAX		(sizeof(struct sync_hdr) + \
			 RECS_PER_MSG * sizeof(struct sync_rec) + MAC_LEN)
/* What may wait for a peer that does not take it (bulk included, which
 * is fed as the buffer drains): beyond it the session is dropped and the
 * next one resyncs. */
#define OUT_MAX		(4u << 20)
#define UNACKED_MAX	4096		/* messages in flight */
#define CONNECT_RETRY_MS 1000
#define ACK_EVERY_MS	100
/* A peer's DESTROY is not applied to a flow this gateway carried a
 * packet of this recently: after a failover the flow lives here. */
#define DEL_GRACE_NS	(2ULL * 1000000000ULL)

enum out_state { OUT_IDLE, OUT_CONNECTING, OUT_HELLO, OUT_STREAMING };

struct buf {
	char *p;
	size_t len, cap;
};

/* A forward, by its inbound static binding (the outbound one is its
 * mirror). */
struct fwd {
	struct bind_key k;
	struct bind_val v;
};

/* One peer gateway: a session each way. */
struct peer {
	const struct instance *in;
	__be32 addr, listen;
	__u16 port;
	__u8 key[32];
	char peer_name[INET_ADDRSTRLEN + 8];

	/* Sending: our connection to the peer's listener. */
	int out_fd;
	enum out_state out_state;
	__u64 next_connect_ms;
	__u8 out_challenge[CHALLENGE_LEN];
	struct buf out, hello;
	__u64 out_seq;
	struct sync_rec pending[RECS_PER_MSG];
	int n_pending;
	struct { __u64 seq; __u32 n; } unacked[UNACKED_MAX];
	int ua_head, ua_n;
	struct flow_dump bulk;	/* being sent, from bulk_pos */
	struct bind_key *bulk_bk;
	struct bind_val *bulk_bv;
	size_t bulk_pos, bulk_nb;
	bool bulk_active;
	__u64 next_refresh_ms, refresh_mark_ns;
	/* The forwards the peer has been told of: a forward added or
	 * deleted by hand (`forward add|del`, `reload`) is what differs
	 * from the maps when the CLI signals us. */
	struct fwd *fwds;
	size_t n_fwds;
	bool fwds_dirty;	/* not in the told file yet (fwds_save()) */

	/* Receiving: the peer's connection to our listener. */
	int in_fd;
	__u8 in_challenge[CHALLENGE_LEN];
	struct buf inb;
	__u64 in_seq;		/* last applied */
	__u64 in_acked;		/* last acknowledged */
	__u64 next_ack_ms;
	bool warned_auth;

	/* Counted here, added to the stats map once a loop: a record
	 * applied or sent must not cost a map update of its own. */
	__u64 unflushed[CNT_MAX];
	struct sync_peer_status status;	/* this peer's, for `status` */
	bool status_dirty;
};

/* Every peer's sessions, on one listener. */
struct sync {
	const struct instance *in;
	int listen_fd;
	int n;
	struct peer *peers[SYNC_MAX_PEERS];
	int status_fd;		/* SYNC_STATUS_MAP */
	/* Told of each connection a peer's record adds to our table. */
	void (*on_flow)(void *ctx, const struct flow_key *out_key);
	void *on_flow_ctx;
};

/* Where each sync counter also goes in its peer's status line (0: it
 * does not; the stats map has the totals of all peers). */
#define PEER_COUNT(cnt, field) \
	[cnt] = offsetof(struct sync_peer_status, field)
static const size_t peer_count_at[CNT_MAX] = {
	PEER_COUNT(CNT_SYNC_SENT, records_sent),
	PEER_COUNT(CNT_SYNC_ACKED, records_acked),
	PEER_COUNT(CNT_SYNC_APPLIED, records_applied),
	PEER_COUNT(CNT_SYNC_APPLY_FAILED, records_not_applied),
	PEER_COUNT(CNT_SYNC_REJECTED, messages_rejected),
	PEER_COUNT(CNT_SYNC_AUTH_FAILED, messages_rejected),
	PEER_COUNT(CNT_SYNC_SESSIONS, sessions),
	PEER_COUNT(CNT_SYNC_SESSIONS_LOST, sessions_lost),
	PEER_COUNT(CNT_SYNC_RESYNCS, bulk_resyncs),
	PEER_COUNT(CNT_SYNC_OVERFLOWS, too_slow),
};

static void count(struct peer *s, enum bpfmasq_counter idx, __u64 n)
{
	s->unflushed[idx] += n;
	if (peer_count_at[idx]) {
		*(__u64 *)((char *)&s->status + peer_count_at[idx]) += n;
		s->status_dirty = true;
	}
}

static void counters_flush(struct peer *s)
{
	for (int i = 0; i < CNT_MAX; i++) {
		if (!s->unflushed[i])
			continue;
		stats_add(s->in->stats_fd, i, s->unflushed[i]);
		s->unflushed[i] = 0;
	}
}

/* The controller's one sync, for what the ALG tells it. */
static struct sync *active;

static __u64 now_ms(void)
{
	return now_coarse_ns() / 1000000;
}

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void buf_take(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Whatever fd has for b: 1 read, 0 nothing yet, -1 gone (why says). */
static int buf_read(int fd, struct buf *b, const char **why)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		*why = n ? strerror(errno) : "closed by the peer";
		return -1;
	}
	if (buf_put(b, tmp, n)) {
		*why = "out of memory";
		return -1;
	}
	return 1;
}

int sync_key_load(const char *path, __u8 key[32], char *err, size_t size)
{
	unsigned char data[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if (sodium_init() < 0) {
		snprintf(err, size, "cannot initialise libsodium");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, size, "cannot read the sync key %s: %s (make one with 'head -c 32 /dev/urandom > %s; chmod 600 %s' and copy it to the peer)",
			 path, strerror(errno), path, path);
		return -1;
	}
	if (!fstat(fd, &st) && (st.st_mode & 077)) {
		snprintf(err, size, "the sync key %s is readable by others (mode %03o): chmod 600 %s",
			 path, st.st_mode & 0777, path);
		close(fd);
		return -1;
	}
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n < SYNC_KEY_MIN) {
		snprintf(err, size, "the sync key %s has %zd bytes, at least %d are needed (head -c 32 /dev/urandom > %s)",
			 path, n < 0 ? 0 : n, SYNC_KEY_MIN, path);
		return -1;
	}
	/* Any length of secret, one key of the HMAC's size. */
	crypto_hash_sha256(key, data, n);
	sodium_memzero(data, sizeof(data));
	return 0;
}

static void mac_of(const struct peer *s, const __u8 *challenge,
		   const void *msg, size_t len, __u8 mac[MAC_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, s->key, sizeof(s->key));
	crypto_auth_hmacsha256_update(&st, challenge, CHALLENGE_LEN);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
}

/* ---- sending ------------------------------------------------------------ */

static void bulk_free(struct peer *s)
{
	flow_dump_free(&s->bulk);
	free(s->bulk_bk);
	free(s->bulk_bv);
	s->bulk_bk = NULL;
	s->bulk_bv = NULL;
	s->bulk_nb = s->bulk_pos = 0;
	s->bulk_active = false;
}

static void out_reset(struct peer *s, const char *why)
{
	if (s->out_state == OUT_STREAMING) {
		count(s, CNT_SYNC_SESSIONS_LOST, 1);
		log_msg("%s: sync to %s lost: %s; the next session resyncs",
			s->in->ifname, s->peer_name, why);
	}
	if (s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
	s->out_state = OUT_IDLE;
	s->next_connect_ms = now_ms() + CONNECT_RETRY_MS;
	s->out.len = s->hello.len = 0;
	s->n_pending = 0;
	s->ua_head = s->ua_n = 0;
	bulk_free(s);
}

static void out_connect(struct peer *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(s->port),
				  .sin_addr.s_addr = s->addr };
	struct sockaddr_in me = { .sin_family = AF_INET,
				  .sin_addr.s_addr = s->listen };
	int one = 1;

	s->out_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->out_fd < 0) {
		s->next_connect_ms = now_ms() + CONNECT_RETRY_MS;
		return;
	}
	setsockopt(s->out_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* From our sync address, so that the peer's filter can trust it. */
	if (s->listen)
		bind(s->out_fd, (struct sockaddr *)&me, sizeof(me));
	if (connect(s->out_fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    errno != EINPROGRESS) {
		out_reset(s, strerror(errno));
		return;
	}
	s->out_state = OUT_CONNECTING;
}

/* The records waiting become one message. */
static int out_flush(struct peer *s)
{
	struct sync_hdr h = { .magic = SYNC_MAGIC, .version = SYNC_VERSION,
			      .type = SM_RECORDS };
	size_t len = s->n_pending * sizeof(struct sync_rec);
	char msg[MSG_MAX];
	__u8 mac[MAC_LEN];
	int slot;

	if (!s->n_pending || s->out_state != OUT_STREAMING)
		return 0;
	if (s->ua_n == UNACKED_MAX || s->out.len > OUT_MAX) {
		count(s, CNT_SYNC_OVERFLOWS, 1);
		out_reset(s, "the peer does not keep up");
		return -1;
	}
	h.len = len;
	h.seq = ++s->out_seq;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), s->pending, len);
	mac_of(s, s->out_challenge, msg, sizeof(h) + len, mac);
	memcpy(msg + sizeof(h) + len, mac, MAC_LEN);
	if (buf_put(&s->out, msg, sizeof(h) + len + MAC_LEN)) {
		out_reset(s, "out of memory");
		return -1;
	}
	slot = (s->ua_head + s->ua_n++) % UNACKED_MAX;
	s->unacked[slot].seq = h.seq;
	s->unacked[slot].n = s->n_pending;
	count(s, CNT_SYNC_SENT, s->n_pending);
	s->n_pending = 0;
	return 0;
}

static void out_rec(struct peer *s, const struct sync_rec *r)
{
	if (s->out_state != OUT_STREAMING)
		return;	/* the next session's bulk carries it */
	s->pending[s->n_pending++] = *r;
	if (s->n_pending == RECS_PER_MSG)
		out_flush(s);
}

static __u32 age_ms_of(__u64 then_ns, __u64 now_ns)
{
	__u64 age = then_ns < now_ns ? (now_ns - then_ns) / 1000000 : 0;

	return age > 0xffffffffULL ? 0xffffffff : age;
}

static void out_flow(struct peer *s, const struct flow_key *k,
		     const struct flow_val *v, __u64 now_ns)
{
	struct sync_rec r = { .type = SR_FLOW };

	r.age_ms = age_ms_of(v->last_seen_ns, now_ns);
	r.flow.k = *k;
	r.flow.v = *v;
	/* The peer's next hop is its own to find. */
	memset(&r.flow.v.nh, 0, sizeof(r.flow.v.nh));
	r.flow.v.last_seen_ns = 0;
	out_rec(s, &r);
}

static void out_bind(struct peer *s, const struct bind_key *k,
		     const struct bind_val *v, __u64 now_ns)
{
	struct sync_rec r = { .type = SR_BIND };

	/* Half-made bindings are their maker's. */
	if (v->state != BIND_LIVE)
		return;
	r.age_ms = age_ms_of(v->last_used_ns, now_ns);
	r.bind.k = *k;
	r.bind.v = *v;
	r.bind.v.last_used_ns = 0;
	out_rec(s, &r);
}

static void out_seqadj(struct peer *s, const struct flow_key *k)
{
	struct sync_rec r = { .type = SR_SEQADJ };

	if (s->in->seqadj_fd < 0 ||
	    bpf_map_lookup_elem(s->in->seqadj_fd, k, &r.seqadj.v))
		return;
	r.seqadj.k = *k;
	out_rec(s, &r);
}

/* ---- forwards ------------------------------------------------------------ */

/* Every forward in the maps now: the bindings table holds them among the
 * dynamic mappings, so this walks it, only when told something changed. */
static int fwds_read(const struct peer *s, struct fwd **out, size_t *n)
{
	struct bind_key k, next, *prev = NULL;
	struct fwd *v = NULL, *nv;
	struct bind_val val;
	size_t cap = 0;

	*n = 0;
	while (!bpf_map_get_next_key(s->in->binds_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.dir != DIR_IN ||
		    bpf_map_lookup_elem(s->in->binds_fd, &k, &val) ||
		    !(val.flags & BIND_STATIC))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -1;
			}
			v = nv;
		}
		v[(*n)++] = (struct fwd){ .k = k, .v = val };
	}
	*out = v;
	return 0;
}

static struct fwd *fwd_find(struct fwd *f, size_t n, const struct bind_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&f[i].k, k, sizeof(*k)))
			return &f[i];
	return NULL;
}

static bool fwd_same(const struct fwd *a, const struct fwd *b)
{
	return a && b && a->v.addr == b->v.addr && a->v.port == b->v.port;
}

/* The peer has f now (it told us, or we told it). */
static void fwd_learn(struct peer *s, const struct bind_key *k,
		      const struct bind_val *v)
{
	struct fwd *f = fwd_find(s->fwds, s->n_fwds, k), *nf;

	if (!f) {
		nf = realloc(s->fwds, (s->n_fwds + 1) * sizeof(*nf));
		if (!nf)
			return;	/* the next diff sends it once more */
		s->fwds = nf;
		f = &s->fwds[s->n_fwds++];
	}
	*f = (struct fwd){ .k = *k, .v = *v };
	s->fwds_dirty = true;
}

static void fwd_forget(struct peer *s, const struct bind_key *k)
{
	struct fwd *f = fwd_find(s->fwds, s->n_fwds, k);

	if (f) {
		*f = s->fwds[--s->n_fwds];
		s->fwds_dirty = true;
	}
}

/*
 * What the peer was told is kept in a file beside the controller's log,
 * so that a forward deleted while no controller ran (killed, or between
 * an upgrade's two) still reaches the peer as a removal: the next
 * controller starts from the file, not from the maps.  The file names the
 * bindings table it is about: a new instance (a new table) starts anew.
 */
struct fwds_file {
	__u32 magic;
	__u32 binds_id;
	__u64 n;
};

#define FWDS_MAGIC 0x62666477	/* "bfdw" */

static void fwds_path(const struct peer *s, char *buf, size_t len)
{
	snprintf(buf, len, BPFMASQ_RUN_DIR "/%s.sync-%s.fwds", s->in->ifname,
		 s->peer_name);
}

static __u32 binds_id(const struct peer *s)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);

	return bpf_obj_get_info_by_fd(s->in->binds_fd, &mi, &len) ? 0 : mi.id;
}

static void fwds_save(struct peer *s)
{
	struct fwds_file h = { FWDS_MAGIC, binds_id(s), s->n_fwds };
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	bool ok;

	if (!s->fwds_dirty)
		return;
	fwds_path(s, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	if (!f)
		return;	/* tried again at the next tick */
	ok = fwrite(&h, sizeof(h), 1, f) == 1 &&
	     fwrite(s->fwds, sizeof(*s->fwds), s->n_fwds, f) == s->n_fwds;
	if (fclose(f) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return;
	}
	s->fwds_dirty = false;
}

/* 0 when the file was there and about this instance's table. */
static int fwds_load(struct peer *s)
{
	struct fwds_file h;
	char path[PATH_MAX];
	struct fwd *v = NULL;
	FILE *f;
	int ret = -1;

	fwds_path(s, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fread(&h, sizeof(h), 1, f) == 1 && h.magic == FWDS_MAGIC &&
	    h.binds_id && h.binds_id == binds_id(s) && h.n < (1U << 20) &&
	    (v = calloc(h.n + 1, sizeof(*v))) &&
	    fread(v, sizeof(*v), h.n, f) == h.n) {
		s->fwds = v;
		s->n_fwds = h.n;
		v = NULL;
		ret = 0;
	}
	free(v);
	fclose(f);
	return ret;
}

/* A forward is its two static bindings. */
static void out_fwd(struct peer *s, const struct fwd *f, __u64 now)
{
	struct bind_key ko = { .addr = f->v.addr, .port = f->v.port,
			       .proto = f->k.proto, .dir = DIR_OUT };
	struct bind_val vo;

	out_bind(s, &f->k, &f->v, now);
	if (!bpf_map_lookup_elem(s->in->binds_fd, &ko, &vo) &&
	    (vo.flags & BIND_STATIC))
		out_bind(s, &ko, &vo, now);
}

/*
 * What changed since the peer was last told, sent now: removals first,
 * so that a forward that moved to another inside server is not refused
 * there as a conflicting mapping.  While no session streams nothing is
 * told: the next session's bulk carries the forwards there are, and this
 * diff, run again then, the removals.
 */
static void fwds_diff(struct peer *s)
{
	__u64 now = now_coarse_ns();
	struct fwd *cur;
	size_t n;

	if (s->out_state != OUT_STREAMING || fwds_read(s, &cur, &n))
		return;
	for (size_t i = 0; i < s->n_fwds; i++) {
		struct sync_rec r = { .type = SR_FWD_DEL };

		if (fwd_same(fwd_find(cur, n, &s->fwds[i].k), &s->fwds[i]))
			continue;
		r.bind.k = s->fwds[i].k;
		r.bind.v = s->fwds[i].v;
		out_rec(s, &r);
	}
	for (size_t i = 0; i < n; i++)
		if (!fwd_same(fwd_find(s->fwds, s->n_fwds, &cur[i].k), &cur[i]))
			out_fwd(s, &cur[i], now);
	out_flush(s);
	if (s->out_state != OUT_STREAMING) {
		free(cur);
		return;
	}
	free(s->fwds);
	s->fwds = cur;
	s->n_fwds = n;
	s->fwds_dirty = true;
}

/* Sequence adjustments are few (connections an ALG rewrote): all go
 * first, so that the flows after them know they have one. */
static void bulk_seqadj(struct peer *s)
{
	struct flow_key k, next, *prev = NULL;

	if (s->in->seqadj_fd < 0)
		return;
	while (!bpf_map_get_next_key(s->in->seqadj_fd, prev, &next) &&
	       s->out_state == OUT_STREAMING) {
		k = next;
		prev = &k;
		out_seqadj(s, &k);
	}
}

/* Feed the bulk resync while the socket takes it. */
static void bulk_feed(struct peer *s)
{
	__u64 now = now_coarse_ns();

	while (s->bulk_active && s->out_state == OUT_STREAMING &&
	       s->out.len < OUT_MAX / 4) {
		if (s->bulk_pos < s->bulk.n) {
			out_flow(s, &s->bulk.keys[s->bulk_pos],
				 &s->bulk.vals[s->bulk_pos], now);
		} else if (s->bulk_pos < s->bulk.n + s->bulk_nb) {
			size_t i = s->bulk_pos - s->bulk.n;

			out_bind(s, &s->bulk_bk[i], &s->bulk_bv[i], now);
		} else {
			struct sync_rec r = { .type = SR_BULK_END };

			out_rec(s, &r);
			out_flush(s);
			s->bulk_active = false;
			log_msg("%s: sync to %s: bulk resync of %zu flow entries and %zu bindings queued",
				s->in->ifname, s->peer_name, s->bulk.n,
				s->bulk_nb);
			flow_dump_free(&s->bulk);
			break;
		}
		s->bulk_pos++;
	}
}

static void bulk_start(struct peer *s)
{
	bulk_free(s);
	if (flow_dump(s->in->flows_fd, &s->bulk) ||
	    bindings_dump(s->in->binds_fd, &s->bulk_bk, &s->bulk_bv,
			  &s->bulk_nb)) {
		out_reset(s, "cannot read the maps");
		return;
	}
	s->bulk_active = true;
	count(s, CNT_SYNC_RESYNCS, 1);
	bulk_seqadj(s);
}

/* The hello: the session's challenge, then the bulk. */
static void out_read_hello(struct peer *s)
{
	struct sync_hdr h;
	const char *why;
	int r = buf_read(s->out_fd, &s->hello, &why);

	if (r < 0)
		out_reset(s, why);
	if (r <= 0 || s->hello.len < sizeof(h) + CHALLENGE_LEN)
		return;
	memcpy(&h, s->hello.p, sizeof(h));
	if (h.magic != SYNC_MAGIC || h.version != SYNC_VERSION ||
	    h.type != SM_HELLO || h.len != CHALLENGE_LEN) {
		count(s, CNT_SYNC_REJECTED, 1);
		out_reset(s, "the peer speaks another protocol or version");
		return;
	}
	memcpy(s->out_challenge, s->hello.p + sizeof(h), CHALLENGE_LEN);
	buf_take(&s->hello, sizeof(h) + CHALLENGE_LEN);
	s->out_state = OUT_STREAMING;
	s->out_seq = 0;
	count(s, CNT_SYNC_SESSIONS, 1);
	log_msg("%s: sync to %s: session up, resyncing", s->in->ifname,
		s->peer_name);
	bulk_start(s);
	fwds_diff(s);
}

/* The peer's acknowledgements, each under our challenge. */
static void out_read_acks(struct peer *s)
{
	__u8 mac[MAC_LEN];
	struct sync_hdr h;
	const char *why;
	int r = buf_read(s->out_fd, &s->hello, &why);

	if (r < 0)
		out_reset(s, why);
	if (r <= 0)
		return;
	while (s->hello.len >= sizeof(h) + MAC_LEN) {
		memcpy(&h, s->hello.p, sizeof(h));
		mac_of(s, s->out_challenge, &h, sizeof(h), mac);
		if (h.magic != SYNC_MAGIC || h.type != SM_ACK || h.len ||
		    crypto_verify_32(mac, (__u8 *)s->hello.p + sizeof(h))) {
			count(s, CNT_SYNC_REJECTED, 1);
			out_reset(s, "a bad acknowledgement");
			return;
		}
		buf_take(&s->hello, sizeof(h) + MAC_LEN);
		while (s->ua_n && s->unacked[s->ua_head].seq <= h.seq) {
			count(s, CNT_SYNC_ACKED,
				  s->unacked[s->ua_head].n);
			s->ua_head = (s->ua_head + 1) % UNACKED_MAX;
			s->ua_n--;
		}
	}
}

static void out_write(struct peer *s)
{
	ssize_t n;

	if (!s->out.len)
		return;
	n = send(s->out_fd, s->out.p, s->out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN)
			out_reset(s, strerror(errno));
		return;
	}
	buf_take(&s->out, n);
}

/* Every flow that carried a packet since the last refresh, so that the
 * peer's expiry agrees with ours; it also repairs what a lost record
 * missed. */
static void refresh(struct peer *s)
{
	struct flow_dump d;
	__u64 now = now_coarse_ns(), mark = s->refresh_mark_ns;

	if (s->out_state != OUT_STREAMING || s->bulk_active)
		return;
	if (flow_dump(s->in->flows_fd, &d))
		return;
	for (size_t i = 0; i < d.n && s->out_state == OUT_STREAMING; i++)
		if (d.vals[i].last_seen_ns > mark)
			out_flow(s, &d.keys[i], &d.vals[i], now);
	flow_dump_free(&d);
	out_flush(s);
	s->refresh_mark_ns = now;
}

static __u64 refresh_interval_ms(const struct peer *s)
{
	struct nat_state st;
	__u32 t = 20;

	/* A quarter of the shortest timeout, 1 to 5 s. */
	if (!instance_get_state(s->in, &st)) {
		t = st.timeout_udp;
		if (st.timeout_icmp < t)
			t = st.timeout_icmp;
		if (st.timeout_tcp_trans < t)
			t = st.timeout_tcp_trans;
	}
	t = t * 1000 / 4;
	return t < 1000 ? 1000 : t > 5000 ? 5000 : t;
}

/* ---- receiving ---------------------------------------------------------- */

static void in_close(struct peer *s, const char *why)
{
	if (s->in_fd < 0)
		return;
	log_msg("%s: sync from %s: session closed: %s", s->in->ifname,
		s->peer_name, why);
	close(s->in_fd);
	s->in_fd = -1;
	s->inb.len = 0;
}

/* The peer connected to our listener: a new session from it. */
static void in_take(struct peer *s, int fd)
{
	struct sync_hdr h = { .magic = SYNC_MAGIC, .version = SYNC_VERSION,
			      .type = SM_HELLO, .len = CHALLENGE_LEN };
	char hello[sizeof(h) + CHALLENGE_LEN];

	if (s->in_fd >= 0)
		in_close(s, "the peer connected again");
	s->in_fd = fd;
	s->in_seq = s->in_acked = 0;
	randombytes_buf(s->in_challenge, CHALLENGE_LEN);
	memcpy(hello, &h, sizeof(h));
	memcpy(hello + sizeof(h), s->in_challenge, CHALLENGE_LEN);
	if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello))
		in_close(s, "cannot send the challenge");
}

static bool has_seqadj(const struct peer *s, const struct flow_key *k)
{
	struct flow_seqadj sa;

	return s->in->seqadj_fd >= 0 &&
	       !bpf_map_lookup_elem(s->in->seqadj_fd, k, &sa);
}

/* An adjustment replaces ours: the sender's ALG rewrote the connection
 * last (both ALGs build on what the map holds). */
static void apply_seqadj(struct peer *s, const struct sync_rec *r)
{
	struct flow_val v;

	if (s->in->seqadj_fd < 0 ||
	    bpf_map_update_elem(s->in->seqadj_fd, &r->seqadj.k, &r->seqadj.v,
				BPF_ANY)) {
		count(s, CNT_SYNC_APPLY_FAILED, 1);
		return;
	}
	if (!bpf_map_lookup_elem(s->in->flows_fd, &r->seqadj.k, &v) &&
	    !(v.flags & FLOW_SEQADJ)) {
		v.flags |= FLOW_SEQADJ;
		bpf_map_update_elem(s->in->flows_fd, &r->seqadj.k, &v, BPF_EXIST);
	}
}

static void apply_flow(struct peer *s, const struct sync_rec *r, __u64 now)
{
	struct flow_val v = r->flow.v, cur;
	__u64 seen = now > r->age_ms * 1000000ULL ?
		     now - r->age_ms * 1000000ULL : 0;
	bool fresh = true;

	if (!bpf_map_lookup_elem(s->in->flows_fd, &r->flow.k, &cur)) {
		fresh = false;
		if (cur.nat_addr != v.nat_addr || cur.nat_port != v.nat_port) {
			/* Both translated the same packets differently:
			 * ours stays, theirs is refused and counted. */
			count(s, CNT_SYNC_APPLY_FAILED, 1);
			return;
		}
		/* Ours too: the later of the two sightings, the union of
		 * what each direction carried; our next hop stays. */
		v.nh = cur.nh;
		v.seen |= cur.seen;
		v.flags = cur.flags;
		if (cur.last_seen_ns > seen)
			seen = cur.last_seen_ns;
	}
	/* The data plane looks an adjustment up only when flagged. */
	if (has_seqadj(s, &r->flow.k))
		v.flags |= FLOW_SEQADJ;
	else
		v.flags &= ~FLOW_SEQADJ;
	v.last_seen_ns = seen;
	if (bpf_map_update_elem(s->in->flows_fd, &r->flow.k, &v, BPF_ANY))
		count(s, CNT_SYNC_APPLY_FAILED, 1);
	else if (fresh && r->flow.k.dir == DIR_OUT && active && active->on_flow)
		active->on_flow(active->on_flow_ctx, &r->flow.k);
}

void sync_on_flow(struct sync *s,
		  void (*fn)(void *ctx, const struct flow_key *out_key),
		  void *ctx)
{
	if (!s)
		return;
	s->on_flow = fn;
	s->on_flow_ctx = ctx;
}

static void apply_flow_del(struct peer *s, const struct sync_rec *r,
			   __u64 now)
{
	struct flow_val cur;

	if (bpf_map_lookup_elem(s->in->flows_fd, &r->flow.k, &cur))
		return;
	if (cur.last_seen_ns + DEL_GRACE_NS > now)
		return;	/* it lives here now */
	bpf_map_delete_elem(s->in->flows_fd, &r->flow.k);
}

static void apply_bind(struct peer *s, const struct sync_rec *r, __u64 now)
{
	struct bind_val v = r->bind.v, cur;
	__u64 used = now > r->age_ms * 1000000ULL ?
		     now - r->age_ms * 1000000ULL : 0;

	if (!bpf_map_lookup_elem(s->in->binds_fd, &r->bind.k, &cur)) {
		if (cur.addr != v.addr || cur.port != v.port) {
			/* Both sides mapped the same port at once: ours
			 * stays, theirs is refused and counted. */
			count(s, CNT_SYNC_APPLY_FAILED, 1);
			return;
		}
		if (cur.last_used_ns > used)
			used = cur.last_used_ns;
		v.flags |= cur.flags & BIND_STATIC;
	}
	v.last_used_ns = used;
	v.state = BIND_LIVE;
	if (bpf_map_update_elem(s->in->binds_fd, &r->bind.k, &v, BPF_ANY)) {
		count(s, CNT_SYNC_APPLY_FAILED, 1);
		return;
	}
	/* A forward: inbound packets to its port (outside the NAT range,
	 * often) are the NAT's only with the port's mark. */
	if (r->bind.k.dir == DIR_IN && (v.flags & BIND_STATIC)) {
		if (forward_port_mark(s->in, r->bind.k.port, true))
			count(s, CNT_SYNC_APPLY_FAILED, 1);
		fwd_learn(s, &r->bind.k, &v);
	}
}

/* The peer's forward went: ours goes, with its connections, when it is
 * the same forward (not one added here since to another server). */
static void apply_fwd_del(struct peer *s, const struct sync_rec *r)
{
	const struct bind_key *k = &r->bind.k;
	struct bind_val cur;

	fwd_forget(s, k);
	if (k->dir != DIR_IN ||
	    bpf_map_lookup_elem(s->in->binds_fd, k, &cur) ||
	    !(cur.flags & BIND_STATIC) || cur.addr != r->bind.v.addr ||
	    cur.port != r->bind.v.port)
		return;
	forward_remove(s->in, k->addr, k->proto, ntohs(k->port));
}

static bool apply(struct peer *s, const struct sync_rec *r, size_t n)
{
	__u64 now = now_coarse_ns();

	for (size_t i = 0; i < n; i++) {
		switch (r[i].type) {
		case SR_FLOW:
			apply_flow(s, &r[i], now);
			break;
		case SR_FLOW_DEL:
			apply_flow_del(s, &r[i], now);
			break;
		case SR_BIND:
			apply_bind(s, &r[i], now);
			break;
		case SR_SEQADJ:
			apply_seqadj(s, &r[i]);
			break;
		case SR_FWD_DEL:
			apply_fwd_del(s, &r[i]);
			break;
		case SR_BULK_END:
			log_msg("%s: sync from %s: bulk resync received",
				s->in->ifname, s->peer_name);
			break;
		default:
			count(s, CNT_SYNC_REJECTED, 1);
			continue;
		}
		count(s, CNT_SYNC_APPLIED, 1);
	}
	return true;
}

static void in_read(struct peer *s)
{
	__u8 mac[MAC_LEN];
	struct sync_hdr h;
	const char *why;
	int r = buf_read(s->in_fd, &s->inb, &why);

	if (r < 0)
		in_close(s, why);
	if (r <= 0)
		return;
	while (s->inb.len >= sizeof(h)) {
		size_t whole;

		memcpy(&h, s->inb.p, sizeof(h));
		if (h.magic != SYNC_MAGIC || h.version != SYNC_VERSION ||
		    h.type != SM_RECORDS || h.len % sizeof(struct sync_rec) ||
		    h.len > RECS_PER_MSG * sizeof(struct sync_rec)) {
			count(s, CNT_SYNC_REJECTED, 1);
			in_close(s, "a malformed message");
			return;
		}
		whole = sizeof(h) + h.len + MAC_LEN;
		if (s->inb.len < whole)
			return;
		mac_of(s, s->in_challenge, s->inb.p, sizeof(h) + h.len, mac);
		if (crypto_verify_32(mac, (__u8 *)s->inb.p + sizeof(h) + h.len)) {
			count(s, CNT_SYNC_AUTH_FAILED, 1);
			if (!s->warned_auth)
				log_err("%s: sync from %s: a message failed authentication: is the key file the same on both gateways?",
					s->in->ifname, s->peer_name);
			s->warned_auth = true;
			in_close(s, "authentication failed");
			return;
		}
		if (h.seq != s->in_seq + 1) {
			count(s, CNT_SYNC_REJECTED, 1);
			in_close(s, "a message out of sequence");
			return;
		}
		s->warned_auth = false;
		apply(s, (struct sync_rec *)(s->inb.p + sizeof(h)),
		      h.len / sizeof(struct sync_rec));
		s->in_seq = h.seq;
		buf_take(&s->inb, whole);
	}
}

static void in_ack(struct peer *s)
{
	struct sync_hdr h = { .magic = SYNC_MAGIC, .version = SYNC_VERSION,
			      .type = SM_ACK, .seq = s->in_seq };
	char msg[sizeof(h) + MAC_LEN];

	if (s->in_fd < 0 || s->in_acked == s->in_seq)
		return;
	memcpy(msg, &h, sizeof(h));
	mac_of(s, s->in_challenge, &h, sizeof(h), (__u8 *)msg + sizeof(h));
	if (send(s->in_fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    sizeof(msg))
		s->in_acked = s->in_seq;
}

/* ---- the controller's side ---------------------------------------------- */

static struct peer *peer_new(const struct instance *in,
			     const struct sync_opts *o, __be32 addr,
			     const __u8 key[32])
{
	struct peer *s = calloc(1, sizeof(*s));
	char a[INET_ADDRSTRLEN];

	if (!s)
		return NULL;
	s->in = in;
	s->addr = addr;
	s->listen = o->listen;
	s->port = o->port;
	memcpy(s->key, key, sizeof(s->key));
	s->out_fd = s->in_fd = -1;
	snprintf(s->peer_name, sizeof(s->peer_name), "%s:%u",
		 fmt_addr(a, addr), o->port);
	s->status.addr = addr;
	s->status.port = o->port;
	s->status_dirty = true;
	/* What an earlier controller told the peer, or else what the maps
	 * hold now: what the bulk will carry. */
	if (fwds_load(s) && fwds_read(s, &s->fwds, &s->n_fwds))
		s->n_fwds = 0;
	s->fwds_dirty = true;
	return s;
}

static void peer_free(struct peer *s)
{
	out_flush(s);
	out_write(s);
	out_reset(s, "stopping");
	in_close(s, "stopping");
	counters_flush(s);
	buf_free(&s->out);
	buf_free(&s->hello);
	buf_free(&s->inb);
	free(s->fwds);
	sodium_memzero(s->key, sizeof(s->key));
	free(s);
}

/* Each peer's line of `status`, in a map of the controller's own: the
 * stats map counts for all of them together.  Not pinned (pins are per
 * bpffs mount, and `ip netns exec` gives each command its own): `status`
 * finds it among the controller's fds. */
static void status_open(struct sync *s)
{
	s->status_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, SYNC_STATUS_MAP,
				      sizeof(__u32),
				      sizeof(struct sync_peer_status),
				      SYNC_MAX_PEERS, NULL);
	if (s->status_fd < 0)
		log_err("%s: sync: no per-peer status (status shows the totals): %s",
			s->in->ifname, strerror(errno));
}

static void status_write(struct sync *s)
{
	for (__u32 i = 0; i < (__u32)s->n; i++) {
		struct peer *p = s->peers[i];
		bool up = p->out_state == OUT_STREAMING, from = p->in_fd >= 0;

		if (!p->status_dirty && p->status.up == up &&
		    p->status.from_up == from)
			continue;
		p->status.up = up;
		p->status.from_up = from;
		p->status.lag = p->status.records_sent - p->status.records_acked;
		if (s->status_fd >= 0)
			bpf_map_update_elem(s->status_fd, &i, &p->status, BPF_ANY);
		p->status_dirty = false;
	}
}

/* The controller's status map, by its fds in /proc. */
static int status_map_of(__u32 pid)
{
	char path[300], line[128];
	struct dirent *e;
	DIR *d;
	int fd = -1;

	snprintf(path, sizeof(path), "/proc/%u/fdinfo", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info), id = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/fdinfo/%s", pid, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &id) == 1)
				break;
		fclose(f);
		if (!id || (fd = bpf_map_get_fd_by_id(id)) < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    strcmp(info.name, SYNC_STATUS_MAP) ||
		    info.value_size != sizeof(struct sync_peer_status)) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	return fd;
}

int sync_status_read(__u32 controller_pid, struct sync_peer_status *out,
		     int max)
{
	int fd = status_map_of(controller_pid), n = 0;

	if (fd < 0)
		return -1;
	for (__u32 i = 0; i < SYNC_MAX_PEERS && n < max; i++)
		if (!bpf_map_lookup_elem(fd, &i, &out[n]) && out[n].addr)
			n++;
	close(fd);
	return n;
}

struct sync *sync_open(const struct instance *in, const struct sync_opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(o->port),
				  .sin_addr.s_addr = o->listen };
	char err[512], a[INET_ADDRSTRLEN];
	struct sync *s = calloc(1, sizeof(*s));
	int one = 1;
	__u8 key[32];

	if (!s)
		return NULL;
	s->in = in;
	s->status_fd = -1;
	if (sync_key_load(o->key_file, key, err, sizeof(err))) {
		log_err("%s: no state sync: %s", in->ifname, err);
		free(s);
		return NULL;
	}
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0 ||
	    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->listen_fd, 4 + o->n_peers)) {
		log_err("%s: no state sync: cannot listen on %s:%u: %s",
			in->ifname, o->listen ? fmt_addr(a, o->listen) : "*",
			o->port, strerror(errno));
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		sodium_memzero(key, sizeof(key));
		free(s);
		return NULL;
	}
	for (int i = 0; i < o->n_peers && i < SYNC_MAX_PEERS; i++) {
		s->peers[s->n] = peer_new(in, o, o->peer[i], key);
		if (!s->peers[s->n])
			continue;
		log_msg("%s: state sync with %s", in->ifname,
			s->peers[s->n]->peer_name);
		s->n++;
	}
	sodium_memzero(key, sizeof(key));
	status_open(s);
	status_write(s);
	active = s;
	return s;
}

void sync_close(struct sync *s)
{
	if (!s)
		return;
	active = NULL;
	for (int i = 0; i < s->n; i++)
		peer_free(s->peers[i]);
	close(s->listen_fd);
	if (s->status_fd >= 0)
		close(s->status_fd);
	free(s);
}

/* Only the peers; the key is the real guard, this keeps the rest of the
 * network from even trying. */
static void sync_accept(struct sync *s)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	char a[INET_ADDRSTRLEN];
	int fd = accept4(s->listen_fd, (struct sockaddr *)&from, &len,
			 SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < s->n; i++)
		if (s->peers[i]->addr == from.sin_addr.s_addr) {
			in_take(s->peers[i], fd);
			return;
		}
	log_msg("%s: sync: refused a connection from %s (not a peer)",
		s->in->ifname, fmt_addr(a, from.sin_addr.s_addr));
	if (s->n) {
		count(s->peers[0], CNT_SYNC_REJECTED, 1);
		counters_flush(s->peers[0]);
	}
	close(fd);
}

/* The listener, then each peer's inbound and outbound session. */
int sync_pollfds(struct sync *s, struct pollfd *p, int max)
{
	int n = 0;

	if (!s || max < SYNC_MAX_POLLFDS)
		return 0;
	p[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (int i = 0; i < s->n; i++) {
		struct peer *q = s->peers[i];

		p[n++] = (struct pollfd){ .fd = q->in_fd, .events = POLLIN };
		p[n] = (struct pollfd){ .fd = q->out_fd, .events = POLLIN };
		if (q->out_state == OUT_CONNECTING || q->out.len)
			p[n].events |= POLLOUT;
		n++;
	}
	return n;
}

static void peer_dispatch(struct peer *s, const struct pollfd *in,
			  const struct pollfd *out)
{
	if (s->in_fd >= 0 && in->fd == s->in_fd && in->revents)
		in_read(s);
	if (s->out_fd < 0 || out->fd != s->out_fd || !out->revents)
		return;
	if (s->out_state == OUT_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(s->out_fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			out_reset(s, strerror(err));
			return;
		}
		s->out_state = OUT_HELLO;
		s->hello.len = 0;
		return;
	}
	if ((out->revents & (POLLERR | POLLHUP)) && !(out->revents & POLLIN)) {
		out_reset(s, "the connection failed");
		return;
	}
	if (out->revents & POLLIN) {
		if (s->out_state == OUT_HELLO)
			out_read_hello(s);
		else
			out_read_acks(s);
	}
	if (s->out_fd >= 0 && (out->revents & POLLOUT))
		out_write(s);
}

void sync_dispatch(struct sync *s, const struct pollfd *p, int n)
{
	if (!s || n != 1 + 2 * s->n)
		return;
	if (p[0].revents & POLLIN)
		sync_accept(s);
	for (int i = 0; i < s->n; i++)
		peer_dispatch(s->peers[i], &p[1 + 2 * i], &p[2 + 2 * i]);
}

static void peer_tick(struct peer *s, __u64 now)
{
	if (s->out_state == OUT_IDLE && now >= s->next_connect_ms)
		out_connect(s);
	if (s->out_state == OUT_STREAMING) {
		bulk_feed(s);
		if (now >= s->next_refresh_ms) {
			refresh(s);
			s->next_refresh_ms = now + refresh_interval_ms(s);
		}
		out_flush(s);
		out_write(s);
	}
	if (now >= s->next_ack_ms) {
		in_ack(s);
		s->next_ack_ms = now + ACK_EVERY_MS;
	}
	counters_flush(s);
	fwds_save(s);
}

void sync_tick(struct sync *s)
{
	__u64 now;

	if (!s)
		return;
	now = now_ms();
	for (int i = 0; i < s->n; i++)
		peer_tick(s->peers[i], now);
	status_write(s);
}

int sync_timeout_ms(const struct sync *s, int wait_ms)
{
	if (!s)
		return wait_ms;
	/* Records wait at most this long to fill a message; a bulk being
	 * fed and acknowledgements owed want the loop soon too. */
	for (int i = 0; i < s->n; i++)
		if (s->peers[i]->bulk_active &&
		    s->peers[i]->out.len < OUT_MAX / 4)
			return 0;
	return wait_ms < ACK_EVERY_MS ? wait_ms : ACK_EVERY_MS;
}

static void peer_event(struct peer *s, const struct conn_event *r)
{
	struct flow_key k = { .proto = r->proto, .dir = DIR_OUT,
			      .saddr = r->in_addr, .sport = r->in_port,
			      .daddr = r->rem_addr, .dport = r->rem_port };
	struct flow_key twin = { .proto = r->proto, .dir = DIR_IN,
				 .saddr = r->rem_addr, .sport = r->rem_port,
				 .daddr = r->out_addr, .dport = r->out_port };
	struct bind_key bo = { .addr = r->in_addr, .port = r->in_port,
			       .proto = r->proto, .dir = DIR_OUT };
	struct bind_key bi = { .addr = r->out_addr, .port = r->out_port,
			       .proto = r->proto, .dir = DIR_IN };
	__u64 now = now_coarse_ns();
	struct sync_rec del = { .type = SR_FLOW_DEL };
	struct flow_val v;
	struct bind_val bv;

	if (s->out_state != OUT_STREAMING)
		return;
	switch (r->type) {
	case CE_FLOW_NEW:
		if (!bpf_map_lookup_elem(s->in->flows_fd, &k, &v))
			out_flow(s, &k, &v, now);
		if (!bpf_map_lookup_elem(s->in->flows_fd, &twin, &v))
			out_flow(s, &twin, &v, now);
		break;
	case CE_FLOW_DESTROY:
		/* `down` ends this gateway's part, not the connections:
		 * the peer carries on with them. */
		if (r->reason == GONE_DOWN)
			break;
		del.flow.k = k;
		out_rec(s, &del);
		del.flow.k = twin;
		out_rec(s, &del);
		break;
	case CE_BIND_NEW:
		if (!bpf_map_lookup_elem(s->in->binds_fd, &bo, &bv))
			out_bind(s, &bo, &bv, now);
		if (!bpf_map_lookup_elem(s->in->binds_fd, &bi, &bv))
			out_bind(s, &bi, &bv, now);
		break;
	default:
		/* Bindings go on their own on the peer once no flow uses
		 * them (its binding GC), as they do here. */
		break;
	}
}

void sync_event(void *sync, const struct conn_event *r)
{
	struct sync *s = sync;

	for (int i = 0; s && i < s->n; i++)
		peer_event(s->peers[i], r);
}

void sync_note_seqadj(const struct flow_key *k, const struct flow_key *twin)
{
	for (int i = 0; active && i < active->n; i++) {
		struct peer *s = active->peers[i];

		if (s->out_state != OUT_STREAMING)
			continue;
		out_seqadj(s, k);
		out_seqadj(s, twin);
	}
}

void sync_note_expect(const struct bind_key *k)
{
	struct bind_val v;

	if (!active || bpf_map_lookup_elem(active->in->binds_fd, k, &v))
		return;
	for (int i = 0; i < active->n; i++)
		if (active->peers[i]->out_state == OUT_STREAMING)
			out_bind(active->peers[i], k, &v, now_coarse_ns());
}

void sync_note_forwards(void)
{
	for (int i = 0; active && i < active->n; i++)
		fwds_diff(active->peers[i]);
}
