// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "alg.h"
#include "sync.h"
#include "alg_common.h"
#include "alg_ftp.h"
#include "alg_irc.h"
#include "flowtable.h"
#include "log.h"
#include "util.h"

#define IRC_MAX_OFFERS	8	/* pending DCC offers per connection (Linux) */
#define CONN_SLOTS	256
#define PORT_TRIES	64

/*
 * An endpoint the ALG announced in place of an inside one: the expectation
 * it installed, and the segment that carried it, so a retransmission of
 * that segment gets the identical rewrite.
 */
struct alg_offer {
	__u32 seq;		/* the segment that carried it */
	__u16 ext_port;
	__u16 target_port;
};

/*
 * A control connection's offers, oldest first: FTP keeps one (a new PORT
 * replaces the old expectation), IRC up to IRC_MAX_OFFERS (the oldest
 * expectation goes when a ninth comes).
 */
struct alg_conn {
	bool used;
	struct flow_key key;
	struct alg_offer offer[IRC_MAX_OFFERS];
	int n;
	__u64 last_ns;
};

struct alg_ctl {
	const struct instance *in;
	int raw_fd;			/* IPPROTO_RAW with BPFMASQ_ALG_MARK */
	struct alg_conn conn[CONN_SLOTS];
};

struct alg_ctl *alg_ctl_new(const struct instance *in)
{
	struct alg_ctl *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->in = in;
	a->raw_fd = raw_ip_socket(BPFMASQ_ALG_MARK);
	if (a->raw_fd < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void alg_ctl_free(struct alg_ctl *a)
{
	if (!a)
		return;
	close(a->raw_fd);
	free(a);
}

static void stat_add(const struct alg_ctl *a, __u32 idx)
{
	stats_add(a->in->stats_fd, idx, 1);
}

/* The connection's slot; a new one takes a free slot or the stalest. */
static struct alg_conn *conn_get(struct alg_ctl *a, const struct flow_key *k)
{
	struct alg_conn *pick = NULL;

	for (int i = 0; i < CONN_SLOTS; i++) {
		struct alg_conn *c = &a->conn[i];

		if (c->used && !memcmp(&c->key, k, sizeof(*k)))
			return c;
		if (!pick || (pick->used && (!c->used || c->last_ns < pick->last_ns)))
			pick = c;
	}
	memset(pick, 0, sizeof(*pick));
	pick->used = true;
	pick->key = *k;
	return pick;
}

/* Remove an offer's expectation, unless a connection already used it
 * (then it is a live binding of that data connection). */
static void expect_drop(struct alg_ctl *a, __be32 ext, __u16 port)
{
	struct bind_key k = { .addr = ext, .port = htons(port),
			      .proto = IPPROTO_TCP, .dir = DIR_IN };
	struct bind_val v;

	if (!bpf_map_lookup_elem(a->in->binds_fd, &k, &v) &&
	    (v.flags & BIND_EXPECT))
		bpf_map_delete_elem(a->in->binds_fd, &k);
}

/* The offers a (retransmitted) segment made, in order. */
static int offers_of_seq(const struct alg_conn *c, __u32 seq,
			 const struct alg_offer **first)
{
	int n = 0;

	for (int i = 0; i < c->n; i++) {
		if (c->offer[i].seq != seq)
			continue;
		if (!n)
			*first = &c->offer[i];
		n++;
	}
	return n;
}

/* Keep a new offer, dropping the oldest beyond max. */
static void offer_add(struct alg_ctl *a, struct alg_conn *c, __be32 ext,
		      int max, __u32 seq, __u16 ext_port, __u16 target_port)
{
	if (c->n >= max) {
		expect_drop(a, ext, c->offer[0].ext_port);
		memmove(c->offer, c->offer + 1, (c->n - 1) * sizeof(c->offer[0]));
		c->n--;
	}
	c->offer[c->n++] = (struct alg_offer){ .seq = seq, .ext_port = ext_port,
					       .target_port = target_port };
}

/*
 * The other port of a DCC offer we rewrote: external for an inside one
 * (to_ext), inside for an external one; 0 if we made no such offer.
 */
static int dcc_port_of(const struct alg_conn *c, __u16 port, bool to_ext)
{
	/* Newest first: a re-offer of the same inside port supersedes. */
	for (int i = c->n - 1; i >= 0; i--) {
		if (to_ext && c->offer[i].target_port == port)
			return c->offer[i].ext_port;
		if (!to_ext && c->offer[i].ext_port == port)
			return c->offer[i].target_port;
	}
	return 0;
}

/* Expectation ports must not be guessable: a DCC one admits anyone. */
static __u32 random_u32(void)
{
	__u32 r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (__u32)now_coarse_ns() ^ (__u32)random();
	return r;
}

/*
 * Install an expectation: one connection from peer (0: anyone) to
 * ext:port reaches target.  The announced port is tried first (so an
 * unNATed-looking port survives when it can), then random ones.
 */
static int expect_add(struct alg_ctl *a, __be32 ext, __u16 want, __be32 peer,
		      __be32 target_addr, __u16 target_port)
{
	__u16 lo = a->in->cfg.cfg_port_lo, hi = a->in->cfg.cfg_port_hi;
	struct bind_key k = { .addr = ext, .proto = IPPROTO_TCP, .dir = DIR_IN };
	struct bind_val v = { .addr = target_addr, .port = htons(target_port),
			      .flags = BIND_EXPECT, .peer = peer,
			      .last_used_ns = now_coarse_ns() };

	for (int i = 0; i < PORT_TRIES; i++) {
		__u16 port = i == 0 && want >= lo && want <= hi ? want :
			     lo + random_u32() % (hi - lo + 1);

		k.port = htons(port);
		if (!bpf_map_update_elem(a->in->binds_fd, &k, &v, BPF_NOEXIST)) {
			sync_note_expect(&k);
			return port;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/*
 * Record a length change of the segment at seq sent in the direction of
 * flow entry key: its SEQ shift, and the ACK shift of the twin entry.
 */
static int seqadj_add(struct alg_ctl *a, const struct flow_key *key,
		      const struct flow_val *val, __u32 seq, __s32 delta)
{
	struct flow_seqadj sa = {}, sa_twin = {};
	const struct flow_key *keys[2];
	struct flow_key twin;
	struct flow_val v;

	flow_twin_key(key, val, &twin);
	bpf_map_lookup_elem(a->in->seqadj_fd, key, &sa);
	bpf_map_lookup_elem(a->in->seqadj_fd, &twin, &sa_twin);
	if (!seqadj_record(&sa.seq, seq, delta))
		return 0;
	sa_twin.ack = sa.seq;
	if (bpf_map_update_elem(a->in->seqadj_fd, key, &sa, BPF_ANY) ||
	    bpf_map_update_elem(a->in->seqadj_fd, &twin, &sa_twin, BPF_ANY))
		return -1;
	/* Flag both entries so the data plane looks the adjustment up. */
	keys[0] = key;
	keys[1] = &twin;
	for (int i = 0; i < 2; i++) {
		if (bpf_map_lookup_elem(a->in->flows_fd, keys[i], &v))
			continue;
		v.flags |= FLOW_SEQADJ;
		bpf_map_update_elem(a->in->flows_fd, keys[i], &v, BPF_EXIST);
	}
	sync_note_seqadj(key, &twin);
	return 0;
}

/*
 * The IP length and a complete TCP checksum of every segment sent on,
 * rewritten or not.  A raw socket's skb is CHECKSUM_NONE: nothing after
 * this completes a partial checksum (what a sender with TX offload, a
 * veth, leaves in the field), and the data plane's tc helpers update the
 * field incrementally as if it were complete.  Recomputing it always is
 * the simplest way to be right whatever the segment arrived with; it
 * vouches for nothing it should not, since segment_handle() only takes
 * segments whose checksum was sound on arrival.
 */
static void tcp_finish(__u8 *pkt, size_t ihl, size_t len)
{
	__u16 tot = htons(len);

	memcpy(pkt + 2, &tot, 2);
	tcp_csum_set(pkt, ihl, len);
	/* The kernel fills in the IP checksum of a raw IP_HDRINCL packet. */
}

static void send_on(struct alg_ctl *a, const __u8 *pkt, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET };

	memcpy(&to.sin_addr, pkt + 16, 4);
	if (sendto(a->raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_err("%s: cannot send an ALG segment on: %s", a->in->ifname,
			strerror(errno));
}

/* One rewrite: [off, off + old_len) of the payload becomes rep. */
struct rewrite {
	size_t off, old_len;
	char rep[32];
	int rep_len;
};

static int rewrite_set(struct rewrite *rw, size_t off, size_t old_len, int len)
{
	rw->off = off;
	rw->old_len = old_len;
	rw->rep_len = len;
	return len >= 0;
}

/*
 * What a control segment says that the ALG acts on, whatever the
 * protocol: the parser of each ALG (user/alg/) turns its matches into
 * these, and one sequence (alg_rewrites) handles them all.
 */
enum alg_item_kind {
	/* An inside endpoint announced to the outside (PORT, EPRT, 227,
	 * 229, DCC offers): forged check, expectation, rewrite. */
	ITEM_OFFER,
	/* A port of one of our offers named by the inside end (DCC ACCEPT
	 * of a RESUME): the inside port becomes the external one. */
	ITEM_TO_EXT,
	/* The same named by the outside end (DCC RESUME from the peer):
	 * the external port becomes the inside one. */
	ITEM_TO_INSIDE,
};

struct alg_item {
	enum alg_item_kind kind;
	size_t arg_off, arg_len;	/* the bytes a rewrite replaces */
	/* ITEM_OFFER: the announced address, which must be the sender's;
	 * sender_is_target: none is announced (229), the sender it is. */
	__be32 addr;
	bool sender_is_target;
	__u16 port;			/* host order */
	union {				/* what the ALG's formatter needs */
		struct ftp_match ftp;
		struct irc_dcc irc;
	} m;
};

/*
 * One ALG.  parse: fill up to max items from a segment's payload (inbound:
 * it came from outside, untranslated; to_server: it goes to the server);
 * returns their number or an ALG_* verdict (alg_common.h) below 1.
 * format: the replacement text of an item for addr:port (addr 0 when
 * only the port is written).
 */
struct alg_ops {
	const char *name;
	/* Offers kept per connection: FTP one (a new PORT replaces the old
	 * expectation), IRC as many as Linux keeps (the oldest expectation
	 * goes when one more comes). */
	int max_offers;
	/* Only the other end of the control connection may use an
	 * expectation (FTP); else anyone may (a DCC offer is relayed to
	 * whoever accepts it). */
	bool peer_only;
	int (*parse)(const char *pl, size_t plen, bool inbound, bool to_server,
		     struct alg_item *items, int max);
	int (*format)(const struct alg_item *it, __be32 addr, __u16 port,
		      char *buf, size_t len);
};

/* FTP: PORT/EPRT from an inside client, 227/229 from an inside server. */
static int ftp_items(const char *pl, size_t plen, bool inbound, bool to_server,
		     struct alg_item *items, int max)
{
	struct alg_item *it = &items[0];
	int r;

	if (inbound)	/* the data plane hands over outbound segments only */
		return ALG_NO_MATCH;
	r = ftp_parse(pl, plen, to_server, &it->m.ftp);
	if (r != ALG_MATCH)
		return r;
	it->kind = ITEM_OFFER;
	it->arg_off = it->m.ftp.arg_off;
	it->arg_len = it->m.ftp.arg_len;
	it->sender_is_target = it->m.ftp.kind == FTP_229;
	it->addr = it->m.ftp.addr;
	it->port = it->m.ftp.port;
	return 1;
}

static int ftp_item_format(const struct alg_item *it, __be32 addr, __u16 port,
			   char *buf, size_t len)
{
	return ftp_format(&it->m.ftp, addr, port, buf, len);
}

/*
 * IRC, client to server: DCC offers from an inside client and the ACCEPT
 * that answers a peer's RESUME of one of them (it names the inside port).
 * Server to client: a peer's RESUME of an offer we rewrote names the
 * external port; our client only knows its own.
 */
static int irc_items(const char *pl, size_t plen, bool inbound, bool to_server,
		     struct alg_item *items, int max)
{
	struct irc_dcc d[IRC_MAX_OFFERS];
	int n, out = 0;

	n = irc_parse(pl, plen, d, max < IRC_MAX_OFFERS ? max : IRC_MAX_OFFERS);
	for (int i = 0; i < n; i++) {
		struct alg_item *it = &items[out];

		if (inbound && d[i].type == DCC_RESUME)
			it->kind = ITEM_TO_INSIDE;
		else if (!inbound && d[i].type == DCC_ACCEPT)
			it->kind = ITEM_TO_EXT;
		else if (!inbound && irc_dcc_has_addr(d[i].type) && d[i].port)
			it->kind = ITEM_OFFER;
		else
			continue;	/* our own RESUME, passive DCC */
		it->arg_off = d[i].arg_off;
		it->arg_len = d[i].arg_len;
		it->sender_is_target = false;
		it->addr = d[i].addr;
		it->port = d[i].port;
		it->m.irc = d[i];
		out++;
	}
	return n < 0 ? n : out;
}

static int irc_item_format(const struct alg_item *it, __be32 addr, __u16 port,
			   char *buf, size_t len)
{
	return irc_format(&it->m.irc, addr, port, buf, len);
}

/* The ALGs, by enum bpfmasq_alg: a new one is a row and its parser. */
static const struct alg_ops alg_ops[] = {
	[ALG_FTP] = { .name = "FTP", .max_offers = 1, .peer_only = true,
		      .parse = ftp_items, .format = ftp_item_format },
	[ALG_IRC] = { .name = "IRC", .max_offers = IRC_MAX_OFFERS,
		      .parse = irc_items, .format = irc_item_format },
};

/*
 * The rewrites of one control segment, the same steps for every ALG:
 * parse, then for each offer the forged check, the retransmission check
 * (a segment seen before gets the ports it got the first time), the
 * expectation and the rewrite; ports named back are mapped through the
 * connection's offers.  Returns the number of rewrites in rw or an ALG_*
 * verdict below 1.
 */
static int alg_rewrites(struct alg_ctl *a, const struct alg_ops *ops,
			struct alg_conn *c, const struct bpfmasq_alg_event *ev,
			const char *pl, size_t plen, __be32 sender, __u32 seq,
			struct rewrite *rw)
{
	struct alg_item items[IRC_MAX_OFFERS];
	const struct alg_offer *prev = NULL;
	int n, out = 0, again, used = 0;

	n = ops->parse(pl, plen, ev->dir == DIR_IN, ev->to_server, items,
		       IRC_MAX_OFFERS);
	if (n <= 0)
		return n;
	again = offers_of_seq(c, seq, &prev);
	for (int i = 0; i < n; i++) {
		const struct alg_item *it = &items[i];
		__be32 addr = ev->ext_addr, target;
		int port;

		if (it->kind != ITEM_OFFER) {
			port = dcc_port_of(c, it->port, it->kind == ITEM_TO_EXT);
			if (port > 0)
				out += rewrite_set(&rw[out], it->arg_off,
						   it->arg_len,
						   ops->format(it, 0, port,
							       rw[out].rep,
							       sizeof(rw[out].rep)));
			continue;
		}
		if (!it->sender_is_target && it->addr != sender) {
			stat_add(a, CNT_ALG_FORGED);
			continue;
		}
		target = it->sender_is_target ? sender : it->addr;
		if (again) {
			if (used >= again)
				break;
			port = prev[used++].ext_port;
		} else {
			port = expect_add(a, addr, it->port,
					  ops->peer_only ? ev->out_key.daddr : 0,
					  target, it->port);
			if (port < 0) {
				log_msg("%s: no port for an %s data connection: %s",
					a->in->ifname, ops->name, strerror(errno));
				continue;
			}
			offer_add(a, c, addr, ops->max_offers, seq, port,
				  it->port);
		}
		out += rewrite_set(&rw[out], it->arg_off, it->arg_len,
				   ops->format(it, addr, port, rw[out].rep,
					       sizeof(rw[out].rep)));
	}
	return out;
}

/* The value of one 32-bit field at p (network order) as host order. */
static __u32 get32(const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put32(__u8 *p, __u32 host)
{
	__u32 v = htonl(host);

	memcpy(p, &v, 4);
}

/*
 * What the data plane would have done to an inbound segment that came
 * here instead: destination to the inside endpoint, SEQ/ACK/SACK shifted
 * by the connection's adjustments (the same seqadj.h logic).
 */
static void translate_in(const struct alg_ctl *a,
			 const struct bpfmasq_alg_event *ev,
			 const struct flow_key *in_key, __u8 *pkt, size_t ihl,
			 size_t thl)
{
	struct flow_seqadj sa = {};
	__u8 *th = pkt + ihl;

	memcpy(pkt + 16, &ev->out_key.saddr, 4);
	memcpy(th + 2, &ev->out_key.sport, 2);
	if (bpf_map_lookup_elem(a->in->seqadj_fd, in_key, &sa))
		return;
	put32(th + 4, seqadj_seq(&sa.seq, get32(th + 4)));
	if (!(th[13] & 0x10))	/* no ACK */
		return;
	put32(th + 8, seqadj_ack(&sa.ack, get32(th + 8)));
	for (size_t o = 20; o + 2 <= thl;) {
		__u8 kind = th[o], len = th[o + 1];

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (len < 2 || o + len > thl)
			break;
		for (size_t e = 2; kind == 5 && e + 4 <= len; e += 4)
			put32(th + o + e, seqadj_ack(&sa.ack, get32(th + o + e)));
		o += len;
	}
}

/* Tell the data plane the segment of entry up to end has been dealt with. */
static void sent_up_to(struct alg_ctl *a, const struct flow_key *entry, __u32 end)
{
	bpf_map_update_elem(a->in->alg_sent_fd, entry, &end, BPF_ANY);
}

/*
 * Rewrite (or not) one segment of a control connection and send it on.
 * entry is its flow entry; pkt holds a copy with room to grow.
 */
static void segment_handle(struct alg_ctl *a, const struct bpfmasq_alg_event *ev,
			   struct alg_conn *c, const struct flow_key *entry,
			   __u8 *pkt, size_t ihl, size_t thl, size_t len,
			   size_t plen, __be32 sender, __u32 seq)
{
	bool inbound = ev->dir == DIR_IN;
	char *payload = (char *)pkt + ihl + thl;
	size_t room = EV_PKT_MAX + 8 * IRC_MAX_OFFERS * 2 - ihl - thl;
	struct rewrite rw[IRC_MAX_OFFERS];
	struct flow_val val;
	long nlen;
	int n;

	/* Damaged on its way: what it says cannot be trusted to set up an
	 * expectation, and its receiver would drop it anyway; the sender
	 * retransmits it. */
	if (tcp_csum_state(pkt, ihl, len) == TCP_CSUM_BAD) {
		stat_add(a, CNT_ALG_BAD_CSUM);
		return;
	}
	n = alg_rewrites(a, &alg_ops[ev->alg], c, ev, payload, plen, sender,
			 seq, rw);
	if (n == ALG_PARTIAL) {
		/* As Linux: the sender retransmits, often coalesced. */
		stat_add(a, CNT_ALG_PARTIAL);
		return;
	}
	if (n == ALG_MALFORMED)
		stat_add(a, CNT_ALG_MALFORMED);

	/* Back to front, so earlier offsets stay valid. */
	nlen = plen;
	for (int i = n - 1; i >= 0 && nlen >= 0; i--)
		nlen = alg_replace(payload, nlen, room,
				   rw[i].off, rw[i].old_len, rw[i].rep,
				   rw[i].rep_len);
	if (n > 0 && (nlen < 0 ||
		      bpf_map_lookup_elem(a->in->flows_fd, entry, &val) ||
		      seqadj_add(a, entry, &val, seq, (__s32)(nlen - plen)))) {
		log_err("%s: cannot rewrite an ALG segment; sent unchanged",
			a->in->ifname);
		memcpy(pkt, ev->pkt, len);	/* never half-rewritten */
		n = 0;
	}
	if (n > 0) {
		len = ihl + thl + nlen;
		stat_add(a, CNT_ALG_REWRITTEN);
	}
	if (inbound)
		translate_in(a, ev, entry, pkt, ihl, thl);
	tcp_finish(pkt, ihl, len);
	send_on(a, pkt, len);
}

void alg_ctl_segment(struct alg_ctl *a, const struct bpfmasq_alg_event *ev)
{
	__u8 pkt[EV_PKT_MAX + 8 * IRC_MAX_OFFERS * 2];
	size_t ihl, thl, len = ev->len, plen;
	struct flow_key key = ev->out_key;
	struct alg_conn *c;
	__be32 sender;
	__u32 seq;

	if (len < 40 || len > EV_PKT_MAX ||
	    ev->alg >= sizeof(alg_ops) / sizeof(alg_ops[0]) ||
	    !alg_ops[ev->alg].parse)
		return;
	memcpy(pkt, ev->pkt, len);
	ihl = (pkt[0] & 0xf) * 4;
	thl = ihl + 20 <= len ? (pkt[ihl + 12] >> 4) * 4 : 0;
	if (ihl < 20 || thl < 20 || ihl + thl > len)
		return;		/* parse_ipv4() let no such segment through */
	plen = len - ihl - thl;
	memcpy(&sender, pkt + 12, 4);
	seq = get32(pkt + ihl + 4);
	c = conn_get(a, &ev->out_key);
	c->last_ns = now_coarse_ns();
	if (ev->dir == DIR_IN)
		key = (struct flow_key){ .saddr = ev->out_key.daddr,
					 .daddr = ev->ext_addr,
					 .sport = ev->out_key.dport,
					 .dport = ev->ext_port,
					 .proto = IPPROTO_TCP, .dir = DIR_IN };
	segment_handle(a, ev, c, &key, pkt, ihl, thl, len, plen, sender, seq);
	/* Later segments of this direction may go straight again, once the
	 * data plane sees we caught up with the last one it handed over. */
	sent_up_to(a, &key, seq + plen);
}
