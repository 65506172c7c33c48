// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "connev.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"
#include "util.h"

/* Monitors (and later readers) at once; more are refused. */
#define STREAM_MAX_CLIENTS	(STREAM_MAX_POLLFDS - 2)
/* Each subscriber's socket queue: a slow one loses records (counted,
 * and seen as a gap in the sequence numbers) rather than stalling the
 * controller.  About 20,000 records. */
#define STREAM_SNDBUF		(4 * 1024 * 1024)
/* Lost records are looked for, and the log's name checked, this often. */
#define STREAM_CHECK_MS		1000

struct stream_client {
	int fd;
	int role;		/* enum connev_role; 0 until its hello */
	/* A subscriber's records not yet sent: one message carries them
	 * all, so that a connection's four records cost its reader one
	 * wake-up, not four (reading the stream costs per message). */
	int nout;
	struct conn_event out[CONNEV_BATCH];
};

struct stream {
	const struct instance *in;
	struct ring_buffer *rb;
	int listen_fd;
	struct stream_client cl[STREAM_MAX_CLIENTS];
	int ncl;
	__u64 seq;		/* the last one stamped */
	__u64 unflushed;	/* published, not yet in events_published */
	__u64 client_drops;	/* not yet in monitor_events_dropped */
	__s64 mono_to_utc;	/* add to CLOCK_MONOTONIC(_COARSE) ns */
	__u64 next_check_ms;
	struct gone_recorder gone;	/* what expiry and flushes remove */
	/* the mapping log */
	const char *log_path;
	bool log_syslog;
	int log_fd;
	dev_t log_dev;
	ino_t log_ino;
	bool log_failing;
	/* Lines not yet written: one write(2) per batch of records, not per
	 * line, when connections open by the ten thousand a second. */
	char lbuf[32768];
	size_t llen;
	struct {
		void (*fn)(void *ctx, const struct conn_event *r);
		void *ctx;
	} tap[STREAM_MAX_TAPS];
};

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void log_open(struct stream *s);

static void log_flush(struct stream *s)
{
	ssize_t n;

	if (!s->llen)
		return;
	if (s->log_fd < 0)
		log_open(s);
	n = s->log_fd >= 0 ? write(s->log_fd, s->lbuf, s->llen) : -1;
	if (n != (ssize_t)s->llen && !s->log_failing) {
		log_err("%s: cannot write the mapping log %s: %s; %zu bytes of it lost",
			s->in->ifname, s->log_path,
			n < 0 ? strerror(errno) : "short write", s->llen);
		s->log_failing = true;
	}
	s->llen = 0;
}

static void log_open(struct stream *s)
{
	struct stat st;

	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			 0640);
	if (s->log_fd < 0) {
		if (!s->log_failing)
			log_err("%s: cannot open the mapping log %s: %s; mappings go unlogged until it can be",
				s->in->ifname, s->log_path, strerror(errno));
		s->log_failing = true;
		return;
	}
	if (s->log_failing)
		log_msg("%s: mapping log %s open again", s->in->ifname,
			s->log_path);
	s->log_failing = false;
	if (!fstat(s->log_fd, &st)) {
		s->log_dev = st.st_dev;
		s->log_ino = st.st_ino;
	}
}

/* logrotate without a signal: the name now leads elsewhere (renamed away,
 * a new file created in its place, or none yet). */
static void log_follow(struct stream *s)
{
	struct stat st;

	if (!s->log_path)
		return;
	if (s->log_fd < 0 || stat(s->log_path, &st) ||
	    st.st_ino != s->log_ino || st.st_dev != s->log_dev) {
		log_flush(s);	/* the rest of it to the old file */
		log_open(s);
	}
}

