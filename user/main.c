// SPDX-License-Identifier: GPL-2.0
/* bpfmasq [OPTIONS] COMMAND ...: the CLI in front of the data plane. */
#include <getopt.h>
#include <stdarg.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "util.h"

/* libbpf speaks only under -d; errors are reported by the commands. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return debug_output ? vfprintf(stderr, fmt, ap) : 0;
}

static int cmd_help(int argc, char **argv)
{
	printf(
"Usage: bpfmasq [OPTIONS] COMMAND [ARGS]\n"
"\n"
"Commands (unique prefixes work):\n"
"  up IFNAME [--internal ADDR/LEN]... [--ports LO-HI] [--lan IFNAME]...\n"
"            [--lan-inbound] [--lan-new] [--no-hairpin]\n"
"            [--filter strict|cone] [--max-flows N] [--mss-clamp auto|N]\n"
"            [--foreground] [--log FILE]\n"
"            [--timeout-tcp-established S] [--timeout-tcp-transitory S]\n"
"            [--timeout-udp S] [--timeout-icmp S]\n"
"            [--ftp-ports LIST] [--irc-ports LIST] [--no-alg ftp|irc]\n"
"                     masquerade traffic leaving IFNAME as IFNAME's address\n"
"  down IFNAME        detach and remove everything 'up' made\n"
"  status [IFNAME]    settings, external address, controller\n"
"  conns [list] [IFNAME] [FILTERS]\n"
"                     translated connections (inside, outside, remote),\n"
"                     forwards and ALG expectations, sorted\n"
"  conns count [IFNAME] [FILTERS]\n"
"  conns delete [IFNAME] FILTERS\n"
"                     delete connections (both directions; forwards stay)\n"
"  conns flush [IFNAME]\n"
"                     delete every connection and expectation\n"
"     FILTERS := [-p tcp|udp|icmp] [--inside ADDR[/LEN][:PORT]]\n"
"                [--outside-port PORT[-PORT]] [--remote ADDR[/LEN][:PORT]]\n"
"                [--state STATE[,STATE...]]\n"
"     STATE := SYN_SENT | ESTABLISHED | FIN_WAIT | CLOSE | REPLIED |\n"
"              UNREPLIED | EXPECT | FORWARD\n"
"  stats [IFNAME] [--prometheus]\n"
"                     packet counters and every drop reason; --prometheus:\n"
"                     the Prometheus text format, with table gauges\n"
"  forward add IFNAME tcp|udp PORT IP:PORT\n"
"  forward del IFNAME tcp|udp PORT\n"
"  forward list IFNAME\n"
"                     static port forwards to inside servers\n"
"  help               this text\n"
"\n"
"Options:\n"
"  -j, --json         JSON output\n"
"  -p, --pretty       pretty JSON output (implies -j)\n"
"  -d, --debug        libbpf and verifier messages, controller details\n"
"\n"
"Defaults: ports 61000-65535 (above the kernel's ephemeral range),\n"
"internal = every source but the WAN address, filter strict,\n"
"max-flows 131072, timeouts tcp 7440s/240s, udp 300s, icmp 60s,\n"
"FTP ALG on port 21, IRC DCC ALG on port 6667, MSS clamping off.\n");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "up", cmd_up },
	{ "down", cmd_down },
	{ "status", cmd_status },
	{ "conns", cmd_conns },
	{ "stats", cmd_stats },
	{ "forward", cmd_forward },
	{ "help", cmd_help },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd;
	int c, match = -1;

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
			return cmd_help(0, NULL);
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
	cmd = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strncmp(cmd, commands[i].name, strlen(cmd)))
			continue;
		if (match >= 0) {
			p_err("command '%s' is ambiguous (see 'bpfmasq help')", cmd);
			return 1;
		}
		match = i;
	}
	if (match < 0) {
		p_err("unknown command '%s' (see 'bpfmasq help')", cmd);
		return 1;
	}
	return commands[match].fn(argc - optind, argv + optind);
}
