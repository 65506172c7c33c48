// SPDX-License-Identifier: GPL-2.0
/* cmd_select(): bpftool's dispatch, prefixes and all. */
#include <string.h>
#include "cmd.h"
#include "util.h"

bool cmd_wants_help(int argc, char **argv)
{
	if (argc >= 1 && (!strcmp(argv[0], "help") ||
			  !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")))
		return true;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help"))
			return true;
	return false;
}

void cmd_usage_line(FILE *f, const char *grammar, const char *what)
{
	int col = fprintf(f, "  %s", grammar);

	if (!what) {
		fputc('\n', f);
		return;
	}
	if (col > 20) {
		fputc('\n', f);
		col = 0;
	}
	fprintf(f, "%*s%s\n", 21 - col, "", what);
}

int cmd_select(const struct cmd *cmds, const char *level, int argc,
	       char **argv)
{
	const char *word = argv[0];
	size_t len = strlen(word);
	const struct cmd *match = NULL;
	char names[256] = "";
	int n = 0;

	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(c->name, word)) {
			match = c;
			n = 1;
			break;
		}
		if (!len || strncmp(c->name, word, len))
			continue;
		match = c;
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", n++ ? ", " : "", c->name);
	}
	if (n > 1) {
		p_err("command '%s' is ambiguous: %s (see '%s help')", word,
		      names, level);
		return 1;
	}
	if (!match) {
		p_err("unknown command '%s' for %s (see '%s help')", word,
		      level, level);
		return 1;
	}
	if (match->help && cmd_wants_help(argc - 1, argv + 1)) {
		match->help(stdout);
		return 0;
	}
	return match->fn(argc, argv);
}
