/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command tables, as bpftool's: every level (bpfmasq, bpfmasq forward) is
 * a table dispatched by cmd_select(), which takes unique prefixes, and
 * every command prints its own grammar for `help`.
 */
#ifndef BPFMASQ_CMD_H
#define BPFMASQ_CMD_H

#include <stdbool.h>
#include <stdio.h>

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0]: the command word */
	void (*help)(FILE *f);	/* its grammar; NULL for a level's "help" */
};

/*
 * Run the command argv[0] names in cmds (NULL-ended): its name or a
 * prefix of only its name.  `CMD help`, `CMD --help`, `CMD -h` and
 * `--help` anywhere print the command's grammar instead.  level
 * ("bpfmasq forward") names the table in errors.
 */
int cmd_select(const struct cmd *cmds, const char *level, int argc,
	       char **argv);

/* Asks for help: "help", "--help" or "-h" first, or "--help" anywhere. */
bool cmd_wants_help(int argc, char **argv);

/* "  GRAMMAR    WHAT" at help's columns (WHAT may be NULL). */
void cmd_usage_line(FILE *f, const char *grammar, const char *what);

#endif
