/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit tests' one harness, in the manner of the kernel's BPF
 * selftests: named cases (test_start/test_end), labelled non-fatal
 * asserts (ASSERT_EQ(got, want, "label") returns whether it held, so a
 * case reads `if (!ASSERT_EQ(...)) return;`), a `-t NAME` filter, and for
 * the tests that load bpfmasq's programs the readers of its counters and
 * maps (harness_bpf.c).
 *
 * Output is what tests/run.sh counts: one "PASS name" or "FAIL name: why"
 * line per case (further problems of a failed case indented under it),
 * "SKIP name: why", and a last "N passed, N failed".
 */
#ifndef BPFMASQ_TEST_HARNESS_H
#define BPFMASQ_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

/* Parse the command line (-t NAME[,NAME...], repeatable; -h).  Exits on
 * a bad one. */
void harness_init(int argc, char **argv, const char *usage_extra);

/*
 * Is the file, group or case called name selected by -t?  No -t selects
 * all; -t NAME selects what is called NAME and everything in it, and
 * -t GROUP/TEXT the cases of GROUP whose names hold TEXT (with the group
 * itself, which runs its earlier steps quietly to set them up).
 */
bool test_selected(const char *name);
/* Is case name of group selected: -t GROUP or -t GROUP/TEXT? */
bool test_selected_in(const char *group, const char *name);

/*
 * A case: test_start(), then any number of failures, then test_end(),
 * which prints PASS when none came.  quiet: the case only prepares a later
 * one (a step a -t filter did not select): nothing is printed or counted.
 */
void test_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_start_quiet(bool quiet);
bool test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test_failed(void);
void test_end(void);

/* A whole case at once: check(ok, name, why...). */
bool check(bool ok, const char *name, const char *fmt, ...);

/* A case or group that cannot run here (SKIP, not counted as failed);
 * test_error(): one that broke before its cases ran (counted). */
void test_skip(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void test_error(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "N passed, N failed"; the exit status for main. */
int harness_exit(void);

#define ASSERT_EQ(got, want, label)					\
	({								\
		long long __got = (long long)(got);			\
		long long __want = (long long)(want);			\
		__got == __want ||					\
			test_fail("%s: %lld, expected %lld", (label),	\
				  __got, __want);			\
	})
#define ASSERT_NEQ(got, unwanted, label)				\
	({								\
		long long __got = (long long)(got);			\
		long long __bad = (long long)(unwanted);		\
		__got != __bad ||					\
			test_fail("%s: %lld, expected anything else",	\
				  (label), __got);			\
	})
#define ASSERT_TRUE(cond, label)					\
	({								\
		bool __ok = (cond);					\
		__ok || test_fail("%s: false, expected true", (label));	\
	})
#define ASSERT_OK(err, label)						\
	({								\
		long long __err = (long long)(err);			\
		!__err || test_fail("%s: error %lld", (label), __err);	\
	})

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- for tests that load bpfmasq's programs (harness_bpf.c) ---- */
#ifdef HARNESS_BPF
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "bpfmasq.h"

/*
 * The programs a data-plane test runs.  HAIRPIN: masq_lan_hairpin, run as
 * if the frame came in on lan0; WAN_IN_TC: masq_wan_in_tc; HAIRPIN_L3:
 * masq_hairpin_l3 (lantun); LAN_OPEN: masq_lan_open (--lan-new).
 */
enum prog {
	WAN_OUT = 1, WAN_IN, LAN_FAST, HAIRPIN, WAN_IN_TC, HAIRPIN_L3, LAN_OPEN,
};

struct bpfmasq_bpf;
int harness_prog_fd(const struct bpfmasq_bpf *skel, enum prog p);

/* The counters' names as `bpfmasq stats` prints them. */
extern const char *const counter_names[CNT_MAX];

/* Root and libbpf's set-up; false (with a SKIP line) when not root. */
bool harness_bpf_init(const char *prog);
/* Every counter of the stats map, summed over the CPUs. */
void counters_read(struct bpf_map *stats, __u64 *c);
/* How many entries a map holds. */
int map_count(struct bpf_map *map);
/* "tcp out 10.0.0.2:40000 -> 198.51.100.2:80": a struct flow_key. */
void fmt_flow_key(const void *key, char *buf, size_t len);
/* Remove every entry of a hash map. */
void map_clear(struct bpf_map *map);
#endif

#endif
