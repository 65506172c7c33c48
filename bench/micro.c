// SPDX-License-Identifier: GPL-2.0
/*
 * micro: BPF_PROG_TEST_RUN cost of bpfmasq's programs with N flows in the
 * tables, and the kernel memory a flow takes.
 *
 *   micro [N...]	(default 1000 65536 1048576)
 *
 * For each N a fresh skeleton is loaded with the tables sized as
 * `bpfmasq up --max-flows N+SLACK` sizes them and filled with N consistent
 * connections (both flow entries, both binding entries): 2048 inside UDP
 * endpoints, each talking to up to N/2048 remotes.  Every measured run is
 * one BPF_PROG_TEST_RUN call with repeat=1 on a different packet picked at
 * random among the flows (a translated packet must not be run again, and
 * one hot key would hide cache misses); the cost is the kernel's own
 * duration of that run, median over the calls, minus the median of an
 * empty program of the same type measured the same way.
 *
 * Runs in a private network namespace (unshare) where wan0 leads to the
 * remotes through a permanent neighbour, so the LAN fast path's FIB lookup
 * succeeds and it returns XDP_REDIRECT as in production.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfmasq.h"
#include "bpfmasq.skel.h"
#include "redirect.skel.h"
#include "csum.h"

#define IP4(a, b, c, d)	(((__u32)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))
#define EXT		IP4(203, 0, 113, 1)
#define ENDPOINTS	2048		/* inside endpoints (= bindings) */
/* What `up` gives `binds` for the default port range 61000-65535. */
#define BINDS_BY_PORTS	(2 * 3 * (65535 - EXT_PORT_LO + 1) + 4096)
#define IN_PORT		40000
#define REM_PORT	443
#define EXT_PORT_LO	61000
#define SLACK		8192		/* room for the miss runs */
#define CALLS		20000		/* runs per hit measurement */
#define MISS_CALLS	1000		/* flows created per miss measurement */

static __u32 nflows;

static __u32 ep_addr(__u32 e) { return IP4(10, 1, 0, 0) + e; }
static __u32 rem_addr(__u32 r) { return IP4(198, 18, 0, 0) + r; }

/* Connection i: endpoint i % ENDPOINTS to remote i / ENDPOINTS. */
static void conn(__u32 i, __u32 *in, __u32 *rem, __u16 *ext_port)
{
	__u32 eps = nflows < ENDPOINTS ? nflows : ENDPOINTS;

	*in = ep_addr(i % eps);
	*rem = rem_addr(i / eps);
	/* Scattered over the range as a random allocator leaves them. */
	*ext_port = EXT_PORT_LO + (i % eps) * 11 % (65536 - EXT_PORT_LO);
}

/* A 60-byte Ethernet/IPv4/UDP frame with complete checksums. */
static int udp_frame(__u8 *f, __u32 saddr, __u16 sport, __u32 daddr,
		     __u16 dport)
{
	const int len = 60, udp_len = len - 34;
	__u32 s;
	__u16 c;

	memset(f, 0, len);
	memcpy(f, "\x02\0\0\0\0\x10\x02\0\0\0\0\x11\x08\x00", 14);
	f[14] = 0x45;
	*(__be16 *)(f + 16) = htons(len - 14);
	f[22] = 64;
	f[23] = IPPROTO_UDP;
	*(__be32 *)(f + 26) = htonl(saddr);
	*(__be32 *)(f + 30) = htonl(daddr);
	*(__u16 *)(f + 24) = ~fold(sum16(f + 14, 20));
	*(__be16 *)(f + 34) = htons(sport);
	*(__be16 *)(f + 36) = htons(dport);
	*(__be16 *)(f + 38) = htons(udp_len);
	memcpy(f + 42, "micro-benchmark!!!", len - 42);
	s = sum16(f + 26, 8) + htons(IPPROTO_UDP) + htons(udp_len);
	c = ~fold(s + sum16(f + 34, udp_len));
	/* Must not look like CHECKSUM_PARTIAL (bpf/csum.h). */
	if (c == fold(s))
		f[59] ^= 1, c = ~fold(s + sum16(f + 34, udp_len));
	*(__u16 *)(f + 40) = c ? c : 0xffff;
	return len;
}

/*
 * An ICMP port unreachable from src to dst quoting the UDP datagram dst:dport
 * -> src:sport it answers (RFC 792): from remote REM to the external
 * address (inbound), or from an inside host to REM (outbound).
 */
