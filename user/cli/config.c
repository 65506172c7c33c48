// SPDX-License-Identifier: GPL-2.0
/* The config file of `bpfmasq up` and `bpfmasq check` (config.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "cmd.h"
#include "config.h"
#include "instance.h"
#include "json.h"
#include "util.h"

#define MAX_TOKENS 5

/* "FILE:LINE" for p_err_where(), and the errors of this file. */
static char where[PATH_MAX + 16];

static void set_where(const char *path, int line)
{
	snprintf(where, sizeof(where), "%s:%d", path, line);
	p_err_where(where);
}

static int table_size(void)
{
	int n = 0;

	while (up_opt_defs[n].name)
		n++;
	return n;
}

/* A key that is no option: say what it may have meant. */
static void unknown_key(const char *key)
{
	const struct opt_def *match = NULL;
	size_t len = strlen(key);
	int n = 0;

	if (strchr(key, '=')) {
		p_err("'%s': write the key and its value apart, without '=' (timeout-udp 120)",
		      key);
		return;
	}
	if (key[0] == '-') {
		p_err("'%s': write the option without its dashes (%s)", key,
		      key + strspn(key, "-"));
		return;
	}
	for (const struct opt_def *d = up_opt_defs; d->name; d++)
		if (!strncmp(d->name, key, len) && !(d->flags & OPTF_CMDLINE)) {
			match = d;
			n++;
		}
	if (n == 1) {
		p_err("unknown key '%s': write it in full, '%s' (a file takes no abbreviations)",
		      key, match->name);
		return;
	}
	p_err("unknown key '%s': a line is an option of 'bpfmasq up' without its dashes (see 'bpfmasq up help' or bpfmasq.conf(5)) or 'forward tcp|udp PORT IP:PORT'",
	      key);
}

static int read_forward(struct up_config *c, char **tok, int ntok, int line)
{
	struct conf_forward *cf;
	struct fwd_spec f;

	if (ntok != 4) {
		p_err("a forward line is 'forward tcp|udp PORT IP:PORT', like forward tcp 80 10.0.1.5:8080");
		return -1;
	}
	if (forward_parse(tok[1], tok[2], tok[3], &f))
		return -1;
	for (int i = 0; i < c->n_fwd; i++) {
		const struct fwd_spec *g = &c->fwd[i].f;

		if (g->proto == f.proto && g->port == f.port) {
			p_err("%s port %s is forwarded on line %d already; keep one of the two",
			      tok[1], tok[2], c->fwd[i].line);
			return -1;
		}
		if (g->proto == f.proto && g->addr == f.addr &&
		    g->to_port == f.to_port) {
			p_err("%s is the target of line %d already; a server port takes one forward",
			      tok[3], c->fwd[i].line);
			return -1;
		}
	}
	cf = realloc(c->fwd, (c->n_fwd + 1) * sizeof(*cf));
	if (!cf) {
		p_err("out of memory");
		return -1;
	}
	c->fwd = cf;
	c->fwd[c->n_fwd++] = (struct conf_forward){ .f = f, .line = line };
	return 0;
}

static int read_setting(struct up_opts *o, struct up_config *c, char **tok,
			int ntok, int line, int *seen)
{
	const struct opt_def *d = opt_find(up_opt_defs, tok[0]);
	char mv[128];

	if (!d) {
		unknown_key(tok[0]);
		return -1;
	}
	if (d->flags & OPTF_CMDLINE) {
		p_err("'%s' belongs on the command line (bpfmasq up IFNAME --%s FILE): a file cannot name another",
		      d->name, d->name);
		return -1;
	}
	opt_metavar(d, mv, sizeof(mv));
	if (d->type == OPT_FLAG && ntok > 1) {
		p_err("'%s' takes no value: the word alone switches it on, leaving it out keeps it off",
		      d->name);
		return -1;
	}
	if (d->type != OPT_FLAG && ntok < 2) {
		p_err("'%s' needs a value: %s %s", d->name, d->name, mv);
		return -1;
	}
	if (ntok > 2) {
		p_err("'%s' takes one value (%s)%s", d->name, mv,
		      opt_repeatable(d) ? "; write one line per value" : "");
		return -1;
	}
	if (!opt_repeatable(d)) {
		if (seen[d - up_opt_defs]) {
			p_err("'%s' is set on line %d already; keep one of the two",
			      d->name, seen[d - up_opt_defs]);
			return -1;
		}
		seen[d - up_opt_defs] = line;
	}
	if (up_opts_apply(o, d->name, ntok > 1 ? tok[1] : NULL))
		return -1;
	if (!(d->flags & OPTF_RUNTIME))
		c->settings++;
	return 0;
}

