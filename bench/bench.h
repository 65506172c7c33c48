/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmark's BPF programs (gen, sink, redirect) and their loader
 * share.  Plain __u32/__be32 types only.
 */
#ifndef BMBENCH_H
#define BMBENCH_H

/* 64-byte Ethernet frames on the wire: 60 bytes plus an FCS that veth does
 * not carry.  Ethernet 14 + IPv4 20 + UDP 8 + 18 bytes of payload. */
#define FRAME_LEN	60
#define UDP_LEN		(FRAME_LEN - 14 - 20)
/* Flows the generator can cycle through (one UDP source port each). */
#define GEN_MAX_FLOWS	65536

/* Sink counters (per-CPU array slots). */
enum sink_counter {
	SINK_OK,	/* translated as expected, checksums valid */
	SINK_BAD,	/* IPv4 but not what a correct gateway sends */
	SINK_OTHER,	/* not IPv4 (ARP is passed to the stack) */
	SINK_MAX
};

#endif
