// SPDX-License-Identifier: GPL-2.0
/* The harness's share for tests that load bpfmasq's programs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define HARNESS_BPF
#include "harness.h"
#include "bpfmasq.skel.h"

const char *const counter_names[CNT_MAX] = {
#define BPFMASQ_NAME(sym, name) [sym] = name,
	BPFMASQ_COUNTERS(BPFMASQ_NAME)
#undef BPFMASQ_NAME
};

static int ncpus;

/* The programs by enum prog, as bpf/bpfmasq.bpf.c names them. */
static const char *const prog_names[] = {
	[WAN_OUT] = "masq_wan_out",
	[WAN_IN] = "masq_wan_in",
	[LAN_FAST] = "masq_lan_fast",
	[HAIRPIN] = "masq_lan_hairpin",
	[WAN_IN_TC] = "masq_wan_in_tc",
	[HAIRPIN_L3] = "masq_hairpin_l3",
	[LAN_OPEN] = "masq_lan_open",
};

int harness_prog_fd(const struct bpfmasq_bpf *skel, enum prog p)
{
	const struct bpf_program *prog = NULL;

	if (p > 0 && p < ARRAY_LEN(prog_names))
		prog = bpf_object__find_program_by_name(skel->obj,
							prog_names[p]);
	return prog ? bpf_program__fd(prog) : -1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

bool harness_bpf_init(const char *prog)
{
	if (geteuid() != 0) {
		printf("SKIP: %s loads BPF programs and needs root\n", prog);
		return false;
	}
	libbpf_set_print(print_libbpf);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		test_error(prog, "cannot count possible CPUs");
		return false;
	}
	return true;
}

void counters_read(struct bpf_map *stats, __u64 *c)
{
	int fd = bpf_map__fd(stats);
	__u64 v[ncpus];

	for (__u32 i = 0; i < CNT_MAX; i++) {
		c[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++)
			c[i] += v[cpu];
	}
}

int map_count(struct bpf_map *map)
{
	char key[64], next[64];
	int fd = bpf_map__fd(map), n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

void fmt_flow_key(const void *key, char *buf, size_t len)
{
	const struct flow_key *k = key;
	char s[16], d[16];

	inet_ntop(AF_INET, &k->saddr, s, sizeof(s));
	inet_ntop(AF_INET, &k->daddr, d, sizeof(d));
	snprintf(buf, len, "%s %s %s:%u -> %s:%u",
		 k->proto == IPPROTO_TCP ? "tcp" : k->proto == IPPROTO_UDP ? "udp" :
		 k->proto == IPPROTO_ICMP ? "icmp" : "?",
		 k->dir == DIR_OUT ? "out" : "in", s, ntohs(k->sport), d,
		 ntohs(k->dport));
}

void map_clear(struct bpf_map *map)
{
	char key[64];
	int fd = bpf_map__fd(map);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}
