/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pacing of the live-frames generators (gen.bpf.c, connrate.bpf.c).  One
 * BPF_PROG_TEST_RUN call sends every frame (each call costs milliseconds of
 * set-up), so each frame waits for its time slot here, spinning in
 * bpf_loop until bpf_ktime_get_ns() reaches it.  The state is read back by
 * the loaders.
 */
#ifndef BMBENCH_PACE_BPF_H
#define BMBENCH_PACE_BPF_H

__u64 next_ns SEC(".data") = 0;
__u64 first_ns SEC(".data") = 0;
__u64 last_ns SEC(".data") = 0;
__u64 late SEC(".data") = 0;	/* slots that started more than 100 us late */

static long spin(__u64 i, void *until)
{
	return bpf_ktime_get_ns() >= *(__u64 *)until;
}

/* Wait for the next slot of interval_ns (0: no pacing); returns now. */
static __always_inline __u64 pace(__u64 interval_ns)
{
	__u64 now = bpf_ktime_get_ns();

	if (interval_ns) {
		if (!next_ns)
			next_ns = now;
		if (now < next_ns) {
			__u64 until = next_ns;

			bpf_loop(1 << 23, spin, &until, 0);
			now = bpf_ktime_get_ns();
		} else if (now - next_ns > 100000) {
			/* Far behind (preempted): do not burst to catch up. */
			late++;
			next_ns = now;
		}
		next_ns += interval_ns;
	}
	if (!first_ns)
		first_ns = now;
	last_ns = now;
	return now;
}

#endif
