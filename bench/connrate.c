// SPDX-License-Identifier: GPL-2.0
/*
 * connrate: new TCP connections per second through a gateway, from
 * stateless TCP endpoints in XDP (connrate.bpf.c), driven by bench/run.sh.
 *
 *   connrate CLI_NS CLI_IF SRV_NS SRV_IF --dmac MAC --src IP --dst IP
 *            --port N --rate CONN/S --seconds S [OPTIONS]
 *
 * Attaches the server (XDP on SRV_IF in namespace SRV_NS) and the client's
 * receiver (XDP on CLI_IF in CLI_NS), then opens rate * seconds connections
 * in one paced BPF_PROG_TEST_RUN (live frames) on CLI_IF, waits for the
 * last answers and prints one key=value line: what was sent, what arrived
 * where, and `completed`, the connections all 6 of whose packets arrived
 * correct.  Everything is detached when it exits.
 *
 * The tool enters the network namespaces itself (setns), from the host's
 * mount namespace: no bpffs or /sys of a namespace is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "connrate.h"
#include "connrate.skel.h"

#define LOADER_NAME "connrate"
#include "loader.h"


struct opts {
	const char *dmac, *src, *dst, *expect_src, *expect_sports;
	unsigned long nsrc, port, nports, rate, seconds, lag_us, batch, cpu,
		      ttl, drain_ms;
};

/* The counters' names in the result line, in enum cr_counter's order. */
static const char *const counter_names[CR_MAX] = {
	[CR_GEN_SYN] = "sent_syn", [CR_GEN_ACK] = "sent_ack",
	[CR_GEN_FINACK] = "sent_finack", [CR_GEN_RST] = "sent_rst",
	[CR_SRV_SYN] = "srv_syn", [CR_SRV_ACK] = "srv_ack",
	[CR_SRV_FINACK] = "srv_finack", [CR_SRV_RST] = "srv_rst",
	[CR_SRV_BAD] = "srv_bad", [CR_CLI_SYNACK] = "cli_synack",
	[CR_CLI_FIN] = "cli_fin", [CR_CLI_BAD] = "cli_bad",
	[CR_OTHER] = "other",
};

static int netns_fd(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	return fd;
}

static void enter_netns(int fd)
{
	if (setns(fd, CLONE_NEWNET))
		die("cannot enter a network namespace: %s", strerror(errno));
}

/*
 * The client's frame; the generator fills in the inside address, ports,
 * sequence numbers, flags and both checksums for every packet.
 */
static void build_frame(__u8 *f, const __u8 *smac, const struct opts *o)
{
	memset(f, 0, CR_FRAME_LEN);
	parse_mac(o->dmac, f);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;				/* IPv4 */
	f[14] = 0x45;
	*(__be16 *)(f + 16) = htons(CR_IP_LEN);
	f[20] = 0x40;				/* DF */
	f[22] = 64;				/* TTL */
	f[23] = IPPROTO_TCP;
	*(__be32 *)(f + 30) = parse_ip(o->dst);
	f[CR_L4_OFF + 12] = 5 << 4;		/* data offset: no options */
	*(__be16 *)(f + CR_L4_OFF + 14) = htons(65535);	/* window */
}

static void counters_read(int fd, __u64 *cnt)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu];
	__u32 k;
	int c;

	for (k = 0; k < CR_MAX; k++) {
		cnt[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			die("cannot read the counters: %s", strerror(errno));
		for (c = 0; c < ncpu; c++)
			cnt[k] += vals[c];
	}
}

/* Which connections did not complete: runs of equal `seen` bits (stderr),
 * in units of the pipeline's lag, so that a stall shows as one run. */
static void print_incomplete(const struct cr_conn *conn, __u64 nconn,
			     __u64 lag)
{
	__u64 i, start = 0;
	int runs = 0;

	for (i = 0; i <= nconn && runs < 40; i++) {
		if (i < nconn && i > start && conn[i].seen == conn[start].seen)
			continue;
		if (i > start && conn[start].seen != CR_SEEN_ALL) {
			fprintf(stderr, "connrate: conns %llu-%llu (%llu, lag %llu): seen 0x%x\n",
				(unsigned long long)start,
				(unsigned long long)i - 1,
				(unsigned long long)(i - start),
				(unsigned long long)lag, conn[start].seen);
			runs++;
		}
		start = i;
	}
}

