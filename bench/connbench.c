// SPDX-License-Identifier: GPL-2.0
/*
 * connbench: new TCP connections per second through a gateway.
 *
 *   connbench server --addr IP --port N [--nports N] [--expect-src IP]
 *                    [--cpu N]
 *       listens on ports N .. N+nports-1; accept() and close() every
 *       connection (the server sends FIN), until SIGTERM/SIGINT; then
 *       prints "accepted=N bad_src=N".  With
 *       --expect-src, a connection whose peer address differs (an
 *       untranslated or wrongly translated one) is counted bad_src and is
 *       reset instead of closed, so the client does not count it either.
 *
 *   connbench client --src IP --nsrc N --sports LO-HI --dst IP --port N
 *                    [--nports N] --seconds S [--conc N] [--cpu N]
 *                    [--drain-ms N]
 *       keeps --conc non-blocking connects in flight.  Connection number c
 *       binds (SO_REUSEADDR) source address --src + c % nsrc and an explicit
 *       source port: each address owns a disjoint slice of LO-HI and walks
 *       it, so no two inside endpoints share a port (a NAT can keep every
 *       port, nothing collides).  When all endpoints have been used once,
 *       the destination port moves on (N .. N+nports-1), so a 5-tuple comes
 *       back only after (HI-LO+1) * nports connections: every connection of
 *       a run is a new flow for the gateway.  A connection
 *       counts as done when the handshake completed and the server's FIN
 *       arrived (the server accepted and closed it); the client then closes
 *       with SO_LINGER 0, i.e. a RST, so no side keeps TIME_WAIT and source
 *       ports are free again at once.  Connections are opened for S
 *       seconds; those in flight then get --drain-ms (2000) to finish.
 *       Prints "ok=N fail=N stuck=N busy=N elapsed_ns=N" (stuck: still in
 *       flight after the drain; busy: endpoints skipped because still in
 *       use; elapsed: start to the last completed connection).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: connbench server --addr IP --port N [--nports N]\n"
		"                        [--expect-src IP] [--cpu N]\n"
		"       connbench client --src IP [--nsrc N] [--sports LO-HI] --dst IP\n"
		"                        --port N [--nports N] --seconds S [--conc N]\n"
		"                        [--cpu N] [--drain-ms N]\n");
	exit(2);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static struct in_addr parse_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "connbench: bad address '%s'\n", s);
		exit(2);
	}
	return a;
}

static int server(struct in_addr addr, int port, int nports,
		  struct in_addr expect, int check)
{
	struct sigaction act = { .sa_handler = on_signal };	/* no SA_RESTART */
	uint64_t accepted = 0, bad = 0;
	struct epoll_event evs[64];
	int one = 1, ep;

	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (int i = 0; i < nports; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr = addr,
					  .sin_port = htons(port + i) };
		struct epoll_event ev = { .events = EPOLLIN };
		int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);

		if (ls < 0)
			die("socket");
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)))
			die("bind");
		if (listen(ls, 65535))
			die("listen");
		ev.data.fd = ls;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev))
			die("epoll_ctl");
	}
	printf("listening\n");
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int k = 0; k < n; k++) {
			for (;;) {
				struct sockaddr_in peer;
				socklen_t len = sizeof(peer);
				int fd = accept4(evs[k].data.fd,
						 (struct sockaddr *)&peer, &len,
						 SOCK_CLOEXEC);

				if (fd < 0) {
					if (errno == EAGAIN ||
					    errno == ECONNABORTED ||
					    errno == EINTR)
						break;
					die("accept");
				}
				if (check &&
				    peer.sin_addr.s_addr != expect.s_addr) {
					struct linger l = { 1, 0 };

					/* wrong source: RST, the client
					 * counts it failed */
					setsockopt(fd, SOL_SOCKET, SO_LINGER,
						   &l, sizeof(l));
					bad++;
				} else {
					accepted++;
				}
				close(fd);	/* FIN */
			}
		}
	}
	printf("accepted=%llu bad_src=%llu\n", (unsigned long long)accepted,
	       (unsigned long long)bad);
	return 0;
}

struct slot {
	int fd;
};

struct client_cfg {
	struct in_addr src, dst;
	int nsrc, sport_lo, sport_hi, port, nports, conc, drain_ms;
	double seconds;
};

/* Connection number c: its inside endpoint and destination port. */
static void endpoint_of(const struct client_cfg *c, uint64_t n,
			struct sockaddr_in *src, struct sockaddr_in *dst)
{
	uint64_t span = c->sport_hi - c->sport_lo + 1;
	uint64_t slice = span / c->nsrc;
	uint64_t a = n % c->nsrc, k = n / c->nsrc;

	*src = (struct sockaddr_in){ .sin_family = AF_INET };
	src->sin_addr.s_addr = htonl(ntohl(c->src.s_addr) + a);
	src->sin_port = htons(c->sport_lo + a * slice + k % slice);
	*dst = (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_addr = c->dst };
	dst->sin_port = htons(c->port + (k / slice) % c->nports);
}

static int open_conn(int ep, struct slot *s, uint32_t idx,
		     const struct sockaddr_in *src,
		     const struct sockaddr_in *dst)
{
	struct linger l = { 1, 0 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.u32 = idx };
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src))) {
		close(fd);
		return -errno;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
	    errno != EINPROGRESS) {
		close(fd);
		return -errno;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");
	s->fd = fd;
	return 0;
}

