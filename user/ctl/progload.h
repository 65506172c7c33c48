/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_PROGLOAD_H
#define BPFMASQ_PROGLOAD_H

#include "instance.h"

/*
 * Load one program of the data plane over the maps of a running instance,
 * its .rodata (the settings) included, so that it shares every flow,
 * binding and counter with the attached programs.  Returns its fd, or -1
 * after logging why.  What keeps a program alive is whoever holds it: an
 * attached filter, a pin, an fd; a controller that needs one no longer
 * held anywhere (pins die with the mount namespace of `ip netns exec`)
 * loads it again.
 */
int instance_load_prog(const struct instance *in, const char *name);

/* What instance_replace() loads. */
struct replace_opts {
	/* The settings; the build fields are this build's whatever they
	 * say here. */
	struct bpfmasq_bpf__rodata cfg;
	/* The tables' sizes (max_entries of flows and binds); 0 keeps
	 * the running one. */
	__u32 flows_entries;
	__u32 binds_entries;
	bool lan;	/* there are --lan names: load a LAN program */
};

/*
 * This build's programs with ro's settings in the place of every program
 * of the running instance: loaded over its maps (a map whose size
 * changes is made anew and every entry moved over), then swapped in
 * where the old ones are attached, each atomically (XDP replace with the
 * expected old program, tc replace of the same filter), then pinned.  On
 * success *in holds the new programs and maps and the old fds are
 * closed.  -1 after saying why (p_err): then nothing changed.
 */
int instance_replace(struct instance *in, const struct replace_opts *ro);

#endif
