/* SPDX-License-Identifier: GPL-2.0 */
/* Incremental Internet checksum updates (RFC 1624) for direct packet writes. */
#ifndef BPFMASQ_CSUM_H
#define BPFMASQ_CSUM_H

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m') over 16-bit words; the words stay in network
 * order, which one's complement arithmetic does not mind.  The ~m + m'
 * parts, unfolded, so that one difference can serve several checksums. */
static __always_inline __u32 csum_diff4(__be32 from, __be32 to)
{
	return (__u16)~from + (__u16)~(from >> 16) + (__u16)to + (__u16)(to >> 16);
}

static __always_inline __u32 csum_diff2(__be16 from, __be16 to)
{
	return (__u16)~from + (__u16)to;
}

static __always_inline void csum_apply(__sum16 *sum, __u32 diff)
{
	*sum = ~csum_fold32((__u16)~*sum + diff);
}

static __always_inline void csum_replace4(__sum16 *sum, __be32 from, __be32 to)
{
	csum_apply(sum, csum_diff4(from, to));
}

static __always_inline void csum_replace2(__sum16 *sum, __be16 from, __be16 to)
{
	csum_apply(sum, csum_diff2(from, to));
}

/*
 * Does the L4 checksum field hold only the pseudo-header sum?  That is
 * what a CHECKSUM_PARTIAL skb carries (a veth peer with TX offload, i.e. a
 * container), and XDP cannot see ip_summed.  Such a packet must not be
 * rewritten incrementally as if its checksum were complete.  A complete
 * checksum matches by chance once in 65536 packets; that packet merely
 * takes the TC path, which is always right.
 */
static __always_inline bool csum_looks_partial(__be32 saddr, __be32 daddr,
					       __u8 proto, __u16 l4_len,
					       __sum16 field)
{
	__u32 s = (saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) +
		  (daddr >> 16) + bpf_htons(proto) + bpf_htons(l4_len);

	return field == csum_fold32(s);
}

#endif
