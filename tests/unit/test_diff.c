// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of the data plane against hostile input.
 *
 * A generator makes frames: valid TCP, UDP and ICMP echo for a few inside
 * hosts, remotes and ports (so flows get reused), replies to the flows that
 * exist, ICMP errors quoting every kind of packet, fragments, non-IP
 * frames; and mutations of them: truncation at every offset, bad IHL,
 * version and lengths, IP options, fragment bits, TCP data offsets, UDP
 * lengths, flipped header bytes, Ethernet padding.  Each frame is run
 * through masq_wan_out (tc), masq_wan_in or masq_lan_fast (XDP) with
 * BPF_PROG_TEST_RUN.
 *
 * Two judges look at every case:
 * - a reference model of the translation, written here in plain C from
 *   the semantics (README, RFC 4787/5382/5508, Linux where the project
 *   follows it), predicts the verdict, every output byte, every counter,
 *   the flows/binds/frags maps after the case and the events on the ring;
 * - invariants that hold whatever the model says: only expected verdicts,
 *   no inside address leaves on the WAN, checksums still verify, a drop is
 *   counted exactly once, every flow has its twin and its binding, no
 *   external port serves two inside endpoints.
 *
 * The one thing the model cannot know is the external port the program
 * picks at random: it takes a new binding's port from the map after the
 * run and checks it instead (in range, not taken, the inside port itself
 * when that one is in range and free, the inside port's parity).
 *
 * Configuration: the default masquerade (every source but the external
 * address is inside: cfg_match_all_sources), strict filtering, ports
 * 61000-65535, the LAN fast path toward wan0 of a private netns whose
 * routes the model knows.  Not modelled (left to test_nat and the lab):
 * the ALGs (no FTP/IRC control port is generated; a flipped byte that
 * makes one is only judged by the invariants), cone filtering, forwards,
 * hairpinning, masq_wan_in_tc, port exhaustion, and a WAN without
 * Ethernet (cfg_wan_l3 stays false: every frame here is Ethernet; test_nat's
 * wan-l3 groups cover that mode).
 *
 * Output: "PASS <class>" per model class (program/outcome) and invariant
 * group; "FAIL <class>: seed S case N (...)" with the input and, for bytes,
 * both outputs from a little before the first difference, for the first
 * few failing cases of a class; the last line "N passed, N failed".
 *
 * TEST_DIFF_SEED=S replays a run (the seed is printed first; a failing
 * case N needs TEST_DIFF_CASES of at least N);  TEST_DIFF_CASES=N sets the
 * number of random cases after the exhaustive truncations (default 10000,
 * some 7 s; many more on demand); TEST_DIFF_DETAILS=N shows N failing
 * cases of each class in full (default 3).
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

#define PORT_LO		61000
#define PORT_HI		65535
#define WAN_MTU		1500
#define ICMP_ERR_MAX	1480	/* README: errors up to an Ethernet MTU */

/* What the no-leak invariant calls inside: 10.0.0.0/8. */
#define IS_INSIDE(a)	(((a) >> 24) == 10)

/* The largest frame XDP test runs take without multi-buffer support. */
#define FRAME_MAX	3000
#define OUT_MAX		(PKT_MAX + 256)

/* Maps are emptied this often, so the model's linear scans stay short. */
#define RESET_EVERY	250
#define MAX_ENT		4096


static const char *const prog_name[] = {
	[WAN_OUT] = "wan_out", [WAN_IN] = "wan_in", [LAN_FAST] = "lan_fast",
};

/* ---- small helpers ---- */

static inline __u16 rd16(const __u8 *p)
{
	return p[0] << 8 | p[1];
}

static inline __u32 rd32(const __u8 *p)
{
	return (__u32)rd16(p) << 16 | rd16(p + 2);
}

static bool in_range(unsigned int port)
{
	return port >= PORT_LO && port <= PORT_HI;
}

static __u64 rng_state;

/* splitmix64: one seed replays the whole run. */
static __u64 rnd(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 rn(__u32 n)
{
	return n ? rnd() % n : 0;
}

static bool chance(int pct)
{
	return rn(100) < (__u32)pct;
}

#define PICK(a)	((a)[rn(sizeof(a) / sizeof((a)[0]))])

/*
 * RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), accumulated over every 16-bit
 * word of every field a translation writes (written, not only changed:
 * a word written with its own value still normalises a 0xffff checksum,
 * which is what any incremental update does).
 */
struct acc {
	__u32 s;
};

static void acc_field(struct acc *a, const __u8 *old, const __u8 *new,
		      size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		a->s += (__u16)~rd16(old + i) + rd16(new + i);
}

static __u16 acc_apply(__u16 check, const struct acc *a)
{
	return ~csum_fold((__u16)~check + a->s);
}

/* ---- the state of the maps, as the model sees it ---- */

struct fent {
	struct flow_key k;
	__u32 nat_addr;		/* network order, as in the map */
	__u16 nat_port;
	__u8 seen;
	bool touched;		/* last_seen_ns != 0 */
};

struct bent {
	struct bind_key k;
	__u32 addr;
	__u16 port;
	__u16 flags;
};

struct rent {
	struct frag_key k;
	__u32 nat_addr;
	__u32 flags;
};

struct state {
	int nf, nb, nr;
	struct fent f[MAX_ENT];
	struct bent b[MAX_ENT];
	struct rent r[MAX_ENT];
};

static struct bpfmasq_bpf *skel;
static bool net_ready;

static struct flow_key fkey(__u8 proto, __u8 dir, __u32 s, unsigned int sp,
			    __u32 d, unsigned int dp)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = htonl(s);
	k.daddr = htonl(d);
	k.sport = htons(sp);
	k.dport = htons(dp);
	k.proto = proto;
	k.dir = dir;
	return k;
}

static struct bind_key bkey(__u8 proto, __u8 dir, __u32 a, unsigned int p)
{
	struct bind_key k;

	memset(&k, 0, sizeof(k));
	k.addr = htonl(a);
	k.port = htons(p);
	k.proto = proto;
	k.dir = dir;
	return k;
}

static struct frag_key rkey(__u32 s, __u32 d, unsigned int id, __u8 proto)
{
	struct frag_key k;

	memset(&k, 0, sizeof(k));
	k.saddr = htonl(s);
	k.daddr = htonl(d);
	k.id = htons(id);
	k.proto = proto;
	return k;
}

/* One map of a state (its entries, each beginning with its key), for
 * entry_find() and compare_entries(). */
struct entries {
	const void *e;
	int n;
	size_t size, key_size;
};

#define ENTRIES(arr, cnt)						\
	((struct entries){ .e = (arr), .n = (cnt), .size = sizeof((arr)[0]), \
			   .key_size = sizeof((arr)[0].k) })

static void *entry_find(struct entries t, const void *key)
{
	for (int i = 0; i < t.n; i++) {
		const char *e = (const char *)t.e + i * t.size;

		if (!memcmp(e, key, t.key_size))
			return (void *)e;
	}
	return NULL;
}

static struct fent *st_flow(struct state *st, const struct flow_key *k)
{
	return entry_find(ENTRIES(st->f, st->nf), k);
}

static struct bent *st_bind(struct state *st, const struct bind_key *k)
{
	return entry_find(ENTRIES(st->b, st->nb), k);
}

static struct rent *st_frag(struct state *st, const struct frag_key *k)
{
	return entry_find(ENTRIES(st->r, st->nr), k);
}

static int cmp_fent(const void *a, const void *b)
{
	return memcmp(&((const struct fent *)a)->k, &((const struct fent *)b)->k,
		      sizeof(struct flow_key));
}

static int cmp_bent(const void *a, const void *b)
{
	return memcmp(&((const struct bent *)a)->k, &((const struct bent *)b)->k,
		      sizeof(struct bind_key));
}

static int cmp_rent(const void *a, const void *b)
{
	return memcmp(&((const struct rent *)a)->k, &((const struct rent *)b)->k,
		      sizeof(struct frag_key));
}

static void state_sort(struct state *st)
{
	qsort(st->f, st->nf, sizeof(st->f[0]), cmp_fent);
	qsort(st->b, st->nb, sizeof(st->b[0]), cmp_bent);
	qsort(st->r, st->nr, sizeof(st->r[0]), cmp_rent);
}

/* fn(key, value, st) for every entry of a hash map; an entry deleted
 * between the two lookups is left out. */
static void map_each(int fd, size_t ksz, struct state *st,
		     void (*fn)(const void *k, const void *v, struct state *st))
{
	__u8 key[64], next[64], val[256];
	void *prev = NULL;

	if (ksz > sizeof(key))
		return;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		if (!bpf_map_lookup_elem(fd, key, val))
			fn(key, val, st);
	}
}

/* What the comparison keeps of each entry, up to MAX_ENT of a map. */
static void flow_entry(const void *k, const void *v, struct state *st)
{
	const struct flow_val *fv = v;

	if (st->nf < MAX_ENT)
		st->f[st->nf++] = (struct fent){
			.k = *(const struct flow_key *)k,
			.nat_addr = fv->nat_addr,
			.nat_port = ntohs(fv->nat_port), .seen = fv->seen,
			.touched = fv->last_seen_ns != 0,
		};
}

static void bind_entry(const void *k, const void *v, struct state *st)
{
	const struct bind_val *bv = v;

	if (st->nb < MAX_ENT)
		st->b[st->nb++] = (struct bent){
			.k = *(const struct bind_key *)k, .addr = bv->addr,
			.port = ntohs(bv->port), .flags = bv->flags,
		};
}

static void frag_entry(const void *k, const void *v, struct state *st)
{
	const struct frag_val *rv = v;

	if (st->nr < MAX_ENT)
		st->r[st->nr++] = (struct rent){
			.k = *(const struct frag_key *)k,
			.nat_addr = rv->nat_addr, .flags = rv->flags,
		};
}

static void state_read(struct state *st)
{
	st->nf = st->nb = st->nr = 0;
	map_each(bpf_map__fd(skel->maps.flows), sizeof(struct flow_key), st,
		 flow_entry);
	map_each(bpf_map__fd(skel->maps.binds), sizeof(struct bind_key), st,
		 bind_entry);
	map_each(bpf_map__fd(skel->maps.frags), sizeof(struct frag_key), st,
		 frag_entry);
	state_sort(st);
}

static void fmt_bkey(const void *key, char *buf, size_t len)
{
	const struct bind_key *k = key;
	char a[16];

	inet_ntop(AF_INET, &k->addr, a, sizeof(a));
	snprintf(buf, len, "bind %s %s %s:%u",
		 k->proto == P_TCP ? "tcp" : k->proto == P_UDP ? "udp" : "icmp",
		 k->dir == DIR_OUT ? "out" : "in", a, ntohs(k->port));
}

static void fmt_rkey(const void *key, char *buf, size_t len)
{
	const struct frag_key *k = key;
	char s[16], d[16];

	inet_ntop(AF_INET, &k->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &k->daddr, d, sizeof(d));
	snprintf(buf, len, "frag %s -> %s id 0x%04x proto %u", s, d,
		 ntohs(k->id), k->proto);
}

/* ---- events from the ring ---- */

struct evrec {
	__u32 type;
	struct frag_key key;
	__u32 nat_addr;
	__u32 flags;
	__u32 len;
	__u8 pkt[EV_PKT_MAX];
};

#define MAX_EV	4

static struct evrec got_ev[MAX_EV];
static int n_got_ev;
static struct ring_buffer *ring;

/* Records of the connection event stream, by type, for one case. */
static int n_cev[CE_TYPE_MAX];
static struct ring_buffer *cev_ring;

static int on_conn_event(void *ctx, void *data, size_t size)
{
	const struct conn_event *r = data;

	if (size == sizeof(*r) && r->type < CE_TYPE_MAX) {
		n_cev[r->type]++;
		/* One record for a connection and the binding it made. */
		if (r->type == CE_FLOW_NEW && (r->flags & CEF_NEW_BINDING))
			n_cev[CE_BIND_NEW]++;
	} else
		n_cev[0]++;
	return 0;
}

/*
 * The stream agrees with the counters: a FLOW_NEW per new flow, a
 * BIND_NEW per new binding, and per drop a DROP record or a suppressed
 * one (the per-CPU budget is time-based, so the model leaves it to this).
 */
static void note(const char *k, const char *fmt, ...);

