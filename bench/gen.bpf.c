// SPDX-License-Identifier: GPL-2.0
/*
 * A traffic generator that looks like a NIC to the gateway: run through
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on the client's veth,
 * every XDP_TX frame is transmitted to the gateway without an skb.
 *
 * Each frame waits for its time slot (pace.bpf.h).  The kernel recycles
 * the pages with whatever the gateway wrote into them, so every frame is
 * rebuilt from the template.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bench.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Set by the loader before load.  Deliberately .data, not const volatile
 * .rodata: clang 14 folds reads of a const array through a cast dropping
 * volatile into the compile-time zeros.
 */
__u8 tmpl[FRAME_LEN] SEC(".data") = {};
__u64 interval_ns SEC(".data") = 0;			/* 0: as fast as possible */
__u32 nflows = 1;
__be16 sports[GEN_MAX_FLOWS] SEC(".data") = {};	/* UDP source port of flow i */
__u16 csums[GEN_MAX_FLOWS] SEC(".data") = {};	/* its complete UDP checksum */

/* State and results, read back by the loader. */
__u64 seq SEC(".data") = 0;
#include "pace.bpf.h"

SEC("xdp")
int gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *uh;
	__u32 flow;

	if (data + FRAME_LEN > data_end)
		return XDP_ABORTED;

	pace(interval_ns);

	__builtin_memcpy(data, tmpl, FRAME_LEN);
	flow = nflows ? seq % nflows : 0;
	if (flow >= GEN_MAX_FLOWS)
		flow = 0;
	uh = data + 14 + 20;
	uh->source = sports[flow];
	uh->check = csums[flow];
	seq++;
	return XDP_TX;
}

/* Any XDP program on the generator's veth. */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
