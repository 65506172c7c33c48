/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which build runs an instance, and whether this one may take it over.
 * A build is its version (git describe, or the Makefile's VERSION) and a
 * hash of its BPF object; both go into the programs' .rodata when they are
 * loaded (bpf/config.h), so the kernel itself says which code runs.  Two
 * builds may share maps when their layout is the same: the same
 * BPFMASQ_LAYOUT_VERSION and, map by map, the same type, key and value
 * sizes and flags (a table's size may differ: it is migrated).
 */
#ifndef BPFMASQ_BUILD_H
#define BPFMASQ_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "instance.h"

struct build_id {
	char version[48];	/* "" for a build from before build ids */
	__u64 object;
	__u32 layout;		/* BPFMASQ_LAYOUT_VERSION; 0: unknown */
	__u64 layout_hash;	/* over layout and every shared map's shape */
};

/* This binary's build. */
const struct build_id *build_self(void);
/* The build an instance's .rodata records. */
void build_of(const struct instance *in, struct build_id *b);
bool build_same(const struct build_id *a, const struct build_id *b);
/* "v1.2-3-gabcdef (object 0123456789abcdef)", or how it is unknown. */
const char *build_str(const struct build_id *b, char *buf, size_t len);
/* Record this build in the .rodata of an opened, not yet loaded object. */
void build_stamp(struct bpfmasq_bpf *skel);

/*
 * Can this build's programs run on in's maps?  0, or -1 with why (one
 * sentence naming the map or the layout versions) in why.
 */
int build_check_layout(const struct instance *in, char *why, size_t len);

/* build_check_layout(), said (p_err) in one line with what to do:
 * 0, or -1 when this build must not take the instance over. */
int build_may_take_over(const struct instance *in);

/* The program's tag (bpf_prog_info.tag) as 16 hex digits, "" if none. */
void prog_tag(int prog_fd, char tag[17]);

#endif