static void check_conn_events(const long *d)
{
	long drops = 0;

	for (int i = CNT_FIRST_DROP; i < CNT_END_DROP; i++)
		drops += d[i];
	if (n_cev[0] || n_cev[CE_FLOW_NEW] != d[CNT_NEW_FLOWS] ||
	    n_cev[CE_BIND_NEW] != d[CNT_NEW_BINDINGS] ||
	    n_cev[CE_DROP] + d[CNT_DROP_EVENTS_SUPPRESSED] != drops ||
	    d[CNT_EVENTS_LOST])
		note("invariant/events",
		     "conn_events: %d FLOW_NEW, %d BIND_NEW, %d DROP, %d bad, %ld suppressed for %ld flows, %ld bindings, %ld drops",
		     n_cev[CE_FLOW_NEW], n_cev[CE_BIND_NEW], n_cev[CE_DROP],
		     n_cev[0], d[CNT_DROP_EVENTS_SUPPRESSED], d[CNT_NEW_FLOWS],
		     d[CNT_NEW_BINDINGS], drops);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct evrec *e = &got_ev[n_got_ev < MAX_EV ? n_got_ev : MAX_EV - 1];
	const struct bpfmasq_frag_event *fe = data;

	n_got_ev++;
	memset(e, 0, sizeof(*e));
	if (size < sizeof(__u32))
		return 0;
	e->type = fe->type;
	if ((e->type == EV_FRAG_HOLD || e->type == EV_FRAG_RESOLVED) &&
	    size >= sizeof(*fe)) {
		e->key = fe->key;
		e->nat_addr = fe->val.nat_addr;
		e->flags = fe->val.flags;
		e->len = fe->len;
		if (e->type == EV_FRAG_HOLD && e->len <= EV_PKT_MAX &&
		    size >= sizeof(*fe) + e->len)
			memcpy(e->pkt, ((const struct bpfmasq_frag_hold *)data)->pkt,
			       e->len);
	}
	return 0;
}

/* ---- the model's view of a frame ---- */

struct view {
	const __u8 *b;
	size_t len;
	bool ip;		/* ethertype IPv4 */
	int err;		/* the drop reason it deserves, or 0 */
	unsigned int ihl, tot_len, proto, ttl, id;
	bool later, mf;
	__u32 saddr, daddr;
	size_t l4, l4len;
	/* When err == 0 and !later: */
	bool ports;		/* TCP, UDP, ICMP echo request or reply */
	unsigned int sport, dport;	/* echo request: sport = id; reply:
					 * dport = id; the remote side 0 */
	size_t sport_off, dport_off, csum_off;
	unsigned int icmp_type;
	bool icmp_err;		/* destination unreachable, time exceeded,
				 * parameter problem */
	__u8 seen;		/* TCP flags as SEEN_* */
};

/* TCP and UDP alike: the ports open the header, the checksum sits at
 * csum_at. */
static void view_ports(struct view *v, const __u8 *l4, size_t csum_at)
{
	v->ports = true;
	v->sport = rd16(l4);
	v->dport = rd16(l4 + 2);
	v->sport_off = v->l4;
	v->dport_off = v->l4 + 2;
	v->csum_off = v->l4 + csum_at;
}

/*
 * What an IPv4 packet must look like to be translated, from the RFCs: a
 * whole header (version 4, IHL >= 5, total length covering the header and
 * within the frame); bytes beyond the total length are link padding and
 * belong to no header.  An L4 header must lie within the IP packet: TCP
 * with its data offset, UDP with a length of at least 8 that fits (a first
 * fragment's length is the whole datagram's), the 8-byte ICMP header.
 * Later fragments carry no L4 header.
 */
static void view_parse(const __u8 *b, size_t len, struct view *v)
{
	const __u8 *ip = b + ETH_LEN, *l4;

	memset(v, 0, sizeof(*v));
	v->b = b;
	v->len = len;
	if (len < ETH_LEN || rd16(b + 12) != ETHERTYPE_IP)
		return;
	v->ip = true;
	if (len < ETH_LEN + IP_LEN || ip[0] >> 4 != 4) {
		v->err = DROP_MALFORMED_IP;
		return;
	}
	v->ihl = (ip[0] & 15) * 4;
	v->tot_len = rd16(ip + 2);
	if (v->ihl < IP_LEN || v->tot_len < v->ihl ||
	    ETH_LEN + v->tot_len > len) {
		v->err = DROP_MALFORMED_IP;
		return;
	}
	v->id = rd16(ip + 4);
	v->later = (rd16(ip + 6) & 0x1fff) != 0;
	v->mf = rd16(ip + 6) & 0x2000;
	v->ttl = ip[8];
	v->proto = ip[9];
	v->saddr = rd32(ip + 12);
	v->daddr = rd32(ip + 16);
	v->l4 = ETH_LEN + v->ihl;
	v->l4len = v->tot_len - v->ihl;
	if (v->later)
		return;
	l4 = b + v->l4;
	if (v->proto == P_TCP) {
		unsigned int doff = (l4[12] >> 4) * 4;

		if (v->l4len < TCP_LEN || doff < TCP_LEN || doff > v->l4len) {
			v->err = DROP_MALFORMED_L4;
			return;
		}
		view_ports(v, l4, 16);
		v->seen = (l4[13] & F_SYN ? SEEN_SYN : 0) |
			  (l4[13] & F_FIN ? SEEN_FIN : 0) |
			  (l4[13] & F_RST ? SEEN_RST : 0) |
			  (l4[13] & F_ACK ? SEEN_ACK : 0);
	} else if (v->proto == P_UDP) {
		unsigned int ulen;

		if (v->l4len < UDP_LEN) {
			v->err = DROP_MALFORMED_L4;
			return;
		}
		ulen = rd16(l4 + 4);
		if (ulen < UDP_LEN || (ulen > v->l4len && !v->mf)) {
			v->err = DROP_MALFORMED_L4;
			return;
		}
		view_ports(v, l4, 6);
	} else if (v->proto == P_ICMP) {
		if (v->l4len < ICMP_LEN) {
			v->err = DROP_MALFORMED_L4;
			return;
		}
		v->icmp_type = l4[0];
		v->csum_off = v->l4 + 2;
		v->sport_off = v->dport_off = v->l4 + 4;
		if (l4[0] == ICMP_T_ECHO) {
			v->ports = true;
			v->sport = rd16(l4 + 4);
		} else if (l4[0] == ICMP_T_ECHOREPLY) {
			v->ports = true;
			v->dport = rd16(l4 + 4);
		} else if (l4[0] == ICMP_T_UNREACH ||
			   l4[0] == ICMP_T_TIME_EXCEEDED ||
			   l4[0] == ICMP_T_PARAMPROB) {
			v->icmp_err = true;
		}
	}
}

/* A TCP or UDP checksum field that holds only the pseudo-header sum (a
 * CHECKSUM_PARTIAL skb's): the XDP programs leave those to tc (README). */
static bool looks_partial(const struct view *v)
{
	__u32 s;
	__u16 field;

	if (v->err || v->later || (v->proto != P_TCP && v->proto != P_UDP))
		return false;
	field = rd16(v->b + v->csum_off);
	if (v->proto == P_UDP && !field)
		return false;
	s = csum_add(0, v->b + ETH_LEN + 12, 8) + v->proto + v->l4len;
	return field == csum_fold(s);
}

/* ---- routes of the test netns, as far as the generator's addresses go ---- */

/* Would the kernel forward a packet to daddr arriving on lo?  -1: the
 * model does not know that address. */
static int routes_forward(__u32 daddr)
{
	if ((daddr >> 8) == (IN1 >> 8)) {
		if (daddr == LAN_GW)
			return 0;
		return (daddr & 0xff) && (daddr & 0xff) != 255 ? 1 : -1;
	}
	if ((daddr >> 8) == (REM >> 8))
		return 1;
	if (daddr == UNROUTED)
		return 0;
	return -1;
}

/* Does a packet from EXT to daddr leave through wan0 with a known
 * neighbour and fit its MTU?  -1: unknown. */
static int routes_to_wan(__u32 daddr, unsigned int tot_len)
{
	if ((daddr >> 8) == (REM >> 8))
		return tot_len <= WAN_MTU;
	if ((daddr >> 8) == (IN1 >> 8) || daddr == UNROUTED)
		return 0;
	return -1;
}

/* ---- the model ---- */

struct model {
	bool covered;
	char cls[48];
	int verdict;
	__u8 out[OUT_MAX];
	size_t out_len;
	long cnt[CNT_MAX];
	int nev;
	struct evrec ev[MAX_EV];
	struct state *st;	/* the maps after the case */
	const struct state *post;	/* what the program left: only the
					 * port of a new binding is read */
	char note[512];		/* port choices the model objects to */
};

static void model_note(struct model *m, const char *fmt, ...)
{
	size_t n = strlen(m->note);
	va_list ap;

	if (n + 4 >= sizeof(m->note))
		return;
	if (n)
		strcat(m->note, "; ");
	n = strlen(m->note);
	va_start(ap, fmt);
	vsnprintf(m->note + n, sizeof(m->note) - n, fmt, ap);
	va_end(ap);
}

static void set_cls(struct model *m, enum prog p, const char *what)
{
	snprintf(m->cls, sizeof(m->cls), "%s/%s", prog_name[p], what);
}

static const char *l4_name(unsigned int proto)
{
	return proto == P_TCP ? "tcp" : proto == P_UDP ? "udp" : "echo";
}

static void ip_fix(__u8 *o, const __u8 *in, const struct view *v,
		   struct acc *a)
{
	put16(o + ETH_LEN + 10, acc_apply(rd16(in + ETH_LEN + 10), a));
}

/*
 * Rewrite the source (outbound) or destination (inbound) address and port
 * (echo identifier) of a packet, and the checksums that cover them: TCP
 * and UDP include the pseudo-header, ICMP does not; a UDP checksum of 0
 * means "none" and stays 0, a computed 0 is sent as 0xffff (RFC 768).
 */
static void xlate(struct model *m, const struct view *v, bool src, __u32 addr,
		  int port)
{
	size_t a_off = ETH_LEN + (src ? 12 : 16);
	const __u8 *in = v->b;
	__u8 *o = m->out;
	struct acc ipa = {};

	put32(o + a_off, addr);
	acc_field(&ipa, in + a_off, o + a_off, 4);
	if (port >= 0) {
		size_t p_off = src ? v->sport_off : v->dport_off;
		__u16 old = rd16(in + v->csum_off);
		struct acc la = {};

		put16(o + p_off, port);
		if (!(v->proto == P_UDP && !old)) {
			if (v->proto != P_ICMP)
				acc_field(&la, in + a_off, o + a_off, 4);
			acc_field(&la, in + p_off, o + p_off, 2);
			__u16 c = acc_apply(old, &la);

			if (v->proto == P_UDP && !c)
				c = 0xffff;
			put16(o + v->csum_off, c);
		}
	}
	ip_fix(o, in, v, &ipa);
}

static void drop(struct model *m, enum prog p, int reason)
{
	m->verdict = p == WAN_OUT ? TC_ACT_SHOT : XDP_DROP;
	m->cnt[reason]++;
}

static void pass(struct model *m, enum prog p)
{
	m->verdict = p == WAN_OUT ? TC_ACT_OK : XDP_PASS;
}

/* A new binding of an inside endpoint: its port is the program's random
 * choice, read back from the map and judged. */
static bool new_port(struct model *m, __u32 in, unsigned int in_port,
		     __u8 proto, unsigned int *port)
{
	struct bind_key k = bkey(proto, DIR_OUT, in, in_port);
	const struct bent *b = NULL;
	int same_proto = 0;

	for (int i = 0; i < m->post->nb; i++) {
		if (!memcmp(&m->post->b[i].k, &k, sizeof(k)))
			b = &m->post->b[i];
	}
	if (!b) {
		model_note(m, "no binding was made for the new flow");
		return false;
	}
	*port = b->port;
	if (b->addr != htonl(EXT))
		model_note(m, "binding to address %08x, not the external one",
			   ntohl(b->addr));
	if (!in_range(*port))
		model_note(m, "port %u outside %u-%u", *port, PORT_LO, PORT_HI);
	k = bkey(proto, DIR_IN, EXT, *port);
	if (st_bind(m->st, &k))
		model_note(m, "port %u was already bound", *port);
	k = bkey(proto, DIR_IN, EXT, in_port);
	if (in_range(in_port) && !st_bind(m->st, &k) && *port != in_port)
		model_note(m, "inside port %u is in range and free but %u was chosen",
			   in_port, *port);
	for (int i = 0; i < m->st->nb; i++)
		same_proto += m->st->b[i].k.proto == proto;
	/* Parity can only be missed when half the range is taken. */
	if (same_proto < (PORT_HI - PORT_LO) / 2 && (*port ^ in_port) & 1)
		model_note(m, "port %u does not keep the parity of %u", *port,
			   in_port);
	return true;
}