static int run(const char *cli_ns, const char *cli_if, const char *srv_ns,
	       const char *srv_if, const struct opts *o)
{
	__u64 nconn, lag, slots, batch, cnt[CR_MAX], t0, t1, completed = 0,
	      fin_rst = 0;
	struct bpf_link *cli_link, *srv_link;
	struct connrate_bpf *skel;
	__u8 frame[CR_FRAME_LEN], smac[6];
	int cli_fd, srv_fd, cli_idx, err;
	struct cr_conn *conn;
	struct xdp_md md = {};
	unsigned int lo, hi;
	size_t map_len;
	cpu_set_t set;
	__u64 i;

	if (!o->rate || !o->seconds || !o->nsrc || !o->nports || !o->batch)
		die("--rate, --seconds, --nsrc, --nports, --batch must be > 0");
	nconn = (__u64)o->rate * o->seconds;
	/* A connection's next packet leaves lag_us later: that many
	 * connections of the pipeline lie in between. */
	lag = ((__u64)o->lag_us * o->rate + 999999) / 1000000;
	if (!lag)
		lag = 1;
	slots = 4 * (nconn + 3 * lag);
	/*
	 * Live frames go out at the end of each batch, and the batch runs
	 * with bottom halves off: the server's and client's NAPI threads
	 * (same CPU) wait for it.  An answer can thus take two batches; keep
	 * a batch to a quarter of the lag (4 * lag slots), or the next packet
	 * of a connection overtakes the answer to its previous one.
	 */
	batch = o->batch < lag ? o->batch : lag;
	if (nconn > (1U << 24) || slots > 0xffffffffULL)
		die("%llu connections is too many for one run",
		    (unsigned long long)nconn);

	CPU_ZERO(&set);
	CPU_SET(o->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot pin to CPU %lu: %s", o->cpu, strerror(errno));
	cli_fd = netns_fd(cli_ns);
	srv_fd = netns_fd(srv_ns);

	skel = connrate_bpf__open();
	if (!skel)
		die("cannot open the BPF programs");
	skel->rodata->interval_ns = 1000000000ULL / (4 * o->rate);
	skel->rodata->lag = lag;
	skel->rodata->nconn = nconn;
	skel->rodata->nsrc = o->nsrc;
	skel->rodata->src_base = ntohl(parse_ip(o->src));
	skel->rodata->dst_addr = parse_ip(o->dst);
	skel->rodata->port_base = o->port;
	skel->rodata->nports = o->nports;
	skel->rodata->want_ttl = o->ttl;
	if (o->expect_src) {
		if (!o->expect_sports ||
		    sscanf(o->expect_sports, "%u-%u", &lo, &hi) != 2)
			die("--expect-src needs --expect-sports LO-HI");
		skel->rodata->nat_saddr = parse_ip(o->expect_src);
		skel->rodata->nat_lo = lo;
		skel->rodata->nat_hi = hi;
	}
	if (bpf_map__set_max_entries(skel->maps.conns, nconn))
		die("cannot size the connection table");

	enter_netns(cli_fd);
	cli_idx = ifindex_of(cli_if);
	if_mac(cli_if, smac);
	build_frame(frame, smac, o);
	memcpy(skel->data->tmpl, frame, CR_FRAME_LEN);
	if (connrate_bpf__load(skel))
		die("cannot load the BPF programs (BMBENCH_DEBUG=1 shows why)");
	map_len = (nconn * sizeof(*conn) + getpagesize() - 1) &
		  ~(size_t)(getpagesize() - 1);
	conn = mmap(NULL, map_len, PROT_READ, MAP_SHARED,
		    bpf_map__fd(skel->maps.conns), 0);
	if (conn == MAP_FAILED)
		die("cannot map the connection table: %s", strerror(errno));

	/* The server first, so that the first SYN finds it. */
	enter_netns(srv_fd);
	srv_link = bpf_program__attach_xdp(skel->progs.srv, ifindex_of(srv_if));
	if (!srv_link)
		die("cannot attach the server to %s: %s", srv_if, strerror(errno));
	enter_netns(cli_fd);
	/* Also what live frames need: an XDP program on their veth. */
	cli_link = bpf_program__attach_xdp(skel->progs.cli, cli_idx);
	if (!cli_link)
		die("cannot attach the client to %s: %s", cli_if, strerror(errno));

	md.ingress_ifindex = cli_idx;
	md.data_end = CR_FRAME_LEN;
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.data_in = frame,
		.data_size_in = CR_FRAME_LEN,
		.ctx_in = &md,
		.ctx_size_in = sizeof(md),
		.repeat = slots,
		.batch_size = batch,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
	);
	t0 = now_ns();
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.gen), &topts);
	t1 = now_ns();
	if (err)
		die("BPF_PROG_TEST_RUN (live frames) failed: %s", strerror(-err));
	/* The last answers through the gateway. */
	usleep(o->drain_ms * 1000);

	counters_read(bpf_map__fd(skel->maps.counters), cnt);
	if (getenv("BMBENCH_DEBUG"))
		print_incomplete(conn, nconn, lag);
	for (i = 0; i < nconn; i++) {
		__u32 s = conn[i].seen;

		completed += s == CR_SEEN_ALL;
		fin_rst += (s & (CR_SEEN_FIN | CR_SEEN_RST)) ==
			   (CR_SEEN_FIN | CR_SEEN_RST);
	}
	printf("conns=%llu completed=%llu fin_and_rst=%llu lag=%llu batch=%llu "
	       "gen_ns=%llu wall_ns=%llu late=%llu",
	       (unsigned long long)nconn, (unsigned long long)completed,
	       (unsigned long long)fin_rst, (unsigned long long)lag,
	       (unsigned long long)batch,
	       (unsigned long long)(skel->data->last_ns - skel->data->first_ns),
	       (unsigned long long)(t1 - t0),
	       (unsigned long long)skel->data->late);
	for (i = 0; i < CR_MAX; i++)
		printf(" %s=%llu", counter_names[i], (unsigned long long)cnt[i]);
	putchar('\n');
	munmap(conn, map_len);
	bpf_link__destroy(cli_link);
	enter_netns(srv_fd);
	bpf_link__destroy(srv_link);
	connrate_bpf__destroy(skel);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
