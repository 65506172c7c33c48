// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "alg.h"
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
 * What the controller remembers of a control connection: its last rewrite,
 * so a retransmission of that segment is rewritten identically (same
 * external port, no second sequence correction), and its pending
 * expectations, which a new offer replaces (FTP: one; IRC: up to 8).
 */
struct alg_conn {
	bool used;
	struct flow_key key;
	__u32 seq;			/* of the last rewritten segment */
	__u16 ext_ports[IRC_MAX_OFFERS];	/* chosen for it, in order */
	int n_ports;
	__u16 pending[IRC_MAX_OFFERS];	/* expectations not yet used */
	int n_pending;
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
	int mark = BPFMASQ_ALG_MARK;

	if (!a)
		return NULL;
	a->in = in;
	a->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (a->raw_fd < 0 ||
	    setsockopt(a->raw_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
		if (a->raw_fd >= 0)
			close(a->raw_fd);
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

/* Drop the expectations a connection still has pending. */
static void expect_drop_pending(struct alg_ctl *a, struct alg_conn *c,
				__be32 ext)
{
	for (int i = 0; i < c->n_pending; i++) {
		struct bind_key k = { .addr = ext, .port = htons(c->pending[i]),
				      .proto = IPPROTO_TCP, .dir = DIR_IN };
		struct bind_val v;

		/* Only while still an expectation: once used it is a
		 * live binding of the data connection. */
		if (!bpf_map_lookup_elem(a->in->binds_fd, &k, &v) &&
		    (v.flags & BIND_EXPECT))
			bpf_map_delete_elem(a->in->binds_fd, &k);
	}
	c->n_pending = 0;
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
			     lo + random() % (hi - lo + 1);

		k.port = htons(port);
		if (!bpf_map_update_elem(a->in->binds_fd, &k, &v, BPF_NOEXIST))
			return port;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Record a length change of the segment at seq in both flow entries. */
static int seqadj_add(struct alg_ctl *a, const struct flow_key *out_key,
		      const struct flow_val *out_val, __u32 seq, __s32 delta)
{
	struct flow_seqadj sa_out = {}, sa_in = {};
	struct flow_key in_key;
	struct flow_val v;

	flow_twin_key(out_key, out_val, &in_key);
	bpf_map_lookup_elem(a->in->seqadj_fd, out_key, &sa_out);
	bpf_map_lookup_elem(a->in->seqadj_fd, &in_key, &sa_in);
	if (!seqadj_record(&sa_out.seq, seq, delta))
		return 0;
	sa_in.ack = sa_out.seq;
	if (bpf_map_update_elem(a->in->seqadj_fd, out_key, &sa_out, BPF_ANY) ||
	    bpf_map_update_elem(a->in->seqadj_fd, &in_key, &sa_in, BPF_ANY))
		return -1;
	/* Flag both entries so the data plane looks the adjustment up. */
	if (!bpf_map_lookup_elem(a->in->flows_fd, out_key, &v)) {
		v.flags |= FLOW_SEQADJ;
		bpf_map_update_elem(a->in->flows_fd, out_key, &v, BPF_EXIST);
	}
	if (!bpf_map_lookup_elem(a->in->flows_fd, &in_key, &v)) {
		v.flags |= FLOW_SEQADJ;
		bpf_map_update_elem(a->in->flows_fd, &in_key, &v, BPF_EXIST);
	}
	return 0;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static __u32 csum_bytes(__u32 sum, const __u8 *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

/* Fix lengths and the TCP checksum after the payload changed. */
static void tcp_finish(__u8 *pkt, size_t ihl, size_t len)
{
	__u8 *th = pkt + ihl;
	__u32 sum = 0;
	__u16 tot = htons(len), check;

	memcpy(pkt + 2, &tot, 2);
	th[16] = th[17] = 0;
	sum = csum_bytes(sum, pkt + 12, 8);	/* saddr, daddr */
	sum += IPPROTO_TCP + (len - ihl);
	sum = csum_bytes(sum, th, len - ihl);
	check = htons(~csum_fold(sum) & 0xffff);
	memcpy(th + 16, &check, 2);
	/* The kernel fills in the IP checksum of a raw IP_HDRINCL packet. */
}

static void send_on(struct alg_ctl *a, const __u8 *pkt, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET };

	memcpy(&to.sin_addr, pkt + 16, 4);
	if (sendto(a->raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_msg("%s: cannot send an ALG segment on: %s", a->in->ifname,
			strerror(errno));
}

/* One rewrite: [off, off + old_len) of the payload becomes rep. */
struct rewrite {
	size_t off, old_len;
	char rep[32];
	int rep_len;
};

/* FTP: PORT/EPRT from an inside client, 227/229 from an inside server. */
static int ftp_rewrites(struct alg_ctl *a, struct alg_conn *c,
			const struct bpfmasq_alg_event *ev, const char *pl,
			size_t plen, __be32 sender, __u32 seq,
			struct rewrite *rw)
{
	struct ftp_match m;
	__be32 target;
	int port, r;

	r = ftp_parse(pl, plen, ev->to_server, &m);
	if (r != ALG_MATCH)
		return r;
	if (ftp_match_forged(&m, sender)) {
		stat_add(a, CNT_ALG_FORGED);
		return ALG_NO_MATCH;
	}
	target = m.kind == FTP_229 ? sender : m.addr;
	if (c->seq == seq && c->n_ports == 1) {
		port = c->ext_ports[0];	/* a retransmission */
	} else {
		expect_drop_pending(a, c, ev->ext_addr);
		/* The one peer that may connect: the other end of the
		 * control connection. */
		port = expect_add(a, ev->ext_addr, m.port, ev->out_key.daddr,
				  target, m.port);
		if (port < 0) {
			log_msg("%s: no port for an FTP data connection: %s",
				a->in->ifname, strerror(errno));
			return ALG_NO_MATCH;
		}
		c->pending[0] = port;
		c->n_pending = 1;
		c->ext_ports[0] = port;
		c->n_ports = 1;
		c->seq = seq;
	}
	rw->off = m.arg_off;
	rw->old_len = m.arg_len;
	rw->rep_len = ftp_format(&m, ev->ext_addr, port, rw->rep,
				 sizeof(rw->rep));
	return rw->rep_len < 0 ? ALG_NO_MATCH : 1;
}

/* IRC: DCC offers from an inside client; each gets an expectation open to
 * whoever accepts it. */
static int irc_rewrites(struct alg_ctl *a, struct alg_conn *c,
			const struct bpfmasq_alg_event *ev, const char *pl,
			size_t plen, __be32 sender, __u32 seq,
			struct rewrite *rw)
{
	struct irc_dcc d[IRC_MAX_OFFERS];
	bool again = c->seq == seq && c->n_ports;
	int n, out = 0;

	n = irc_parse(pl, plen, d, IRC_MAX_OFFERS);
	if (n <= 0)
		return n;
	if (!again) {
		expect_drop_pending(a, c, ev->ext_addr);
		c->n_ports = 0;
	}
	for (int i = 0; i < n; i++) {
		int port;

		if (!irc_dcc_has_addr(d[i].type) || !d[i].port)
			continue;	/* RESUME/ACCEPT, passive DCC */
		if (irc_dcc_forged(&d[i], sender)) {
			stat_add(a, CNT_ALG_FORGED);
			continue;
		}
		if (again) {
			if (out >= c->n_ports)
				break;
			port = c->ext_ports[out];
		} else {
			port = expect_add(a, ev->ext_addr, d[i].port, 0, d[i].addr,
					  d[i].port);
			if (port < 0)
				continue;
			c->pending[c->n_pending++] = port;
			c->ext_ports[c->n_ports++] = port;
		}
		rw[out].off = d[i].arg_off;
		rw[out].old_len = d[i].arg_len;
		rw[out].rep_len = irc_format(&d[i], ev->ext_addr, port,
					     rw[out].rep, sizeof(rw[out].rep));
		if (rw[out].rep_len < 0)
			continue;
		out++;
	}
	c->seq = seq;
	return out;
}

void alg_ctl_segment(struct alg_ctl *a, const struct bpfmasq_alg_event *ev)
{
	__u8 pkt[EV_PKT_MAX + 8 * IRC_MAX_OFFERS * 2];
	struct rewrite rw[IRC_MAX_OFFERS];
	size_t ihl, thl, len = ev->len, plen;
	struct flow_val out_val;
	struct alg_conn *c;
	__be32 sender;
	__u32 seq;
	long nlen;
	int n;

	if (len < 40 || len > EV_PKT_MAX)
		return;
	memcpy(pkt, ev->pkt, len);
	ihl = (pkt[0] & 0xf) * 4;
	if (ihl < 20 || ihl + 20 > len)
		goto send;
	thl = (pkt[ihl + 12] >> 4) * 4;
	if (thl < 20 || ihl + thl > len)
		goto send;
	plen = len - ihl - thl;
	memcpy(&sender, pkt + 12, 4);
	memcpy(&seq, pkt + ihl + 4, 4);
	seq = ntohl(seq);
	c = conn_get(a, &ev->out_key);
	c->last_ns = now_coarse_ns();

	if (ev->alg == ALG_FTP)
		n = ftp_rewrites(a, c, ev, (char *)pkt + ihl + thl, plen, sender,
				 seq, rw);
	else
		n = irc_rewrites(a, c, ev, (char *)pkt + ihl + thl, plen, sender,
				 seq, rw);
	if (n == ALG_PARTIAL) {
		/* As Linux: the sender retransmits, often coalesced. */
		stat_add(a, CNT_ALG_PARTIAL);
		return;
	}
	if (n == ALG_MALFORMED)
		stat_add(a, CNT_ALG_MALFORMED);
	if (n <= 0)
		goto send;

	/* Back to front, so earlier offsets stay valid. */
	nlen = plen;
	for (int i = n - 1; i >= 0; i--) {
		nlen = alg_replace((char *)pkt + ihl + thl, nlen,
				   sizeof(pkt) - ihl - thl, rw[i].off,
				   rw[i].old_len, rw[i].rep, rw[i].rep_len);
		if (nlen < 0) {
			memcpy(pkt, ev->pkt, len);	/* never half-rewritten */
			goto send;
		}
	}
	if (bpf_map_lookup_elem(a->in->flows_fd, &ev->out_key, &out_val) ||
	    seqadj_add(a, &ev->out_key, &out_val, seq, (__s32)(nlen - plen))) {
		log_msg("%s: cannot record the sequence adjustment; segment sent unchanged",
			a->in->ifname);
		memcpy(pkt, ev->pkt, len);
		goto send;
	}
	len = ihl + thl + nlen;
	tcp_finish(pkt, ihl, len);
	stat_add(a, CNT_ALG_REWRITTEN);
send:
	send_on(a, pkt, len);
}