int config_read(const char *path, struct up_opts *o, struct up_config *c)
{
	char *buf = NULL, *tok[MAX_TOKENS], *p;
	int line = 0, ret = -1, *seen;
	size_t cap = 0;
	FILE *f;

	snprintf(c->path, sizeof(c->path), "%s", path);
	f = fopen(path, "r");
	if (!f) {
		p_err("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	seen = calloc(table_size(), sizeof(*seen));
	if (!seen) {
		p_err("out of memory");
		goto out;
	}
	while (getline(&buf, &cap, f) >= 0) {
		int ntok = 0, err;

		line++;
		p = strchr(buf, '#');
		if (p)
			*p = '\0';
		for (p = strtok(buf, " \t\r\n\v\f"); p;
		     p = strtok(NULL, " \t\r\n\v\f")) {
			if (ntok < MAX_TOKENS)
				tok[ntok] = p;
			ntok++;
		}
		if (!ntok)
			continue;
		set_where(path, line);
		if (ntok > MAX_TOKENS)
			ntok = MAX_TOKENS;
		if (!strcmp(tok[0], "forward"))
			err = read_forward(c, tok, ntok, line);
		else
			err = read_setting(o, c, tok, ntok, line, seen);
		p_err_where(NULL);
		if (err)
			goto out;
	}
	if (ferror(f)) {
		p_err("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	p_err_where(NULL);
	free(seen);
	free(buf);
	fclose(f);
	return ret;
}

static bool in_prefix(__be32 addr, const struct internal_key *k)
{
	__u32 mask = k->prefixlen ? ~0U << (32 - k->prefixlen) : 0;

	return !((ntohl(addr) ^ ntohl(k->addr)) & mask);
}

/*
 * What `forward add` would refuse and can be told without a running
 * instance: a target outside the --internal prefixes, or (without them)
 * the WAN's own address.
 */
static int check_forwards(const struct up_config *c, const struct up_opts *o)
{
	__be32 wan = o->ifname ? if_primary_ipv4(o->ifname) : 0;
	char a[INET_ADDRSTRLEN];

	for (int i = 0; i < c->n_fwd; i++) {
		const struct conf_forward *cf = &c->fwd[i];
		bool inside = !o->n_internal;

		for (int j = 0; j < o->n_internal; j++)
			inside |= in_prefix(cf->f.addr, &o->internal[j]);
		set_where(c->path, cf->line);
		if (!inside) {
			p_err("%s is outside every internal prefix: its traffic would leave untranslated; forward to an inside host, or add an internal prefix that holds it",
			      fmt_addr(a, cf->f.addr));
			p_err_where(NULL);
			return -1;
		}
		if (!o->n_internal && wan && cf->f.addr == wan) {
			p_err("%s is the address of %s itself; forward to an inside host",
			      fmt_addr(a, cf->f.addr), o->ifname);
			p_err_where(NULL);
			return -1;
		}
		p_err_where(NULL);
	}
	return 0;
}

/* Forget the values a repeatable option has (the command line's replace
 * the file's). */
static void opt_forget(const struct opt_def *d, void *dst)
{
	if (d->type == OPT_FLAGS)
		*(unsigned int *)((char *)dst + d->off) = 0;
	else
		*(int *)((char *)dst + d->count_off) = 0;
}

static bool opt_has_values(const struct opt_def *d, const void *src)
{
	if (d->type == OPT_FLAGS)
		return *(const unsigned int *)((const char *)src + d->off);
	return *(const int *)((const char *)src + d->count_off) > 0;
}

int up_opts_load(const char *cmd, int argc, char **argv, bool ifname_optional,
		 struct up_opts *o, struct up_config *c)
{
	const char *dir = getenv(CONF_DIR_ENV);
	char path[PATH_MAX];
	struct up_opts cli = {};
	int first, settings;

	memset(c, 0, sizeof(*c));
	/* The command line alone first: its errors, --config and which
	 * repeatable options it gives. */
	first = opts_parse(up_opt_defs, cmd, argc, argv, &cli, &settings);
	if (first < 0)
		return -1;
	if (first != argc - 1 && (first != argc || !ifname_optional || !cli.config_path)) {
		p_err("usage: bpfmasq %s IFNAME [OPTIONS]%s (see 'bpfmasq %s help')",
		      cmd, ifname_optional ? ", or bpfmasq check --config FILE" : "",
		      cmd);
		return -1;
	}
	if (up_opts_init(o))
		return -1;
	o->ifname = first == argc - 1 ? argv[first] : NULL;

	if (cli.config_path) {
		snprintf(path, sizeof(path), "%s", cli.config_path);
	} else {
		snprintf(path, sizeof(path), "%s/%s.conf",
			 dir && *dir ? dir : CONF_DIR, o->ifname);
		if (access(path, F_OK) && errno == ENOENT)
			path[0] = '\0';
	}
	if (path[0] && config_read(path, o, c))
		return -1;

	for (const struct opt_def *d = up_opt_defs; d->name; d++)
		if (opt_repeatable(d) && opt_has_values(d, &cli))
			opt_forget(d, o);
	if (opts_parse(up_opt_defs, cmd, argc, argv, o, &settings) < 0)
		return -1;
	o->ifname = first == argc - 1 ? argv[first] : NULL;
	o->settings_given = settings > 0 || c->settings > 0;
	if (up_opts_finish(o))
		return -1;
	return check_forwards(c, o);
}

int config_forwards_apply(const struct up_config *c, const struct instance *in,
			  bool adopted)
{
	struct nat_state st;
	char t[24];

	if (!c->n_fwd)
		return 0;
	if (instance_get_state(in, &st)) {
		p_err("cannot read the state of %s to add the forwards of %s: %s",
		      in->ifname, c->path, strerror(errno));
		return adopted ? 0 : -1;
	}
	for (int i = 0; i < c->n_fwd; i++) {
		const struct conf_forward *cf = &c->fwd[i];
		bool existed = false;
		int err;

		set_where(c->path, cf->line);
		err = forward_install(in, state_forward_addr(&st), &cf->f,
				      adopted ? &existed : NULL);
		p_err_where(NULL);
		if (err && !adopted)
			return -1;
		if (!err && !existed && adopted && !json_output)
			fprintf(stderr, "Note: %s:%d: forward of %s port %u to %s added to the running data plane\n",
				c->path, cf->line,
				cf->f.proto == IPPROTO_TCP ? "tcp" : "udp",
				cf->f.port,
				fmt_endpoint(t, cf->f.addr, cf->f.to_port));
	}
	return 0;
}

void config_free(struct up_config *c)
{
	free(c->fwd);
	c->fwd = NULL;
	c->n_fwd = 0;
}

void help_check(FILE *f)
{
	cmd_usage_line(f, "check IFNAME [OPTIONS]",
		       "read " CONF_DIR "/IFNAME.conf (or --config FILE) and the options as 'up' would, change nothing; errors name FILE:LINE");
	cmd_usage_line(f, "check --config FILE", NULL);
}

int cmd_check(int argc, char **argv)
{
	struct up_config c;
	struct up_opts o;
	int ret = 1;

	if (up_opts_load("check", argc, argv, true, &o, &c))
		goto out;
	if (!c.path[0]) {
		const char *dir = getenv(CONF_DIR_ENV);

		p_err("no %s/%s.conf to check: write one (see bpfmasq.conf(5)), or name another with --config FILE",
		      dir && *dir ? dir : CONF_DIR, o.ifname);
		goto out;
	}
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "config", c.path);
		jw_key(&jw, "ok");
		jw_bool(&jw, true);
		jw_kv_uint(&jw, "settings", c.settings);
		jw_kv_uint(&jw, "forwards", c.n_fwd);
		jw_end_object(&jw);
		jw_finish(&jw);
	} else {
		printf("%s: ok, %d setting%s and %d forward%s\n", c.path,
		       c.settings, c.settings == 1 ? "" : "s", c.n_fwd,
		       c.n_fwd == 1 ? "" : "s");
	}
	ret = 0;
out:
	config_free(&c);
	return ret;
}