static void add_flow(struct state *st, struct flow_key k, __u32 nat_addr,
		     unsigned int nat_port, __u8 seen, bool touched)
{
	if (st->nf < MAX_ENT)
		st->f[st->nf++] = (struct fent){ .k = k,
			.nat_addr = htonl(nat_addr), .nat_port = nat_port,
			.seen = seen, .touched = touched };
}

static void add_bind(struct state *st, struct bind_key k, __u32 addr,
		     unsigned int port)
{
	if (st->nb < MAX_ENT)
		st->b[st->nb++] = (struct bent){ .k = k, .addr = htonl(addr),
						 .port = port };
}

/*
 * Outbound through an inside endpoint's flow: the flow toward this remote
 * or a new one.  A new one keeps the endpoint's external port toward every
 * remote (RFC 4787 REQ-1) and only a SYN opens a TCP mapping (RFC 5382).
 * Returns the flow, or NULL when dropped or (create false) not there.
 */
static struct fent *out_flow(struct model *m, enum prog p,
			     const struct view *v, bool create)
{
	struct flow_key k = fkey(v->proto, DIR_OUT, v->saddr, v->sport,
				 v->daddr, v->dport);
	struct fent *f = st_flow(m->st, &k);
	struct bind_key bk = bkey(v->proto, DIR_OUT, v->saddr, v->sport);
	struct bent *b;
	unsigned int port;

	if (f || !create)
		return f;
	if (v->proto == P_TCP && (v->seen & (SEEN_SYN | SEEN_RST)) != SEEN_SYN) {
		drop(m, p, DROP_TCP_NOT_SYN);
		set_cls(m, p, "tcp-new-without-syn");
		return NULL;
	}
	b = st_bind(m->st, &bk);
	if (b) {
		port = b->port;
	} else {
		if (!new_port(m, v->saddr, v->sport, v->proto, &port)) {
			m->covered = false;
			return NULL;
		}
		add_bind(m->st, bk, EXT, port);
		add_bind(m->st, bkey(v->proto, DIR_IN, EXT, port), v->saddr,
			 v->sport);
		m->cnt[CNT_NEW_BINDINGS]++;
	}
	add_flow(m->st, k, EXT, port, 0, false);
	add_flow(m->st, fkey(v->proto, DIR_IN, v->daddr, v->dport, EXT, port),
		 v->saddr, v->sport, 0, false);
	m->cnt[CNT_NEW_FLOWS]++;
	return st_flow(m->st, &k);
}

static bool alg_port(const struct view *v)
{
	return v->proto == P_TCP && (v->dport == 21 || v->dport == 6667 ||
				     v->sport == 21);
}

/*
 * An ICMP error (RFC 5508).  Outbound, an inside host reports a packet that
 * came from outside (remote -> inside): its flow is the inside -> remote
 * one, and the quoted destination becomes the external endpoint.  Inbound,
 * a router reports a packet we sent (external -> remote): the quoted source
 * becomes the inside endpoint again.  The quote needs the IP header and 8
 * bytes of L4 (RFC 792); its options are skipped; its L4 checksum is
 * updated when the quote holds it; errors with no flow or a bad checksum
 * are dropped; errors never touch a flow.
 */
static void model_icmp_err(struct model *m, enum prog p, const struct view *v,
			   bool outbound)
{
	size_t q = v->l4 + ICMP_LEN, end = ETH_LEN + v->tot_len, il4;
	const __u8 *in = v->b;
	__u8 *o = m->out;
	unsigned int iproto, iihl, isport, idport;
	__u32 isaddr, idaddr;
	bool echo = false;
	struct flow_key k;
	struct fent *f;
	size_t port_off, csum_off = 0;

	set_cls(m, p, outbound ? "icmp-error-out" : "icmp-error-in");
	if (q + IP_LEN > end || (in[q] & 15) < 5 ||
	    q + (in[q] & 15) * 4 + 8 > end) {
		drop(m, p, DROP_MALFORMED_L4);
		set_cls(m, p, "icmp-error-malformed");
		return;
	}
	iihl = (in[q] & 15) * 4;
	il4 = q + iihl;
	iproto = in[q + 9];
	isaddr = rd32(in + q + 12);
	idaddr = rd32(in + q + 16);
	isport = rd16(in + il4);
	idport = rd16(in + il4 + 2);
	/* The gateway's own error leaves as it is unless it quotes a packet
	 * it was forwarding inside: that one would leak the inside host. */
	if (outbound && v->saddr == EXT && (idaddr == EXT || !idaddr)) {
		pass(m, p);
		set_cls(m, p, "gateway-own");
		return;
	}
	if (iproto == P_TCP || iproto == P_UDP) {
		port_off = il4 + (outbound ? 2 : 0);
		if (iproto == P_UDP && rd16(in + il4 + 6))
			csum_off = il4 + 6;
		if (iproto == P_TCP && il4 + 18 <= end)
			csum_off = il4 + 16;
	} else if (iproto == P_ICMP && !outbound && in[il4] == ICMP_T_ECHO) {
		echo = true;
		isport = rd16(in + il4 + 4);	/* our echo id: the port */
		idport = 0;
		port_off = il4 + 4;
		csum_off = il4 + 2;
	} else if (outbound) {
		drop(m, p, DROP_UNSUPPORTED_PROTO);
		set_cls(m, p, "icmp-error-unsupported");
		return;
	} else {
		/* Not about a flow of ours: the gateway's own business. */
		pass(m, p);
		m->cnt[CNT_PASS_HOST]++;
		set_cls(m, p, "icmp-error-host");
		return;
	}
	if (outbound) {
		k = fkey(iproto, DIR_OUT, idaddr, idport, isaddr, isport);
	} else {
		if (isaddr != EXT || !in_range(isport)) {
			pass(m, p);
			m->cnt[CNT_PASS_HOST]++;
			set_cls(m, p, "icmp-error-host");
			return;
		}
		k = fkey(iproto, DIR_IN, idaddr, idport, EXT, isport);
	}
	f = st_flow(m->st, &k);
	if (!f) {
		struct bind_key bk = bkey(P_ICMP, DIR_IN, EXT, isport);

		/* About a ping id no inside host holds: the gateway's own
		 * ping (ids are no sockets to look up), the stack's. */
		if (echo && !st_bind(m->st, &bk)) {
			pass(m, p);
			m->cnt[CNT_PASS_HOST]++;
			set_cls(m, p, "icmp-error-host");
			return;
		}
		drop(m, p, DROP_ICMP_NO_FLOW);
		set_cls(m, p, "icmp-error-no-flow");
		return;
	}
	if (v->l4len > ICMP_ERR_MAX ||
	    csum_fold(csum_add(0, in + v->l4, v->l4len)) != 0xffff) {
		drop(m, p, DROP_ICMP_BAD_CSUM);
		set_cls(m, p, "icmp-error-bad-checksum");
		return;
	}

	/* The quoted packet, then the checksums that cover what changed. */
	size_t a_off = q + (outbound ? 16 : 12);
	struct acc ia = {}, la = {}, ca = {}, oa = {};

	put32(o + a_off, ntohl(f->nat_addr));
	put16(o + port_off, f->nat_port);
	if (csum_off) {
		__u16 c;

		if (!echo)
			acc_field(&la, in + a_off, o + a_off, 4);
		acc_field(&la, in + port_off, o + port_off, 2);
		c = acc_apply(rd16(in + csum_off), &la);
		if (iproto == P_UDP && !c)
			c = 0xffff;
		put16(o + csum_off, c);
	}
	acc_field(&ia, in + a_off, o + a_off, 4);
	put16(o + q + 10, acc_apply(rd16(in + q + 10), &ia));
	acc_field(&ca, in + a_off, o + a_off, 4);
	acc_field(&ca, in + q + 10, o + q + 10, 2);
	acc_field(&ca, in + port_off, o + port_off, 2);
	if (csum_off)
		acc_field(&ca, in + csum_off, o + csum_off, 2);
	put16(o + v->l4 + 2, acc_apply(rd16(in + v->l4 + 2), &ca));

	a_off = ETH_LEN + (outbound ? 12 : 16);
	put32(o + a_off, outbound ? EXT : ntohl(f->nat_addr));
	acc_field(&oa, in + a_off, o + a_off, 4);
	ip_fix(o, in, v, &oa);
	pass(m, p);
	m->cnt[CNT_ICMP_ERR_TRANSLATED]++;
}

/* What both WAN programs do with a frame that is not IPv4, or that is
 * broken: true when that settled it. */
static bool model_unparsed(struct model *m, enum prog p, const struct view *v)
{
	if (!v->ip) {
		pass(m, p);
		set_cls(m, p, "non-ip");
		return true;
	}
	if (v->err) {
		drop(m, p, v->err);
		set_cls(m, p, v->err == DROP_MALFORMED_IP ?
			"malformed-ip" : "malformed-l4");
		return true;
	}
	return false;
}

static void model_wan_out(struct model *m, const struct view *v)
{
	struct fent *f;

	if (model_unparsed(m, WAN_OUT, v))
		return;
	if (v->icmp_err && v->saddr == EXT) {
		model_icmp_err(m, WAN_OUT, v, true);
		return;
	}
	/* Inside: every source but the external address (and 0.0.0.0). */
	if (v->saddr == EXT || !v->saddr) {
		pass(m, WAN_OUT);
		set_cls(m, WAN_OUT, "gateway-own");
		return;
	}
	if (v->later) {
		/* One external address: a later fragment needs no state. */
		xlate(m, v, true, EXT, -1);
		pass(m, WAN_OUT);
		m->cnt[CNT_FRAG_TRANSLATED]++;
		set_cls(m, WAN_OUT, "later-fragment");
		return;
	}
	if (v->icmp_err) {
		model_icmp_err(m, WAN_OUT, v, true);
		return;
	}
	if (!v->ports || (v->proto == P_ICMP && v->icmp_type != ICMP_T_ECHO)) {
		drop(m, WAN_OUT, DROP_UNSUPPORTED_PROTO);
		set_cls(m, WAN_OUT, "unsupported");
		return;
	}
	if (alg_port(v)) {
		m->covered = false;	/* the ALGs are test_nat's and the lab's */
		return;
	}
	set_cls(m, WAN_OUT, l4_name(v->proto));
	f = out_flow(m, WAN_OUT, v, true);
	if (!f)
		return;
	f->seen |= v->seen;
	f->touched = true;
	xlate(m, v, true, EXT, f->nat_port);
	pass(m, WAN_OUT);
	m->cnt[CNT_OUT_TRANSLATED]++;
}

/* The first fragment's fate, for the fragments that follow (REQ-14). */
static void frag_remember(struct model *m, const struct view *v, __u32 nat,
			  __u32 flags)
{
	struct frag_key k = rkey(v->saddr, v->daddr, v->id, v->proto);
	struct rent *r = st_frag(m->st, &k);

	if (r && (r->flags & FRAG_PENDING) && m->nev < MAX_EV) {
		struct evrec *e = &m->ev[m->nev++];

		memset(e, 0, sizeof(*e));
		e->type = EV_FRAG_RESOLVED;
		e->key = k;
		e->nat_addr = htonl(nat);
		e->flags = flags;
	}
	if (!r) {
		if (m->st->nr >= MAX_ENT)
			return;
		r = &m->st->r[m->st->nr++];
		r->k = k;
	}
	r->nat_addr = htonl(nat);
	r->flags = flags;
}

