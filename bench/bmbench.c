// SPDX-License-Identifier: GPL-2.0
/*
 * bmbench: the benchmark's BPF tooling, driven by bench/run.sh.
 *
 *   bmbench attach NETNS IFNAME PINDIR sink|redirect [OPTIONS]
 *	Load a program, attach it to IFNAME inside the network namespace
 *	/run/netns/NETNS through a bpf_link and pin the link (and the sink's
 *	counters) under PINDIR on the host's bpffs.  Removing PINDIR (or the
 *	namespace) detaches it.
 *   bmbench gen NETNS IFNAME [OPTIONS]
 *	Send --count frames at --rate pps over --flows UDP flows from the XDP
 *	live-frames generator on IFNAME; with --napi PID and --sink PINDIR,
 *	print the CPU time PID spent and what the sink counted meanwhile.
 *	With --skb the same frames are skbs instead: written to a packet
 *	socket on IFNAME (through its qdisc), --batch frames per sendmmsg().
 *   bmbench ports --saddr A --daddr A --dport P --sport-base P --flows N
 *	Print the UDP source ports gen uses, one per line (for generators
 *	of skb frames, trafgen in run.sh's skb part, to send the same flows).
 *   bmbench count [--sink PINDIR] [--napi PID]
 *	Print the sink's counters and PID's CPU time and runs on a CPU so far
 *	(ok= bad= other= napi_ns= napi_runs=), to be subtracted around a run
 *	of another generator.
 *
 * The tool only enters the network namespace (setns), not a mount
 * namespace, so the host's bpffs stays visible for the pins.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "gen.skel.h"
#include "sink.skel.h"
#include "redirect.skel.h"
#include "csum.h"

#define LOADER_NAME "bmbench"
#include "loader.h"


struct opts {
	const char *saddr, *daddr, *smac, *dmac, *out, *sink, *sport;
	unsigned long rate, count, flows, batch, cpu, dport, ttl, sport_base;
	long napi;
	bool skb;
};

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("cannot enter network namespace %s: %s", path,
		    strerror(errno));
	close(fd);
}

static void pin(int fd, const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (bpf_obj_pin(fd, path))
		die("cannot pin %s: %s", path, strerror(errno));
}

static int cmd_attach(const char *netns, const char *ifname, const char *dir,
		      const char *what, const struct opts *o)
{
	struct bpf_link *link;
	int ifindex;

	enter_netns(netns);
	ifindex = ifindex_of(ifname);
	if (mkdir(dir, 0700) && errno != EEXIST)
		die("cannot create %s: %s", dir, strerror(errno));

	if (!strcmp(what, "sink")) {
		struct sink_bpf *skel = sink_bpf__open();
		unsigned int lo, hi;

		if (!skel)
			die("cannot open the sink program");
		if (!o->sport || sscanf(o->sport, "%u-%u", &lo, &hi) != 2)
			die("sink needs --sport LO-HI");
		skel->rodata->want_saddr = parse_ip(o->saddr);
		skel->rodata->want_daddr = parse_ip(o->daddr);
		skel->rodata->want_sport_lo = lo;
		skel->rodata->want_sport_hi = hi;
		skel->rodata->want_dport = htons(o->dport);
		skel->rodata->want_ttl = o->ttl;
		if (sink_bpf__load(skel))
			die("cannot load the sink program");
		link = bpf_program__attach_xdp(skel->progs.sink, ifindex);
		if (!link)
			die("cannot attach the sink to %s: %s", ifname,
			    strerror(errno));
		pin(bpf_map__fd(skel->maps.counters), dir, "counters");
	} else if (!strcmp(what, "redirect")) {
		struct redirect_bpf *skel = redirect_bpf__open();

		if (!skel)
			die("cannot open the redirect program");
		if (!o->out)
			die("redirect needs --out IFNAME");
		parse_mac(o->dmac, skel->data->dst_mac);
		if_mac(o->out, skel->data->src_mac);
		skel->data->out_ifindex = ifindex_of(o->out);
		if (redirect_bpf__load(skel))
			die("cannot load the redirect program");
		link = bpf_program__attach_xdp(skel->progs.xdp_redirect_floor,
					       ifindex);
		if (!link)
			die("cannot attach the redirect to %s: %s", ifname,
			    strerror(errno));
	} else {
		die("unknown program '%s' (sink or redirect)", what);
	}
	pin(bpf_link__fd(link), dir, "link");
	return 0;
}

/* /proc/PID/schedstat: ns the task ran on a CPU (first field) and times
 * it was run (third); zeros for no task. */