static void log_write(struct stream *s, const struct conn_event *r)
{
	char line[160];
	size_t n;

	if (!s->log_path && !s->log_syslog)
		return;
	n = maplog_format(line, sizeof(line) - 1, s->in->ifname, r);
	if (!n)
		return;
	if (s->log_syslog) {
		syslog(LOG_INFO, "%s", line);
		return;
	}
	line[n++] = '\n';
	if (s->llen + n > sizeof(s->lbuf))
		log_flush(s);
	memcpy(s->lbuf + s->llen, line, n);
	s->llen += n;
}

static void client_drop(struct stream *s, int i)
{
	close(s->cl[i].fd);
	s->cl[i] = s->cl[--s->ncl];
}

/* Send client i what it has pending; false when it was dropped. */
static bool client_send(struct stream *s, int i)
{
	struct stream_client *c = &s->cl[i];
	size_t len = c->nout * sizeof(c->out[0]);

	if (!c->nout)
		return true;
	c->nout = 0;
	if (send(c->fd, c->out, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		return true;
	if (errno == EAGAIN || errno == ENOBUFS) {
		s->client_drops += len / sizeof(c->out[0]);
		return true;
	}
	client_drop(s, i);
	return false;
}

/* The log and every subscriber get what was published so far. */
static void flush_out(struct stream *s)
{
	log_flush(s);
	for (int i = 0; i < s->ncl; i++)
		if (!client_send(s, i))
			i--;
}

/* Stamp a record, log it, queue it for every subscriber. */
static void publish(struct stream *s, struct conn_event *r)
{
	r->seq = ++s->seq;
	s->unflushed++;
	log_write(s, r);
	for (int i = 0; i < s->ncl; i++) {
		struct stream_client *c = &s->cl[i];

		if (c->role != CONNEV_SUBSCRIBE)
			continue;
		c->out[c->nout++] = *r;
		if (c->nout == CONNEV_BATCH && !client_send(s, i))
			i--;
	}
	for (int i = 0; i < STREAM_MAX_TAPS; i++)
		if (s->tap[i].fn)
			s->tap[i].fn(s->tap[i].ctx, r);
}

int stream_tap(struct stream *s,
	       void (*fn)(void *ctx, const struct conn_event *r), void *ctx)
{
	if (!s)
		return -1;
	for (int i = 0; i < STREAM_MAX_TAPS; i++) {
		if (s->tap[i].fn)
			continue;
		s->tap[i].fn = fn;
		s->tap[i].ctx = ctx;
		return 0;
	}
	return -1;
}

void stream_untap(struct stream *s, void *ctx)
{
	for (int i = 0; s && i < STREAM_MAX_TAPS; i++)
		if (s->tap[i].ctx == ctx)
			s->tap[i].fn = NULL;
}

static int on_ring(void *ctx, void *data, size_t size)
{
	struct stream *s = ctx;
	struct conn_event r;

	if (size != sizeof(r))
		return 0;
	memcpy(&r, data, sizeof(r));
	r.time_ns += s->mono_to_utc;
	/* What `conns` would call a connection just opened. */
	if (r.type == CE_FLOW_NEW)
		r.state = r.proto == IPPROTO_TCP ? CS_SYN_SENT : CS_UNREPLIED;
	publish(s, &r);
	/* The data plane writes one record for a connection and the
	 * binding it made; consumers get the two events. */
	if (r.type == CE_FLOW_NEW && (r.flags & CEF_NEW_BINDING)) {
		r.type = CE_BIND_NEW;
		r.flags = 0;
		r.state = CS_NONE;
		r.rem_addr = 0;
		r.rem_port = 0;
		publish(s, &r);
	}
	return 0;
}

static void drain(struct stream *s)
{
	if (!s->rb)
		return;
	/* bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE. */
	s->mono_to_utc = clock_ns(CLOCK_REALTIME) -
			 clock_ns(CLOCK_MONOTONIC_COARSE);
	ring_buffer__consume(s->rb);
}

/* A record the controller makes itself: stamped now. */
static void publish_now(struct stream *s, struct conn_event *r)
{
	r->time_ns = clock_ns(CLOCK_REALTIME);
	publish(s, r);
}

/* Records the data plane could not write, or the CLI could not hand
 * over, that no LOST record has told of yet. */
static void report_lost(struct stream *s)
{
	__u64 c[CNT_MAX];
	struct conn_event r = { .type = CE_LOST };

	if (stats_read(s->in->stats_fd, c) ||
	    c[CNT_EVENTS_LOST] <= c[CNT_EVENTS_LOST_REPORTED])
		return;
	r.count = c[CNT_EVENTS_LOST] - c[CNT_EVENTS_LOST_REPORTED];
	stats_add(s->in->stats_fd, CNT_EVENTS_LOST_REPORTED, r.count);
	log_msg("%s: %u connection events were lost (ring full, or removed while no controller ran)",
		s->in->ifname, r.count);
	publish_now(s, &r);
}

static void flush_counters(struct stream *s)
{
	if (s->unflushed)
		stats_add(s->in->stats_fd, CNT_EVENTS_PUBLISHED, s->unflushed);
	if (s->client_drops)
		stats_add(s->in->stats_fd, CNT_MONITOR_DROPPED, s->client_drops);
	s->unflushed = s->client_drops = 0;
}

static void publish_gone(void *ctx, struct conn_event *r)
{
	publish_now(ctx, r);
}

const struct gone_sink *stream_sink(struct stream *s)
{
	return s ? &s->gone.sink : NULL;
}

static int listen_open(const struct instance *in)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (connev_sockaddr(in->ifname, &sa, &len))
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 16)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct stream *stream_open(const struct instance *in, const char *log_mappings)
{
	struct stream *s = calloc(1, sizeof(*s));
	__u64 c[CNT_MAX];

	if (!s)
		return NULL;
	s->in = in;
	s->log_fd = -1;
	gone_recorder_init(&s->gone, publish_gone, s);
	if (log_mappings && !strcmp(log_mappings, "syslog")) {
		s->log_syslog = true;
		openlog("bpfmasq", LOG_PID, LOG_DAEMON);
	} else if (log_mappings) {
		s->log_path = log_mappings;
		log_open(s);
	}
	/* The sequence goes on from the last controller's. */
	if (!stats_read(in->stats_fd, c))
		s->seq = c[CNT_EVENTS_PUBLISHED];
	if (in->conn_events_fd >= 0)
		s->rb = ring_buffer__new(in->conn_events_fd, on_ring, s, NULL);
	if (!s->rb)
		log_err("%s: cannot read the connection event ring: %s; monitor and the mapping log see no new connections",
			in->ifname, strerror(errno));
	s->listen_fd = listen_open(in);
	if (s->listen_fd < 0)
		log_err("%s: cannot listen for monitors: %s", in->ifname,
			strerror(errno));
	/* What the data plane made while no controller ran, then what was
	 * lost meanwhile. */
	drain(s);
	report_lost(s);
	flush_counters(s);
	flush_out(s);
	s->next_check_ms = now_coarse_ns() / 1000000 + STREAM_CHECK_MS;
	return s;
}

void stream_close(struct stream *s)
{
	if (!s)
		return;
	drain(s);
	flush_counters(s);
	flush_out(s);
	for (int i = 0; i < s->ncl; i++)
		close(s->cl[i].fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->log_syslog)
		closelog();
	ring_buffer__free(s->rb);
	free(s);
}

int stream_pollfds(const struct stream *s, struct pollfd *p, int max)
{
	int n = 0;

	if (!s || max < 2 + s->ncl)
		return 0;
	p[n++] = (struct pollfd){ .fd = s->rb ? ring_buffer__epoll_fd(s->rb) : -1,
				  .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	for (int i = 0; i < s->ncl; i++)
		p[n++] = (struct pollfd){ .fd = s->cl[i].fd, .events = POLLIN };
	return n;
}

static void accept_clients(struct stream *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, buf = STREAM_SNDBUF;

	while ((fd = accept4(s->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		/* The records name inside hosts: root's, or our own user's. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    (cred.uid != 0 && cred.uid != geteuid()) ||
		    s->ncl == STREAM_MAX_CLIENTS) {
			close(fd);
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		s->cl[s->ncl++] = (struct stream_client){ .fd = fd };
	}
}

/* A publisher's records: what `conns delete` removed. */
static void take_records(struct stream *s, const struct conn_event *r,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct conn_event e = r[i];

		if ((e.type != CE_FLOW_DESTROY && e.type != CE_BIND_DESTROY) ||
		    e.reason >= GONE_MAX)
			continue;
		publish_now(s, &e);
	}
}

/* false when the client is gone or broke the protocol. */
static bool client_read(struct stream *s, struct stream_client *c)
{
	struct conn_event buf[CONNEV_BATCH];
	struct connev_hello h;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		if (!c->role) {
			if (n != sizeof(h))
				return false;
			memcpy(&h, buf, sizeof(h));
			if (h.magic != CONNEV_MAGIC ||
			    (h.role != CONNEV_SUBSCRIBE &&
			     h.role != CONNEV_PUBLISH))
				return false;
			c->role = h.role;
			continue;
		}
		if (c->role != CONNEV_PUBLISH || n % sizeof(buf[0]))
			return false;
		take_records(s, buf, n / sizeof(buf[0]));
	}
}

void stream_dispatch(struct stream *s, const struct pollfd *p, int n)
{
	if (!s || n < 2)
		return;
	if (p[0].revents)
		drain(s);
	/* Clients first: accepting reorders nothing they index. */
	for (int i = n - 1; i >= 2; i--) {
		int c = i - 2;

		if (!p[i].revents || c >= s->ncl || s->cl[c].fd != p[i].fd)
			continue;
		if (!client_read(s, &s->cl[c]))
			client_drop(s, c);
	}
	if (p[1].revents)
		accept_clients(s);
	flush_out(s);
}

void stream_tick(struct stream *s)
{
	__u64 now = now_coarse_ns() / 1000000;

	if (!s)
		return;
	drain(s);
	if (now >= s->next_check_ms) {
		report_lost(s);
		log_follow(s);
		flush_counters(s);
		s->next_check_ms = now + STREAM_CHECK_MS;
	}
	flush_out(s);
}

int stream_timeout_ms(const struct stream *s, int wait_ms)
{
	/* The data plane does not wake us for each record (see
	 * conn_event_submit()): look at the ring every 100 ms. */
	return s && wait_ms > CONN_EVENTS_DRAIN_MS ? CONN_EVENTS_DRAIN_MS :
						     wait_ms;
}

void stream_all_gone(struct stream *s, int flows_fd, int binds_fd)
{
	struct bind_key *bk = NULL;
	struct bind_val *bv = NULL;
	struct conn *c = NULL;
	size_t n = 0, nb = 0;

	if (!s)
		return;
	drain(s);
	if (!conns_list(flows_fd, &c, &n))
		for (size_t i = 0; i < n; i++)
			s->gone.sink.conn(s->gone.sink.ctx, &c[i], GONE_DOWN);
	if (!bindings_dump(binds_fd, &bk, &bv, &nb))
		for (size_t i = 0; i < nb; i++)
			/* Mappings only: forwards and expectations are
			 * configuration, never logged as mapped. */
			if (bk[i].dir == DIR_OUT &&
			    !(bv[i].flags & (BIND_STATIC | BIND_EXPECT)))
				s->gone.sink.bind(s->gone.sink.ctx, &bk[i], &bv[i],
						  GONE_DOWN);
	free(c);
	free(bk);
	free(bv);
}

void stream_reopen(struct stream *s)
{
	if (s && s->log_path) {
		log_flush(s);
		log_open(s);
		log_msg("%s: mapping log %s reopened", s->in->ifname,
			s->log_path);
	}
}
