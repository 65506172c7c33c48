// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: the least an XDP gateway must do to forward a packet from the
 * LAN to the WAN (new MACs, TTL decrement with its checksum update, a
 * redirect), with no NAT and no route lookup.  Its cost per packet is what
 * any XDP masquerade adds to.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800

/* .data, not rodata: arrays in const volatile fold to zeros (clang 14). */
__u8 dst_mac[6] SEC(".data") = {};
__u8 src_mac[6] SEC(".data") = {};
__u32 out_ifindex SEC(".data") = 0;

SEC("xdp")
int xdp_redirect_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	__u32 check;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    iph->ttl <= 1)
		return XDP_PASS;

	/* ip_decrease_ttl(): TTL is the high byte of its 16-bit word. */
	check = iph->check;
	check += bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xffff));
	iph->ttl--;
	__builtin_memcpy(eth->h_dest, dst_mac, 6);
	__builtin_memcpy(eth->h_source, src_mac, 6);
	return bpf_redirect(out_ifindex, 0);
}
