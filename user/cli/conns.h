/* SPDX-License-Identifier: GPL-2.0 */
/* The filters of `conns`, which `monitor` takes too. */
#ifndef BPFMASQ_CONNS_H
#define BPFMASQ_CONNS_H

#include <stdbool.h>
#include <linux/types.h>
#include "bpfmasq.h"

/* One ADDR[/LEN][:PORT]. */
struct endpoint_filter {
	bool on;
	__be32 addr, mask;
	bool has_port;
	__u16 port;
};

struct conn_filter {
	bool has_proto;
	__u8 proto;
	struct endpoint_filter inside, remote;
	bool has_outside;
	__u16 out_lo, out_hi;
	__u32 states;		/* 1 << enum row_state; 0: any */
};

/* IFNAME and FILTERS from argv (argv[0]: the first after the command
 * word); -1 after printing an error. */
int conns_filter_parse(int argc, char **argv, const char **ifname,
		       struct conn_filter *f);
/* Does an event's record pass the filters (as its connection's row)? */
bool conns_filter_match_event(const struct conn_filter *f,
			      const struct conn_event *r);

#endif
