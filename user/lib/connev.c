// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include "connev.h"
#include "util.h"

static const char *const type_names[CE_TYPE_MAX] = {
	[CE_FLOW_NEW] = "new",
	[CE_FLOW_DESTROY] = "destroy",
	[CE_BIND_NEW] = "map",
	[CE_BIND_DESTROY] = "unmap",
	[CE_DROP] = "drop",
	[CE_LOST] = "lost",
};

const char *conn_event_type_name(int type)
{
	return type > 0 && type < CE_TYPE_MAX ? type_names[type] : "?";
}

#define GONE_NAME(sym, name) [sym] = name,
static const char *const gone_names[GONE_MAX] = {
	[GONE_NONE] = "-",
	CONN_GONE_REASONS(GONE_NAME)
};
#undef GONE_NAME

const char *conn_gone_name(int reason)
{
	return reason >= 0 && reason < GONE_MAX ? gone_names[reason] : "?";
}

#define STATE_NAME(sym, name) [sym] = name,
static const char *const state_names[CS_MAX] = { CONN_STATES(STATE_NAME) };
#undef STATE_NAME

const char *conn_state_str(int state)
{
	return state >= 0 && state < CS_MAX ? state_names[state] : "?";
}

void conn_event_of_conn(struct conn_event *r, const struct conn *c, int reason)
{
	memset(r, 0, sizeof(*r));
	r->type = CE_FLOW_DESTROY;
	r->proto = c->out_key.proto;
	r->reason = reason;
	r->state = conn_state_of(c);
	r->in_addr = c->out_key.saddr;
	r->in_port = c->out_key.sport;
	r->out_addr = c->out.nat_addr;
	r->out_port = c->out.nat_port;
	r->rem_addr = c->out_key.daddr;
	r->rem_port = c->out_key.dport;
}

void conn_event_of_bind(struct conn_event *r, const struct bind_key *k,
			const struct bind_val *v, int reason)
{
	memset(r, 0, sizeof(*r));
	r->type = CE_BIND_DESTROY;
	r->proto = k->proto;
	r->reason = reason;
	r->in_addr = k->addr;
	r->in_port = k->port;
	r->out_addr = v->addr;
	r->out_port = v->port;
}

static void record_conn(void *ctx, const struct conn *c, int reason)
{
	struct gone_recorder *g = ctx;
	struct conn_event r;

	conn_event_of_conn(&r, c, reason);
	g->put(g->ctx, &r);
}

static void record_bind(void *ctx, const struct bind_key *k,
			const struct bind_val *v, int reason)
{
	struct gone_recorder *g = ctx;
	struct conn_event r;

	conn_event_of_bind(&r, k, v, reason);
	g->put(g->ctx, &r);
}

void gone_recorder_init(struct gone_recorder *g,
			void (*put)(void *ctx, struct conn_event *r), void *ctx)
{
	g->sink = (struct gone_sink){ .conn = record_conn,
				      .bind = record_bind, .ctx = g };
	g->put = put;
	g->ctx = ctx;
}

int connev_sockaddr(const char *ifname, struct sockaddr_un *sa,
		    socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = 0: the abstract namespace. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     "bpfmasq/%s.events", ifname);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path) - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	*len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	return 0;
}

int connev_connect(const char *ifname, int role)
{
	struct connev_hello h = { .magic = CONNEV_MAGIC, .role = role };
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	if (connev_sockaddr(ifname, &sa, &len))
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, len) ||
	    send(fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int connev_publish(const char *ifname, const struct conn_event *r, size_t n)
{
	int fd, err = 0;

	if (!n)
		return 0;
	fd = connev_connect(ifname, CONNEV_PUBLISH);
	if (fd < 0)
		return -1;
	for (size_t done = 0; done < n && !err;) {
		size_t k = n - done < CONNEV_BATCH ? n - done : CONNEV_BATCH;

		if (send(fd, r + done, k * sizeof(*r), MSG_NOSIGNAL) !=
		    (ssize_t)(k * sizeof(*r)))
			err = errno ? errno : EIO;
		done += k;
	}
	close(fd);
	errno = err;
	return err ? -1 : 0;
}

void fmt_utc_ms(char *buf, size_t len, __u64 time_ns)
{
	/* The date and time of the last second asked for: a mapping log
	 * writes thousands of lines in one second. */
	static time_t last = -1;
	static char s[32];
	time_t t = time_ns / 1000000000ULL;
	unsigned int ms = time_ns / 1000000ULL % 1000;
	struct tm tm;

	if (t != last) {
		gmtime_r(&t, &tm);
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
		last = t;
	}
	if (len < strlen(s) + sizeof(".000Z")) {
		*buf = '\0';
		return;
	}
	memcpy(buf, s, strlen(s));
	buf += strlen(s);
	*buf++ = '.';
	*buf++ = '0' + ms / 100;
	*buf++ = '0' + ms / 10 % 10;
	*buf++ = '0' + ms % 10;
	*buf++ = 'Z';
	*buf = '\0';
}

static const char *proto_str(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_ICMP ? "icmp" : "?";
}

size_t maplog_format(char *buf, size_t len, const char *ifname,
		     const struct conn_event *r)
{
	char t[40], in[24], out[24];
	int n;

	fmt_utc_ms(t, sizeof(t), r->time_ns);
	fmt_endpoint(in, r->in_addr, r->in_port);
	fmt_endpoint(out, r->out_addr, r->out_port);
	if (r->type == CE_BIND_NEW)
		n = snprintf(buf, len, "%s %s MAP %s %s %s", t, ifname,
			     proto_str(r->proto), in, out);
	else if (r->type == CE_BIND_DESTROY)
		n = snprintf(buf, len, "%s %s UNMAP %s %s %s %s", t, ifname,
			     proto_str(r->proto), in, out,
			     conn_gone_name(r->reason));
	else if (r->type == CE_LOST)
		n = snprintf(buf, len, "%s %s LOST %u", t, ifname, r->count);
	else
		return 0;
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
