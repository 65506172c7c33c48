// SPDX-License-Identifier: GPL-2.0
/*
 * up_opt_defs[] (user/cli/up_opts.c) against what is said about it: README.md's
 * option table has one row per option, with its metavar and default and
 * no stale row; `bpfmasq help` lists every option with its default; the
 * defaults are headers/defaults.h's.  And up_opts_apply(), the setter a
 * config file line will go through, against the command line: the same
 * (name, value) gives the same settings, and the same errors.
 *
 * Finds README.md and build/bpfmasq from its own path (OUTPUT/tests/),
 * or from $BPFMASQ_ROOT and $BPFMASQ.
 * Output: "PASS name" or "FAIL name: why" lines.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "up.h"
#include "harness.h"



static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static char *run(const char *cmd)
{
	char *buf = calloc(1, 1 << 16);
	size_t n = 0, r;
	FILE *p = popen(cmd, "r");

	if (!p || !buf)
		return NULL;
	while ((r = fread(buf + n, 1, (1 << 16) - 1 - n, p)) > 0)
		n += r;
	if (pclose(p)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* "--name METAVAR", or "--name" for a flag, as README and help write it. */
static void synopsis(const struct opt_def *d, char *buf, size_t size)
{
	char mv[128];

	opt_metavar(d, mv, sizeof(mv));
	snprintf(buf, size, "--%s%s%s", d->name, *mv ? " " : "", mv);
}

/* ---- README.md's option table ---------------------------------------- */

#define MAX_ROWS 64

struct row {
	char opt[256];	/* first cell, `\|` unescaped, backticks kept */
	char def[512];	/* last cell, backticks dropped */
};

