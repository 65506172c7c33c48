/* SPDX-License-Identifier: GPL-2.0 */
/*
 * When a connection may go: its state, its last packet, its timeout, and
 * the batch in which the controller hands the kernel the connections its
 * expiry queue says may be due (bpf/expire.bpf.c).  Plain inline C
 * compiled into both sides, so that what `conns` shows, what a full walk
 * expires and what the kernel-side expiry retires cannot drift apart.
 */
#ifndef BPFMASQ_CONN_EXPIRY_H
#define BPFMASQ_CONN_EXPIRY_H

#ifndef __bpf__
#include <stdbool.h>
#include <linux/types.h>
#include <netinet/in.h>
#endif
#include "bpfmasq.h"

/* The key of the other direction of the connection an entry belongs to. */
static inline void flow_twin_key(const struct flow_key *k,
				 const struct flow_val *v,
				 struct flow_key *twin)
{
	__builtin_memset(twin, 0, sizeof(*twin));
	twin->proto = k->proto;
	if (k->dir == DIR_OUT) {
		/* inside -> remote becomes remote -> external */
		twin->saddr = k->daddr;
		twin->sport = k->dport;
		twin->daddr = v->nat_addr;
		twin->dport = v->nat_port;
		twin->dir = DIR_IN;
	} else {
		twin->saddr = v->nat_addr;
		twin->sport = v->nat_port;
		twin->daddr = k->saddr;
		twin->dport = k->sport;
		twin->dir = DIR_OUT;
	}
}

/* enum conn_state of a connection (out: its DIR_OUT entry, in: the twin). */
static inline int flow_pair_state(__u8 proto, const struct flow_val *out,
				  const struct flow_val *in)
{
	bool both_ways = out->last_seen_ns && in->last_seen_ns;
	__u8 seen = out->seen | in->seen;

	if (proto != IPPROTO_TCP)
		return both_ways ? CS_REPLIED : CS_UNREPLIED;
	if (seen & SEEN_RST)
		return CS_CLOSE;
	if (seen & SEEN_FIN)
		return CS_FIN_WAIT;
	if (both_ways && (out->seen & SEEN_ACK) && (in->seen & SEEN_ACK))
		return CS_ESTABLISHED;
	return CS_SYN_SENT;
}

static inline __u32 flow_pair_timeout_s(__u8 proto, int state,
					const struct nat_state *st)
{
	switch (proto) {
	case IPPROTO_TCP:
		return state == CS_ESTABLISHED ? st->timeout_tcp_est :
						 st->timeout_tcp_trans;
	case IPPROTO_UDP:
		return st->timeout_udp;
	default:
		return st->timeout_icmp;
	}
}

static inline __u64 flow_pair_last_seen(const struct flow_val *out,
					const struct flow_val *in)
{
	return out->last_seen_ns > in->last_seen_ns ? out->last_seen_ns :
						      in->last_seen_ns;
}

/*
 * Whether a connection in state, last seen at last_seen_ns, is idle past
 * timeout_s at now_ns.  The data plane stamps last_seen_ns after whoever
 * read now_ns did: a newer stamp is no age, not a wrapped one.
 */
static inline bool flow_pair_idle(__u64 last_seen_ns, __u32 timeout_s,
				  __u64 now_ns)
{
	return last_seen_ns < now_ns &&
	       now_ns - last_seen_ns > (__u64)timeout_s * 1000000000ULL;
}

/*
 * When a live connection should be looked at again.  An established TCP
 * connection may close at any moment and then has only the transitory
 * timeout left, which nothing tells the controller of: it is looked at
 * again within that timeout, so that a closed connection never outlives
 * it by more than one more of it, however long the established timeout.
 */
static inline __u64 flow_pair_due_ns(int state, __u64 last_seen_ns,
				     __u32 timeout_s,
				     const struct nat_state *st, __u64 now_ns)
{
	__u64 due = last_seen_ns + (__u64)timeout_s * 1000000000ULL;
	__u64 recheck = now_ns + (__u64)st->timeout_tcp_trans * 1000000000ULL;

	return state == CS_ESTABLISHED && due > recheck ? recheck : due;
}

/* What the kernel-side expiry found for one connection of a batch. */
enum expire_verdict {
	EXPIRE_LIVE,		/* not idle long enough: look again at due_ns */
	EXPIRE_RETIRED,		/* idle past its timeout: both halves deleted */
	EXPIRE_HALF,		/* its twin was missing: the half deleted */
	EXPIRE_GONE,		/* deleted meanwhile (conns delete, flush) */
};

/* One connection, by its DIR_OUT key; on EXPIRE_RETIRED the two entries
 * as they were, for the DESTROY record. */
struct expire_slot {
	struct flow_key key;
	struct flow_val out;
	struct flow_val in;
	__u64 due_ns;
	__u32 verdict;		/* enum expire_verdict */
	__u32 pad;
};

/*
 * What one BPF_PROG_TEST_RUN of expire_batch judges: a few hundred
 * connections per system call, and the deletions done in the kernel, is
 * what makes expiry cheaper than reading the whole table.  The value of
 * the program's one-entry `batch` map, which the controller maps.
 */
#define EXPIRE_BATCH	256

struct expire_batch {
	__u64 now_ns;		/* CLOCK_MONOTONIC_COARSE, as last_seen_ns */
	__u32 n;		/* slots in use */
	__u32 pad;
	struct expire_slot slot[EXPIRE_BATCH];
};

#endif
