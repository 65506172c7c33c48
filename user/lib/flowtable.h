/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's view of the flow and binding maps: pairing the two
 * directions of a connection, naming its state, expiring idle ones and
 * flushing those of a vanished external address.
 */
#ifndef BPFMASQ_FLOWTABLE_H
#define BPFMASQ_FLOWTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "bpfmasq.h"
#include "conn_expiry.h"

/* Bindings younger than this are never freed: a CPU may be between
 * creating a binding and creating the flow that uses it. */
#define BIND_GRACE_NS (10ULL * 1000000000ULL)

/* A connection: its outbound entry and the inbound twin. */
struct conn {
	struct flow_key out_key;
	struct flow_val out;
	struct flow_key in_key;
	struct flow_val in;
};

struct flow_dump {
	struct flow_key *keys;
	struct flow_val *vals;
	size_t n;
};

/*
 * Told of each connection and binding the functions below remove, with
 * the reason (enum conn_gone_reason): how their removals reach the
 * connection event stream.  NULL: nobody listens.
 */
struct gone_sink {
	void (*conn)(void *ctx, const struct conn *c, int reason);
	/* k: the DIR_OUT key (inside endpoint), v: its external endpoint */
	void (*bind)(void *ctx, const struct bind_key *k,
		     const struct bind_val *v, int reason);
	void *ctx;
};

/* enum conn_state of a connection, as conn_state_name() names it. */
int conn_state_of(const struct conn *c);

struct expire_result {
	unsigned int conns_expired;
	unsigned int half_pairs;	/* entries whose twin was missing */
	unsigned int bindings_freed;
	unsigned int expectations_expired;	/* ALG, unused for 300 s */
	unsigned int checked;	/* connections the expiry queue looked at */
};

/* Why an idle connection goes (enum conn_gone_reason): after a FIN or RST
 * it was closed, else it timed out. */
int conn_idle_reason(const struct conn *c);

/* Every entry of the flows map; free with flow_dump_free(). */
int flow_dump(int flows_fd, struct flow_dump *d);
void flow_dump_free(struct flow_dump *d);

/* Connections (pairs) in the flows map; free() the array. */
int conns_list(int flows_fd, struct conn **out, size_t *n);

const char *conn_state_name(const struct conn *c);
__u32 conn_timeout_s(const struct conn *c, const struct nat_state *st);
__u64 conn_last_seen(const struct conn *c);

/*
 * Idle flows are looked for every quarter of the shortest timeout, within
 * these bounds: a flow outlives its timeout by at most that (timeouts are
 * minimums: RFC 4787 REQ-5, RFC 5382 REQ-5), and a large table with the
 * default timeouts is not walked every 2 s for nothing.
 */
#define EXPIRE_INTERVAL_MIN_MS 2000
#define EXPIRE_INTERVAL_MAX_MS 30000

/* Bindings are walked at most this often: none may go before BIND_GRACE_NS
 * anyway, and walking them is as dear as walking the flows. */
#define BIND_GC_INTERVAL_MS 6000

/* Milliseconds between two expiry walks with these timeouts. */
__u32 expire_interval_ms(const struct nat_state *st);

struct expiry;

/* Delete connections idle past their timeout and entries without a twin;
 * with free_bindings, also bindings no connection uses any more.  With
 * requeue, the expiry queue is filled anew with every connection left. */
int flows_expire(int flows_fd, int binds_fd, const struct nat_state *st,
		 __u64 now_ns, bool free_bindings, struct expire_result *r,
		 const struct gone_sink *sink, struct expiry *requeue);

/* Free the bindings no connection in the expiry queue uses (which holds
 * every connection while the stream has missed none). */
int bindings_expire(int binds_fd, const struct expiry *q, __u64 now_ns,
		    struct expire_result *r, const struct gone_sink *sink);

/*
 * A binding that opened a flow this recently is left to the controller's
 * next walk when `conns delete` frees bindings: its flow may still be on
 * its way into the map (microseconds; the coarse clock ticks in ms).
 */
#define BIND_DELETE_GRACE_NS (1ULL * 1000000000ULL)

struct delete_result {
	unsigned int conns_deleted;
	unsigned int expectations_deleted;
	unsigned int bindings_freed;
};

/*
 * Delete connections c (both directions) and ALG expectations (DIR_IN keys
 * of BIND_EXPECT bindings), then free the bindings of the deleted
 * connections' inside endpoints that no other flow uses, as expiry does
 * (forwards never).  What the data plane removed meanwhile is not counted.
 */
int conns_delete(int flows_fd, int binds_fd, const struct conn *c, size_t n,
		 const struct bind_key *expect, size_t nexp,
		 struct delete_result *r, const struct gone_sink *sink);

/* Delete every connection and binding on external address ext (0: all). */
int flows_flush(int flows_fd, int binds_fd, __be32 ext, unsigned int *flushed,
		const struct gone_sink *sink);

/* Drop the entries of a map keyed like `flows` (sequence adjustments, ALG
 * ordering) whose flow is gone. */
int flow_keyed_gc(int map_fd, size_t value_size, int flows_fd);

/* Move port forwards (static bindings) to external address ext, but for
 * those on an address of keep[0..n_keep). */
struct ext_spec;
int bindings_move_static(int binds_fd, __be32 ext, const struct ext_spec *keep,
			 int n_keep);

/* Every binding; free() both arrays. */
int bindings_dump(int binds_fd, struct bind_key **keys, struct bind_val **vals,
		  size_t *n);

#endif
