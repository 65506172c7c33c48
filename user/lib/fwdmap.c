// SPDX-License-Identifier: GPL-2.0
/* A forward in the maps: see fwdmap.h. */
#include <netinet/in.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include "flowtable.h"
#include "fwdmap.h"
#include "instance.h"

int forward_port_mark(const struct instance *in, __be16 port, bool on)
{
	__u32 p = ntohs(port), word = p / 64;
	__u64 bits;

	if (bpf_map_lookup_elem(in->fwd_ports_fd, &word, &bits))
		return -1;
	if (on)
		bits |= 1ULL << (p % 64);
	else
		bits &= ~(1ULL << (p % 64));
	return bpf_map_update_elem(in->fwd_ports_fd, &word, &bits, BPF_ANY);
}

/* Remove the connections a deleted forward carried. */
static void flush_forward_flows(const struct instance *in, __u8 proto,
				__be16 ext_port, const struct bind_val *target)
{
	struct conn *c;
	size_t n;

	if (conns_list(in->flows_fd, &c, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (c[i].out_key.proto != proto || c[i].out.nat_port != ext_port ||
		    c[i].out_key.saddr != target->addr ||
		    c[i].out_key.sport != target->port)
			continue;
		bpf_map_delete_elem(in->flows_fd, &c[i].in_key);
		bpf_map_delete_elem(in->flows_fd, &c[i].out_key);
	}
	free(c);
}

int forward_remove(const struct instance *in, __be32 ext_addr, __u8 proto,
		   __u16 port)
{
	struct bind_key kin = { .dir = DIR_IN, .proto = proto,
				.addr = ext_addr, .port = htons(port) };
	struct bind_key kout;
	struct bind_val vin, other;

	if (bpf_map_lookup_elem(in->binds_fd, &kin, &vin) ||
	    !(vin.flags & BIND_STATIC))
		return -1;
	kout = (struct bind_key){ .addr = vin.addr, .port = vin.port,
				  .proto = proto, .dir = DIR_OUT };
	bpf_map_delete_elem(in->binds_fd, &kout);
	bpf_map_delete_elem(in->binds_fd, &kin);
	flush_forward_flows(in, proto, kin.port, &vin);
	/* The bit is per port, shared by tcp and udp. */
	kin.proto = proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP;
	if (bpf_map_lookup_elem(in->binds_fd, &kin, &other) ||
	    !(other.flags & BIND_STATIC))
		forward_port_mark(in, kin.port, false);
	return 0;
}
