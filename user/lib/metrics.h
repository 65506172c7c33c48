/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `bpfmasq stats --prometheus`: the counters and the tables' fill in the
 * Prometheus text exposition format (version 0.0.4).  Every metric family
 * is described once, in metric_families[]; metrics_print() writes one
 * block (HELP, TYPE, samples) per family, with a sample per interface.
 */
#ifndef BPFMASQ_METRICS_H
#define BPFMASQ_METRICS_H

#include <net/if.h>
#include <stdio.h>
#include <linux/types.h>
#include "bpfmasq.h"

struct instance;

/* The protocols whose external ports (ICMP: echo ids) NAT hands out. */
enum metrics_proto { MP_TCP, MP_UDP, MP_ICMP, MP_MAX };

/* What one interface's metrics are made of, read in one go. */
struct metrics_snap {
	char ifname[IF_NAMESIZE];
	__u64 counters[CNT_MAX];	/* summed over the CPUs */
	__u64 conns;			/* complete pairs in `flows` */
	__u64 conns_limit;		/* max_entries of `flows` / 2 */
	__u64 bindings_dynamic;		/* DIR_IN bindings, not forwards */
	__u64 bindings_forward;		/* forwards (static bindings) */
	__u64 expectations;		/* ALG expectations not used yet */
	__u64 ports_used[MP_MAX];	/* of the NAT range, held by bindings */
	__u64 ports_free[MP_MAX];
	__u64 controller_running;	/* 0 or 1 */
	/* The --external addresses, whether each is on the WAN here. */
	char ext_addr[BPFMASQ_MAX_EXT][16];
	__u64 ext_on_wan[BPFMASQ_MAX_EXT];
	int n_ext;
};

/* Where a family's samples come from. */
enum metric_source {
	MS_COUNTERS,		/* the counters in .feed, one sample each */
	MS_DROPS,		/* every drop reason (CNT_FIRST_DROP up to CNT_END_DROP):
				 * label value = counter name less "drop_" */
	MS_CONNS,
	MS_CONNS_LIMIT,
	MS_BINDINGS,		/* label values "dynamic", "forward" */
	MS_EXPECTATIONS,
	MS_PORTS_USED,		/* label values "tcp", "udp", "icmp" */
	MS_PORTS_FREE,
	MS_CONTROLLER,
	MS_EXT_ON_WAN,		/* label value: each --external address */
};

#define METRIC_FEED_MAX 8

/* A counter of `stats` and the label value its sample gets (NULL: the
 * family has one sample per interface, without a label of its own). */
struct metric_feed {
	__u32 counter;		/* enum bpfmasq_counter */
	const char *value;
};

struct metric_family {
	const char *name;	/* bpfmasq_..., counters end in _total */
	const char *type;	/* "counter" or "gauge" */
	const char *help;
	const char *label;	/* the label telling the samples apart, or NULL */
	enum metric_source src;
	unsigned int nfeed;	/* MS_COUNTERS: entries of feed[] */
	struct metric_feed feed[METRIC_FEED_MAX];
};

extern const struct metric_family metric_families[];
extern const size_t metric_nr_families;

/* The counters of a `stats` map, summed over the CPUs, into sums[CNT_MAX]. */
int stats_read(int stats_fd, __u64 *sums);
/* The name of a counter (enum bpfmasq_counter), as `stats` prints it. */
const char *counter_name(int idx);

/* Read an instance's counters and maps; -1 after printing an error. */
int metrics_read(const struct instance *in, struct metrics_snap *s);

/*
 * The exposition of n interfaces, to f.  A writer of a file for node
 * exporter's textfile collector prints into a temporary file in the same
 * directory and renames it over the old one.
 */
void metrics_print(FILE *f, const struct metrics_snap *s, size_t n);

#endif