static void model_later_in(struct model *m, const struct view *v)
{
	struct frag_key k = rkey(v->saddr, v->daddr, v->id, v->proto);
	struct rent *r = st_frag(m->st, &k);

	if (r && !(r->flags & FRAG_PENDING)) {
		if (r->flags & FRAG_TO_HOST) {
			pass(m, WAN_IN);
			m->cnt[CNT_PASS_HOST]++;
			set_cls(m, WAN_IN, "later-fragment-host");
			return;
		}
		xlate(m, v, false, ntohl(r->nat_addr), -1);
		pass(m, WAN_IN);
		m->cnt[CNT_FRAG_TRANSLATED]++;
		set_cls(m, WAN_IN, "later-fragment");
		return;
	}
	/* Before its first fragment: held by the controller, never leaked
	 * nor lost; what cannot be held is dropped and counted. */
	set_cls(m, WAN_IN, "later-fragment-held");
	if (v->tot_len > EV_PKT_MAX) {
		drop(m, WAN_IN, DROP_FRAGMENT);
		return;
	}
	m->verdict = XDP_DROP;
	m->cnt[CNT_FRAG_HELD]++;
	if (m->nev < MAX_EV) {
		struct evrec *e = &m->ev[m->nev++];

		memset(e, 0, sizeof(*e));
		e->type = EV_FRAG_HOLD;
		e->key = k;
		e->flags = FRAG_PENDING;
		e->len = v->tot_len;
		memcpy(e->pkt, v->b + ETH_LEN, v->tot_len);
	}
	if (!r && m->st->nr < MAX_ENT)
		m->st->r[m->st->nr++] = (struct rent){ .k = k,
						       .flags = FRAG_PENDING };
}

/* An inbound packet for the gateway itself: passed to its stack (a
 * first fragment's later ones follow it there). */
static void gateway_own(struct model *m, const struct view *v)
{
	pass(m, WAN_IN);
	m->cnt[CNT_PASS_HOST]++;
	set_cls(m, WAN_IN, "gateway-own");
	if (v->mf)
		frag_remember(m, v, 0, FRAG_TO_HOST);
}

static void model_wan_in(struct model *m, const struct view *v)
{
	struct flow_key k;
	struct fent *f;
	int fwd;

	if (model_unparsed(m, WAN_IN, v))
		return;
	if (v->daddr != EXT) {
		/* The guard: nothing is routed into the inside from the WAN. */
		fwd = routes_forward(v->daddr);
		if (fwd < 0) {
			m->covered = false;
			return;
		}
		set_cls(m, WAN_IN, "not-to-external");
		if (fwd) {
			drop(m, WAN_IN, DROP_UNSOLICITED);
		} else {
			pass(m, WAN_IN);
			m->cnt[CNT_PASS_HOST]++;
		}
		return;
	}
	if (v->later) {
		model_later_in(m, v);
		return;
	}
	if (v->icmp_err) {
		model_icmp_err(m, WAN_IN, v, false);
		return;
	}
	if (looks_partial(v)) {
		pass(m, WAN_IN);	/* for masq_wan_in_tc, uncounted */
		set_cls(m, WAN_IN, "partial-checksum");
		return;
	}
	/* The gateway's own: no ports, echo requests, ports outside the
	 * range (no forwards here). */
	if (!v->ports || (v->proto == P_ICMP && v->icmp_type != ICMP_T_ECHOREPLY) ||
	    !in_range(v->dport)) {
		gateway_own(m, v);
		return;
	}
	set_cls(m, WAN_IN, l4_name(v->proto));
	k = fkey(v->proto, DIR_IN, v->saddr, v->sport, EXT, v->dport);
	f = st_flow(m->st, &k);
	if (!f) {
		struct bind_key bk = bkey(v->proto, DIR_IN, EXT, v->dport);

		/* Strict filtering (RFC 4787 REQ-8): only the remote a
		 * mapping was opened to may answer; silence otherwise.  An
		 * echo reply to an id nobody inside holds answers the
		 * gateway's own ping. */
		if (v->proto == P_ICMP && !st_bind(m->st, &bk)) {
			gateway_own(m, v);
			return;
		}
		drop(m, WAN_IN, st_bind(m->st, &bk) ? DROP_FILTERED :
			     DROP_NO_MAPPING);
		set_cls(m, WAN_IN, "unsolicited");
		return;
	}
	f->seen |= v->seen;
	f->touched = true;
	xlate(m, v, false, ntohl(f->nat_addr), f->nat_port);
	pass(m, WAN_IN);
	m->cnt[CNT_IN_TRANSLATED]++;
	if (v->mf)
		frag_remember(m, v, ntohl(f->nat_addr), 0);
}

/* Established flows routed out of the WAN are translated, aged (TTL - 1)
 * and redirected when they have the fast path's shape (no IP options, no
 * fragment); everything else is the slow path's, untouched. */
static void model_lan_fast(struct model *m, const struct view *v)
{
	static const __u8 wan_self[6] = { 2, 0, 0, 0, 0, 1 };
	static const __u8 nexthop[6] = { 2, 0, 0, 0, 0, 2 };
	struct acc a = {};
	struct fent *f;
	int wan;

	pass(m, LAN_FAST);
	set_cls(m, LAN_FAST, "slow-path");
	if (!v->ip || v->err || v->ttl <= 1 || looks_partial(v) ||
	    v->saddr == EXT || !v->saddr || v->later || !v->ports ||
	    v->ihl != IP_LEN || v->mf ||
	    (v->proto == P_ICMP && v->icmp_type != ICMP_T_ECHO))
		return;
	f = out_flow(m, LAN_FAST, v, false);
	if (!f || alg_port(v))
		return;
	wan = routes_to_wan(v->daddr, v->tot_len);
	if (wan < 0)
		m->covered = false;
	if (wan <= 0)
		return;
	set_cls(m, LAN_FAST, l4_name(v->proto));
	f->seen |= v->seen;
	f->touched = true;
	xlate(m, v, true, EXT, f->nat_port);
	/* TTL and protocol share a header word. */
	m->out[ETH_LEN + 8]--;
	acc_field(&a, v->b + ETH_LEN + 8, m->out + ETH_LEN + 8, 2);
	put16(m->out + ETH_LEN + 10, acc_apply(rd16(m->out + ETH_LEN + 10), &a));
	memcpy(m->out, nexthop, 6);
	memcpy(m->out + 6, wan_self, 6);
	m->verdict = XDP_REDIRECT;
	m->cnt[CNT_OUT_TRANSLATED]++;
	m->cnt[CNT_LAN_FASTPATH]++;
}

static void model_run(struct model *m, enum prog p, const __u8 *in, size_t len,
		      const struct state *pre, const struct state *post)
{
	struct view v;

	memset(m->cnt, 0, sizeof(m->cnt));
	m->covered = true;
	m->nev = 0;
	m->note[0] = 0;
	m->cls[0] = 0;
	memcpy(m->out, in, len);
	m->out_len = len;
	memcpy(m->st, pre, sizeof(*pre));
	m->post = post;
	view_parse(in, len, &v);
	if (p == WAN_OUT)
		model_wan_out(m, &v);
	else if (p == WAN_IN)
		model_wan_in(m, &v);
	else
		model_lan_fast(m, &v);
	state_sort(m->st);
}

/* ---- classes, failures, the report ---- */

struct cls {
	char name[48];
	long n, failed, printed;
};

static struct cls classes[256];
static int nclasses;
static __u64 seed;
static long case_no;
/* Cases shown in full per class (TEST_DIFF_DETAILS). */
static long details = 3;

static struct cls *cls_get(const char *name)
{
	for (int i = 0; i < nclasses; i++)
		if (!strcmp(classes[i].name, name))
			return &classes[i];
	if (nclasses == 256)
		return &classes[255];
	snprintf(classes[nclasses].name, sizeof(classes[0].name), "%s", name);
	return &classes[nclasses++];
}

struct tcase {
	enum prog prog;
	__u8 in[PKT_MAX];
	size_t len;
	char desc[96];
};

/* The problems of the case being judged, by class. */
#define MAX_MSGS	32
static struct {
	struct cls *c;
	char text[1200];
} msgs[MAX_MSGS];
static int nmsgs;

static void note(const char *cls, const char *fmt, ...)
{
	va_list ap;

	if (nmsgs == MAX_MSGS)
		return;
	msgs[nmsgs].c = cls_get(cls);
	va_start(ap, fmt);
	vsnprintf(msgs[nmsgs].text, sizeof(msgs[0].text), fmt, ap);
	va_end(ap);
	nmsgs++;
}

static void hexdump(FILE *f, const char *label, const __u8 *b, size_t len,
		    size_t from, size_t max)
{
	size_t end = from + max < len ? from + max : len;

	for (size_t i = from; i < end; i += 16) {
		fprintf(f, "    %-8s @%-4zu", i == from ? label : "", i);
		for (size_t j = i; j < i + 16 && j < end; j++)
			fprintf(f, " %02x", b[j]);
		fprintf(f, "\n");
	}
	if (end < len)
		fprintf(f, "    %-8s ... %zu bytes in all\n", "", len);
}

/* One FAIL line per class and case (tests/run.sh counts names); details
 * for the first few cases of each class. */
static void flush_msgs(const struct tcase *c)
{
	for (int i = 0; i < nmsgs; i++) {
		struct cls *k = msgs[i].c;
		bool first = true;

		if (!k)
			continue;
		k->failed++;
		for (int j = i; j < nmsgs; j++) {
			if (msgs[j].c != k)
				continue;
			msgs[j].c = NULL;
			if (k->printed >= details)
				continue;
			if (first)
				printf("FAIL %s: seed %llu case %ld (%s %s): %s\n",
				       k->name, (unsigned long long)seed,
				       case_no, prog_name[c->prog], c->desc,
				       msgs[j].text);
			else
				printf("    also: %s\n", msgs[j].text);
			first = false;
		}
		if (!first) {
			hexdump(stdout, "input", c->in, c->len, 0, 160);
			k->printed++;
		}
	}
	nmsgs = 0;
}

/* ---- invariants, whatever the model says ---- */

static bool ip_sum_ok(const __u8 *b, size_t len)
{
	unsigned int ihl;

	if (len < ETH_LEN + IP_LEN || rd16(b + 12) != ETHERTYPE_IP)
		return false;
	ihl = (b[ETH_LEN] & 15) * 4;
	if (ihl < IP_LEN || ETH_LEN + ihl > len)
		return false;
	return csum_fold(csum_add(0, b + ETH_LEN, ihl)) == 0xffff;
}

/* TCP/UDP over its pseudo-header, ICMP over itself: v is parsed. */
static bool l4_sum_ok(const struct view *v)
{
	__u32 s = 0;

	if (v->proto != P_ICMP)
		s = csum_add(0, v->b + ETH_LEN + 12, 8) + v->proto + v->l4len;
	return csum_fold(csum_add(s, v->b + v->l4, v->l4len)) == 0xffff;
}

/* The quoted packet of an ICMP error, when its header is all there. */
static bool quote_of(const struct view *v, size_t *q, unsigned int *ihl)
{
	size_t end = ETH_LEN + v->tot_len;

	if (!v->ip || v->err || v->later || !v->icmp_err)
		return false;
	*q = v->l4 + ICMP_LEN;
	if (*q + IP_LEN > end)
		return false;
	*ihl = (v->b[*q] & 15) * 4;
	return *ihl >= IP_LEN && *q + *ihl <= end;
}

/* A quoted packet quoted whole: its L4 checksum can be verified. */
static bool quote_l4_sum(const struct view *v, bool *ok)
{
	size_t q, end = ETH_LEN + v->tot_len;
	unsigned int ihl, itot, proto;
	const __u8 *b = v->b;
	__u32 s;

	if (!quote_of(v, &q, &ihl))
		return false;
	itot = rd16(b + q + 2);
	proto = b[q + 9];
	if (q + itot != end || itot < ihl + 8 || (rd16(b + q + 6) & 0x3fff) ||
	    (proto != P_TCP && proto != P_UDP))
		return false;
	if (proto == P_UDP && !rd16(b + q + ihl + 6))
		return false;
	s = csum_add(0, b + q + 12, 8) + proto + (itot - ihl);
	*ok = csum_fold(csum_add(s, b + q + ihl, itot - ihl)) == 0xffff;
	return true;
}