static int icmp_err_frame(__u8 *f, __u32 src, __u16 sport, __u32 dst,
			  __u16 dport)
{
	const int len = 14 + 20 + 8 + 20 + 8;
	__u8 *ip = f + 14, *icmp = ip + 20, *in = icmp + 8;

	memset(f, 0, len);
	memcpy(f, "\x02\0\0\0\0\x10\x02\0\0\0\0\x11\x08\x00", 14);
	ip[0] = 0x45;
	*(__be16 *)(ip + 2) = htons(len - 14);
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	*(__be32 *)(ip + 12) = htonl(src);
	*(__be32 *)(ip + 16) = htonl(dst);
	*(__u16 *)(ip + 10) = ~fold(sum16(ip, 20));
	icmp[0] = 3;	/* destination unreachable */
	icmp[1] = 3;	/* port unreachable */
	in[0] = 0x45;
	*(__be16 *)(in + 2) = htons(46);
	in[8] = 63;
	in[9] = IPPROTO_UDP;
	*(__be32 *)(in + 12) = htonl(dst);
	*(__be32 *)(in + 16) = htonl(src);
	*(__u16 *)(in + 10) = ~fold(sum16(in, 20));
	*(__be16 *)(in + 20) = htons(dport);
	*(__be16 *)(in + 22) = htons(sport);
	*(__be16 *)(in + 24) = htons(26);
	*(__u16 *)(in + 26) = 0x1234;
	*(__u16 *)(icmp + 2) = ~fold(sum16(icmp, 36));
	return len;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* One run: the kernel's duration in ns, or -1; *ret gets the verdict. */
static long run_once(int fd, const __u8 *frame, int len, __u32 *ret)
{
	__u8 out[128];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = frame,
		.data_size_in = len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);

	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	*ret = o.retval;
	return o.duration;
}

enum pkt_kind { HIT_OUT, HIT_IN, MISS_NEW_EP, MISS_NEW_REMOTE, MISS_FAST,
		ICMP_ERR_IN, ICMP_ERR_OUT };

static int make_pkt(enum pkt_kind k, __u32 n, __u8 *f)
{
	bool inbound = k == HIT_IN || k == ICMP_ERR_IN;
	int (*frame)(__u8 *f, __u32 src, __u16 sport, __u32 dst, __u16 dport);
	__u32 in, rem;
	__u16 ext;

	switch (k) {
	case HIT_OUT:
	case HIT_IN:
	case ICMP_ERR_IN:
	case ICMP_ERR_OUT:
		/* A packet of an established flow, or an ICMP error quoting
		 * one, either way. */
		frame = k == HIT_OUT || k == HIT_IN ? udp_frame : icmp_err_frame;
		conn(random() % nflows, &in, &rem, &ext);
		return inbound ? frame(f, rem, REM_PORT, EXT, ext) :
				 frame(f, in, IN_PORT, rem, REM_PORT);
	case MISS_NEW_EP:	/* new inside endpoint: binding + flow */
		return udp_frame(f, IP4(10, 2, 0, 0) + n, IN_PORT,
				 rem_addr(0), REM_PORT);
	default:
		/* A bound endpoint, a new remote: the flow only.
		 * MISS_FAST: the fast path makes it (--lan-new). */
		conn(n % (nflows < ENDPOINTS ? nflows : ENDPOINTS), &in, &rem,
		     &ext);
		return udp_frame(f, in, IN_PORT,
				 (k == MISS_FAST ? IP4(198, 19, 128, 0) :
						   IP4(198, 19, 0, 0)) + n,
				 REM_PORT);
	}
}

/*
 * Median kernel duration of `calls` runs of fd on packets of kind k;
 * counts runs whose verdict is not `want`.
 */
static double measure(int fd, enum pkt_kind k, int calls, __u32 want,
		      int *wrong)
{
	__u32 *d = calloc(calls, sizeof(*d)), ret;
	__u8 f[128];
	double med;
	int i, len;
	long t;

	*wrong = 0;
	for (i = 0; i < calls; i++) {
		len = make_pkt(k, i, f);
		t = run_once(fd, f, len, &ret);
		if (t < 0) {
			fprintf(stderr, "micro: BPF_PROG_TEST_RUN: %s\n",
				strerror(errno));
			exit(1);
		}
		d[i] = t;
		if (ret != want)
			(*wrong)++;
	}
	qsort(d, calls, sizeof(*d), cmp_u32);
	med = calls % 2 ? d[calls / 2] : (d[calls / 2 - 1] + d[calls / 2]) / 2.0;
	free(d);
	return med;
}

/*
 * Hot: one call, HOT_REPEAT runs on the same buffer.  Two flows translate
 * into each other (10.5.0.1:40000 <-> 10.4.0.1:50000, both toward one
 * remote), so every run is a hit; TTL starts at 255 so that the fast
 * path's decrement never reaches 1.  Median over HOT_CALLS calls of the
 * kernel's mean per run.
 */
