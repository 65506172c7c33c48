// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq monitor [IFNAME] [-e EVENTS] [FILTERS]`: the connection event
 * stream, one line per event, as `conntrack -E -o timestamp` prints it
 * (-j: one JSON object a line).  It subscribes to the controller's socket
 * (user/lib/connev.h); any number may run at once.  A gap in the sequence
 * numbers (this monitor read too slowly) and the controller's LOST
 * records are printed as [LOST] lines, so nothing goes missing unsaid.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "commands.h"
#include "connev.h"
#include "conns.h"
#include "instance.h"
#include "metrics.h"
#include "util.h"

#define MONITOR_MAX_IFS		16
#define EVENTS_FORM		"new, destroy, drop, map, unmap (comma-separated)"

struct watched {
	char ifname[IF_NAMESIZE];
	int fd;			/* -1 while its controller is away */
	__u64 last_seq;		/* 0: none seen since (re)connecting */
};

static volatile sig_atomic_t monitor_stop;

static void on_stop(int sig)
{
	monitor_stop = 1;
}

static const char *proto_str(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" :
	       proto == IPPROTO_ICMP ? "icmp" : "?";
}

/* CE_LOST is no event one asks for: it says that others were lost. */
static const char *event_name(int t)
{
	return t == CE_LOST ? NULL : conn_event_type_name(t);
}

static int parse_events(const char *s, __u32 *mask)
{
	if (!parse_name_list(s, event_name, 1, CE_TYPE_MAX, mask))
		return 0;
	p_err("bad -e '%s': expected one or more of " EVENTS_FORM, s);
	return -1;
}

static void print_lost(const struct watched *w, bool many, __u64 when_ns,
		       __u64 count, const char *why)
{
	char t[40];

	if (json_output) {
		fmt_utc_ms(t, sizeof(t), when_ns);
		printf("{\"ifname\":\"%s\",\"time\":\"%s\",\"event\":\"lost\",\"count\":%llu,\"why\":\"%s\"}\n",
		       w->ifname, t, (unsigned long long)count, why);
	} else {
		printf("[%llu.%06llu] %s%s%9s %llu events (%s)\n",
		       (unsigned long long)(when_ns / 1000000000ULL),
		       (unsigned long long)(when_ns / 1000 % 1000000),
		       many ? w->ifname : "", many ? ": " : "", "[LOST]",
		       (unsigned long long)count, why);
	}
}

static void print_event(const struct watched *w, bool many,
			const struct conn_event *r)
{
	char in[24], out[24], rem[24], t[40], tag[16];
	const char *type = conn_event_type_name(r->type);
	const char *why = r->type == CE_DROP ? counter_name(r->reason) :
			  conn_gone_name(r->reason);
	/* A drop's reason as `bpfmasq stats` names it, less its drop_. */
	const char *reason = r->type == CE_DROP && !strncmp(why, "drop_", 5) ?
			     why + 5 : why;
	bool is_flow = r->type == CE_FLOW_NEW || r->type == CE_FLOW_DESTROY;
	/* The fields an event of this type has, in the order both forms
	 * print them: JSON as "key":"value", text as before, value padded
	 * to width, after. */
	const struct {
		bool has;
		const char *key, *before, *after;
		int width;
		const char *value;
	} fields[] = {
		{ is_flow, "state", " ", "", 11, conn_state_str(r->state) },
		{ r->in_addr || r->type != CE_DROP, "inside", " inside ", "", 0, in },
		{ r->out_addr || r->type != CE_DROP, "outside", " outside ", "", 0, out },
		{ is_flow || (r->type == CE_DROP && r->rem_addr), "remote",
		  " remote ", "", 0, rem },
		{ r->type == CE_FLOW_DESTROY || r->type == CE_BIND_DESTROY ||
		  r->type == CE_DROP, "reason", " (", ")", 0, reason },
	};

	fmt_endpoint(in, r->in_addr, r->in_port);
	fmt_endpoint(out, r->out_addr, r->out_port);
	fmt_endpoint(rem, r->rem_addr, r->rem_port);
	if (json_output) {
		fmt_utc_ms(t, sizeof(t), r->time_ns);
		printf("{\"ifname\":\"%s\",\"seq\":%llu,\"time\":\"%s\",\"event\":\"%s\",\"proto\":\"%s\"",
		       w->ifname, (unsigned long long)r->seq, t, type,
		       proto_str(r->proto));
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (fields[i].has)
				printf(",\"%s\":\"%s\"", fields[i].key,
				       fields[i].value);
		if (r->type == CE_FLOW_NEW)
			printf(",\"opened\":\"%s\"",
			       r->flags & CEF_INBOUND ? "in" : "out");
		printf("}\n");
		return;
	}
	snprintf(tag, sizeof(tag), "[%s]", type);
	for (char *c = tag; *c; c++)
		*c = *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c;
	printf("[%llu.%06llu] %s%s%9s %-4s",
	       (unsigned long long)(r->time_ns / 1000000000ULL),
	       (unsigned long long)(r->time_ns / 1000 % 1000000),
	       many ? w->ifname : "", many ? ": " : "", tag,
	       proto_str(r->proto));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].has)
			printf("%s%-*s%s", fields[i].before, fields[i].width,
			       fields[i].value, fields[i].after);
	putchar('\n');
}