"usage: connrate CLI_NS CLI_IF SRV_NS SRV_IF --dmac MAC --src IP --dst IP\n"
"                --port N --rate CONN/S --seconds S [--nsrc N] [--nports N]\n"
"                [--lag-us US] [--batch N] [--cpu N] [--ttl T] [--drain-ms MS]\n"
"                [--expect-src IP --expect-sports LO-HI]\n"
"  --dmac      the gateway's LAN MAC (the client's next hop)\n"
"  --src       first inside address (--nsrc of them, default 8)\n"
"  --dst/--port the server; its ports are PORT .. PORT+nports-1 (default 16)\n"
"  --lag-us    time between two packets of one connection (default 5000)\n"
"  --expect-src/--expect-sports  the source the server must see (a NAT's\n"
"              address and port range); default: the untranslated client\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dmac", required_argument, NULL, 'M' },
		{ "src", required_argument, NULL, 's' },
		{ "nsrc", required_argument, NULL, 'n' },
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "nports", required_argument, NULL, 'N' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "lag-us", required_argument, NULL, 'l' },
		{ "batch", required_argument, NULL, 'B' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "ttl", required_argument, NULL, 't' },
		{ "drain-ms", required_argument, NULL, 'D' },
		{ "expect-src", required_argument, NULL, 'e' },
		{ "expect-sports", required_argument, NULL, 'E' },
		{ 0 }
	};
	struct opts o = { .nsrc = 8, .nports = 16, .lag_us = 5000, .batch = 16,
			  .ttl = 63, .drain_ms = 200 };
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'M': o.dmac = optarg; break;
		case 's': o.src = optarg; break;
		case 'n': o.nsrc = strtoul(optarg, NULL, 0); break;
		case 'd': o.dst = optarg; break;
		case 'p': o.port = strtoul(optarg, NULL, 0); break;
		case 'N': o.nports = strtoul(optarg, NULL, 0); break;
		case 'r': o.rate = strtoul(optarg, NULL, 0); break;
		case 'S': o.seconds = strtoul(optarg, NULL, 0); break;
		case 'l': o.lag_us = strtoul(optarg, NULL, 0); break;
		case 'B': o.batch = strtoul(optarg, NULL, 0); break;
		case 'C': o.cpu = strtoul(optarg, NULL, 0); break;
		case 't': o.ttl = strtoul(optarg, NULL, 0); break;
		case 'D': o.drain_ms = strtoul(optarg, NULL, 0); break;
		case 'e': o.expect_src = optarg; break;
		case 'E': o.expect_sports = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 4 || !o.dmac || !o.src || !o.dst || !o.port)
		usage();
	if (o.port + o.nports - 1 > 65535)
		die("server ports %lu + %lu run past 65535", o.port, o.nports);
	if (!getenv("BMBENCH_DEBUG"))
		libbpf_set_print(NULL);
	return run(argv[optind], argv[optind + 1], argv[optind + 2],
		   argv[optind + 3], &o);
}
