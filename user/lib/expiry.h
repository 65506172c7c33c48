/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The expiry queue: every connection the controller knows of, filed under
 * the time it may have gone idle at the earliest, and the kernel program
 * (bpf/expire.bpf.c) that looks at those that are due and retires the
 * idle ones in batches.  Fed by the connection event stream (one NEW
 * record per connection the data plane makes) and by a full walk of the
 * table whenever the stream may have missed some (start, lost records,
 * a new table).  So the controller's expiry work grows with the
 * connections that come and go, not with the size of the table.
 */
#ifndef BPFMASQ_EXPIRY_H
#define BPFMASQ_EXPIRY_H

#include "flowtable.h"
#include "instance.h"

struct expiry;

/* Loads the program over the instance's flows and state maps; NULL (and
 * errno) where the kernel cannot run it: the caller walks instead. */
struct expiry *expiry_open(const struct instance *in);
void expiry_close(struct expiry *q);
/* The instance's maps may have been replaced (a reload resized the
 * table): if so, the program is loaded again over the new ones (1);
 * what is queued stays.  0: the same maps; -errno. */
int expiry_follow(struct expiry *q, const struct instance *in);

/* The timeouts that date a new connection (from the nat_state); true
 * when they differ from the ones it had. */
bool expiry_set_timeouts(struct expiry *q, const struct nat_state *st);

/* Queue a connection (its DIR_OUT key) to be looked at at due_ns. */
void expiry_add(struct expiry *q, const struct flow_key *out_key,
		__u64 due_ns);
/* A connection the data plane just made, seen at now_ns. */
void expiry_add_new(struct expiry *q, const struct flow_key *out_key,
		    __u64 now_ns);
/* Forget everything queued: a full walk is about to queue what lives. */
void expiry_clear(struct expiry *q);
/* Connections queued (each at least once). */
size_t expiry_queued(const struct expiry *q);

/*
 * Look at every connection due by now_ns: retire the idle ones (told to
 * sink as a full walk tells it), queue the others again.  Adds to r.
 * 0, or -errno when the kernel refused the program (the caller should
 * walk from now on).
 */
int expiry_run(struct expiry *q, __u64 now_ns, struct expire_result *r,
	       const struct gone_sink *sink);
/* Milliseconds until something is due (at most max_ms). */
__u64 expiry_wait_ms(const struct expiry *q, __u64 now_ns, __u64 max_ms);

/* Calls fn for every queued connection's DIR_OUT key. */
void expiry_for_each(const struct expiry *q,
		     void (*fn)(void *ctx, const struct flow_key *k), void *ctx);

#endif
