// SPDX-License-Identifier: GPL-2.0
/*
 * The receiving end: counts and drops, at XDP on the server's veth, only
 * what a correct gateway delivers: the expected source address and port
 * range (the external address and NAT range for a masquerade), the
 * expected destination, TTL decremented once, and valid IPv4 and UDP
 * checksums.  A broken translation therefore counts as loss, never as
 * speed.  ARP goes to the stack so neighbours can resolve.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800

const volatile __be32 want_saddr = 0;
const volatile __be32 want_daddr = 0;
const volatile __u16 want_sport_lo = 0;	/* host order */
const volatile __u16 want_sport_hi = 0;
const volatile __be16 want_dport = 0;
const volatile __u8 want_ttl = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SINK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

#include "counters.bpf.h"

static __always_inline bool frame_ok(void *data, void *data_end)
{
	struct iphdr *iph = data + 14;
	struct udphdr *uh = data + 14 + 20;
	__u16 *w;
	__u32 s = 0;
	__u16 sport;
	int i;

	if (data + FRAME_LEN > data_end || data_end - data != FRAME_LEN)
		return false;
	if (iph->version != 4 || iph->ihl != 5 || iph->protocol != IPPROTO_UDP ||
	    iph->tot_len != bpf_htons(FRAME_LEN - 14) ||
	    iph->saddr != want_saddr || iph->daddr != want_daddr ||
	    iph->ttl != want_ttl || (iph->frag_off & bpf_htons(0x3fff)))
		return false;
	sport = bpf_ntohs(uh->source);
	if (sport < want_sport_lo || sport > want_sport_hi ||
	    uh->dest != want_dport || uh->len != bpf_htons(UDP_LEN))
		return false;

	w = (void *)iph;
#pragma unroll
	for (i = 0; i < 10; i++)
		s += w[i];
	if (fold(s) != 0xffff)
		return false;

	if (!uh->check)
		return true;	/* no checksum (RFC 768) */
	s = (iph->saddr & 0xffff) + (iph->saddr >> 16) +
	    (iph->daddr & 0xffff) + (iph->daddr >> 16) +
	    bpf_htons(IPPROTO_UDP) + bpf_htons(UDP_LEN);
	w = (void *)uh;
#pragma unroll
	for (i = 0; i < UDP_LEN / 2; i++)
		s += w[i];
	return fold(s) == 0xffff;
}

SEC("xdp")
int sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(SINK_OTHER);
		return XDP_PASS;
	}
	count(frame_ok(data, data_end) ? SINK_OK : SINK_BAD);
	return XDP_DROP;
}
