// SPDX-License-Identifier: GPL-2.0
/*
 * The config file of `bpfmasq up` (user/cli/config.c): comments, blank lines,
 * whitespace, every key of up's option table (none is config-only, and
 * only --config is command-line-only), errors naming FILE:LINE with the
 * option's own message, repeated keys, forward lines, and the command line
 * over the file.  Errors are read back from stderr, which the test
 * redirects to a file around each call.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "up.h"
#include "harness.h"

static char dir[] = "/tmp/bpfmasq-test-config.XXXXXX";


/* Write text as DIR/name; the path into buf. */
static const char *conf(const char *name, const char *text, char *buf,
			size_t size)
{
	FILE *f;

	snprintf(buf, size, "%s/%s", dir, name);
	f = fopen(buf, "w");
	fputs(text, f);
	fclose(f);
	return buf;
}

static char err_text[2048];

/* up_opts_load() on argv (a NULL-ended list), stderr kept in err_text. */
static int load(const char *cmd, bool optional, struct up_opts *o,
		struct up_config *c, ...)
{
	char *argv[32], errpath[PATH_MAX];
	int argc = 0, saved, ret;
	const char *a;
	va_list ap;
	FILE *f;

	argv[argc++] = (char *)cmd;
	va_start(ap, c);
	while ((a = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	f = freopen(errpath, "w", stderr);
	ret = up_opts_load(cmd, argc, argv, optional, o, c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(errpath, "r");
	err_text[fread(err_text, 1, sizeof(err_text) - 1, f)] = '\0';
	fclose(f);
	return ret;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* One error: exactly one line, starting "Error: PATH:LINE: " and holding
 * want. */
static void check_error(const char *name, const char *text, int line,
			const char *want)
{
	char path[PATH_MAX], prefix[PATH_MAX + 32];
	struct up_config c;
	struct up_opts o;
	int ret;

	conf("bad.conf", text, path, sizeof(path));
	ret = load("check", true, &o, &c, "--config", path, NULL);
	snprintf(prefix, sizeof(prefix), "Error: %s:%d: ", path, line);
	check(ret < 0 && lines(err_text) == 1 &&
	      !strncmp(err_text, prefix, strlen(prefix)) && strstr(err_text, want),
	      name, "ret %d, stderr '%s', expected one line '%s...%s'", ret,
	      err_text, prefix, want);
	config_free(&c);
}

static void test_good_file(void)
{
	char path[PATH_MAX], a[INET_ADDRSTRLEN];
	struct up_config c;
	struct up_opts o;

	conf("good.conf",
	     "# a comment line\n"
	     "\n"
	     "   \t\n"
	     "internal 10.0.0.0/8   # trailing comment\n"
	     "\tinternal\t172.16.0.0/12\r\n"
	     "ports 62000-62999\n"
	     "filter cone\n"
	     "no-hairpin\n"
	     "timeout-udp 120\n"
	     "mss-clamp auto\n"
	     "no-alg irc\n"
	     "ftp-ports 21,2121\n"
	     "forward tcp 80 10.0.1.5:8080\n"
	     "forward udp 53 172.16.0.2:5353#comment\n",
	     path, sizeof(path));
	if (!check(!load("up", false, &o, &c, "wan0", "--config", path, NULL),
		   "good_file_loads", "%s", err_text))
		return;
	check(o.n_internal == 2 && o.internal[0].prefixlen == 8 &&
	      o.internal[1].prefixlen == 12, "repeated_internal_accumulates",
	      "%d prefixes", o.n_internal);
	check(o.ports.lo == 62000 && o.ports.hi == 62999, "ports", "%u-%u",
	      o.ports.lo, o.ports.hi);
	check(o.filter == FILTER_CONE && o.no_hairpin && o.timeout_udp == 120 &&
	      o.mss_clamp == MSS_CLAMP_AUTO, "settings",
	      "filter %d no_hairpin %d udp %u mss %u", o.filter, o.no_hairpin,
	      o.timeout_udp, o.mss_clamp);
	check(o.timeout_icmp == BPFMASQ_DEF_TIMEOUT_ICMP, "defaults_kept", "%u",
	      o.timeout_icmp);
	check(!o.irc_ports[0] && o.ftp_ports[0] == 21 && o.ftp_ports[1] == 2121,
	      "no_alg_and_ports", "irc %u ftp %u,%u", o.irc_ports[0],
	      o.ftp_ports[0], o.ftp_ports[1]);
	check(c.n_fwd == 2 && c.fwd[0].line == 13 && c.fwd[0].f.port == 80 &&
	      c.fwd[0].f.proto == 6 && ntohs(c.fwd[0].f.to_port) == 8080 &&
	      !strcmp(fmt_addr(a, c.fwd[0].f.addr), "10.0.1.5") &&
	      c.fwd[1].f.proto == 17 && ntohs(c.fwd[1].f.to_port) == 5353,
	      "forwards", "%d forwards", c.n_fwd);
	check(c.settings == 9 && o.settings_given, "settings_counted", "%d",
	      c.settings);
	config_free(&c);
}

/* Every key of the table but the command-line-only ones, each with a
 * value it takes: the file takes what the command line takes. */
static void test_every_key(void)
{
	static const struct { const char *key, *value; } values[] = {
		{ "internal", "10.0.0.0/8" }, { "external", "192.0.2.10" },
		{ "ports", "61000-61999" },
		{ "lan", "lo" }, { "filter", "cone" }, { "max-flows", "1024" },
		{ "mss-clamp", "1400" }, { "ftp-ports", "21" },
		{ "irc-ports", "6667" }, { "no-alg", "ftp" }, { "log", "/tmp/x" },
		{ "metrics-file", "/tmp/x.prom" },
		{ "log-mappings", "/tmp/x.mappings" },
		{ "sync-peer", "10.255.0.2" }, { "sync-listen", "10.255.0.1" },
		{ "sync-port", "7439" }, { "sync-key", "/tmp/x.key" },
	};
	char path[PATH_MAX], line[128], name[128];

	for (const struct opt_def *d = up_opt_defs; d->name; d++) {
		const char *value = NULL;
		struct up_config c;
		struct up_opts o;
		int ret;

		if (d->flags & OPTF_CMDLINE)
			continue;
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			if (!strcmp(values[i].key, d->name))
				value = values[i].value;
		if (!value && d->type == OPT_U32 && !d->words)
			value = "120";
		snprintf(line, sizeof(line), "%s%s%s\n", d->name,
			 value ? " " : "", value ? value : "");
		conf("key.conf", line, path, sizeof(path));
		ret = load("check", true, &o, &c, "--config", path, NULL);
		snprintf(name, sizeof(name), "key_%s", d->name);
		check(!ret && (c.settings == 1 || d->flags & OPTF_RUNTIME), name,
		      "'%s' refused: %s", line, err_text);
		config_free(&c);
	}
}

/* Several sync peers: a line each, one session each in the controller;
 * the same one twice is a mistake, and nine are more than it keeps. */
static void test_sync_peers(void)
{
	char path[PATH_MAX], text[1024];
	struct up_config c;
	struct up_opts o;
	size_t len = 0;

	conf("peers.conf", "sync-key /tmp/x.key\nsync-peer 10.255.0.2\n"
	     "sync-peer 10.255.0.3\n", path, sizeof(path));
	if (check(!load("check", true, &o, &c, "--config", path, NULL),
		  "sync_peers_load", "%s", err_text))
		check(o.n_sync_peer == 2 &&
		      o.sync_peer[0] == inet_addr("10.255.0.2") &&
		      o.sync_peer[1] == inet_addr("10.255.0.3"),
		      "sync_peers_accumulate", "%d peers", o.n_sync_peer);
	config_free(&c);
	if (check(!load("check", true, &o, &c, "--config", path,
			"--sync-peer", "10.255.0.9", NULL),
		  "sync_peers_override_loads", "%s", err_text))
		check(o.n_sync_peer == 1 && o.sync_peer[0] == inet_addr("10.255.0.9"),
		      "sync_peers_override_replaces", "%d peers", o.n_sync_peer);
	config_free(&c);
	check_error("sync_peer_twice",
		    "sync-peer 10.255.0.2\nsync-peer 10.255.0.2\n", 2,
		    "--sync-peer 10.255.0.2 is given twice; keep one");
	for (int i = 1; i <= SYNC_MAX_PEERS + 1; i++)
		len += snprintf(text + len, sizeof(text) - len,
				"sync-peer 10.255.0.%d\n", i);
	check_error("sync_peers_at_most", text, SYNC_MAX_PEERS + 1,
		    "at most 8 --sync-peer values");

	/* --external: a pool in the order given, a block where one is. */
	conf("pool.conf", "external 192.0.2.100\n"
	     "external 192.0.2.101:20000-20099\n", path, sizeof(path));
	if (check(!load("check", true, &o, &c, "--config", path, NULL),
		  "external_pool_load", "%s", err_text))
		check(o.n_external == 2 &&
		      o.external[0].addr == inet_addr("192.0.2.100") &&
		      !o.external[0].port_hi &&
		      o.external[1].addr == inet_addr("192.0.2.101") &&
		      o.external[1].port_lo == 20000 &&
		      o.external[1].port_hi == 20099,
		      "external_pool_in_order", "%d addresses", o.n_external);
	config_free(&c);
	check_error("external_twice",
		    "external 192.0.2.100\nexternal 192.0.2.100:1000-2000\n", 2,
		    "--external 192.0.2.100 is given twice; keep one");
	check_error("external_bad_block", "external 192.0.2.100:2000-1000\n",
		    1, "bad --external '2000-1000': expected LO-HI with 1 <= LO <= HI <= 65535");
	len = 0;
	for (int i = 1; i <= BPFMASQ_MAX_EXT + 1; i++)
		len += snprintf(text + len, sizeof(text) - len,
				"external 192.0.2.%d\n", 100 + i);
	check_error("external_at_most", text, BPFMASQ_MAX_EXT + 1,
		    "at most 8 --external values");
}

/* A file with one fault, the line it is on, and what the one-line error
 * must say about it. */
static const struct {
	const char *name, *text;
	int line;
	const char *want;
} bad_files[] = {
	{ "unknown_key", "internal 10.0.0.0/8\nfrobnicate 3\n",
	  2, "unknown key 'frobnicate'" },
	{ "abbreviated_key", "timeout-u 3\n",
	  1, "write it in full, 'timeout-udp'" },
	{ "dashes", "# x\n--ports 1-2\n", 2, "without its dashes" },
	{ "missing_value", "\n\nports\n",
	  3, "'ports' needs a value: ports LO-HI" },
	{ "missing_value_after_comment", "timeout-udp # 120\n",
	  1, "'timeout-udp' needs a value" },
	{ "bad_value_own_message", "filter cone\ntimeout-udp 2m\n",
	  2, "bad --timeout-udp '2m': expected a number from 1 to" },
	{ "bad_cidr_own_message", "internal 10.0.0.0\n",
	  1, "give the prefix length" },
	{ "bad_address", "external 192.0.2.0/24\n",
	  1, "bad --external '192.0.2.0/24': expected ADDR or ADDR:LO-HI" },
	{ "flag_with_value", "lan-inbound yes\n",
	  1, "'lan-inbound' takes no value" },
	{ "two_values", "internal 10.0.0.0/8 10.1.0.0/16\n",
	  1, "write one line per value" },
	{ "single_valued_twice", "ports 1-2\nfilter cone\nports 3-4\n",
	  3, "'ports' is set on line 1 already" },
	{ "config_key", "config /etc/x.conf\n",
	  1, "belongs on the command line" },
	{ "equals", "timeout-udp=3\n", 1, "without '='" },
	{ "forward_short", "forward tcp 80\n",
	  1, "forward tcp|udp PORT IP:PORT" },
	{ "forward_proto", "forward sctp 80 10.0.0.1:80\n",
	  1, "bad protocol 'sctp'" },
	{ "forward_port", "forward tcp 0 10.0.0.1:80\n", 1, "bad port '0'" },
	{ "forward_target", "forward tcp 80 10.0.0.1\n",
	  1, "expected IP:PORT" },
	{ "forward_twice",
	  "forward tcp 80 10.0.0.1:80\nforward tcp 80 10.0.0.2:80\n",
	  2, "forwarded on line 1 already" },
	{ "forward_outside_internal",
	  "internal 10.0.1.0/24\nforward tcp 80 10.0.1.5:80\nforward tcp 81 10.0.2.5:80\n",
	  3, "10.0.2.5 is outside every internal prefix" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < ARRAY_LEN(bad_files); i++)
		check_error(bad_files[i].name, bad_files[i].text,
			    bad_files[i].line, bad_files[i].want);
}

static void test_override(void)
{
	char path[PATH_MAX];
	struct up_config c;
	struct up_opts o;

	conf("ov.conf",
	     "internal 10.0.0.0/8\ninternal 10.1.0.0/16\nports 61000-61999\n"
	     "timeout-udp 120\nno-alg irc\n", path, sizeof(path));
	if (check(!load("up", false, &o, &c, "wan0", "--config", path,
			"--timeout-udp", "30", "--internal", "10.9.0.0/16", NULL),
		  "override_loads", "%s", err_text)) {
		check(o.timeout_udp == 30, "override_single", "udp %u",
		      o.timeout_udp);
		check(o.n_internal == 1 && o.internal[0].prefixlen == 16 &&
		      o.internal[0].addr == inet_addr("10.9.0.0"),
		      "override_repeatable_replaces", "%d prefixes", o.n_internal);
		check(o.ports.lo == 61000 && !o.irc_ports[0], "file_kept",
		      "ports %u irc %u", o.ports.lo, o.irc_ports[0]);
	}
	config_free(&c);
	/* A forward the command line's prefixes leave outside is refused. */
	conf("ov2.conf", "internal 10.0.0.0/8\nforward tcp 80 10.0.1.5:80\n",
	     path, sizeof(path));
	check(load("up", false, &o, &c, "wan0", "--config", path, "--internal",
		   "10.9.0.0/16", NULL) < 0 && strstr(err_text, "ov2.conf:2: "),
	      "override_checks_forwards", "%s", err_text);
	config_free(&c);
}

static void test_paths(void)
{
	char path[PATH_MAX];
	struct up_config c;
	struct up_opts o;

	setenv(CONF_DIR_ENV, dir, 1);
	conf("tst0.conf", "timeout-icmp 33\n", path, sizeof(path));
	check(!load("up", false, &o, &c, "tst0", NULL) &&
	      o.timeout_icmp == 33 && !strcmp(c.path, path),
	      "default_path_read", "%s: %s", c.path, err_text);
	config_free(&c);
	check(!load("up", false, &o, &c, "tst1", NULL) && !c.path[0] &&
	      o.timeout_icmp == BPFMASQ_DEF_TIMEOUT_ICMP,
	      "default_path_absent_is_fine", "%s", err_text);
	config_free(&c);
	check(load("up", false, &o, &c, "tst1", "--config", "/nonexistent.conf",
		   NULL) < 0 && strstr(err_text, "cannot read /nonexistent.conf"),
	      "named_file_must_exist", "%s", err_text);
	config_free(&c);
	check(load("up", false, &o, &c, "--config", path, NULL) < 0,
	      "up_needs_ifname", "%s", err_text);
	config_free(&c);
}

int main(int argc, char **argv)
{
	char cmd[64];

	harness_init(argc, argv, NULL);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good_file();
	test_every_key();
	test_sync_peers();
	test_errors();
	test_override();
	test_paths();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
	return harness_exit();
}
