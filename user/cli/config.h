/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /etc/bpfmasq/IFNAME.conf: a line is an option of `bpfmasq up` without
 * its dashes ("timeout-udp 120", "lan-inbound") or a port forward
 * ("forward tcp 80 10.0.1.5:8080"); `#` starts a comment.  Every setting
 * goes through up's option table (up_opts_apply()), so a file and a
 * command line take the same keys, values and errors.  `bpfmasq check`
 * reads it as `up` would and changes nothing.
 */
#ifndef BPFMASQ_CONFIG_H
#define BPFMASQ_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include "forward.h"
#include "up.h"

/* The directory of IFNAME.conf; the environment variable overrides it
 * (the tests' own directory). */
#define CONF_DIR "/etc/bpfmasq"
#define CONF_DIR_ENV "BPFMASQ_CONF_DIR"

struct conf_forward {
	struct fwd_spec f;
	int line;
};

/* What a file gave beyond the settings it applied to a struct up_opts. */
struct up_config {
	char path[PATH_MAX];	/* the file read; "" when there was none */
	struct conf_forward *fwd;
	int n_fwd;
	int settings;		/* lines that set a setting of the data plane */
};

/*
 * Read path onto o (which holds the defaults, or whatever came before):
 * each line through up_opts_apply(), the forwards into c.  An error is
 * one line "FILE:LINE: ..." (the option's own message for a bad value);
 * -1 then.  Repeatable options add a value a line; any other key given
 * twice is an error.
 */
int config_read(const char *path, struct up_opts *o, struct up_config *c);

/*
 * `up` and `check`: the defaults, then the file (--config FILE, else
 * CONF_DIR/IFNAME.conf when it exists), then argv over it: a single-valued
 * option replaces the file's value, a repeatable one (--internal, --lan,
 * --no-alg) given on the command line replaces all the file's values.
 * cmd ("up", "check") names the command in errors; IFNAME may be left out
 * only when ifname_optional and --config is given.  0, or -1 (error said).
 */
int up_opts_load(const char *cmd, int argc, char **argv, bool ifname_optional,
		 struct up_opts *o, struct up_config *c);

/*
 * The file's forwards into a running instance (in: what `up` attached or
 * adopted).  New data plane (adopted false): every forward is added, the
 * first failure is returned (-1, error said).  Adopted: a forward already
 * there is left alone, one whose port the running data plane forwards
 * elsewhere is kept as it runs (a note says so), and one that cannot be
 * added is reported without stopping the adoption; returns 0.
 */
struct instance;
int config_forwards_apply(const struct up_config *c, const struct instance *in,
			  bool adopted);

void config_free(struct up_config *c);

int cmd_check(int argc, char **argv);
void help_check(FILE *f);

#endif