static void task_sched(long pid, __u64 *ns, __u64 *runs)
{
	unsigned long long run_ns = 0, wait, nruns = 0;
	char path[64];
	FILE *f;

	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%llu %llu %llu", &run_ns, &wait,
				  &nruns) != 3)
			die("cannot read %s", path);
		fclose(f);
	}
	*ns = run_ns;
	*runs = nruns;
}

static void sink_read(int fd, __u64 *cnt)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 vals[ncpu];
	__u32 k;
	int c;

	for (k = 0; k < SINK_MAX; k++) {
		cnt[k] = 0;
		if (fd < 0)
			continue;
		if (bpf_map_lookup_elem(fd, &k, vals))
			die("cannot read the sink counters: %s", strerror(errno));
		for (c = 0; c < ncpu; c++)
			cnt[k] += vals[c];
	}
}

/* The template frame: Ethernet, IPv4 (TTL 64, DF), UDP, zero payload. */
static void build_frame(__u8 *f, const struct opts *o)
{
	__u16 *w;

	memset(f, 0, FRAME_LEN);
	parse_mac(o->dmac, f);
	parse_mac(o->smac, f + 6);
	f[12] = 0x08;
	f[14] = 0x45;
	w = (__u16 *)(f + 16);
	*w = htons(FRAME_LEN - 14);
	f[20] = 0x40;			/* DF */
	f[22] = 64;			/* TTL */
	f[23] = IPPROTO_UDP;
	*(__be32 *)(f + 26) = parse_ip(o->saddr);
	*(__be32 *)(f + 30) = parse_ip(o->daddr);
	w = (__u16 *)(f + 24);
	*w = ~fold(sum16(f + 14, 20));
	*(__be16 *)(f + 36) = htons(o->dport);
	*(__be16 *)(f + 38) = htons(UDP_LEN);
	memcpy(f + 42, "bpfmasq-bench-0123", FRAME_LEN - 42);
}

/*
 * Source port and complete UDP checksum of every flow.  Ports whose
 * checksum equals the bare pseudo-header sum are skipped: bpfmasq takes
 * such a packet for CHECKSUM_PARTIAL and leaves it to its slow path.
 */
static __u32 build_flows(__be16 *sports, __u16 *csums, const __u8 *f, __u32 n,
			 unsigned int base)
{
	__u32 pseudo = sum16(f + 26, 8) + htons(IPPROTO_UDP) + htons(UDP_LEN);
	unsigned int port = base;
	__u8 udp[UDP_LEN];
	__u32 i, skipped = 0;

	memcpy(udp, f + 34, UDP_LEN);
	for (i = 0; i < n; port++) {
		__u16 c;

		if (port > 65535)
			die("--flows %u from port %u runs past 65535", n, base);
		*(__be16 *)udp = htons(port);
		*(__u16 *)(udp + 6) = 0;
		c = ~fold(pseudo + sum16(udp, UDP_LEN));
		if (!c)
			c = 0xffff;
		if (c == fold(pseudo)) {
			skipped++;
			continue;
		}
		sports[i] = htons(port);
		csums[i] = c;
		i++;
	}
	return port - 1;
}

/*
 * What both generators do first: check the flows, pin to the generator's
 * CPU, open the sink's counters (pinned on the host's bpffs, so before
 * entering the client's namespace) and enter it.  The sink's fd, or -1.
 */