static void check_checksums(const struct tcase *c, const __u8 *out,
			    size_t out_len)
{
	const char *k = "invariant/checksums";
	struct view vi, vo;
	size_t qi, qo;
	unsigned int ihi, iho;
	bool a, b;

	if (out_len != c->len || !memcmp(out, c->in, c->len))
		return;
	view_parse(c->in, c->len, &vi);
	view_parse(out, out_len, &vo);
	if (!vi.ip)
		return;
	if (ip_sum_ok(c->in, c->len) && !ip_sum_ok(out, out_len))
		note(k, "IP header checksum no longer verifies");
	if (vi.err || vo.err || vi.later || vo.later || vi.tot_len != vo.tot_len)
		return;
	if ((vi.proto == P_TCP || vi.proto == P_UDP) && !vi.mf &&
	    !(vi.proto == P_UDP && (!rd16(c->in + vi.csum_off) ||
				    !rd16(out + vo.csum_off))) &&
	    l4_sum_ok(&vi) && !l4_sum_ok(&vo))
		note(k, "%s checksum no longer verifies", l4_name(vi.proto));
	if (vi.proto == P_ICMP && !vi.mf && l4_sum_ok(&vi) && !l4_sum_ok(&vo))
		note(k, "ICMP checksum no longer verifies");
	if (quote_of(&vi, &qi, &ihi) && quote_of(&vo, &qo, &iho) &&
	    csum_fold(csum_add(0, c->in + qi, ihi)) == 0xffff &&
	    csum_fold(csum_add(0, out + qo, iho)) != 0xffff)
		note(k, "quoted IP header checksum no longer verifies");
	if (quote_l4_sum(&vi, &a) && quote_l4_sum(&vo, &b) && a && !b)
		note(k, "quoted L4 checksum no longer verifies");
}

/*
 * No inside address leaves on the WAN: not as the source, and not inside
 * the packet an ICMP error quotes (a remote matches an error to its socket
 * by the quote, and the inside addresses are nobody's business).
 */
static void check_leaks(const struct tcase *c, int verdict, const __u8 *out,
			size_t out_len)
{
	struct view vi, vo;
	size_t q;
	unsigned int ihl;

	if (c->prog == LAN_FAST ? verdict != XDP_REDIRECT :
	    c->prog != WAN_OUT || verdict != TC_ACT_OK)
		return;
	view_parse(c->in, c->len, &vi);
	if (!vi.ip || c->len < ETH_LEN + IP_LEN)
		return;
	if (IS_INSIDE(rd32(c->in + ETH_LEN + 12)) &&
	    (out_len < ETH_LEN + IP_LEN || rd32(out + ETH_LEN + 12) != EXT))
		note("invariant/no-leak", "inside source left the WAN as %08x",
		     out_len >= ETH_LEN + IP_LEN ? rd32(out + ETH_LEN + 12) : 0);
	view_parse(out, out_len, &vo);
	if (quote_of(&vo, &q, &ihl) &&
	    (IS_INSIDE(rd32(out + q + 12)) || IS_INSIDE(rd32(out + q + 16))))
		note("invariant/no-leak-quoted",
		     "ICMP error from %08x left the WAN quoting %08x -> %08x",
		     rd32(out + ETH_LEN + 12), rd32(out + q + 12),
		     rd32(out + q + 16));
}

static void check_verdict(const struct tcase *c, int verdict)
{
	bool ok = c->prog == WAN_OUT ?
		  verdict == TC_ACT_OK || verdict == TC_ACT_SHOT :
		  verdict == XDP_PASS || verdict == XDP_DROP ||
		  verdict == XDP_REDIRECT;

	if (!ok)
		note("invariant/verdict", "unexpected verdict %d", verdict);
}

static void check_counters(const struct tcase *c, int verdict,
			   const long *d, bool modified)
{
	const char *k = "invariant/counters";
	bool dropped = c->prog == WAN_OUT ? verdict == TC_ACT_SHOT :
		       verdict == XDP_DROP;
	int drops = 0, which = -1, xl = 0, right;
	struct view v;

	for (int i = CNT_FIRST_DROP; i < CNT_END_DROP; i++) {
		if (d[i] < 0 || d[i] > 1)
			note(k, "%s changed by %ld", counter_names[i], d[i]);
		if (d[i]) {
			drops++;
			which = i;
		}
	}
	if (dropped) {
		bool held = c->prog == WAN_IN && d[CNT_FRAG_HELD] == 1;
		bool punted = c->prog == WAN_OUT && d[CNT_ALG_PUNTED] == 1;

		if (drops != 1 && !((held || punted) && !drops))
			note(k, "a dropped packet counted %d drop reasons", drops);
	} else if (drops) {
		note(k, "a packet that was not dropped counted %s",
		     counter_names[which]);
	}

	view_parse(c->in, c->len, &v);
	right = c->prog == WAN_IN ? CNT_IN_TRANSLATED : CNT_OUT_TRANSLATED;
	if (v.ip && !v.err && v.later)
		right = CNT_FRAG_TRANSLATED;
	else if (v.ip && !v.err && v.icmp_err && c->prog != LAN_FAST)
		right = CNT_ICMP_ERR_TRANSLATED;
	xl = d[CNT_OUT_TRANSLATED] + d[CNT_IN_TRANSLATED] +
	     d[CNT_FRAG_TRANSLATED] + d[CNT_ICMP_ERR_TRANSLATED];
	if (modified && !dropped && (xl != 1 || d[right] != 1))
		note(k, "a translated packet did not count %s once",
		     counter_names[right]);
	if (!modified && xl)
		note(k, "an untouched packet counted a translation");
	if (c->prog == LAN_FAST && d[CNT_LAN_FASTPATH] != (verdict == XDP_REDIRECT))
		note(k, "lan_fastpath changed by %ld with verdict %d",
		     d[CNT_LAN_FASTPATH], verdict);
}

/*
 * The maps: both halves of every flow point at each other; every flow's
 * external endpoint is its inside endpoint's binding, both ways; no
 * external port serves two inside endpoints; every port is in range.
 */
static void check_maps(const struct state *st)
{
	const char *k = "invariant/maps";
	char name[96];

	for (int i = 0; i < st->nf; i++) {
		const struct fent *f = &st->f[i];
		struct flow_key tk;
		const struct fent *t;
		__u32 in_addr;
		unsigned int in_port, ext_port;
		struct bind_key bk;
		const struct bent *b;

		fmt_flow_key(&f->k, name, sizeof(name));
		memset(&tk, 0, sizeof(tk));
		tk.proto = f->k.proto;
		tk.dir = !f->k.dir;
		if (f->k.dir == DIR_OUT) {
			tk.saddr = f->k.daddr;
			tk.sport = f->k.dport;
			tk.daddr = f->nat_addr;
			tk.dport = htons(f->nat_port);
			in_addr = ntohl(f->k.saddr);
			in_port = ntohs(f->k.sport);
			ext_port = f->nat_port;
		} else {
			tk.saddr = f->nat_addr;
			tk.sport = htons(f->nat_port);
			tk.daddr = f->k.saddr;
			tk.dport = f->k.sport;
			in_addr = ntohl(f->nat_addr);
			in_port = f->nat_port;
			ext_port = ntohs(f->k.dport);
		}
		t = st_flow((struct state *)st, &tk);
		if (!t) {
			note(k, "flow %s has no twin", name);
			continue;
		}
		if (f->k.dir == DIR_OUT ?
		    t->nat_addr != f->k.saddr || t->nat_port != ntohs(f->k.sport) :
		    t->nat_addr != f->k.daddr || t->nat_port != ntohs(f->k.dport))
			note(k, "flow %s: its twin points elsewhere", name);
		if (!in_range(ext_port))
			note("invariant/ports", "flow %s: external port %u out of range",
			     name, ext_port);
		bk = bkey(f->k.proto, DIR_OUT, in_addr, in_port);
		b = st_bind((struct state *)st, &bk);
		if (!b || b->addr != htonl(EXT) || b->port != ext_port)
			note(k, "flow %s: inside endpoint not bound to ext:%u",
			     name, ext_port);
		bk = bkey(f->k.proto, DIR_IN, EXT, ext_port);
		b = st_bind((struct state *)st, &bk);
		if (!b || b->addr != htonl(in_addr) || b->port != in_port)
			note(k, "flow %s: ext:%u not bound to the inside endpoint",
			     name, ext_port);
	}
	for (int i = 0; i < st->nb; i++) {
		const struct bent *b = &st->b[i];
		struct bind_key tk = { .addr = b->addr, .port = htons(b->port),
				       .proto = b->k.proto, .dir = !b->k.dir };
		const struct bent *t = st_bind((struct state *)st, &tk);

		fmt_bkey(&b->k, name, sizeof(name));
		if (!t || t->addr != b->k.addr || htons(t->port) != b->k.port)
			note(k, "%s has no matching twin", name);
		if (b->k.dir == DIR_OUT && !in_range(b->port))
			note("invariant/ports", "%s: external port %u out of range",
			     name, b->port);
		for (int j = i + 1; j < st->nb; j++)
			if (b->k.dir == DIR_OUT && st->b[j].k.dir == DIR_OUT &&
			    st->b[j].k.proto == b->k.proto &&
			    st->b[j].addr == b->addr && st->b[j].port == b->port)
				note("invariant/ports",
				     "two inside endpoints share external port %u",
				     b->port);
	}
}

/* ---- comparing with the model ---- */

/*
 * Walk one map of want and got in key order: a key one side lacks is
 * missing or unexpected; of a key both have, differs() writes what
 * differs after its name (returns false when nothing does).  At most
 * *shown notes in all.
 */
static void compare_entries(const char *k, const char *what,
			    struct entries want, struct entries got,
			    void (*fmt)(const void *key, char *buf, size_t len),
			    bool (*differs)(const void *w, const void *g,
					    char *buf, size_t len),
			    int *shown)
{
	char name[96], why[160];

	for (int i = 0, j = 0; i < want.n || j < got.n;) {
		const char *w = (const char *)want.e + i * want.size;
		const char *g = (const char *)got.e + j * got.size;
		int c = i == want.n ? 1 : j == got.n ? -1 :
			memcmp(w, g, want.key_size);

		fmt(c > 0 ? g : w, name, sizeof(name));
		if (c < 0) {
			if ((*shown)++ < 4)
				note(k, "%s%s missing", what, name);
			i++;
		} else if (c > 0) {
			if ((*shown)++ < 4)
				note(k, "%s%s unexpected", what, name);
			j++;
		} else {
			if (differs(w, g, why, sizeof(why)) && (*shown)++ < 4)
				note(k, "%s%s%s", what, name, why);
			i++;
			j++;
		}
	}
}

static bool flow_differs(const void *want, const void *got, char *buf,
			 size_t len)
{
	const struct fent *w = want, *g = got;

	snprintf(buf, len, ": nat %08x:%u seen 0x%x %s, expected %08x:%u seen 0x%x %s",
		 ntohl(g->nat_addr), g->nat_port, g->seen,
		 g->touched ? "touched" : "untouched",
		 ntohl(w->nat_addr), w->nat_port, w->seen,
		 w->touched ? "touched" : "untouched");
	return w->nat_addr != g->nat_addr || w->nat_port != g->nat_port ||
	       w->seen != g->seen || w->touched != g->touched;
}

static bool bind_differs(const void *want, const void *got, char *buf,
			 size_t len)
{
	const struct bent *w = want, *g = got;

	snprintf(buf, len, " -> %08x:%u, expected %08x:%u",
		 ntohl(g->addr), g->port, ntohl(w->addr), w->port);
	return w->addr != g->addr || w->port != g->port || w->flags != g->flags;
}

static bool frag_differs(const void *want, const void *got, char *buf,
			 size_t len)
{
	const struct rent *w = want, *g = got;

	snprintf(buf, len, " -> %08x flags 0x%x, expected %08x flags 0x%x",
		 ntohl(g->nat_addr), g->flags, ntohl(w->nat_addr), w->flags);
	return w->nat_addr != g->nat_addr || w->flags != g->flags;
}

static void compare_state(const char *k, const struct state *want,
			  const struct state *got)
{
	int shown = 0;

	compare_entries(k, "flow ", ENTRIES(want->f, want->nf),
			ENTRIES(got->f, got->nf), fmt_flow_key, flow_differs,
			&shown);
	compare_entries(k, "", ENTRIES(want->b, want->nb),
			ENTRIES(got->b, got->nb), fmt_bkey, bind_differs,
			&shown);
	compare_entries(k, "", ENTRIES(want->r, want->nr),
			ENTRIES(got->r, got->nr), fmt_rkey, frag_differs,
			&shown);
}

