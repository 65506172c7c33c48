/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane's part of the connection event stream (struct
 * conn_event in headers/bpfmasq.h): one ring reserve and submit when a
 * connection or a binding is created, none on the hit path, and DROP
 * records within a per-CPU budget.  A full ring never blocks or fails
 * anything: the record is counted as lost (events_lost), and the
 * controller writes that count into the stream and the mapping log.
 */
#ifndef BPFMASQ_CONNEV_H
#define BPFMASQ_CONNEV_H

/*
 * Submit without waking the controller, which drains the ring every
 * CONN_EVENTS_DRAIN_MS anyway: at tens of thousands of new connections a
 * second, a wake-up per record (the ring's default while its reader keeps
 * up) would cost more than the records themselves.  Only the record that
 * fills the ring past another CONN_EVENTS_WAKE_BYTES wakes it at once (a
 * burst).  Past the mark, not above it: the controller often shares the
 * CPU that writes, and until it runs every record above the mark would
 * raise another interrupt to wake it.  (With several CPUs writing, a
 * mark may be passed unseen; the next one, or the timer, wakes it.)
 */
static __always_inline void conn_event_submit(struct conn_event *e)
{
	__u64 queued = bpf_ringbuf_query(&conn_events, BPF_RB_AVAIL_DATA);
	bool mark = queued / CONN_EVENTS_WAKE_BYTES !=
		    (queued - CONN_EVENT_RING_BYTES) / CONN_EVENTS_WAKE_BYTES;

	bpf_ringbuf_submit(e, mark ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline struct conn_event *conn_event_reserve(__u8 type,
							     __u8 proto,
							     __u64 now)
{
	struct conn_event *e;

	e = bpf_ringbuf_reserve(&conn_events, sizeof(*e), 0);
	if (!e) {
		count(CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->proto = proto;
	e->time_ns = now;
	return e;
}

/* A connection was stored: out_key is its DIR_OUT key; new_binding: it
 * made the inside endpoint's binding too (one record for both). */
static __always_inline void conn_event_flow(const struct flow_key *out_key,
					    __be32 ext, __be16 ext_port,
					    bool opened_out, bool new_binding,
					    __u64 now)
{
	struct conn_event *e = conn_event_reserve(CE_FLOW_NEW, out_key->proto,
						  now);

	if (!e)
		return;
	e->flags = (opened_out ? 0 : CEF_INBOUND) |
		   (new_binding ? CEF_NEW_BINDING : 0);
	e->in_addr = out_key->saddr;
	e->in_port = out_key->sport;
	e->out_addr = ext;
	e->out_port = ext_port;
	e->rem_addr = out_key->daddr;
	e->rem_port = out_key->dport;
	conn_event_submit(e);
}

/*
 * A binding is live without a flow of its own making it (an ALG
 * expectation used): inside endpoint in_addr has ext (ports: inside |
 * external << 16).  A global function: expect_fulfilled() runs inlined
 * deep in masq_lan_hairpin, whose frame has no room for the record's
 * pointer and the values kept across the reserve.
 */
__attribute__((noinline)) int bind_event_g(__be32 in_addr, __u32 ports,
					   __be32 ext, __u32 proto)
{
	struct conn_event *e;

	e = conn_event_reserve(CE_BIND_NEW, proto, bpf_ktime_get_coarse_ns());
	if (!e)
		return 0;
	e->in_addr = in_addr;
	e->in_port = ports & 0xffff;
	e->out_addr = ext;
	e->out_port = ports >> 16;
	conn_event_submit(e);
	return 0;
}

/*
 * A packet was dropped for reason (enum bpfmasq_counter): count it, and
 * write a DROP record while this CPU's budget lasts.  The packet's flow
 * key by pointer (it is on the caller's stack already) and reason |
 * inbound << 8: a global function, so that the callers' frames, near the
 * 512-byte limit, hold nothing for it and the verifier checks it once.
 */
__attribute__((noinline)) int drop_event_g(const struct flow_key *k, __u32 how)
{
	__u64 now = bpf_ktime_get_coarse_ns(), sec = now / 1000000000ULL;
	struct drop_budget *b;
	struct conn_event *e;
	bool inbound = how >> 8;
	__u32 zero = 0;

	count(how & 0xff);
	b = bpf_map_lookup_elem(&drop_budget, &zero);
	if (!b || !k)
		return 0;
	if (b->second != sec) {
		b->second = sec;
		b->used = 0;
	}
	if (b->used >= DROP_EVENTS_PER_SEC) {
		count(CNT_DROP_EVENTS_SUPPRESSED);
		return 0;
	}
	b->used++;
	e = conn_event_reserve(CE_DROP, k->proto, now);
	if (!e)
		return 0;
	e->reason = how & 0xff;
	e->flags = inbound ? CEF_INBOUND : 0;
	if (inbound) {
		e->rem_addr = k->saddr;
		e->rem_port = k->sport;
		e->out_addr = k->daddr;
		e->out_port = k->dport;
	} else {
		e->in_addr = k->saddr;
		e->in_port = k->sport;
		e->rem_addr = k->daddr;
		e->rem_port = k->dport;
	}
	conn_event_submit(e);
	return 0;
}

/* Count a drop and report it (ret: a negative nat.h result). */
static __always_inline void drop_report(const struct pkt *p, int ret,
					bool inbound)
{
	drop_event_g(&p->key, -ret | (inbound ? 1 << 8 : 0));
}

#endif