static int gen_enter(const char *netns, const struct opts *o)
{
	char path[512];
	cpu_set_t set;
	int fd = -1;

	if (!o->flows || o->flows > GEN_MAX_FLOWS)
		die("--flows must be 1..%d", GEN_MAX_FLOWS);
	CPU_ZERO(&set);
	CPU_SET(o->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot pin to CPU %lu: %s", o->cpu, strerror(errno));
	if (o->sink) {
		snprintf(path, sizeof(path), "%s/counters", o->sink);
		fd = bpf_obj_get(path);
		if (fd < 0)
			die("no sink counters at %s: %s", path, strerror(errno));
	}
	enter_netns(netns);
	return fd;
}

/*
 * gen --skb: the frames of cmd_gen (same template, ports and complete
 * checksums) as skbs from the client's kernel stack: written to a packet
 * socket on IFNAME, so they pass its qdisc and veth as a container's
 * traffic does.  Paced like the live frames: frame i has slot i/rate, and a
 * batch leaves (one sendmmsg()) when the slot of its last frame has come,
 * as gen flushes its live frames at the end of a batch; spinning in user
 * space until then.  More than 100 us behind: no burst to catch up (late).
 * A full qdisc (ENOBUFS) is retried, so every frame counted was queued.
 */
static int cmd_gen_skb(const char *netns, const char *ifname,
		       const struct opts *o)
{
	static __be16 sports[GEN_MAX_FLOWS];
	static __u16 csums[GEN_MAX_FLOWS];
	__u64 s0[SINK_MAX], s1[SINK_MAX], cpu0, cpu1, runs0, runs1, t0, t1;
	__u64 interval, base = 0, now, slot, first = 0, last = 0, late = 0;
	__u64 seq = 0, retries = 0;
	struct sockaddr_ll sll = {};
	struct mmsghdr *msgs;
	struct iovec *iov;
	__u8 frame[FRAME_LEN], *frames;
	unsigned long batch = o->batch ? o->batch : 1;
	int sink_fd = -1, fd, n, r, done;
	__u32 last_port, i;

	if (batch > 1024)
		batch = 1024;
	sink_fd = gen_enter(netns, o);

	build_frame(frame, o);
	last_port = build_flows(sports, csums, frame, o->flows, o->sport_base);
	frames = calloc(o->flows, FRAME_LEN);
	msgs = calloc(batch, sizeof(*msgs));
	iov = calloc(batch, sizeof(*iov));
	if (!frames || !msgs || !iov)
		die("out of memory");
	for (i = 0; i < o->flows; i++) {
		__u8 *f = frames + (size_t)i * FRAME_LEN;

		memcpy(f, frame, FRAME_LEN);
		memcpy(f + 34, &sports[i], 2);
		memcpy(f + 40, &csums[i], 2);
	}

	/* Protocol 0: the socket only sends, it receives nothing. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("cannot open a packet socket: %s", strerror(errno));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = ifindex_of(ifname);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, frame, ETH_ALEN);
	for (i = 0; i < batch; i++) {
		iov[i].iov_len = FRAME_LEN;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	interval = o->rate ? 1000000000ULL / o->rate : 0;

	sink_read(sink_fd, s0);
	task_sched(o->napi, &cpu0, &runs0);
	t0 = now_ns();
	while (seq < o->count) {
		n = o->count - seq < batch ? o->count - seq : batch;
		now = now_ns();
		if (interval) {
			if (!base)
				base = now;
			slot = base + (seq + n - 1) * interval;
			if (now < slot) {
				while (now < slot)
					now = now_ns();
			} else if (now - slot > 100000) {
				late++;
				base = now - (seq + n - 1) * interval;
			}
		}
		for (r = 0; r < n; r++)
			iov[r].iov_base = frames +
				(size_t)((seq + r) % o->flows) * FRAME_LEN;
		for (done = 0; done < n;) {
			r = sendmmsg(fd, msgs + done, n - done, 0);
			if (r < 0) {
				if (errno != ENOBUFS && errno != EAGAIN &&
				    errno != EINTR)
					die("sendmmsg on %s: %s", ifname,
					    strerror(errno));
				retries++;
				sched_yield();
				continue;
			}
			done += r;
		}
		if (!first)
			first = now - (n - 1) * interval;
		last = now;
		seq += n;
	}
	t1 = now_ns();
	/* Let the last frames drain through the gateway. */
	usleep(200000);
	task_sched(o->napi, &cpu1, &runs1);
	sink_read(sink_fd, s1);

	printf("sent=%llu gen_ns=%llu wall_ns=%llu late=%llu last_sport=%u "
	       "ok=%llu bad=%llu other=%llu napi_ns=%llu napi_runs=%llu "
	       "retries=%llu\n",
	       (unsigned long long)seq, (unsigned long long)(last - first),
	       (unsigned long long)(t1 - t0), (unsigned long long)late,
	       last_port,
	       (unsigned long long)(s1[SINK_OK] - s0[SINK_OK]),
	       (unsigned long long)(s1[SINK_BAD] - s0[SINK_BAD]),
	       (unsigned long long)(s1[SINK_OTHER] - s0[SINK_OTHER]),
	       (unsigned long long)(cpu1 - cpu0),
	       (unsigned long long)(runs1 - runs0),
	       (unsigned long long)retries);
	close(fd);
	free(frames);
	free(msgs);
	free(iov);
	return 0;
}

static int cmd_gen(const char *netns, const char *ifname, const struct opts *o)
{
	struct xdp_md md = {};
	__u64 s0[SINK_MAX], s1[SINK_MAX], cpu0, cpu1, runs0, runs1, t0, t1;
	struct gen_bpf *skel;
	struct bpf_link *link;
	__u8 frame[FRAME_LEN];
	int sink_fd = -1, ifindex, err;
	__u32 last_port;

	sink_fd = gen_enter(netns, o);
	ifindex = ifindex_of(ifname);

	skel = gen_bpf__open();
	if (!skel)
		die("cannot open the generator");
	build_frame(frame, o);
	memcpy(skel->data->tmpl, frame, FRAME_LEN);
	skel->data->nflows = o->flows;
	skel->data->interval_ns = o->rate ? 1000000000ULL / o->rate : 0;
	last_port = build_flows(skel->data->sports, skel->data->csums, frame,
				o->flows, o->sport_base);
	if (gen_bpf__load(skel))
		die("cannot load the generator");
	/* The generator's veth needs an XDP program for live frames. */
	link = bpf_program__attach_xdp(skel->progs.xdp_pass, ifindex);
	if (!link)
		die("cannot attach XDP to %s: %s", ifname, strerror(errno));

	md.ingress_ifindex = ifindex;
	md.data_end = FRAME_LEN;
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.data_in = frame,
		.data_size_in = FRAME_LEN,
		.ctx_in = &md,
		.ctx_size_in = sizeof(md),
		.repeat = o->count,
		.batch_size = o->batch,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
	);

	sink_read(sink_fd, s0);
	task_sched(o->napi, &cpu0, &runs0);
	t0 = now_ns();
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.gen), &run);
	t1 = now_ns();
	if (err)
		die("BPF_PROG_TEST_RUN (live frames) failed: %s", strerror(-err));
	/* Let the last frames drain through the gateway. */
	usleep(200000);
	task_sched(o->napi, &cpu1, &runs1);
	sink_read(sink_fd, s1);

	printf("sent=%llu gen_ns=%llu wall_ns=%llu late=%llu last_sport=%u "
	       "ok=%llu bad=%llu other=%llu napi_ns=%llu napi_runs=%llu\n",
	       (unsigned long long)skel->data->seq,
	       (unsigned long long)(skel->data->last_ns - skel->data->first_ns),
	       (unsigned long long)(t1 - t0),
	       (unsigned long long)skel->data->late, last_port,
	       (unsigned long long)(s1[SINK_OK] - s0[SINK_OK]),
	       (unsigned long long)(s1[SINK_BAD] - s0[SINK_BAD]),
	       (unsigned long long)(s1[SINK_OTHER] - s0[SINK_OTHER]),
	       (unsigned long long)(cpu1 - cpu0),
	       (unsigned long long)(runs1 - runs0));
	bpf_link__destroy(link);
	gen_bpf__destroy(skel);
	return 0;
}