static bool watch_connect(struct watched *w)
{
	w->fd = connev_connect(w->ifname, CONNEV_SUBSCRIBE);
	w->last_seq = 0;
	return w->fd >= 0;
}

/* One record from a controller. */
static void watch_record(struct watched *w, bool many, __u32 mask,
			 const struct conn_filter *f, const struct conn_event *r)
{
	/* Sequence numbers go on across controllers, but one killed may
	 * have counted fewer than it sent: only a jump forward is a gap. */
	if (w->last_seq && r->seq > w->last_seq + 1)
		print_lost(w, many, r->time_ns, r->seq - w->last_seq - 1,
			   "this monitor read too slowly");
	if (r->seq > w->last_seq || !w->last_seq)
		w->last_seq = r->seq;
	if (r->type == CE_LOST)
		print_lost(w, many, r->time_ns, r->count,
			   "ring full, or removed while no controller ran");
	else if ((mask & 1U << r->type) && conns_filter_match_event(f, r))
		print_event(w, many, r);
}

/* One message from a controller; false when it went away. */
static bool watch_read(struct watched *w, bool many, __u32 mask,
		       const struct conn_filter *f)
{
	struct conn_event r[CONNEV_BATCH];
	ssize_t n = recv(w->fd, r, sizeof(r), 0);

	if (n <= 0 || n % sizeof(r[0]))
		return n < 0 && errno == EINTR;
	for (size_t i = 0; i < n / sizeof(r[0]); i++)
		watch_record(w, many, mask, f, &r[i]);
	/* A message's lines leave together, as they came. */
	fflush(stdout);
	return true;
}

static int monitor_run(struct watched *ws, int n, __u32 mask,
		       const struct conn_filter *f)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct pollfd p[MONITOR_MAX_IFS];
	bool many = n > 1;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOFBF, 0);
	while (!monitor_stop) {
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = ws[i].fd, .events = POLLIN };
		/* Once a second, look for a controller that went away. */
		if (poll(p, n, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && !monitor_stop; i++) {
			struct watched *w = &ws[i];

			if (w->fd < 0) {
				if (watch_connect(w))
					fprintf(stderr, "%s: controller back; monitoring again\n",
						w->ifname);
				continue;
			}
			if (p[i].revents && !watch_read(w, many, mask, f)) {
				close(w->fd);
				w->fd = -1;
				fprintf(stderr, "%s: the controller stopped; waiting for it to come back ('bpfmasq up %s' adopts the running data plane)\n",
					w->ifname, w->ifname);
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (ws[i].fd >= 0)
			close(ws[i].fd);
	return 0;
}

static int no_controller(const char *ifname)
{
	bool xdp;
	int ifindex = if_nametoindex(ifname);

	if (!ifindex || !instance_anchor_id(ifindex, &xdp))
		p_err("%s is not up (start it with 'bpfmasq up %s')", ifname,
		      ifname);
	else
		p_err("no controller runs on %s (events come through it): start one with 'bpfmasq up %s', which adopts the running data plane",
		      ifname, ifname);
	return 1;
}

int cmd_monitor(int argc, char **argv)
{
	__u32 mask = 1U << CE_FLOW_NEW | 1U << CE_FLOW_DESTROY | 1U << CE_DROP;
	struct watched ws[MONITOR_MAX_IFS];
	struct conn_filter f = {};
	const char *ifname = NULL;
	char **rest;
	int nrest = 0, n = 0;

	if (geteuid()) {
		p_err("must be run as root (the events name inside hosts)");
		return 1;
	}
	rest = calloc(argc + 1, sizeof(*rest));
	if (!rest)
		return 1;
	/* -e is monitor's own; the rest are conns' filters. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strcmp(a, "-e") || !strcmp(a, "--events")) {
			if (i + 1 == argc) {
				p_err("-e needs a value: " EVENTS_FORM);
				free(rest);
				return 1;
			}
			v = argv[++i];
		} else if (!strncmp(a, "--events=", 9)) {
			v = a + 9;
		}
		if (v && parse_events(v, &mask)) {
			free(rest);
			return 1;
		}
		if (!v)
			rest[nrest++] = argv[i];
	}
	if (conns_filter_parse(nrest, rest, &ifname, &f)) {
		free(rest);
		return 1;
	}
	free(rest);
	if (ifname) {
		snprintf(ws[0].ifname, sizeof(ws[0].ifname), "%s", ifname);
		if (!watch_connect(&ws[0]))
			return no_controller(ifname);
		n = 1;
	} else {
		struct if_nameindex *ifs = if_nameindex(), *it;
		bool xdp;

		for (it = ifs; it && it->if_index && n < MONITOR_MAX_IFS; it++) {
			if (!instance_anchor_id(it->if_index, &xdp))
				continue;
			snprintf(ws[n].ifname, sizeof(ws[n].ifname), "%s",
				 it->if_name);
			if (!watch_connect(&ws[n])) {
				if_freenameindex(ifs);
				for (int i = 0; i < n; i++)
					close(ws[i].fd);
				return no_controller(ws[n].ifname);
			}
			n++;
		}
		if (ifs)
			if_freenameindex(ifs);
		if (!n) {
			p_err("no interface is up; start one with 'bpfmasq up IFNAME'");
			return 1;
		}
	}
	return monitor_run(ws, n, mask, &f);
}
