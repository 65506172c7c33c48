// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel half of the controller's expiry queue (user/lib/expiry.c).
 * The queue knows, from the connection event stream, which connections
 * may have gone idle by now; it hands them over a few hundred at a time,
 * and this program looks at each and retires it if it has, in one system
 * call, instead of the controller reading the whole table to find them
 * and deleting them one system call at a time.
 *
 * A program of its own, loaded by the controller over the instance's
 * maps (bpf_map__reuse_fd; the data plane's maps.h declares them, and the
 * ones it does not use are not created), not part of bpfmasq.bpf.c: the
 * data plane, its pins and its upgrade checks do not change with it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bpfmasq.h"
#include "consts.h"
#include "maps.h"
#include "conn_expiry.h"

/* The batch, shared with the controller through mmap(): a system call
 * moves no data, it only runs the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct expire_batch);
} batch SEC(".maps");

static __always_inline void expire_one(struct expire_slot *s,
				       const struct nat_state *st, __u64 now)
{
	struct flow_key key = s->key, twin;
	struct flow_val *out, *in;
	__u64 last;
	__u32 timeout;
	int state;

	out = bpf_map_lookup_elem(&flows, &key);
	if (!out) {
		s->verdict = EXPIRE_GONE;
		return;
	}
	flow_twin_key(&key, out, &twin);
	in = bpf_map_lookup_elem(&flows, &twin);
	if (!in) {
		bpf_map_delete_elem(&flows, &key);
		s->verdict = EXPIRE_HALF;
		return;
	}
	state = flow_pair_state(key.proto, out, in);
	timeout = flow_pair_timeout_s(key.proto, state, st);
	last = flow_pair_last_seen(out, in);
	if (!flow_pair_idle(last, timeout, now)) {
		s->due_ns = flow_pair_due_ns(state, last, timeout, st, now);
		s->verdict = EXPIRE_LIVE;
		return;
	}
	s->out = *out;
	s->in = *in;
	/* The inbound half first: a packet of the connection arriving
	 * between the two deletions then finds no inbound entry and is
	 * dropped, rather than an outbound one that would make a new
	 * binding beside the old flow's. */
	bpf_map_delete_elem(&flows, &twin);
	bpf_map_delete_elem(&flows, &key);
	s->verdict = EXPIRE_RETIRED;
}

SEC("syscall")
int expire_batch(void *ctx)
{
	struct expire_batch *b;
	struct nat_state *st;
	__u32 zero = 0, n;
	__u64 now;

	st = bpf_map_lookup_elem(&state, &zero);
	b = bpf_map_lookup_elem(&batch, &zero);
	if (!st || !b)
		return -1;
	n = b->n;
	now = b->now_ns;
	for (__u32 i = 0; i < EXPIRE_BATCH; i++) {
		if (i >= n)
			break;
		expire_one(&b->slot[i], st, now);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