/* The source ports of gen's flows, one a line. */
static int cmd_ports(const struct opts *o)
{
	static __be16 sports[GEN_MAX_FLOWS];
	static __u16 csums[GEN_MAX_FLOWS];
	__u8 frame[FRAME_LEN];
	struct opts t = *o;
	__u32 i;

	if (!o->flows || o->flows > GEN_MAX_FLOWS)
		die("--flows must be 1..%d", GEN_MAX_FLOWS);
	/* The MACs are not in the UDP checksum. */
	t.smac = t.dmac = "00:00:00:00:00:00";
	build_frame(frame, &t);
	build_flows(sports, csums, frame, o->flows, o->sport_base);
	for (i = 0; i < o->flows; i++)
		printf("%u\n", ntohs(sports[i]));
	return 0;
}

/* The sink's counters and the NAPI thread's CPU time and runs, absolute. */
static int cmd_count(const struct opts *o)
{
	__u64 s[SINK_MAX], cpu, runs;
	char path[512];
	int fd = -1;

	if (o->sink) {
		snprintf(path, sizeof(path), "%s/counters", o->sink);
		fd = bpf_obj_get(path);
		if (fd < 0)
			die("no sink counters at %s: %s", path, strerror(errno));
	}
	task_sched(o->napi, &cpu, &runs);
	sink_read(fd, s);
	printf("ok=%llu bad=%llu other=%llu napi_ns=%llu napi_runs=%llu\n",
	       (unsigned long long)s[SINK_OK], (unsigned long long)s[SINK_BAD],
	       (unsigned long long)s[SINK_OTHER], (unsigned long long)cpu,
	       (unsigned long long)runs);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
"usage: bmbench attach NETNS IFNAME PINDIR sink --saddr A --daddr A --sport LO-HI --dport P --ttl T\n"
"       bmbench attach NETNS IFNAME PINDIR redirect --out IFNAME --dmac MAC\n"
"       bmbench gen NETNS IFNAME --smac MAC --dmac MAC --saddr A --daddr A\n"
"               --sport-base P --dport P --flows N --rate PPS --count N\n"
"               [--batch N] [--cpu N] [--napi PID] [--sink PINDIR] [--skb]\n"
"       bmbench ports --saddr A --daddr A --dport P --sport-base P --flows N\n"
"       bmbench count [--sink PINDIR] [--napi PID]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "saddr", required_argument, NULL, 'a' },
		{ "daddr", required_argument, NULL, 'A' },
		{ "smac", required_argument, NULL, 'm' },
		{ "dmac", required_argument, NULL, 'M' },
		{ "out", required_argument, NULL, 'o' },
		{ "sink", required_argument, NULL, 's' },
		{ "sport", required_argument, NULL, 'p' },
		{ "sport-base", required_argument, NULL, 'b' },
		{ "dport", required_argument, NULL, 'P' },
		{ "ttl", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "flows", required_argument, NULL, 'f' },
		{ "batch", required_argument, NULL, 'B' },
		{ "cpu", required_argument, NULL, 'C' },
		{ "napi", required_argument, NULL, 'n' },
		{ "skb", no_argument, NULL, 'k' },
		{ 0 }
	};
	struct opts o = { .flows = 1, .batch = 16, .dport = 9, .ttl = 63,
			  .sport_base = 20000, .count = 1000 };
	int c;

	if (argc < 2)
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.saddr = optarg; break;
		case 'A': o.daddr = optarg; break;
		case 'm': o.smac = optarg; break;
		case 'M': o.dmac = optarg; break;
		case 'o': o.out = optarg; break;
		case 's': o.sink = optarg; break;
		case 'p': o.sport = optarg; break;
		case 'b': o.sport_base = strtoul(optarg, NULL, 0); break;
		case 'P': o.dport = strtoul(optarg, NULL, 0); break;
		case 't': o.ttl = strtoul(optarg, NULL, 0); break;
		case 'r': o.rate = strtoul(optarg, NULL, 0); break;
		case 'c': o.count = strtoul(optarg, NULL, 0); break;
		case 'f': o.flows = strtoul(optarg, NULL, 0); break;
		case 'B': o.batch = strtoul(optarg, NULL, 0); break;
		case 'C': o.cpu = strtoul(optarg, NULL, 0); break;
		case 'n': o.napi = strtol(optarg, NULL, 0); break;
		case 'k': o.skb = true; break;
		default: usage();
		}
	}
	if (!getenv("BMBENCH_DEBUG")) libbpf_set_print(NULL);
	if (!strcmp(argv[1], "attach") && argc - optind == 4)
		return cmd_attach(argv[optind], argv[optind + 1],
				  argv[optind + 2], argv[optind + 3], &o);
	if (!strcmp(argv[1], "gen") && argc - optind == 2)
		return o.skb ? cmd_gen_skb(argv[optind], argv[optind + 1], &o) :
			       cmd_gen(argv[optind], argv[optind + 1], &o);
	if (!strcmp(argv[1], "ports") && argc == optind)
		return cmd_ports(&o);
	if (!strcmp(argv[1], "count") && argc == optind)
		return cmd_count(&o);
	usage();
	return 2;
}