#define HOT_REPEAT	200
static __u32 hot_repeat = HOT_REPEAT;
#define HOT_CALLS	300
#define HOT_A		IP4(10, 5, 0, 1)
#define HOT_B		IP4(10, 4, 0, 1)

static void hot_flows(int ffd)
{
	struct flow_key k = { .daddr = htonl(rem_addr(0)), .dport = htons(REM_PORT),
			      .proto = IPPROTO_UDP, .dir = DIR_OUT };
	struct flow_val v = {};

	k.saddr = htonl(HOT_A);
	k.sport = htons(IN_PORT);
	v.nat_addr = htonl(HOT_B);
	v.nat_port = htons(50000);
	bpf_map_update_elem(ffd, &k, &v, BPF_ANY);
	k.saddr = htonl(HOT_B);
	k.sport = htons(50000);
	v.nat_addr = htonl(HOT_A);
	v.nat_port = htons(IN_PORT);
	bpf_map_update_elem(ffd, &k, &v, BPF_ANY);
}

static double measure_hot(int fd, __u32 want, int *wrong)
{
	__u32 d[HOT_CALLS];
	__u8 f[128], out[128];
	int i, len;

	*wrong = 0;
	for (i = 0; i < HOT_CALLS; i++) {
		len = udp_frame(f, HOT_A, IN_PORT, rem_addr(0), REM_PORT);
		f[22] = 255;
		*(__u16 *)(f + 24) = 0;
		*(__u16 *)(f + 24) = ~fold(sum16(f + 14, 20));
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = f, .data_size_in = len,
			.data_out = out, .data_size_out = sizeof(out),
			.repeat = hot_repeat,
		);
		if (bpf_prog_test_run_opts(fd, &o)) {
			fprintf(stderr, "micro: BPF_PROG_TEST_RUN: %s\n",
				strerror(errno));
			exit(1);
		}
		d[i] = o.duration;
		if (o.retval != want)
			(*wrong)++;
	}
	qsort(d, HOT_CALLS, sizeof(*d), cmp_u32);
	return d[HOT_CALLS / 2];
}

static __u64 counter(struct bpfmasq_bpf *skel, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 v[ncpu], sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &idx, v))
		return 0;
	for (c = 0; c < ncpu; c++)
		sum += v[c];
	return sum;
}

static int empty_prog(enum bpf_prog_type type, int verdict)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0,
		  .imm = verdict },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(type, "empty", "GPL", insns, 2, NULL);

	if (fd < 0) {
		fprintf(stderr, "micro: cannot load an empty program: %s\n",
			strerror(errno));
		exit(1);
	}
	return fd;
}

/*
 * Keep an XDP program attached (to an idle veth of our namespace) while it
 * is measured.  BPF_PROG_TEST_RUN of an XDP program that is attached
 * nowhere patches it into the XDP dispatcher and out again on every call;
 * that costs milliseconds and leaves the caches and branch predictors cold
 * for the runs that follow, which is not how a loaded gateway runs it.
 */
enum hold_slot { HOLD_EMPTY, HOLD_FLOOR, HOLD_LAN_FAST, HOLD_WAN_IN,
		 HOLD_LAN_NEW };

static void hold(int fd, enum hold_slot slot)
{
	char ifname[16];

	snprintf(ifname, sizeof(ifname), "xk%d", slot);
	if (bpf_xdp_attach(if_nametoindex(ifname), fd, XDP_FLAGS_DRV_MODE,
			   NULL)) {
		fprintf(stderr, "micro: cannot attach a program to %s: %s\n",
			ifname, strerror(errno));
		exit(1);
	}
}