static void compare_events(const char *k, const struct model *m)
{
	if (n_got_ev != m->nev) {
		note(k, "%d events on the ring, expected %d (first type %u)",
		     n_got_ev, m->nev, n_got_ev ? got_ev[0].type : 0);
		return;
	}
	for (int i = 0; i < m->nev && i < MAX_EV; i++) {
		const struct evrec *w = &m->ev[i], *g = &got_ev[i];

		if (w->type != g->type || memcmp(&w->key, &g->key, sizeof(w->key)) ||
		    w->nat_addr != g->nat_addr || w->flags != g->flags ||
		    w->len != g->len ||
		    (w->type == EV_FRAG_HOLD && memcmp(w->pkt, g->pkt, w->len)))
			note(k, "event %d: type %u len %u flags 0x%x to %08x, expected type %u len %u flags 0x%x to %08x",
			     i, g->type, g->len, g->flags, ntohl(g->nat_addr),
			     w->type, w->len, w->flags, ntohl(w->nat_addr));
	}
}

static void compare_bytes(const char *k, const struct model *m,
			  const __u8 *got, size_t got_len)
{
	size_t i, n = m->out_len < got_len ? m->out_len : got_len;

	for (i = 0; i < n && m->out[i] == got[i]; i++)
		;
	if (i == n && m->out_len == got_len)
		return;
	/* Both dumps from a little before the first difference. */
	char dump[800] = "";
	FILE *f = fmemopen(dump, sizeof(dump) - 1, "w");
	size_t from = (i & ~(size_t)15) >= 16 ? (i & ~(size_t)15) - 16 : 0;

	if (f) {
		fprintf(f, "\n");
		hexdump(f, "expected", m->out, m->out_len, from, 48);
		hexdump(f, "actual", got, got_len, from, 48);
		fclose(f);
		/* The last newline is flush_msgs()'s. */
		if (strlen(dump) && dump[strlen(dump) - 1] == '\n')
			dump[strlen(dump) - 1] = 0;
	}
	if (i == n)
		note(k, "output length %zu, expected %zu%s", got_len, m->out_len,
		     dump);
	else
		note(k, "output differs at byte %zu: 0x%02x, expected 0x%02x%s",
		     i, got[i], m->out[i], dump);
}

/* ---- running a case ---- */

static struct state st_pre, st_post, st_model;
static struct model mdl = { .st = &st_model };
static long n_cases, n_covered, n_refused, n_exhaustive;
/* Off while the truncations run: they need the flows of their bases. */
static bool resets;

static int prog_fd(enum prog p)
{
	return harness_prog_fd(skel, p);
}

static void reset_maps(void)
{
	map_clear(skel->maps.flows);
	map_clear(skel->maps.binds);
	map_clear(skel->maps.frags);
	ring_buffer__consume(ring);
	state_read(&st_pre);
}

static void run_case(struct tcase *c)
{
	static __u8 got[OUT_MAX];
	__u64 before[CNT_MAX], after[CNT_MAX];
	long delta[CNT_MAX];
	bool modified;
	int err;

	case_no++;
	n_cases++;
	ring_buffer__consume(cev_ring);
	counters_read(skel->maps.stats, before);
	n_got_ev = 0;
	memset(n_cev, 0, sizeof(n_cev));
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = c->in,
		.data_size_in = c->len,
		.data_out = got,
		.data_size_out = sizeof(got),
		.repeat = 1,
	);
	err = bpf_prog_test_run_opts(prog_fd(c->prog), &opts);
	if (err) {
		/* The kernel refuses frames shorter than an Ethernet header,
		 * and skbs whose IPv4 or IPv6 header is cut short. */
		if (err == -EINVAL && (c->len < ETH_LEN ||
		    (c->prog == WAN_OUT && c->len < ETH_LEN + IP_LEN &&
		     rd16(c->in + 12) == ETHERTYPE_IP) ||
		    (c->prog == WAN_OUT && c->len < ETH_LEN + 40 &&
		     rd16(c->in + 12) == ETHERTYPE_IPV6))) {
			n_refused++;
			return;
		}
		note("invariant/test-run", "BPF_PROG_TEST_RUN: %s", strerror(-err));
		flush_msgs(c);
		return;
	}
	ring_buffer__consume(ring);
	ring_buffer__consume(cev_ring);
	counters_read(skel->maps.stats, after);
	state_read(&st_post);
	for (int i = 0; i < CNT_MAX; i++)
		delta[i] = after[i] - before[i];
	check_conn_events(delta);
	modified = opts.data_size_out != c->len || memcmp(got, c->in, c->len);

	check_verdict(c, opts.retval);
	check_leaks(c, opts.retval, got, opts.data_size_out);
	check_checksums(c, got, opts.data_size_out);
	check_counters(c, opts.retval, delta, modified);
	check_maps(&st_post);
	if (n_got_ev > MAX_EV)
		note("invariant/events", "%d events for one packet", n_got_ev);

	model_run(&mdl, c->prog, c->in, c->len, &st_pre, &st_post);
	if (mdl.note[0])
		note("invariant/port-choice", "%s", mdl.note);
	if (mdl.covered) {
		const char *k = mdl.cls;

		n_covered++;
		cls_get(k)->n++;
		if ((int)opts.retval != mdl.verdict)
			note(k, "verdict %d, expected %d", opts.retval, mdl.verdict);
		compare_bytes(k, &mdl, got, opts.data_size_out);
		mdl.cnt[CNT_DROP_EVENTS_SUPPRESSED] =
			delta[CNT_DROP_EVENTS_SUPPRESSED];
		for (int i = 0; i < CNT_MAX; i++)
			if (delta[i] != mdl.cnt[i])
				note(k, "counter %s changed by %ld, expected %ld",
				     counter_names[i], delta[i], mdl.cnt[i]);
		compare_state(k, &mdl.st[0], &st_post);
		compare_events(k, &mdl);
	}
	flush_msgs(c);
	/* The next case starts from what the program left, so that one
	 * disagreement does not cascade. */
	memcpy(&st_pre, &st_post, sizeof(st_pre));
	if (resets && case_no % RESET_EVERY == 0)
		reset_maps();
}

/* ---- the generator ---- */

static const __u32 insides[] = { IN1, IN2, IN3 };
/* 61000 and 61001 are in the NAT range: kept when free (REQ-3). */
static const __u16 in_ports[] = { 40000, 40001, 61000, 61001, 1023, 33333 };
static const __u32 remotes[] = { REM, REM2, REM3 };
/* No FTP or IRC control port: the ALGs are left to test_nat and the lab. */
static const __u16 rem_ports[] = { 80, 53, 443, 5000 };
static const __u16 echo_ids[] = { 7, 0x1234, 61002 };
static const __u16 frag_ids[] = { 0x1111, 0x2222, 0x3333 };
static const __u8 tcp_flag_sets[] = {
	F_SYN, F_SYN, F_SYN, F_ACK, F_ACK | F_PSH, F_ACK | F_PSH, F_FIN | F_ACK,
	F_RST, F_RST | F_ACK, F_SYN | F_RST, F_SYN | F_ACK, 0, F_FIN,
};

static __u16 payload_len(void)
{
	if (chance(5))
		return 1200 + rn(1400);	/* beyond the WAN MTU, sometimes */
	if (chance(20))
		return 100 + rn(900);
	return rn(64);
}

static void fix_ip_sum(__u8 *b, size_t len)
{
	unsigned int ihl;

	if (len < ETH_LEN + IP_LEN || rd16(b + 12) != ETHERTYPE_IP)
		return;
	ihl = (b[ETH_LEN] & 15) * 4;
	if (ihl < IP_LEN)
		ihl = IP_LEN;
	if (ETH_LEN + ihl > len)
		return;
	put16(b + ETH_LEN + 10, 0);
	put16(b + ETH_LEN + 10, csum_host(csum_add(0, b + ETH_LEN, ihl)));
}

/* Recompute the L4 checksum of a (shortened) packet from scratch. */
static void fix_l4_sum(__u8 *b, size_t len)
{
	struct view v;
	__u32 s = 0;
	__u16 c;

	view_parse(b, len, &v);
	if (!v.ip || v.err || v.later || v.mf ||
	    (v.proto != P_TCP && v.proto != P_UDP && v.proto != P_ICMP))
		return;
	if (v.proto == P_UDP && !rd16(b + v.csum_off))
		return;
	put16(b + v.csum_off, 0);
	if (v.proto != P_ICMP)
		s = csum_add(0, b + ETH_LEN + 12, 8) + v.proto + v.l4len;
	c = csum_host(csum_add(s, b + v.l4, v.l4len));
	if (v.proto == P_UDP && !c)
		c = 0xffff;
	put16(b + v.csum_off, c);
}

static void set_ip_id(__u8 *b, size_t len, __u16 id)
{
	if (len >= ETH_LEN + IP_LEN) {
		put16(b + ETH_LEN + 4, id);
		fix_ip_sum(b, len);
	}
}

/* Ethernet pads short frames; the padding may hold anything. */
static void pad60(struct tcase *c)
{
	while (c->len < 60)
		c->in[c->len++] = rn(256);
}

static void build(struct tcase *c, struct pspec *s)
{
	c->len = pkt_build(s, c->in);
	if (c->len > FRAME_MAX)
		c->len = FRAME_MAX;
}

static const struct fent *pick_flow(int dir)
{
	int n = 0, i;

	for (i = 0; i < st_pre.nf; i++)
		n += st_pre.f[i].k.dir == dir;
	if (!n)
		return NULL;
	n = rn(n);
	for (i = 0; i < st_pre.nf; i++)
		if (st_pre.f[i].k.dir == dir && !n--)
			return &st_pre.f[i];
	return NULL;
}

static void spec_common(struct pspec *s)
{
	if (chance(15))
		s->ip_opts = 4 * rn(11);
	if (chance(10))
		s->ttl = 1 + rn(3);
	if (s->proto == P_UDP && chance(10))
		s->udp_nocsum = true;
	if ((s->proto == P_TCP || s->proto == P_UDP) && chance(3))
		s->l4_partial = true;
}

/* A valid packet from an inside endpoint, or one of a flow that exists. */
static void gen_out(struct tcase *c, bool existing)
{
	const struct fent *f = existing ? pick_flow(DIR_OUT) : NULL;
	struct pspec s = {};

	if (f) {
		s.proto = f->k.proto;
		s.saddr = ntohl(f->k.saddr);
		s.sport = ntohs(f->k.sport);
		s.daddr = ntohl(f->k.daddr);
		s.dport = ntohs(f->k.dport);
	} else {
		int r = rn(100);

		s.proto = r < 45 ? P_TCP : r < 80 ? P_UDP : P_ICMP;
		s.saddr = PICK(insides);
		s.sport = s.proto == P_ICMP ? PICK(echo_ids) : PICK(in_ports);
		s.daddr = chance(95) ? PICK(remotes) : UNROUTED;
		s.dport = PICK(rem_ports);
	}
	if (s.proto == P_ICMP) {
		s.icmp_type = chance(90) ? ICMP_T_ECHO :
			      chance(50) ? ICMP_T_ECHOREPLY : ICMP_T_TIMESTAMP;
		s.dport = 0;
	}
	s.tcp_flags = f && chance(70) ? F_ACK | F_PSH : PICK(tcp_flag_sets);
	s.payload = payload_len();
	spec_common(&s);
	build(c, &s);
	snprintf(c->desc, sizeof(c->desc), "%s out%s", l4_name(s.proto),
		 f ? " on a flow" : "");
}