static int client(const struct client_cfg *c)
{
	struct epoll_event evs[256];
	uint64_t ok = 0, fail = 0, stuck = 0, busy = 0, n = 0;
	uint64_t t0, deadline, drain_end, last;
	struct slot *slots;
	int ep, i, inflight = 0;

	slots = calloc(c->conc, sizeof(*slots));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || ep < 0)
		die("setup");
	t0 = now_ns();
	last = t0;
	deadline = t0 + (uint64_t)(c->seconds * 1e9);
	drain_end = deadline + (uint64_t)c->drain_ms * 1000000ull;

	/* (Re)open slot i while before the deadline.  An endpoint still in
	 * use (EADDRINUSE/EADDRNOTAVAIL: a slow connection of the previous
	 * round) is skipped and counted. */
#define REFILL(i)							\
	do {								\
		slots[i].fd = -1;					\
		while (now_ns() < deadline) {				\
			struct sockaddr_in s_, d_;			\
			int e_;						\
									\
			endpoint_of(c, n++, &s_, &d_);			\
			e_ = open_conn(ep, &slots[i], i, &s_, &d_);	\
			if (!e_) {					\
				inflight++;				\
				break;					\
			}						\
			if (e_ != -EADDRINUSE && e_ != -EADDRNOTAVAIL) {\
				errno = -e_;				\
				die("bind/connect");			\
			}						\
			busy++;						\
		}							\
	} while (0)

	for (i = 0; i < c->conc; i++)
		REFILL(i);
	while (inflight > 0) {
		int k, m;

		if (now_ns() >= drain_end)
			break;
		m = epoll_wait(ep, evs, 256, 100);
		if (m < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (k = 0; k < m; k++) {
			uint32_t idx = evs[k].data.u32;
			struct slot *s = &slots[idx];
			int err = 0;
			socklen_t len = sizeof(err);
			char ch;

			if (s->fd < 0)
				continue;
			if (evs[k].events & (EPOLLERR | EPOLLHUP)) {
				getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err,
					   &len);
				if (!err)
					err = ECONNRESET;
			}
			/* done = established, then the server's FIN (EOF) */
			if (!err && read(s->fd, &ch, 1) == 0) {
				ok++;
				last = now_ns();
			} else {
				fail++;
			}
			close(s->fd);	/* SO_LINGER 0: RST, no TIME_WAIT */
			inflight--;
			REFILL(idx);
		}
	}
	for (i = 0; i < c->conc; i++)
		if (slots[i].fd >= 0) {
			close(slots[i].fd);
			stuck++;
		}
	printf("ok=%llu fail=%llu stuck=%llu busy=%llu elapsed_ns=%llu\n",
	       (unsigned long long)ok, (unsigned long long)fail,
	       (unsigned long long)stuck, (unsigned long long)busy,
	       (unsigned long long)(last - t0));
	return 0;
}

int main(int argc, char **argv)
{
	struct in_addr addr = {0}, expect = {0}, src = {0}, dst = {0};
	int port = 0, nports = 1, cpu = -1, nsrc = 1, conc = 256;
	int drain_ms = 2000, sport_lo = 1024, sport_hi = 65535;
	int check = 0, have_addr = 0, have_src = 0, have_dst = 0;
	double seconds = 5;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(o, "--addr"))
			addr = parse_ip(v), have_addr = 1;
		else if (!strcmp(o, "--expect-src"))
			expect = parse_ip(v), check = 1;
		else if (!strcmp(o, "--src"))
			src = parse_ip(v), have_src = 1;
		else if (!strcmp(o, "--dst"))
			dst = parse_ip(v), have_dst = 1;
		else if (!strcmp(o, "--port"))
			port = atoi(v);
		else if (!strcmp(o, "--nports"))
			nports = atoi(v);
		else if (!strcmp(o, "--sports")) {
			if (sscanf(v, "%d-%d", &sport_lo, &sport_hi) != 2)
				usage();
		}
		else if (!strcmp(o, "--cpu"))
			cpu = atoi(v);
		else if (!strcmp(o, "--nsrc"))
			nsrc = atoi(v);
		else if (!strcmp(o, "--conc"))
			conc = atoi(v);
		else if (!strcmp(o, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(o, "--drain-ms"))
			drain_ms = atoi(v);
		else
			usage();
	}
	if (port <= 0 || nports < 1 || port + nports - 1 > 65535 || nsrc < 1 ||
	    conc < 1 || sport_lo < 1 || sport_hi > 65535 ||
	    sport_hi - sport_lo + 1 < nsrc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin(cpu);
	if (!strcmp(mode, "server") && have_addr)
		return server(addr, port, nports, expect, check);
	if (!strcmp(mode, "client") && have_src && have_dst) {
		struct client_cfg c = {
			.src = src, .dst = dst, .nsrc = nsrc,
			.sport_lo = sport_lo, .sport_hi = sport_hi,
			.port = port, .nports = nports, .conc = conc,
			.drain_ms = drain_ms, .seconds = seconds,
		};

		return client(&c);
	}
	usage();
	return 2;
}
