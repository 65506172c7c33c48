// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "alg.h"
#include "fraghold.h"
#include "log.h"
#include "util.h"

/* At most this many ICMP answers a second, like the kernel's own
 * icmp_ratelimit; a flood of exhausted senders must not become a flood. */
#define ICMP_PER_SEC	20

struct events {
	struct ring_buffer *rb;
	int raw_fd;		/* ICMP raw socket for answers */
	__u64 window_start;	/* second of the current rate window */
	unsigned int sent;	/* answers in it */
	unsigned int suppressed;
	struct fraghold *held;	/* fragments before their first fragment */
	struct alg_ctl *alg;	/* FTP and IRC control segments */
	unsigned int frag_dropped;	/* held too long, or no room */
	char ifname[IF_NAMESIZE];
};

size_t icmp_prohibited_build(const __u8 *quote, size_t quote_len, __u8 *buf,
			     size_t buflen)
{
	__be16 check;

	if (quote_len + 8 > buflen)
		return 0;
	memset(buf, 0, 8);
	buf[0] = 3;	/* destination unreachable */
	buf[1] = 13;	/* communication administratively prohibited */
	memcpy(buf + 8, quote, quote_len);
	check = csum_finish(csum_add(0, buf, quote_len + 8));
	memcpy(buf + 2, &check, 2);
	return quote_len + 8;
}

static bool rate_allow(struct events *ev)
{
	__u64 sec = now_coarse_ns() / 1000000000ULL;

	if (sec != ev->window_start) {
		if (ev->suppressed)
			log_msg("%s: %u more exhaustion answers suppressed",
				ev->ifname, ev->suppressed);
		ev->window_start = sec;
		ev->sent = 0;
		ev->suppressed = 0;
	}
	if (ev->sent >= ICMP_PER_SEC) {
		ev->suppressed++;
		return false;
	}
	ev->sent++;
	return true;
}

static void answer_exhausted(struct events *ev, const struct bpfmasq_event *e)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	__u8 msg[8 + EV_QUOTE_MAX];
	size_t len;

	if (e->quote_len < 28 || e->quote_len > EV_QUOTE_MAX ||
	    !rate_allow(ev))
		return;
	memcpy(&to.sin_addr, e->quote + 12, 4);	/* the sender inside */
	len = icmp_prohibited_build(e->quote, e->quote_len, msg, sizeof(msg));
	if (ev->raw_fd >= 0 && len &&
	    sendto(ev->raw_fd, msg, len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		log_err("%s: cannot send ICMP to %s: %s", ev->ifname,
			inet_ntop(AF_INET, &to.sin_addr, src, sizeof(src)),
			strerror(errno));
	if (ev->sent == 1)
		log_msg("%s: no external port left for %s -> %s (proto %u); answered with ICMP admin-prohibited",
			ev->ifname,
			inet_ntop(AF_INET, e->quote + 12, src, sizeof(src)),
			inet_ntop(AF_INET, e->quote + 16, dst, sizeof(dst)),
			e->quote[9]);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct events *ev = ctx;
	__u32 type;

	if (size < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type == EV_PORTS_EXHAUSTED && size >= sizeof(struct bpfmasq_event)) {
		answer_exhausted(ev, data);
	} else if (type == EV_FRAG_HOLD &&
		   size >= sizeof(struct bpfmasq_frag_hold)) {
		if (!ev->held || !fraghold_add(ev->held, data, now_coarse_ns()))
			ev->frag_dropped++;
	} else if (type == EV_ALG_SEGMENT &&
		   size >= sizeof(struct bpfmasq_alg_event)) {
		if (ev->alg)
			alg_ctl_segment(ev->alg, data);
	} else if (type == EV_FRAG_RESOLVED &&
		   size >= sizeof(struct bpfmasq_frag_event)) {
		if (ev->held)
			fraghold_release(ev->held, data);
	}
	return 0;
}

int events_timeout_ms(const struct events *ev, int idle_ms)
{
	/* Held fragments are checked often; they may wait 1 s at most. */
	return ev && ev->held && !fraghold_empty(ev->held) ? 100 : idle_ms;
}

void events_tick(struct events *ev)
{
	unsigned int n;

	if (!ev || !ev->held)
		return;
	n = fraghold_expire(ev->held, now_coarse_ns()) + ev->frag_dropped;
	ev->frag_dropped = 0;
	if (n)
		p_debug("%s: dropped %u early fragments whose first fragment never came",
			ev->ifname, n);
}

struct events *events_open(const struct instance *in)
{
	struct events *ev;

	if (in->events_fd < 0) {
		errno = ENOENT;
		return NULL;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	snprintf(ev->ifname, sizeof(ev->ifname), "%s", in->ifname);
	ev->rb = ring_buffer__new(in->events_fd, on_event, ev, NULL);
	if (!ev->rb) {
		free(ev);
		return NULL;
	}
	ev->alg = alg_ctl_new(in);
	if (!ev->alg)
		log_msg("%s: no raw IP socket for the ALGs (%s): FTP and IRC control segments are dropped",
			in->ifname, strerror(errno));
	ev->held = fraghold_new();
	if (!ev->held)
		log_msg("%s: no raw IP socket (%s): fragments that come before their first fragment are dropped",
			in->ifname, strerror(errno));
	ev->raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (ev->raw_fd < 0)
		log_msg("%s: no ICMP raw socket (%s): port exhaustion will be dropped without an answer",
			in->ifname, strerror(errno));
	return ev;
}

int events_fd(const struct events *ev)
{
	return ring_buffer__epoll_fd(ev->rb);
}

void events_consume(struct events *ev)
{
	ring_buffer__consume(ev->rb);
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	fraghold_free(ev->held);
	alg_ctl_free(ev->alg);
	if (ev->raw_fd >= 0)
		close(ev->raw_fd);
	free(ev);
}
