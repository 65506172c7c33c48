/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP sequence adjustment after an ALG changed a segment's length, as
 * Linux's nf_conntrack_seqadj does it.  Plain inline C compiled into both
 * sides: the controller when it rewrites a segment, the BPF programs for
 * every later segment, so the two cannot drift apart.
 *
 * All sequence numbers are compared in serial-number arithmetic (RFC 1982),
 * so the 32-bit space wraps like TCP's.
 */
#ifndef BPFMASQ_SEQADJ_H
#define BPFMASQ_SEQADJ_H

#ifndef __bpf__
#include <stdbool.h>
#include <linux/types.h>
#endif

/* seq1 comes before seq2 (the kernel's before()). */
static inline bool seq_before(__u32 seq1, __u32 seq2)
{
	return (__s32)(seq1 - seq2) < 0;
}

static inline bool seq_after(__u32 seq1, __u32 seq2)
{
	return seq_before(seq2, seq1);
}

/*
 * One direction of a connection.  Only one correction is remembered, as
 * in Linux: segments starting at or before correction_pos get
 * offset_before, later ones offset_after.  So a retransmission of the last
 * rewritten segment, or of anything after the rewrite before it, gets the
 * offset it had the first time; but once a later rewrite moved the point,
 * a retransmission at or before the earlier one gets the wrong offset.
 * FTP and IRC control connections are lock-step enough that this does
 * not happen in practice (a rewrite follows the peer's answer to the
 * previous one).  All zero is "no adjustment".
 */
struct seqadj_dir {
	__u32 correction_pos;	/* sequence number (as received, before any
				 * adjustment) of the last rewritten segment */
	__s32 offset_before;	/* delta of segments starting at or before it */
	__s32 offset_after;	/* delta of segments starting after it */
};

/*
 * Record that the segment starting at seq (as received) was rewritten and
 * its payload grew by delta bytes (new_len - old_len; negative if it
 * shrank; the sum when one segment holds several rewrites).
 *
 * The point moves only when there is no pending correction yet or seq is
 * after it.  A rewrite at or before the point is a retransmission of an
 * already counted segment, which the caller re-rewrites identically: it
 * must not count twice.  delta 0 changes nothing.  Returns whether the
 * state changed.
 */
static inline bool seqadj_record(struct seqadj_dir *d, __u32 seq, __s32 delta)
{
	/* offset_before == offset_after: nothing pending, any seq starts
	 * the first correction (even one "before" a stale point). */
	if (!delta)
		return false;
	if (d->offset_before != d->offset_after &&
	    !seq_before(d->correction_pos, seq))
		return false;
	d->correction_pos = seq;
	d->offset_before = d->offset_after;
	/* Unsigned: the offset wraps with the sequence space, never UB. */
	d->offset_after = (__s32)((__u32)d->offset_after + (__u32)delta);
	return true;
}

/*
 * The SEQ to send for a segment of this direction that starts at seq (as
 * received).  For the rewritten segment itself the answer is the same
 * before and after its seqadj_record(), so the caller may do either first.
 */
static inline __u32 seqadj_seq(const struct seqadj_dir *d, __u32 seq)
{
	__s32 off = seq_after(seq, d->correction_pos) ?
		    d->offset_after : d->offset_before;

	return seq + (__u32)off;
}

/*
 * Map an ACK number (or a SACK block edge) of the reverse direction back
 * into this direction's original sequence space: other is the state of
 * the direction being acknowledged.  As in Linux's nf_ct_seq_adjust(),
 * ack - offset_before is compared with correction_pos: an ACK beyond the
 * start of the rewritten segment (as sent) subtracts offset_after, any
 * other offset_before.
 */
static inline __u32 seqadj_ack(const struct seqadj_dir *other, __u32 ack)
{
	__s32 off = seq_after(ack - (__u32)other->offset_before,
			      other->correction_pos) ?
		    other->offset_after : other->offset_before;

	return ack - (__u32)off;
}

#endif /* BPFMASQ_SEQADJ_H */
