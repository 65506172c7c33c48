/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_MAPS_H
#define BPFMASQ_MAPS_H

/* A hash map; map_flags 0 is preallocated, so that inserts never sleep. */
#define HASH_MAP(name, key_type, value_type, entries, flags)		\
	struct {							\
		__uint(type, BPF_MAP_TYPE_HASH);			\
		__uint(max_entries, entries);				\
		__uint(map_flags, flags);				\
		__type(key, key_type);					\
		__type(value, value_type);				\
	} name SEC(".maps")

/* Both directions of every translated connection (see struct flow_key).
 * Sized by `up --max-flows`. */
HASH_MAP(flows, struct flow_key, struct flow_val, 262144, 0);

/* Endpoint-independent mappings, both directions (see struct bind_key). */
HASH_MAP(binds, struct bind_key, struct bind_val, 262144, 0);

/* Sequence adjustments of ALG-rewritten connections (FLOW_SEQADJ). */
HASH_MAP(seqadj, struct flow_key, struct flow_seqadj, 8192, BPF_F_NO_PREALLOC);

/*
 * Keeping a control connection in order while the controller holds one of
 * its segments: the end sequence number of the last segment handed over
 * (written here) and of the last one the controller sent on (written by
 * it).  While they differ, later segments of that direction queue behind
 * in the ring too, so none overtakes a rewrite or misses its sequence
 * adjustment.  Two maps, so neither side ever writes the other's number.
 */
HASH_MAP(alg_handed, struct flow_key, __u32, 8192, BPF_F_NO_PREALLOC);
HASH_MAP(alg_sent, struct flow_key, __u32, 8192, BPF_F_NO_PREALLOC);

/* Bitmap of forwarded external ports, word = port / 64. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FWD_PORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} fwd_ports SEC(".maps");

/* The one nat_state the controller keeps current (external address). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_state);
} state SEC(".maps");

/* The --external addresses (struct ext_pool_val), empty without one:
 * asked only when the one new connections take does not match. */
HASH_MAP(ext_pool, __be32, struct ext_pool_val, BPFMASQ_MAX_EXT, 0);

/* --internal prefixes; unused when cfg_match_all_sources is set. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct internal_key);
	__type(value, __u8);
} internal_nets SEC(".maps");

/* Packet counters and drop reasons, indexed by enum bpfmasq_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Events for the controller (struct bpfmasq_event and
 * bpfmasq_frag_event).  Its size bounds how many early fragments can be
 * in flight to the controller: a flood of them only fills the ring. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/*
 * The connection event stream (struct conn_event), apart from `events`:
 * a burst of new connections must not fill the ring the ALG segments and
 * held fragments need (a full one costs a rewrite or a fragment), and a
 * burst of ALG segments (1.5 KB each) must not cost connection records,
 * which the mapping log must not miss.  1 MB holds about 18,000 records:
 * what the data plane makes while no controller runs is logged when one
 * comes back, and beyond that the loss is counted (events_lost).
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} conn_events SEC(".maps");

/* DROP records written per CPU in the current second (struct
 * drop_budget): a flood of bad packets must not flood the stream. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_budget);
} drop_budget SEC(".maps");

/* Translations of inbound fragmented datagrams (struct frag_key).  LRU:
 * bogus first fragments can only evict other fragment entries, never
 * flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct frag_key);
	__type(value, struct frag_val);
} frags SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline struct nat_state *state_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&state, &zero);
}

#endif
