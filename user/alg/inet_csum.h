/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Internet checksum (RFC 1071) of what the controller builds, rewrites
 * or sends on itself.  Plain C on byte buffers, no libbpf, so the ALG's
 * unit tests use it as the controller does.
 */
#ifndef BPFMASQ_INET_CSUM_H
#define BPFMASQ_INET_CSUM_H

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>

/* Sum bytes as big-endian 16-bit words onto sum (unfolded). */
static inline __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

static inline __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The checksum of a sum, in network order. */
static inline __be16 csum_finish(__u32 sum)
{
	return htons(~csum_fold(sum) & 0xffff);
}

/* The pseudo-header sum of the TCP segment in the IPv4 packet pkt[0, len). */
static inline __u32 tcp_pseudo_sum(const __u8 *pkt, size_t ihl, size_t len)
{
	return csum_add(0, pkt + 12, 8) + IPPROTO_TCP + (__u32)(len - ihl);
}

/*
 * What a TCP checksum field holds.  PARTIAL is what a CHECKSUM_PARTIAL
 * skb carries (its sender left the rest to the NIC: a veth with TX
 * offload, i.e. a container or a namespace): the folded pseudo-header sum
 * only.  BAD is neither a complete nor a partial checksum: the segment was
 * damaged on its way.
 */
enum tcp_csum_state {
	TCP_CSUM_COMPLETE,
	TCP_CSUM_PARTIAL,
	TCP_CSUM_BAD,
};

static inline enum tcp_csum_state tcp_csum_state(const __u8 *pkt, size_t ihl,
						 size_t len)
{
	__u32 pseudo = tcp_pseudo_sum(pkt, ihl, len);
	__u16 field = pkt[ihl + 16] << 8 | pkt[ihl + 17];

	if (!csum_finish(csum_add(pseudo, pkt + ihl, len - ihl)))
		return TCP_CSUM_COMPLETE;
	/* 0 and 0xffff are the same number in one's complement. */
	if (field % 0xffff == csum_fold(pseudo) % 0xffff)
		return TCP_CSUM_PARTIAL;
	return TCP_CSUM_BAD;
}

/* Write the complete TCP checksum of the IPv4 packet pkt[0, len). */
static inline void tcp_csum_set(__u8 *pkt, size_t ihl, size_t len)
{
	__u8 *th = pkt + ihl;
	__be16 check;

	th[16] = th[17] = 0;
	check = csum_finish(csum_add(tcp_pseudo_sum(pkt, ihl, len), th,
				     len - ihl));
	memcpy(th + 16, &check, 2);
}

#endif /* BPFMASQ_INET_CSUM_H */