static char *cell(char *s, char *out, size_t size, bool drop_ticks)
{
	size_t n = 0;

	for (; *s && !(*s == '|' && s[-1] != '\\'); s++) {
		if (*s == '\\' && s[1] == '|')
			continue;
		if (drop_ticks && *s == '`')
			continue;
		if (n + 1 < size)
			out[n++] = *s;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	while (*out == ' ')
		memmove(out, out + 1, strlen(out));
	return *s ? s + 1 : s;
}

/* The rows of the table under "| option | meaning | default |". */
static int readme_rows(char *readme, struct row *rows)
{
	char *p = strstr(readme, "\n| option | meaning | default |\n");
	int n = 0;

	if (!p)
		return -1;
	p = strchr(p + 1, '\n') + 1;	/* header */
	p = strchr(p, '\n') + 1;	/* |---| */
	while (*p == '|' && n < MAX_ROWS) {
		char *end = strchr(p, '\n'), meaning[4096];

		if (end)
			*end = '\0';
		p = cell(p + 1, rows[n].opt, sizeof(rows[n].opt), false);
		p = cell(p, meaning, sizeof(meaning), false);
		cell(p, rows[n].def, sizeof(rows[n].def), true);
		n++;
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

/* The option a row is about: its first code span, "--name ...". */
static const struct opt_def *row_opt(const struct row *r)
{
	char name[128];
	const char *s = strstr(r->opt, "`--");

	if (!s || sscanf(s + 3, "%127[a-z0-9-]", name) != 1)
		return NULL;
	return opt_find(up_opt_defs, name);
}

static void test_readme(const char *root)
{
	struct row rows[MAX_ROWS];
	char path[PATH_MAX + 16], syn[256], want[300];
	char *readme;
	int n;

	snprintf(path, sizeof(path), "%s/README.md", root);
	readme = slurp(path);
	if (!check(readme, "readme_found", "cannot read %s", path))
		return;
	n = readme_rows(readme, rows);
	if (!check(n > 0, "readme_option_table", "no '| option | meaning | default |' table in %s", path))
		return;
	for (int i = 0; i < n; i++) {
		const struct opt_def *d = row_opt(&rows[i]);

		check(d, "readme_no_stale_row",
		      "README row '%s' names no option of up (user/cli/up_opts.c)",
		      rows[i].opt);
	}
	for (const struct opt_def *d = up_opt_defs; d->name; d++) {
		const struct row *r = NULL;
		char name[128];
		int count = 0;

		for (int i = 0; i < n; i++)
			if (row_opt(&rows[i]) == d) {
				r = &rows[i];
				count++;
			}
		snprintf(name, sizeof(name), "readme_row_%s", d->name);
		if (!check(count == 1, name, "--%s has %d rows in README's option table, expected 1",
			   d->name, count))
			continue;
		synopsis(d, syn, sizeof(syn));
		snprintf(want, sizeof(want), "`%s`", syn);
		snprintf(name, sizeof(name), "readme_metavar_%s", d->name);
		check(strstr(r->opt, want), name, "README writes '%s', the table '%s'",
		      r->opt, want);
		snprintf(name, sizeof(name), "readme_repeatable_%s", d->name);
		check(!!strstr(r->opt, "(repeatable)") == opt_repeatable(d), name,
		      "README's '%s' and the table disagree on whether it repeats",
		      r->opt);
		snprintf(name, sizeof(name), "readme_default_%s", d->name);
		check(!strncmp(r->def, opt_default_text(d),
			       strlen(opt_default_text(d))),
		      name, "README's default of --%s is '%s', the table's '%s'",
		      d->name, r->def, opt_default_text(d));
	}
	free(readme);
}

/* ---- bpfmasq help ----------------------------------------------------- */

static void test_help(const char *bpfmasq)
{
	char cmd[PATH_MAX + 32], syn[256], name[128];
	char *help, *up_help;
	int listed = 0;

	snprintf(cmd, sizeof(cmd), "%s help", bpfmasq);
	help = run(cmd);
	if (!check(help, "help_runs", "'%s' failed", cmd))
		return;
	snprintf(cmd, sizeof(cmd), "%s up --help", bpfmasq);
	up_help = run(cmd);
	check(up_help && strstr(help, up_help), "help_up_part_of_help",
	      "'bpfmasq up --help' is not part of 'bpfmasq help'");
	for (const struct opt_def *d = up_opt_defs; d->name; d++) {
		const char *at, *next;
		char entry[1024];

		synopsis(d, syn, sizeof(syn));
		snprintf(name, sizeof(name), "help_lists_%s", d->name);
		at = strstr(help, syn);
		if (!check(at && at[-1] == ' ' &&
			   (at[strlen(syn)] == ' ' || at[strlen(syn)] == '\n'),
			   name, "'bpfmasq help' does not list '%s'", syn))
			continue;
		listed++;
		/* Its entry: up to the next option or command. */
		for (next = strchr(at, '\n'); next; next = strchr(next + 1, '\n'))
			if (strncmp(next, "\n      ", 7))
				break;
		snprintf(entry, sizeof(entry), "%.*s",
			 next ? (int)(next - at) : (int)strlen(at), at);
		if (d->type == OPT_FLAG && !d->def_doc)
			continue;
		snprintf(name, sizeof(name), "help_default_%s", d->name);
		snprintf(syn, sizeof(syn), "default: %s", opt_default_text(d));
		check(strstr(entry, syn), name, "'bpfmasq help' says '%s' for --%s, expected '%s'",
		      entry, d->name, syn);
	}
	/* No option in help that the table does not have. */
	for (const char *p = help; (p = strstr(p, "\n    --")); p++) {
		char opt[64];

		if (sscanf(p + 7, "%63[a-z0-9-]", opt) != 1)
			continue;
		snprintf(name, sizeof(name), "help_no_stale_%s", opt);
		if (!opt_find(up_opt_defs, opt))
			check(false, name, "'bpfmasq help' lists --%s, which up does not take", opt);
	}
	check(listed > 0, "help_lists_options", "no option listed");
	free(help);
	free(up_help);
}

/* ---- defaults and the setter ------------------------------------------ */

static void test_defaults(void)
{
	struct up_opts o;

	if (!check(!up_opts_init(&o), "defaults_apply", "a default does not parse"))
		return;
	check(o.ports.lo == BPFMASQ_DEF_PORT_LO && o.ports.hi == BPFMASQ_DEF_PORT_HI,
	      "defaults_ports", "%u-%u", o.ports.lo, o.ports.hi);
	check(o.max_flows == BPFMASQ_DEF_MAX_FLOWS, "defaults_max_flows", "%u",
	      o.max_flows);
	check(o.timeout_tcp_est == BPFMASQ_DEF_TIMEOUT_TCP_EST &&
	      o.timeout_tcp_trans == BPFMASQ_DEF_TIMEOUT_TCP_TRANS &&
	      o.timeout_udp == BPFMASQ_DEF_TIMEOUT_UDP &&
	      o.timeout_icmp == BPFMASQ_DEF_TIMEOUT_ICMP, "defaults_timeouts",
	      "%u %u %u %u", o.timeout_tcp_est, o.timeout_tcp_trans,
	      o.timeout_udp, o.timeout_icmp);
	check(o.ftp_ports[0] == BPFMASQ_DEF_FTP_PORT && !o.ftp_ports[1] &&
	      o.irc_ports[0] == BPFMASQ_DEF_IRC_PORT && !o.irc_ports[1],
	      "defaults_alg_ports", "ftp %u irc %u", o.ftp_ports[0], o.irc_ports[0]);
	check(o.filter == FILTER_STRICT && !o.mss_clamp && !o.n_internal &&
	      !o.n_lan && !o.no_alg && !o.lan_inbound && !o.log_path,
	      "defaults_off", "something is on by default");
}

/* argv of `bpfmasq up` against the same pairs through up_opts_apply(). */
static bool same_as_cli(const char *const *pairs, int n)
{
	char *argv[32] = { "up" };
	struct up_opts a, b;
	int argc = 1;

	for (int i = 0; i < n; i++) {
		char *opt = malloc(strlen(pairs[2 * i]) + 3);

		sprintf(opt, "--%s", pairs[2 * i]);
		argv[argc++] = opt;
		if (pairs[2 * i + 1])
			argv[argc++] = (char *)pairs[2 * i + 1];
	}
	argv[argc++] = "lo";
	if (parse_up_opts(argc, argv, &a))
		return false;
	if (up_opts_init(&b))
		return false;
	for (int i = 0; i < n; i++)
		if (up_opts_apply(&b, pairs[2 * i], pairs[2 * i + 1]))
			return false;
	if (up_opts_finish(&b))
		return false;
	b.ifname = a.ifname;
	b.settings_given = a.settings_given;
	/* Strings are copies: compare them, then the rest. */
	if ((a.log_path || b.log_path) &&
	    (!a.log_path || !b.log_path || strcmp(a.log_path, b.log_path)))
		return false;
	a.log_path = b.log_path = NULL;
	return !memcmp(&a, &b, sizeof(a));
}

static void test_apply(void)
{
	static const char *const pairs[] = {
		"timeout-udp", "120", "timeout-icmp", "30",
		"timeout-tcp-established", "3600", "timeout-tcp-transitory", "60",
		"ports", "40000-40999", "max-flows", "4096",
		"filter", "cone", "mss-clamp", "auto",
		"internal", "10.0.0.0/8", "internal", "192.168.1.0/24",
		"ftp-ports", "21,2121", "no-alg", "irc",
		"lan-inbound", NULL, "no-hairpin", NULL, "log", "/tmp/x.log",
	};
	struct up_opts o;

	up_opts_init(&o);
	check(!up_opts_apply(&o, "timeout-udp", "120") && o.timeout_udp == 120,
	      "apply_timeout_udp", "timeout-udp 120 gave %u", o.timeout_udp);
	check(!up_opts_apply(&o, "mss-clamp", "auto") && o.mss_clamp == MSS_CLAMP_AUTO,
	      "apply_mss_auto", "%u", o.mss_clamp);
	check(!up_opts_apply(&o, "mss-clamp", "1400") && o.mss_clamp == 1400,
	      "apply_mss_number", "%u", o.mss_clamp);
	check(!up_opts_apply(&o, "internal", "10.0.0.0/8") &&
	      !up_opts_apply(&o, "internal", "172.16.0.0/12") && o.n_internal == 2 &&
	      o.internal[1].prefixlen == 12, "apply_internal_repeats", "%d",
	      o.n_internal);
	check(!up_opts_apply(&o, "ftp-ports", "2121") && o.ftp_ports[0] == 2121 &&
	      !o.ftp_ports[1], "apply_ftp_ports_replace", "%u,%u",
	      o.ftp_ports[0], o.ftp_ports[1]);
	check(!up_opts_apply(&o, "no-alg", "ftp") && !up_opts_finish(&o) &&
	      !o.ftp_ports[0] && o.irc_ports[0] == BPFMASQ_DEF_IRC_PORT,
	      "apply_no_alg_wins", "ftp %u irc %u", o.ftp_ports[0], o.irc_ports[0]);
	check(!up_opts_apply(&o, "lan-new", NULL) && o.lan_new, "apply_flag", "");

	/* Refusals, with the value unchanged.  (p_err goes to stderr.) */
	check(up_opts_apply(&o, "timeout-udp", "0") && o.timeout_udp == 120,
	      "apply_refuses_zero_timeout", "%u", o.timeout_udp);
	check(up_opts_apply(&o, "timeout-udp", " 30") && o.timeout_udp == 120,
	      "apply_refuses_space", "%u", o.timeout_udp);
	check(up_opts_apply(&o, "timeout-udp", NULL), "apply_refuses_no_value", "");
	check(up_opts_apply(&o, "lan-inbound", "yes"), "apply_refuses_flag_value", "");
	check(up_opts_apply(&o, "filter", "wrong") && o.filter == FILTER_STRICT,
	      "apply_refuses_filter", "%d", o.filter);
	check(up_opts_apply(&o, "mss-clamp", "500") && o.mss_clamp == 1400,
	      "apply_refuses_small_mss", "%u", o.mss_clamp);
	check(up_opts_apply(&o, "frobnicate", "1"), "apply_refuses_unknown", "");
	check(up_opts_apply(&o, "--timeout-udp", "1"), "apply_name_without_dashes", "");
	check(up_opts_apply(&o, "ftp-ports", "21,"), "apply_refuses_port_list", "");
	check(up_opts_apply(&o, "lan", "a-name-too-long-for-linux"),
	      "apply_refuses_lan", "");
	check(!up_opts_apply(&o, "lan", "notyet0"), "apply_takes_lan_to_come", "");
	for (int i = o.n_internal; i < MAX_INTERNAL; i++)
		up_opts_apply(&o, "internal", "10.0.0.0/8");
	check(up_opts_apply(&o, "internal", "10.0.0.0/8") && o.n_internal == MAX_INTERNAL,
	      "apply_refuses_65th_internal", "%d", o.n_internal);

	check(same_as_cli(pairs, sizeof(pairs) / sizeof(pairs[0]) / 2),
	      "apply_same_as_command_line",
	      "the pairs through up_opts_apply() differ from the same options on the command line");
}

int main(int argc, char **argv)
{
	char exe[PATH_MAX], root[PATH_MAX], bin[PATH_MAX];
	const char *env;
	char *dir;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	dir = dirname(exe);
	/* DIR is OUTPUT/tests: OUTPUT/bpfmasq, and OUTPUT's parent. */
	snprintf(bin, sizeof(bin), "%s/../bpfmasq", dir);
	snprintf(root, sizeof(root), "%s/../..", dir);
	if ((env = getenv("BPFMASQ_ROOT")))
		snprintf(root, sizeof(root), "%s", env);
	if ((env = getenv("BPFMASQ")))
		snprintf(bin, sizeof(bin), "%s", env);

	harness_init(argc, argv, NULL);
	test_defaults();
	test_apply();
	test_readme(root);
	test_help(bin);
	return harness_exit();
}
