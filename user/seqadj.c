// SPDX-License-Identifier: GPL-2.0
/*
 * TCP sequence adjustment model; see seqadj.h.  Written so each function
 * is branch-for-branch what the BPF fast path does.
 */
#include "seqadj.h"

bool seqadj_record(struct seqadj_dir *d, __u32 seq, __s32 delta)
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

__u32 seqadj_seq(const struct seqadj_dir *d, __u32 seq)
{
	__s32 off = seq_after(seq, d->correction_pos) ?
		    d->offset_after : d->offset_before;

	return seq + (__u32)off;
}

__u32 seqadj_ack(const struct seqadj_dir *other, __u32 ack)
{
	__s32 off = seq_after(ack - (__u32)other->offset_before,
			      other->correction_pos) ?
		    other->offset_after : other->offset_before;

	return ack - (__u32)off;
}