static unsigned long long memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void fill(struct bpfmasq_bpf *skel)
{
	int ffd = bpf_map__fd(skel->maps.flows), bfd = bpf_map__fd(skel->maps.binds);
	__u32 eps = nflows < ENDPOINTS ? nflows : ENDPOINTS, i, n, chunk = 65536;
	struct flow_key *fk = calloc(2 * chunk, sizeof(*fk));
	struct flow_val *fv = calloc(2 * chunk, sizeof(*fv));
	struct bind_key bk;
	struct bind_val bv;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	for (i = 0; i < eps; i++) {
		__u32 in, rem;
		__u16 ext;

		conn(i, &in, &rem, &ext);
		bk = (struct bind_key){ .addr = htonl(in), .port = htons(IN_PORT),
					.proto = IPPROTO_UDP, .dir = DIR_OUT };
		bv = (struct bind_val){ .addr = htonl(EXT), .port = htons(ext) };
		if (bpf_map_update_elem(bfd, &bk, &bv, BPF_NOEXIST))
			goto err;
		bk = (struct bind_key){ .addr = htonl(EXT), .port = htons(ext),
					.proto = IPPROTO_UDP, .dir = DIR_IN };
		bv = (struct bind_val){ .addr = htonl(in), .port = htons(IN_PORT) };
		if (bpf_map_update_elem(bfd, &bk, &bv, BPF_NOEXIST))
			goto err;
	}
	for (i = 0; i < nflows; i += n) {
		__u32 j, cnt;

		n = nflows - i < chunk ? nflows - i : chunk;
		for (j = 0; j < n; j++) {
			__u32 in, rem;
			__u16 ext;

			conn(i + j, &in, &rem, &ext);
			fk[2 * j] = (struct flow_key){
				.saddr = htonl(in), .daddr = htonl(rem),
				.sport = htons(IN_PORT), .dport = htons(REM_PORT),
				.proto = IPPROTO_UDP, .dir = DIR_OUT };
			fv[2 * j] = (struct flow_val){
				.nat_addr = htonl(EXT), .nat_port = htons(ext) };
			fk[2 * j + 1] = (struct flow_key){
				.saddr = htonl(rem), .daddr = htonl(EXT),
				.sport = htons(REM_PORT), .dport = htons(ext),
				.proto = IPPROTO_UDP, .dir = DIR_IN };
			fv[2 * j + 1] = (struct flow_val){
				.nat_addr = htonl(in), .nat_port = htons(IN_PORT) };
		}
		cnt = 2 * n;
		if (bpf_map_update_batch(ffd, fk, fv, &cnt, &bo) || cnt != 2 * n)
			goto err;
	}
	free(fk);
	free(fv);
	return;
err:
	fprintf(stderr, "micro: cannot fill the tables: %s\n", strerror(errno));
	exit(1);
}

/*
 * The fast path with traffic spread over many flows.  Outbound entries are
 * rewritten into cycles in random order: a flow translates a packet into
 * the key of the next flow of its cycle, so each of the CHAIN_REPEAT runs
 * of one BPF_PROG_TEST_RUN call (which rewrites its packet in place) hits
 * another flow, at a random place in the table, as traffic over many flows
 * does.  A translation keeps the destination, so a cycle stays among the
 * flows of one remote.  Only the lookups' cache footprint is artificial:
 * the translated source is an inside address, not EXT.
 */
#define CHAIN_REPEAT	200	/* < 254: the TTL goes down by one per run */
#define CHAIN_CALLS	2000
#define ACTIVE_FLOWS	1024

static __u32 *chain_next;	/* remote * ENDPOINTS + endpoint -> next one */
static __u32 *chain_members;	/* flows that are in a cycle */
static __u32 chain_len;

static __u32 endpoints(void)
{
	return nflows < ENDPOINTS ? nflows : ENDPOINTS;
}

/* Flows of remote r (the last remote may have fewer). */
static __u32 flows_of(__u32 r)
{
	__u32 eps = endpoints();

	return nflows - r * eps < eps ? nflows - r * eps : eps;
}

static void shuffle(__u32 *a, __u32 n)
{
	__u32 j, k, t;

	for (j = n - 1; j > 0 && n; j--) {
		k = random() % (j + 1);
		t = a[j];
		a[j] = a[k];
		a[k] = t;
	}
}

/*
 * active >= nflows: every flow, one cycle per remote.  Else one cycle of
 * `active` random flows of remote 0; the others keep translating to EXT.
 */
static void chain_flows(struct bpfmasq_bpf *skel, __u32 active)
{
	int ffd = bpf_map__fd(skel->maps.flows);
	__u32 eps = endpoints(), nrem = (nflows + eps - 1) / eps, r, j, m, cnt;
	struct flow_key *fk = calloc(eps, sizeof(*fk));
	struct flow_val *fv = calloc(eps, sizeof(*fv));
	__u32 *perm = calloc(eps, sizeof(*perm));
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	free(chain_next);
	free(chain_members);
	chain_next = calloc((size_t)nrem * eps, sizeof(*chain_next));
	chain_members = calloc(nflows, sizeof(*chain_members));
	chain_len = 0;
	if (active >= nflows)
		active = 0;
	for (r = 0; r < (active ? 1 : nrem); r++) {
		m = flows_of(r);
		for (j = 0; j < m; j++)
			perm[j] = j;
		shuffle(perm, m);
		if (active && active < m)
			m = active;
		for (j = 0; j < m; j++) {
			__u32 e = perm[j], next = perm[(j + 1) % m];

			chain_next[r * eps + e] = next;
			chain_members[chain_len++] = r * eps + e;
			fk[j] = (struct flow_key){
				.saddr = htonl(ep_addr(e)), .daddr = htonl(rem_addr(r)),
				.sport = htons(IN_PORT), .dport = htons(REM_PORT),
				.proto = IPPROTO_UDP, .dir = DIR_OUT };
			fv[j] = (struct flow_val){
				.nat_addr = htonl(ep_addr(next)),
				.nat_port = htons(IN_PORT) };
		}
		cnt = m;
		if (bpf_map_update_batch(ffd, fk, fv, &cnt, &bo) || cnt != m) {
			fprintf(stderr, "micro: cannot chain the flows: %s\n",
				strerror(errno));
			exit(1);
		}
	}
	free(fk);
	free(fv);
	free(perm);
}

