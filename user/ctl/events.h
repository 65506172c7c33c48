/* SPDX-License-Identifier: GPL-2.0 */
/* Events from the data plane (the `events` ring) and the controller's
 * answers to them. */
#ifndef BPFMASQ_EVENTS_H
#define BPFMASQ_EVENTS_H

#include "instance.h"

struct events;

/* NULL with errno set when the ring cannot be read. */
struct events *events_open(const struct instance *in);
int events_fd(const struct events *ev);	/* for poll() */
void events_consume(struct events *ev);
/* poll() timeout to use: shorter while fragments are held. */
int events_timeout_ms(const struct events *ev, int idle_ms);
/* Time-driven work: drop fragments held too long. */
void events_tick(struct events *ev);
void events_close(struct events *ev);

/* The ICMP destination unreachable "administratively prohibited" message
 * (RFC 5508 REQ-8) quoting an IP header + 8 bytes; returns its length. */
size_t icmp_prohibited_build(const __u8 *quote, size_t quote_len, __u8 *buf,
			     size_t buflen);

#endif
