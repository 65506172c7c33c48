/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller as the hub of the connection event stream: it drains
 * the data plane's conn_events ring, adds the DESTROY and UNMAP records of
 * what it and the CLI remove, stamps each record with the next sequence
 * number and UTC time, writes the mapping log (--log-mappings) and sends
 * every record to each subscriber of its socket (see user/lib/connev.h).
 */
#ifndef BPFMASQ_STREAM_H
#define BPFMASQ_STREAM_H

#include <poll.h>
#include "flowtable.h"
#include "instance.h"

struct stream;

/* log_mappings: a file, "syslog", or NULL.  NULL (logged) when the
 * stream cannot be served at all. */
struct stream *stream_open(const struct instance *in, const char *log_mappings);
void stream_close(struct stream *s);

/* Its ring, its socket and at most 32 clients. */
#define STREAM_MAX_POLLFDS	34

/* The fds to wait on (at most max): its ring, its socket, its clients. */
int stream_pollfds(const struct stream *s, struct pollfd *p, int max);
/* After poll(): serve what p (as stream_pollfds() filled it) says. */
void stream_dispatch(struct stream *s, const struct pollfd *p, int n);
/* Drain the ring, report lost records, follow a renamed log. */
void stream_tick(struct stream *s);
/* How long the controller may sleep: the ring is drained every
 * CONN_EVENTS_DRAIN_MS, lost records and the log's name looked at every
 * second. */
int stream_timeout_ms(const struct stream *s, int wait_ms);
/* `bpfmasq down` is removing the instance: every connection and mapping
 * goes with it (DESTROY and UNMAP, reason down). */
void stream_all_gone(struct stream *s, int flows_fd, int binds_fd);
/* SIGHUP: open the mapping log again (logrotate). */
void stream_reopen(struct stream *s);
/* Every record published also goes to fn (state sync, the expiry
 * queue), after the log and the subscribers; -1 when all taps are taken
 * or there is no stream. */
#define STREAM_MAX_TAPS	2
int stream_tap(struct stream *s,
	       void (*fn)(void *ctx, const struct conn_event *r), void *ctx);
/* The taps of ctx get nothing more. */
void stream_untap(struct stream *s, void *ctx);
/* How expiry and flushes tell the stream what they removed. */
const struct gone_sink *stream_sink(struct stream *s);

#endif