/* Something for the external address: mostly replies to flows. */
static void gen_in(struct tcase *c)
{
	const struct fent *f = chance(75) ? pick_flow(DIR_IN) : NULL;
	struct pspec s = {};
	int r = rn(100);

	if (f) {
		s.proto = f->k.proto;
		s.saddr = ntohl(f->k.saddr);
		s.sport = ntohs(f->k.sport);
		s.dport = ntohs(f->k.dport);
		if (chance(10))		/* another remote: filtered */
			s.saddr = PICK(remotes);
		if (chance(5))
			s.sport = PICK(rem_ports);
	} else {
		s.proto = r < 40 ? P_TCP : r < 75 ? P_UDP : r < 95 ? P_ICMP : 47;
		s.saddr = PICK(remotes);
		s.sport = PICK(rem_ports);
		s.dport = chance(60) ? PORT_LO + rn(8) : chance(50) ?
			  PORT_LO + rn(PORT_HI - PORT_LO + 1) : PICK(in_ports);
	}
	s.daddr = EXT;
	if (s.proto == P_ICMP) {
		s.icmp_type = chance(85) ? ICMP_T_ECHOREPLY :
			      chance(50) ? ICMP_T_ECHO : ICMP_T_TIMESTAMP;
		s.sport = s.dport;	/* the identifier */
		s.dport = 0;
	}
	s.tcp_flags = chance(60) ? F_ACK | (chance(30) ? F_SYN : 0) :
		      PICK(tcp_flag_sets);
	s.payload = payload_len();
	spec_common(&s);
	if (f && s.proto == P_UDP && !s.udp_nocsum && !s.l4_partial &&
	    s.payload >= 2 && chance(25)) {
		/* Pick the payload word that makes the translated checksum
		 * compute to 0, which must go out as 0xffff (RFC 768). */
		struct pspec o = s;

		o.daddr = ntohl(f->nat_addr);
		o.dport = f->nat_port;
		o.set_word = true;
		o.word = 0;
		build(c, &o);
		s.set_word = true;
		s.word = rd16(c->in + pkt_l4_off(&o) + 6);
		if (s.word == 0xffff)
			s.word = 0;
	}
	build(c, &s);
	if (chance(30))
		pad60(c);
	snprintf(c->desc, sizeof(c->desc), "%s in%s%s", l4_name(s.proto),
		 f ? " to a flow" : "", s.set_word ? " (checksum folds to 0)" : "");
}

/* Toward an address that is not the external one: the guard. */
static void gen_guard(struct tcase *c)
{
	static const __u32 dsts[] = { IN1, IN2, LAN_GW, UNROUTED, REM2 };
	struct pspec s = {
		.proto = chance(50) ? P_TCP : P_UDP, .saddr = PICK(remotes),
		.sport = PICK(rem_ports), .daddr = PICK(dsts),
		.dport = PICK(in_ports), .tcp_flags = F_SYN,
		.payload = payload_len(),
	};

	build(c, &s);
	snprintf(c->desc, sizeof(c->desc), "routed past the external address");
}

static void inner_quote(struct inner_spec *q)
{
	if (chance(20))
		q->quote = QUOTE_ALL;
	else if (chance(10))
		q->quote = rn(12);
	if (chance(15))
		q->ip_opts = 4 * rn(11);
	if (chance(4))
		q->ihl = rn(5);
	if (chance(4))
		q->quote_ip = 1 + rn(IP_LEN + q->ip_opts);
	if (q->proto == P_UDP && chance(15))
		q->udp_nocsum = true;
	q->payload = chance(5) ? 1400 + rn(200) : rn(64);
}

static void err_type(struct pspec *s)
{
	int r = rn(100);

	s->proto = P_ICMP;
	s->err = true;
	if (r < 50) {
		s->icmp_type = ICMP_T_UNREACH;
		s->icmp_code = rn(16);
		if (s->icmp_code == ICMP_C_FRAG_NEEDED)
			s->icmp_rest = ICMP_MTU(1280);
	} else if (r < 85) {
		s->icmp_type = ICMP_T_TIME_EXCEEDED;
		s->icmp_code = rn(2);
	} else {
		s->icmp_type = ICMP_T_PARAMPROB;
		s->icmp_rest = ICMP_PTR(rn(40));
	}
	s->icmp_bad_csum = chance(10);
}

/* A router (or the remote) reports a packet we sent out. */
static void gen_err_in(struct tcase *c)
{
	const struct fent *f = chance(85) ? pick_flow(DIR_IN) : NULL;
	struct pspec s = {};
	struct inner_spec *q = &s.inner;

	err_type(&s);
	s.saddr = chance(50) ? ROUTER : PICK(remotes);
	s.daddr = EXT;
	q->saddr = EXT;
	if (f) {
		q->proto = f->k.proto;
		q->daddr = ntohl(f->k.saddr);
		q->sport = ntohs(f->k.dport);
		q->dport = ntohs(f->k.sport);
	} else {
		q->proto = chance(90) ? PICK(((const __u8[]){ P_TCP, P_UDP, P_ICMP })) : 47;
		q->daddr = PICK(remotes);
		q->sport = chance(70) ? PORT_LO + rn(8) : PICK(in_ports);
		q->dport = PICK(rem_ports);
	}
	if (q->proto == P_ICMP) {
		q->icmp_type = chance(90) ? ICMP_T_ECHO : ICMP_T_ECHOREPLY;
		q->dport = 0;
	}
	if (chance(5))
		q->saddr = PICK(insides);	/* not ours to fix */
	q->tcp_flags = F_ACK;
	inner_quote(q);
	build(c, &s);
	snprintf(c->desc, sizeof(c->desc), "icmp %u/%u in quoting %s%s",
		 s.icmp_type, s.icmp_code, q->proto == 47 ? "gre" :
		 l4_name(q->proto), f ? " of a flow" : "");
}

/* An inside host (or the gateway) reports a packet that came in. */
static void gen_err_out(struct tcase *c)
{
	const struct fent *f = chance(85) ? pick_flow(DIR_OUT) : NULL;
	struct pspec s = {};
	struct inner_spec *q = &s.inner;

	err_type(&s);
	if (f) {
		q->proto = f->k.proto;
		q->saddr = ntohl(f->k.daddr);
		q->sport = ntohs(f->k.dport);
		q->daddr = ntohl(f->k.saddr);
		q->dport = ntohs(f->k.sport);
	} else {
		q->proto = chance(90) ? PICK(((const __u8[]){ P_TCP, P_UDP, P_ICMP })) : 47;
		q->saddr = PICK(remotes);
		q->sport = PICK(rem_ports);
		q->daddr = PICK(insides);
		q->dport = PICK(in_ports);
	}
	if (q->proto == P_ICMP) {
		q->icmp_type = chance(70) ? ICMP_T_ECHOREPLY : ICMP_T_ECHO;
		q->dport = 0;
	}
	q->tcp_flags = F_ACK;
	s.saddr = q->daddr;
	s.daddr = q->saddr;
	/* The gateway's own error about a packet it failed to forward in
	 * (TTL, frag-needed on the LAN): it quotes the translated packet. */
	if (chance(5))
		s.saddr = EXT;
	inner_quote(q);
	build(c, &s);
	snprintf(c->desc, sizeof(c->desc), "icmp %u/%u out%s quoting %s%s",
		 s.icmp_type, s.icmp_code, s.saddr == EXT ? " from the gateway" : "",
		 q->proto == 47 ? "gre" : l4_name(q->proto), f ? " of a flow" : "");
}

static void gen_frag(struct tcase *c)
{
	const struct fent *f = pick_flow(DIR_IN);
	struct pspec s = {
		.proto = chance(80) ? P_UDP : PICK(((const __u8[]){ P_TCP, P_ICMP, 47 })),
		.saddr = PICK(remotes), .sport = PICK(rem_ports), .daddr = EXT,
		.dport = PORT_LO + rn(8), .tcp_flags = F_ACK,
		.payload = chance(5) ? 1600 + rn(400) : 8 + 8 * rn(100),
		/* udp_len below stays within pkt.h's PKT_MAX */
	};
	int r = rn(100);

	if (f && chance(80)) {
		s.proto = f->k.proto;
		s.saddr = ntohl(f->k.saddr);
		s.sport = ntohs(f->k.sport);
		s.dport = ntohs(f->k.dport);
	}
	if (s.proto == P_ICMP) {
		s.icmp_type = ICMP_T_ECHOREPLY;
		s.sport = s.dport;
		s.dport = 0;
	}
	if (r < 35) {
		/* A first fragment in: its length is the datagram's. */
		s.frag = 0x2000;
		s.udp_len = UDP_LEN + s.payload + 8 * (1 + rn(250));
		c->prog = WAN_IN;
	} else if (r < 80) {
		s.frag = (1 + rn(0x1fff)) | (chance(50) ? 0x2000 : 0);
		s.udp_nocsum = true;
		c->prog = WAN_IN;
	} else {
		/* Out: from inside, later or first. */
		s.saddr = PICK(insides);
		s.daddr = PICK(remotes);
		s.sport = PICK(in_ports);
		s.dport = PICK(rem_ports);
		if (s.proto == P_ICMP) {
			s.icmp_type = ICMP_T_ECHO;
			s.sport = PICK(echo_ids);
		}
		s.tcp_flags = F_SYN;
		s.frag = chance(70) ? (1 + rn(0x1fff)) | (chance(50) ? 0x2000 : 0) :
			 0x2000;
		if (s.frag == 0x2000)
			s.udp_len = UDP_LEN + s.payload + 8 * (1 + rn(250));
		c->prog = WAN_OUT;
	}
	if (chance(15))
		s.ip_opts = 4 * rn(11);
	build(c, &s);
	set_ip_id(c->in, c->len, PICK(frag_ids));
	snprintf(c->desc, sizeof(c->desc), "%s fragment (frag 0x%04x) %s",
		 l4_name(s.proto), s.frag, c->prog == WAN_IN ? "in" : "out");
}

static void gen_nonip(struct tcase *c)
{
	static const __u16 types[] = { ETHERTYPE_ARP, ETHERTYPE_IPV6, 0x8100,
				       0x88cc, 0x0806, 0x0000, 0x0801 };
	struct pspec s = { .ethertype = PICK(types), .payload = rn(200) };

	if (chance(20))
		s.ethertype = rn(0x10000);
	if (s.ethertype == ETHERTYPE_IP)
		s.ethertype = ETHERTYPE_IPV6;
	build(c, &s);
	/* A VLAN tag or junk in front of what would be an IPv4 header. */
	if (chance(50) && c->len >= ETH_LEN + IP_LEN)
		c->in[ETH_LEN] = 0x45;
	snprintf(c->desc, sizeof(c->desc), "ethertype 0x%04x", s.ethertype);
}

/* ---- mutations ---- */

static void mut_trunc_frame(struct tcase *c)
{
	c->len = chance(3) ? rn(ETH_LEN) : ETH_LEN + rn(c->len - ETH_LEN + 1);
}

/* Cut the packet and say so in tot_len: headers cut short but consistent. */
static void mut_trunc_ip(struct tcase *c, size_t k, bool fix_l4, bool pad)
{
	if (k < ETH_LEN + IP_LEN || k > c->len)
		return;
	c->len = k;
	put16(c->in + ETH_LEN + 2, k - ETH_LEN);
	fix_ip_sum(c->in, c->len);
	if (fix_l4)
		fix_l4_sum(c->in, c->len);
	if (pad)
		pad60(c);
}

