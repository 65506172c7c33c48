/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Option tables: each option is declared once, with its value type, where
 * it is stored, its default, the values it takes and its help; the
 * command-line parser, the help text and one (name, value) setter all
 * read the same table (after xdp-tools' DEFINE_OPTION).  The setter is
 * what a config file line "timeout-udp 120" is to go through, exactly as
 * "--timeout-udp 120" does.
 */
#ifndef BPFMASQ_OPTIONS_H
#define BPFMASQ_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

enum opt_type {
	OPT_FLAG,	/* no value: sets a bool */
	OPT_U32,	/* a number from .min to .max, or one of .words: __u32 */
	OPT_ENUM,	/* one of .words, stored as its .val: int */
	OPT_FLAGS,	/* one of .words per use, OR'ed: unsigned int */
	OPT_STRING,	/* kept as given, e.g. a file name: const char * */
	OPT_IFNAME,	/* an interface name, which may not exist yet:
			 * const char *[] */
	OPT_ADDR,	/* an IPv4 address: __be32 (or __be32[], repeatable) */
	OPT_CIDR,	/* ADDR/LEN, the length required: struct internal_key[] */
	OPT_PORT_RANGE,	/* LO-HI: struct port_range */
	OPT_PORT_LIST,	/* up to .max_count ports, "21,2121": __u16[], 0-ended */
	OPT_EXT_ADDR,	/* ADDR[:LO-HI], repeatable: struct ext_spec[] */
};

/* A word an option takes: "strict", "auto", "ftp". */
struct opt_word {
	const char *name;
	unsigned int val;
	const char *help;	/* said in errors: "use strict (...) or cone" */
};

enum opt_flags {
	OPTF_RUNTIME = 1 << 0,	/* how to run, not a setting of the data plane */
	OPTF_CMDLINE = 1 << 1,	/* the command line only (--config names the
				 * file: it cannot be a line of one) */
};

struct opt_def {
	const char *name;	/* "timeout-udp": --timeout-udp, and a config key */
	enum opt_type type;
	size_t off;		/* where the value goes in the options struct */
	const char *metavar;	/* "S", "LO-HI"; words are shown by themselves */
	const char *help;	/* one line */
	const char *def;	/* default, written as a value; applied first */
	const char *def_doc;	/* the default in words when no value says it */
	__u32 min, max;		/* OPT_U32 */
	const struct opt_word *words;	/* OPT_ENUM, OPT_FLAGS; OPT_U32: also */
	/* Repeatable (OPT_IFNAME, OPT_CIDR, OPT_EXT_ADDR; OPT_ADDR given
	 * .max_count):
	 * values go to an array at .off,
	 * counted by the int at .count_off, at most .max_count of them.
	 * OPT_PORT_LIST: .max_count is the array's length. */
	size_t count_off;
	unsigned int max_count;
	unsigned int flags;	/* enum opt_flags */
};

/* The end of a table. */
#define OPT_END { .name = NULL }

/* The default as help and README show it: .def, .def_doc or "off". */
const char *opt_default_text(const struct opt_def *d);
/* "ADDR/LEN", "strict|cone", "auto|N", "" for a flag, into buf. */
const char *opt_metavar(const struct opt_def *d, char *buf, size_t size);
bool opt_repeatable(const struct opt_def *d);
const struct opt_def *opt_find(const struct opt_def *defs, const char *name);

/* Every .def of the table applied to dst (which the caller zeroed). */
int opts_set_defaults(const struct opt_def *defs, void *dst);

/*
 * Set one option: name without "--"; value NULL for a flag.  Errors are
 * one line naming the option and what it takes.  Repeatable options add
 * a value each time; the others take the last one.  The value is copied.
 */
int opt_apply(const struct opt_def *defs, void *dst, const char *name,
	      const char *value);

/*
 * Parse argv[1..] with getopt_long against the table; cmd names the
 * command in errors.  Returns the index of the first operand, or -1.
 * *settings: how many options given that are not OPTF_RUNTIME.
 */
int opts_parse(const struct opt_def *defs, const char *cmd, int argc,
	       char **argv, void *dst, int *settings);

/* The table as help: "    --name METAVAR   help; default: X". */
void opts_usage(const struct opt_def *defs, FILE *f);

#endif
