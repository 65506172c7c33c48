// SPDX-License-Identifier: GPL-2.0
/* bpfmasq [OPTIONS] COMMAND ...: the CLI in front of the data plane. */
#include <getopt.h>
#include <stdarg.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "reload.h"
#include "util.h"

/* libbpf speaks only under -d; errors are reported by the commands. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return debug_output ? vfprintf(stderr, fmt, ap) : 0;
}

static void help_down(FILE *f)
{
	cmd_usage_line(f, "down IFNAME", "detach and remove everything 'up' made");
}

static void help_status(FILE *f)
{
	cmd_usage_line(f, "status [IFNAME]", "settings, external address, controller, the build and program tags running");
}

/* The filters of conns, which monitor takes too. */
static void help_filters(FILE *f)
{
	fprintf(f,
"     FILTERS := [-p tcp|udp|icmp] [--inside ADDR[/LEN][:PORT]]\n"
"                [--outside-port PORT[-PORT]] [--remote ADDR[/LEN][:PORT]]\n"
"                [--state STATE[,STATE...]]\n"
"     STATE := SYN_SENT | ESTABLISHED | FIN_WAIT | CLOSE | REPLIED |\n"
"              UNREPLIED | EXPECT | FORWARD\n");
}

static void help_conns(FILE *f)
{
	cmd_usage_line(f, "conns [list] [IFNAME] [FILTERS]",
		       "translated connections (inside, outside, remote), forwards and ALG expectations, sorted");
	cmd_usage_line(f, "conns count [IFNAME] [FILTERS]", NULL);
	cmd_usage_line(f, "conns delete [IFNAME] FILTERS",
		       "delete connections (both directions; forwards stay)");
	cmd_usage_line(f, "conns flush [IFNAME]",
		       "delete every connection and expectation");
	help_filters(f);
}

static void help_monitor(FILE *f)
{
	cmd_usage_line(f, "monitor [IFNAME] [-e new|destroy|drop|map|unmap[,...]] [FILTERS]",
		       "connection events as they happen, one line each (-j: one JSON object), until interrupted; -e picks events (default new,destroy,drop)");
	help_filters(f);
}

static void help_stats(FILE *f)
{
	cmd_usage_line(f, "stats [IFNAME] [--prometheus]",
		       "packet counters and every drop reason; --prometheus: the Prometheus text format, with table gauges");
}

static int do_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "up", cmd_up, help_up },
	{ "down", cmd_down, help_down },
	{ "check", cmd_check, help_check },
	{ "reload", cmd_reload, help_reload },
	{ "status", cmd_status, help_status },
	{ "conns", cmd_conns, help_conns },
	{ "stats", cmd_stats, help_stats },
	{ "monitor", cmd_monitor, help_monitor },
	{ "forward", cmd_forward, help_forward },
	{ "help", do_help, NULL },
	{ NULL }
};

/* The grammar, from the tables: each command prints its own part. */
static int do_help(int argc, char **argv)
{
	printf("Usage: bpfmasq [OPTIONS] COMMAND [ARGS]\n"
	       "       bpfmasq COMMAND help\n"
	       "\n"
	       "Commands (unique prefixes work):\n");
	for (const struct cmd *c = cmds; c->name; c++)
		if (c->help)
			c->help(stdout);
	cmd_usage_line(stdout, "help", "this text");
	printf("\n"
	       "Options:\n"
	       "  -j, --json         JSON output\n"
	       "  -p, --pretty       pretty JSON output (implies -j)\n"
	       "  -d, --debug        libbpf and verifier messages, controller details\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* '+': stop at the command; its own options are parsed by it. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jpdh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pretty_output = true;
			/* fallthrough */
		case 'j':
			json_output = true;
			break;
		case 'd':
			debug_output = true;
			break;
		case 'h':
			return do_help(0, NULL);
		default:
			p_err("unknown option '%s' (see 'bpfmasq help')",
			      argv[optind - 1]);
			return 1;
		}
	}
	jw_init(&jw, stdout, pretty_output);
	libbpf_set_print(libbpf_print);
	/* As bpftool: no command is a mistake, answered in one line. */
	if (optind >= argc) {
		p_err("usage: bpfmasq [OPTIONS] COMMAND [ARGS] (see 'bpfmasq help' for the commands)");
		return 1;
	}
	return cmd_select(cmds, "bpfmasq", argc - optind, argv + optind);
}