/* One call of CHAIN_REPEAT runs from flow *f (remote * ENDPOINTS +
 * endpoint); returns the kernel's mean ns per run and moves *f to where
 * the walk stopped. */
static __u32 chain_call(int fd, __u32 *f, __u32 *ret)
{
	__u32 eps = endpoints(), r = *f / eps, k;
	__u8 frame[128], out[128];
	int len;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = frame, .data_out = out, .data_size_out = sizeof(out),
		.repeat = CHAIN_REPEAT,
	);

	len = udp_frame(frame, ep_addr(*f % eps), IN_PORT, rem_addr(r), REM_PORT);
	frame[22] = 255;
	*(__u16 *)(frame + 24) = 0;
	*(__u16 *)(frame + 24) = ~fold(sum16(frame + 14, 20));
	o.data_size_in = len;
	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "micro: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		exit(1);
	}
	for (k = 0; k < CHAIN_REPEAT; k++)
		*f = r * eps + chain_next[*f];
	*ret = o.retval;
	return o.duration;
}

/*
 * Each cycle walked once (a flow's first packet asks the FIB and caches
 * its next hop), then CHAIN_CALLS calls from random flows of the cycles;
 * the median of their per-run means.  Every run must take the fast path.
 */
static double measure_chain(struct bpfmasq_bpf *skel, __u32 active, int *wrong)
{
	int fd = bpf_program__fd(skel->progs.masq_lan_fast);
	__u32 *d = calloc(CHAIN_CALLS, sizeof(*d)), i, f, ret;
	__u64 c0;
	double med;

	chain_flows(skel, active);
	*wrong = 0;
	for (i = 0; i < chain_len; i += CHAIN_REPEAT) {
		f = chain_members[i];
		chain_call(fd, &f, &ret);
	}
	c0 = counter(skel, CNT_LAN_FASTPATH);
	for (i = 0; i < CHAIN_CALLS; i++) {
		f = chain_members[random() % chain_len];
		d[i] = chain_call(fd, &f, &ret);
		if (ret != XDP_REDIRECT)
			(*wrong)++;
	}
	if (counter(skel, CNT_LAN_FASTPATH) - c0 != (__u64)CHAIN_CALLS * CHAIN_REPEAT)
		(*wrong)++;
	qsort(d, CHAIN_CALLS, sizeof(*d), cmp_u32);
	med = d[CHAIN_CALLS / 2];
	free(d);
	return med;
}

/* measure() of ICMP errors; each run must also count one as translated. */
static double measure_icmp_err(struct bpfmasq_bpf *skel, int fd,
			       enum pkt_kind k, __u32 want, int *wrong)
{
	__u64 c0 = counter(skel, CNT_ICMP_ERR_TRANSLATED);
	double v = measure(fd, k, CALLS, want, wrong);

	if (counter(skel, CNT_ICMP_ERR_TRANSLATED) - c0 != CALLS)
		(*wrong)++;
	return v;
}

/*
 * bpfmasq's programs and tables as `up --max-flows max_flows` makes them;
 * with `internal`, as `up --internal 10.0.0.0/8` (every inside address of
 * this benchmark), else masquerading every source (the default).
 */
static struct bpfmasq_bpf *load_sized(__u32 max_flows, bool internal)
{
	struct nat_state st = { .ext_addr = htonl(EXT) };
	struct internal_key net = { .prefixlen = 8, .addr = htonl(IP4(10, 0, 0, 0)) };
	struct bpfmasq_bpf *skel = bpfmasq_bpf__open();
	__u32 zero = 0;
	__u8 yes = 1;