static void mutate(struct tcase *c)
{
	__u8 *ip = c->in + ETH_LEN;
	struct view v;
	char what[40] = "";
	int r = rn(12);

	if (c->len < ETH_LEN + IP_LEN || rd16(c->in + 12) != ETHERTYPE_IP)
		return;
	view_parse(c->in, c->len, &v);
	switch (r) {
	case 0:
		mut_trunc_frame(c);
		snprintf(what, sizeof(what), "cut to %zu", c->len);
		break;
	case 1:
		r = ETH_LEN + IP_LEN + rn(c->len - ETH_LEN - IP_LEN + 1);
		mut_trunc_ip(c, r, chance(50), chance(40));
		snprintf(what, sizeof(what), "ip cut to %d%s", r,
			 c->len > (size_t)r ? " and padded" : "");
		break;
	case 2:
		ip[0] = (ip[0] & 0xf0) | (chance(60) ? rn(5) : 5 + rn(11));
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "ihl %u", ip[0] & 15);
		break;
	case 3: {
		unsigned int ihl = (ip[0] & 15) * 4, t;

		r = rn(3);
		t = r == 0 ? rn(ihl ? ihl : 1) : r == 1 ? c->len - ETH_LEN + 1 + rn(100) :
		    rn(rd16(ip + 2) + 1);
		put16(ip + 2, t);
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "tot_len %u", t);
		break;
	}
	case 4:
		ip[0] = (ip[0] & 15) | (rn(15) + 5) << 4;	/* 5..19: never 4 */
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "version %u", ip[0] >> 4);
		break;
	case 5:
		put16(ip + 6, (rd16(ip + 6) & 0x4000) | (chance(50) ? 0x2000 : 0) |
			      (chance(70) ? 1 + rn(0x1fff) : 0));
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "frag 0x%04x", rd16(ip + 6));
		break;
	case 6:
		if (!v.err && !v.later && v.proto == P_TCP) {
			c->in[v.l4 + 12] = (chance(50) ? rn(5) : 6 + rn(10)) << 4;
			snprintf(what, sizeof(what), "doff %u", c->in[v.l4 + 12] >> 4);
		}
		break;
	case 7:
		if (!v.err && !v.later && v.proto == P_UDP) {
			unsigned int l = chance(50) ? rn(UDP_LEN) :
					 v.l4len + 1 + rn(100);

			put16(c->in + v.l4 + 4, l);
			if (chance(50))
				fix_l4_sum(c->in, c->len);
			snprintf(what, sizeof(what), "udp len %u", l);
		} else if (!v.err && !v.later && v.proto == P_UDP) {
			put16(c->in + v.l4 + 6, 0);
		}
		break;
	case 8:
		ip[9] = PICK(((const __u8[]){ 2, 4, 47, 50, 51, 132, 255, 0 }));
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "proto %u", ip[9]);
		break;
	case 9:
	case 10: {
		/* Flip header bytes, the addresses of the outer header
		 * aside (the routes the model knows are few). */
		size_t lim = c->len < 120 ? c->len : 120;
		int n = 1 + rn(3);

		for (int i = 0; i < n; i++) {
			size_t off = ETH_LEN + rn(lim - ETH_LEN);

			if (off >= ETH_LEN + 12 && off < ETH_LEN + 20)
				continue;
			c->in[off] ^= 1 + rn(255);
		}
		fix_ip_sum(c->in, c->len);
		snprintf(what, sizeof(what), "%d bytes flipped", n);
		break;
	}
	case 11:
		if (!v.err && !v.later && v.proto == P_UDP) {
			put16(c->in + v.l4 + 6, 0);
			snprintf(what, sizeof(what), "udp csum 0");
		} else {
			pad60(c);
			snprintf(what, sizeof(what), "padded");
		}
		break;
	}
	if (what[0]) {
		size_t n = strlen(c->desc);

		snprintf(c->desc + n, sizeof(c->desc) - n, ", %s", what);
	}
}

static void gen_random(struct tcase *c)
{
	int r = rn(100);

	if (r < 20) {
		c->prog = WAN_OUT;
		gen_out(c, chance(50));
	} else if (r < 30) {
		c->prog = LAN_FAST;
		gen_out(c, chance(85));
	} else if (r < 50) {
		c->prog = WAN_IN;
		gen_in(c);
	} else if (r < 63) {
		c->prog = WAN_IN;
		gen_err_in(c);
	} else if (r < 73) {
		c->prog = WAN_OUT;
		gen_err_out(c);
	} else if (r < 85) {
		gen_frag(c);
	} else if (r < 89) {
		c->prog = WAN_IN;
		gen_guard(c);
	} else {
		c->prog = PICK(((const enum prog[]){ WAN_OUT, WAN_IN, LAN_FAST }));
		gen_nonip(c);
	}
	if (chance(35))
		mutate(c);
}

/*
 * Every truncation of a few packets, both ways: the frame cut (tot_len
 * then lies) and the IP packet cut (tot_len says so, checksums redone),
 * with and without Ethernet padding after it.
 */
static void exhaust(const struct tcase *base)
{
	static struct tcase c;

	for (size_t k = 0; k <= base->len; k++) {
		for (int how = 0; how < 3; how++) {
			if (how && k < ETH_LEN + IP_LEN)
				continue;
			if (how == 2 && k >= 60)
				continue;
			c = *base;
			if (how == 0)
				c.len = k;
			else
				mut_trunc_ip(&c, k, true, how == 2);
			snprintf(c.desc, sizeof(c.desc), "%s, %s %zu", base->desc,
				 how == 0 ? "frame cut to" : how == 1 ?
				 "ip cut to" : "ip cut and padded, at", k);
			run_case(&c);
			n_exhaustive++;
		}
	}
}

static void setup_and_exhaust(void)
{
	static struct tcase c;
	const struct fent *f;
	struct pspec s;

#define RUN(p, ...) do {						\
		s = (struct pspec){ __VA_ARGS__ };			\
		c.prog = p;						\
		build(&c, &s);						\
		snprintf(c.desc, sizeof(c.desc), "setup");		\
		run_case(&c);						\
	} while (0)
	RUN(WAN_OUT, .proto = P_TCP, .saddr = IN1, .sport = 40000, .daddr = REM,
	    .dport = 80, .tcp_flags = F_SYN);
	RUN(WAN_OUT, .proto = P_UDP, .saddr = IN2, .sport = 40001, .daddr = REM2,
	    .dport = 53, .payload = 24);
	RUN(WAN_OUT, .proto = P_ICMP, .icmp_type = ICMP_T_ECHO, .saddr = IN3,
	    .sport = 7, .daddr = REM3, .payload = 16);

	/* The bases, built from the flows just made. */
	static struct tcase bases[16];
	int n = 0;

#define BASE(p, name, ...) do {						\
		s = (struct pspec){ __VA_ARGS__ };			\
		bases[n].prog = p;					\
		build(&bases[n], &s);					\
		snprintf(bases[n].desc, sizeof(bases[n].desc), name);	\
		n++;							\
	} while (0)
	BASE(WAN_OUT, "tcp data out with options", .proto = P_TCP, .saddr = IN1,
	     .sport = 40000, .daddr = REM, .dport = 80, .tcp_flags = F_ACK,
	     .payload = 20, .ip_opts = 8);
	BASE(WAN_OUT, "udp out", .proto = P_UDP, .saddr = IN2, .sport = 40001,
	     .daddr = REM2, .dport = 53, .payload = 12);
	for (int i = 0; i < st_pre.nf; i++) {
		f = &st_pre.f[i];
		if (f->k.dir != DIR_IN)
			continue;
		if (f->k.proto == P_TCP) {
			BASE(WAN_IN, "time exceeded in quoting our tcp",
			     .proto = P_ICMP, .err = true,
			     .icmp_type = ICMP_T_TIME_EXCEEDED, .saddr = ROUTER,
			     .daddr = EXT,
			     .inner = { .proto = P_TCP, .saddr = EXT,
					.sport = ntohs(f->k.dport),
					.daddr = ntohl(f->k.saddr),
					.dport = ntohs(f->k.sport),
					.tcp_flags = F_SYN, .quote = 20 });
		} else if (f->k.proto == P_UDP) {
			BASE(WAN_IN, "udp reply in", .proto = P_UDP,
			     .saddr = ntohl(f->k.saddr), .sport = ntohs(f->k.sport),
			     .daddr = EXT, .dport = ntohs(f->k.dport),
			     .payload = 12);
			BASE(WAN_IN, "frag-needed in quoting our udp with options",
			     .proto = P_ICMP, .err = true,
			     .icmp_type = ICMP_T_UNREACH,
			     .icmp_code = ICMP_C_FRAG_NEEDED,
			     .icmp_rest = ICMP_MTU(1280), .saddr = ROUTER,
			     .daddr = EXT,
			     .inner = { .proto = P_UDP, .saddr = EXT,
					.sport = ntohs(f->k.dport),
					.daddr = ntohl(f->k.saddr),
					.dport = ntohs(f->k.sport), .ip_opts = 12,
					.payload = 24 });
			BASE(WAN_OUT, "port unreachable out quoting a udp reply",
			     .proto = P_ICMP, .err = true,
			     .icmp_type = ICMP_T_UNREACH,
			     .icmp_code = ICMP_C_PORT_UNREACH, .saddr = IN2,
			     .daddr = ntohl(f->k.saddr),
			     .inner = { .proto = P_UDP,
					.saddr = ntohl(f->k.saddr),
					.sport = ntohs(f->k.sport), .daddr = IN2,
					.dport = 40001, .payload = 24,
					.quote = QUOTE_ALL });
			BASE(WAN_IN, "first fragment of a udp reply in",
			     .proto = P_UDP, .saddr = ntohl(f->k.saddr),
			     .sport = ntohs(f->k.sport), .daddr = EXT,
			     .dport = ntohs(f->k.dport), .payload = 24,
			     .frag = 0x2000, .udp_len = 1480);
		} else {
			BASE(WAN_IN, "echo reply in", .proto = P_ICMP,
			     .icmp_type = ICMP_T_ECHOREPLY,
			     .saddr = ntohl(f->k.saddr), .daddr = EXT,
			     .sport = ntohs(f->k.dport), .payload = 8);
		}
	}
	for (int i = 0; i < n; i++)
		exhaust(&bases[i]);
#undef RUN
#undef BASE
}

/* ---- setup ---- */


static int load(void)
{
	struct nat_state st = { .ext_addr = htonl(EXT) };
	__u32 zero = 0;

	skel = bpfmasq_bpf__open();
	if (!skel)
		return -1;
	/* The defaults, said out loud: what the model assumes. */
	skel->rodata->cfg_port_lo = PORT_LO;
	skel->rodata->cfg_port_hi = PORT_HI;
	skel->rodata->cfg_filter_cone = false;
	skel->rodata->cfg_match_all_sources = true;
	skel->rodata->cfg_wan_l3 = false;
	if (net_ready)
		st.wan_ifindex = if_nametoindex("wan0");
	if (bpfmasq_bpf__load(skel))
		return -1;
	if (bpf_map__update_elem(skel->maps.state, &zero, sizeof(zero), &st,
				 sizeof(st), BPF_ANY))
		return -1;
	ring = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL,
				NULL);
	cev_ring = ring_buffer__new(bpf_map__fd(skel->maps.conn_events),
				    on_conn_event, NULL, NULL);
	return ring && cev_ring ? 0 : -1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *env;
	long ncases = 10000;
	__u64 t0;
	static struct tcase c;

	harness_init(argc, argv,
		     "  NAME: a class to report (wan_out/..., invariant/...); every\n"
		     "  case runs whatever -t says, as the classes share their state\n");
	if (!harness_bpf_init("test_diff"))
		return harness_exit();
	env = getenv("TEST_DIFF_SEED");
	seed = env ? strtoull(env, NULL, 0) : now_ns() ^ ((__u64)getpid() << 32);
	env = getenv("TEST_DIFF_CASES");
	if (env)
		ncases = strtol(env, NULL, 0);
	env = getenv("TEST_DIFF_DETAILS");
	if (env)
		details = strtol(env, NULL, 0);
	rng_state = seed;
	printf("# seed %llu (TEST_DIFF_SEED=%llu replays this run)\n",
	       (unsigned long long)seed, (unsigned long long)seed);

	net_ready = testnet_setup();
	if (load()) {
		test_error("setup", "loading the BPF programs failed");
		return harness_exit();
	}
	t0 = now_ns();
	reset_maps();
	setup_and_exhaust();
	resets = true;
	for (long i = 0; i < ncases; i++) {
		memset(&c, 0, sizeof(c));
		gen_random(&c);
		run_case(&c);
	}

	printf("# %ld cases (%ld exhaustive truncations, %ld random) in %.1f s: "
	       "%ld compared with the model, %ld refused by the kernel\n",
	       n_cases, n_exhaustive, ncases, (now_ns() - t0) / 1e9, n_covered,
	       n_refused);
	/* Invariant groups pass when nothing broke them. */
	static const char *const inv[] = {
		"invariant/verdict", "invariant/no-leak", "invariant/no-leak-quoted",
		"invariant/checksums", "invariant/counters", "invariant/maps",
		"invariant/ports", "invariant/port-choice", "invariant/events",
		"invariant/test-run",
	};
	for (size_t i = 0; i < sizeof(inv) / sizeof(inv[0]); i++)
		cls_get(inv[i])->n = n_cases;
	for (int i = 0; i < nclasses; i++) {
		struct cls *k = &classes[i];

		if (!test_selected(k->name) || (!k->n && !k->failed))
			continue;
		if (k->failed) {
			test_start("%s", k->name);
			test_fail("%ld of %ld cases failed", k->failed, k->n);
		} else {
			test_start("%s (%ld cases)", k->name, k->n);
		}
		test_end();
	}
	ring_buffer__free(ring);
	bpfmasq_bpf__destroy(skel);
	return harness_exit();
}
