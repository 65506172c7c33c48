/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State sync between the controllers of gateways (--sync-peer, one or
 * more: a full mesh): each sends every peer every connection, mapping
 * and forward its data plane opens or its controller or CLI removes, as
 * the event stream tells them, and a refresh of the last-seen times;
 * each installs what it receives into its own maps, so that when the
 * external address moves to it (VRRP), its data plane translates the
 * peer's connections at once.
 *
 * The wire: one TCP connection per direction; the side that sends
 * connects, the side that receives listens and opens the session with a
 * random challenge.  Every message carries a sequence number (1, 2, ...
 * per session) and an HMAC-SHA256 (libsodium) over the challenge, its
 * header and its records, under a key both gateways read from a file:
 * nothing on the link can inject, replay or reorder state.  The receiver
 * acknowledges what it applied.  A session that breaks, or a peer that
 * falls too far behind, costs no memory: the next session starts with a
 * bulk resync of every entry from the maps, which are the truth.
 */
#ifndef BPFMASQ_SYNC_H
#define BPFMASQ_SYNC_H

#include <poll.h>
#include <stdbool.h>
#include <linux/types.h>
#include "bpfmasq.h"
#include "instance.h"

#define SYNC_DEF_PORT		7439
#define SYNC_KEY_MIN		32	/* bytes in the key file, at least */
/* Gateways a controller syncs with, each its own session both ways
 * (a full mesh: nobody passes one peer's records on to another). */
#define SYNC_MAX_PEERS		8

struct sync_opts {
	__be32 peer[SYNC_MAX_PEERS];	/* the peer controllers' addresses */
	int n_peers;
	__be32 listen;		/* ours (0: any) */
	__u16 port;		/* both listen on it */
	const char *key_file;
};

/* The key file as the sync uses it: 0, or -1 with the reason in err
 * (one line: how to make a good one). */
int sync_key_load(const char *path, __u8 key[32], char *err, size_t size);

struct sync;

/* One peer's line of `status`, as the controller keeps it in a map of
 * its own (SYNC_STATUS_MAP, an array by peer); addr 0: no peer. */
#define SYNC_STATUS_MAP		"sync_peers"
struct sync_peer_status {
	__be32 addr;
	__u16 port;
	__u8 up;		/* our session to it streams */
	__u8 from_up;		/* its session to us is open */
	__u64 records_sent, records_acked, lag, records_applied,
	      records_not_applied, messages_rejected, sessions,
	      sessions_lost, bulk_resyncs, too_slow;
};

/* What the running controller says of each peer, into out: how many,
 * or -1 when it keeps no such map (not running, or of an older build). */
int sync_status_read(__u32 controller_pid, struct sync_peer_status *out,
		     int max);

struct sync *sync_open(const struct instance *in, const struct sync_opts *o);
void sync_close(struct sync *s);

/* The listener, and each peer's inbound and outbound session. */
#define SYNC_MAX_POLLFDS	(1 + 2 * SYNC_MAX_PEERS)
int sync_pollfds(struct sync *s, struct pollfd *p, int max);
void sync_dispatch(struct sync *s, const struct pollfd *p, int n);
/* Connect, refresh, acknowledge: call every loop. */
void sync_tick(struct sync *s);
int sync_timeout_ms(const struct sync *s, int wait_ms);
/* fn hears of each connection (its DIR_OUT key) that a peer's record
 * adds to our table, which the event stream does not tell of. */
void sync_on_flow(struct sync *s,
		  void (*fn)(void *ctx, const struct flow_key *out_key),
		  void *ctx);
/* A record of the event stream: what it says goes to the peer. */
void sync_event(void *sync, const struct conn_event *r);
/* What the ALG makes beyond the stream, for the running sync (if any):
 * the sequence adjustment of a connection's two entries (an FTP control
 * connection whose PORT was rewritten goes on working after failover),
 * an expectation (its data connection may open through the peer). */
void sync_note_seqadj(const struct flow_key *k, const struct flow_key *twin);
void sync_note_expect(const struct bind_key *k);
/* The CLI changed the forwards (`forward add|del`, `reload`): the peer
 * hears of it now, not at its next resync. */
void sync_note_forwards(void);

#endif