	if (!skel)
		exit(1);
	bpf_map__set_max_entries(skel->maps.flows, 2 * max_flows);
	/* Bindings sized as `bpfmasq up` sizes them (binds_entries()):
	 * from the port range, so memory per flow is the product's. */
	bpf_map__set_max_entries(skel->maps.binds,
				 2 * max_flows < BINDS_BY_PORTS ?
				 2 * max_flows : BINDS_BY_PORTS);
	st.wan_ifindex = if_nametoindex("wan0");
	skel->rodata->cfg_match_all_sources = !internal;
	if (bpfmasq_bpf__load(skel)) {
		fprintf(stderr, "micro: cannot load bpfmasq with %u flows: %s\n",
			max_flows, strerror(errno));
		exit(1);
	}
	bpf_map__update_elem(skel->maps.state, &zero, sizeof(zero), &st,
			     sizeof(st), BPF_ANY);
	if (internal &&
	    bpf_map__update_elem(skel->maps.internal_nets, &net, sizeof(net),
				 &yes, sizeof(yes), BPF_ANY)) {
		fprintf(stderr, "micro: cannot add 10.0.0.0/8 to internal_nets: %s\n",
			strerror(errno));
		exit(1);
	}
	return skel;
}

/* Kernel memory of the tables as `bpfmasq up --max-flows n` sizes them. */
static unsigned long long memory_for(__u32 n)
{
	struct bpfmasq_bpf *skel = load_sized(n, false);
	unsigned long long m;

	m = memlock(bpf_map__fd(skel->maps.flows)) +
	    memlock(bpf_map__fd(skel->maps.binds));
	bpfmasq_bpf__destroy(skel);
	return m;
}

static const char *label(__u32 n)
{
	static char buf[32];

	if (n >= 1048576 && n % 1048576 == 0)
		snprintf(buf, sizeof(buf), "%uM", n / 1048576);
	else if (n % 1024 == 0)
		snprintf(buf, sizeof(buf), "%uk", n / 1024);
	else if (n % 1000 == 0)
		snprintf(buf, sizeof(buf), "%uk", n / 1000);
	else
		snprintf(buf, sizeof(buf), "%u", n);
	return buf;
}

static void setup_netns(void)
{
	static const char script[] =
		"set -e; exec >/dev/null 2>&1;"
		"ip link set lo up;"
		"ip link add wan0 address 02:00:00:00:00:01 type veth peer name wan0p;"
		"for d in wan0 wan0p; do ip link set $d up; done;"
		"ip addr add 203.0.113.1/24 dev wan0;"
		"ip route add 198.18.0.0/15 via 203.0.113.2 dev wan0;"
		"ip neigh replace 203.0.113.2 lladdr 02:00:00:00:00:02 dev wan0 nud permanent;"
		"for i in 0 1 2 3 4; do"
		"  ip link add xk$i type veth peer name xk${i}p;"
		"  ip link set xk$i up; ip link set xk${i}p up;"
		"done;"
		"echo 1 > /proc/sys/net/ipv4/conf/all/forwarding";

	if (unshare(CLONE_NEWNET) || system(script)) {
		fprintf(stderr, "micro: cannot set up a private network namespace\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const __u32 defaults[] = { 1000, 65536, 1048576 };
	double base_xdp, base_tc, hot_xdp, hot_tc, fast_first = 0, fast_last = 0;
	int xdp0, tc0, wrong, i, n = argc > 1 ? argc - 1 : 3;
	__u32 sizes[16], max_n = 0;
	unsigned long long bpf_total = 0, bpf_max = 0;
	bool loaded_1m = false;
	cpu_set_t set;

	if (n > 16)
		n = 16;
	for (i = 0; i < n; i++)
		sizes[i] = argc > 1 ? strtoul(argv[i + 1], NULL, 0) : defaults[i];
	/* Same CPU throughout; the other one runs whatever else is going on. */
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	srandom(1);
	setup_netns();
	if (!getenv("MICRO_DEBUG"))
		libbpf_set_print(NULL);

	xdp0 = empty_prog(BPF_PROG_TYPE_XDP, XDP_PASS);
	hold(xdp0, HOLD_EMPTY);
	tc0 = empty_prog(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
	{
		__u8 f[128];
		int len = udp_frame(f, ep_addr(0), IN_PORT, rem_addr(0), REM_PORT);
		__u32 *d = calloc(CALLS, sizeof(*d)), ret;
		int fds[2] = { xdp0, tc0 }, k;
		double med[2];

		for (k = 0; k < 2; k++) {
			for (i = 0; i < CALLS; i++)
				d[i] = run_once(fds[k], f, len, &ret);
			qsort(d, CALLS, sizeof(*d), cmp_u32);
			med[k] = d[CALLS / 2];
		}
		base_xdp = med[0];
		base_tc = med[1];
		free(d);
	}
	{
		int w;

		hot_xdp = measure_hot(xdp0, XDP_PASS, &w);
		hot_tc = measure_hot(tc0, TC_ACT_OK, &w);
	}
	printf("# hot: %d runs of one packet per call, two flows translating into each other;\n"
	       "# cold: one run per call on a random flow; median kernel duration minus an\n"
	       "# empty program's measured the same way (hot xdp %.0f / tc %.0f ns, cold xdp %.0f / tc %.0f ns)\n",
	       HOT_REPEAT, hot_xdp, hot_tc, base_xdp, base_tc);
	printf("%-8s %-32s %8s %s\n", "flows", "case", "ns/pkt", "verdict");
	{
		/* The floor of bench/redirect.bpf.c, for scale. */
		struct redirect_bpf *r = redirect_bpf__open();
		int w = 0;
		double ns;

		if (!r)
			return 1;
		r->data->out_ifindex = if_nametoindex("wan0");
		if (redirect_bpf__load(r))
			return 1;
		hold(bpf_program__fd(r->progs.xdp_redirect_floor), HOLD_FLOOR);
		ns = measure_hot(bpf_program__fd(r->progs.xdp_redirect_floor),
				 XDP_REDIRECT, &w) - hot_xdp;
		printf("%-8s %-32s %8.0f %s\n", "-", "bare redirect, hot (xdp)",
		       ns, w ? "redirect (UNEXPECTED VERDICTS)" : "redirect");
		redirect_bpf__destroy(r);
	}
	{
		/* With --internal prefixes, as many gateways run: the hit
		 * must not pay for the prefix lookup, which only decides
		 * whether a new flow may open. */
		struct bpfmasq_bpf *skel = load_sized(1000 + SLACK, true);
		int fast = bpf_program__fd(skel->progs.masq_lan_fast), w;
		double ns;

		hot_flows(bpf_map__fd(skel->maps.flows));
		hold(fast, HOLD_LAN_FAST);
		ns = measure_hot(fast, XDP_REDIRECT, &w) - hot_xdp;
		printf("%-8s %-32s %8.0f %s\n", "1k", "lan_fast hit, hot, --internal",
		       ns, w ? "redirect (UNEXPECTED VERDICTS)" : "redirect");
		printf("fastpath_hot_internal_ns %.0f\n", ns);
		bpfmasq_bpf__destroy(skel);
	}

	for (i = 0; i < n; i++) {
		struct bpfmasq_bpf *skel;
		unsigned long long mf;
		__u32 max_flows;
		double v;
		int out, in, fast, lan_open;
		size_t k;

		nflows = sizes[i];
		if (!nflows)
			continue;
		max_flows = nflows + SLACK;
		skel = load_sized(max_flows, false);
		if (max_flows >= 1048576)
			loaded_1m = true;
		fill(skel);
		hot_flows(bpf_map__fd(skel->maps.flows));
		if (getenv("MICRO_PROFILE")) {
			/* Only the hot fast path, MICRO_PROFILE rounds of it
			 * (at least 20), for perf record. */
			int w, k, rounds = atoi(getenv("MICRO_PROFILE"));

			hold(bpf_program__fd(skel->progs.masq_lan_fast),
			     HOLD_LAN_FAST);
			for (k = 0; k < (rounds > 20 ? rounds : 20); k++)
				printf("lan_fast hot %.0f\n",
				       measure_hot(bpf_program__fd(skel->progs.masq_lan_fast),
						   XDP_REDIRECT, &w) - hot_xdp);
			return 0;
		}
		out = bpf_program__fd(skel->progs.masq_wan_out);
		in = bpf_program__fd(skel->progs.masq_wan_in);
		fast = bpf_program__fd(skel->progs.masq_lan_fast);
		lan_open = bpf_program__fd(skel->progs.masq_lan_open);
		hold(fast, HOLD_LAN_FAST);
		hold(in, HOLD_WAN_IN);
		/* The cold cases, in the order they run: each run a fresh
		 * packet of one of nflows flows at random, or of a new one;
		 * ns above the empty program of the same hook. */
		const struct cold_case {
			const char *name, *says;
			int fd;
			enum pkt_kind kind;
			int calls;	/* ICMP errors: measure_icmp_err's own */
			__u32 verdict;
			double base;
		} cold[] = {
			{ "lan_fast hit, cold (xdp)", "redirect", fast, HIT_OUT,
			  CALLS, XDP_REDIRECT, base_xdp },
			{ "lan_fast miss, bound, --lan-new",
			  "flow created, redirect", lan_open, MISS_FAST, MISS_CALLS,
			  XDP_REDIRECT, base_xdp },
			{ "wan_in hit, cold (xdp)", "pass, translated", in,
			  HIT_IN, CALLS, XDP_PASS, base_xdp },
			{ "wan_in icmp error, cold (xdp)", "pass, translated", in,
			  ICMP_ERR_IN, 0, XDP_PASS, base_xdp },
			{ "wan_out hit, cold (tc)", "ok, translated", out,
			  HIT_OUT, CALLS, TC_ACT_OK, base_tc },
			{ "wan_out icmp error, cold (tc)", "ok, translated", out,
			  ICMP_ERR_OUT, 0, TC_ACT_OK, base_tc },
			{ "wan_out miss, bound, cold (tc)", "flow created", out,
			  MISS_NEW_REMOTE, MISS_CALLS, TC_ACT_OK, base_tc },
			{ "wan_out miss, new ep, cold (tc)",
			  "binding+flow created", out, MISS_NEW_EP, MISS_CALLS,
			  TC_ACT_OK, base_tc },
		};

#define ROW(name, val, w, want)						\
	printf("%-8s %-32s %8.0f %s%s\n", label(nflows), name, val,	\
	       want, w ? " (UNEXPECTED VERDICTS)" : "");			\
	if (w)								\
		printf("# %d runs had another verdict\n", w)

		v = measure_hot(fast, XDP_REDIRECT, &wrong) - hot_xdp;
		ROW("lan_fast hit, hot (xdp)", v, wrong, "redirect");
		printf("fastpath_hot_%s_ns %.0f\n", label(nflows), v);
		v = measure_hot(out, TC_ACT_OK, &wrong) - hot_tc;
		ROW("wan_out hit, hot (tc)", v, wrong, "ok, translated");
		/* Flow creation on the fast path: masq_lan_open (--lan-new). */
		hold(lan_open, HOLD_LAN_NEW);
		for (k = 0; k < sizeof(cold) / sizeof(cold[0]); k++) {
			const struct cold_case *c = &cold[k];

			if (c->kind == ICMP_ERR_IN || c->kind == ICMP_ERR_OUT)
				v = measure_icmp_err(skel, c->fd, c->kind,
						     c->verdict, &wrong);
			else
				v = measure(c->fd, c->kind, c->calls, c->verdict,
					    &wrong);
			ROW(c->name, v - c->base, wrong, c->says);
		}
		/* Last: they rewrite the outbound entries into cycles. */
		v = measure_chain(skel, ACTIVE_FLOWS, &wrong) - hot_xdp;
		ROW("lan_fast hit, 1024 flows busy", v, wrong, "redirect");
		printf("fastpath_%s_ns %.0f\n", label(nflows), v);
		if (i == 0)
			fast_first = v;
		fast_last = v;
		v = measure_chain(skel, nflows, &wrong) - hot_xdp;
		ROW("lan_fast hit, every flow busy", v, wrong, "redirect");
		printf("fastpath_all_%s_ns %.0f\n", label(nflows), v);

		if (i == n - 1) {
			struct bpf_program *progs[] = { skel->progs.masq_lan_fast,
							skel->progs.masq_wan_in,
							skel->progs.masq_wan_out };
			unsigned int p;

			for (p = 0; p < 3; p++) {
				struct bpf_prog_info pi = {};
				__u32 len = sizeof(pi);

				if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[p]),
							   &pi, &len))
					continue;
				printf("# %s: %u BPF instructions after the verifier, %u bytes of x86 code\n",
				       bpf_program__name(progs[p]),
				       pi.xlated_prog_len / 8, pi.jited_prog_len);
			}
		}
		bpfmasq_bpf__destroy(skel);
		mf = memory_for(nflows);
		printf("%-8s memory: flows + binds %llu bytes for --max-flows %u = %.0f bytes/flow\n",
		       label(nflows), mf, nflows, (double)mf / nflows);
		if (nflows >= max_n) {
			max_n = nflows;
			bpf_total = mf;
			bpf_max = nflows;
		}
	}
	{
		char a[32];

		snprintf(a, sizeof(a), "%s", label(max_n));
		printf("fastpath_%s_over_%s %.2f\n", a, label(sizes[0]),
		       fast_first > 0 ? fast_last / fast_first : 0);
	}
	printf("bytes_per_flow %.0f\n", bpf_max ? (double)bpf_total / bpf_max : 0);
	printf("max_flows_1M_loaded %s\n", loaded_1m ? "yes" : "no");
	return 0;
}
