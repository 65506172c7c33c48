// SPDX-License-Identifier: GPL-2.0
/*
 * The options of `bpfmasq up`, declared once.  The parser, `bpfmasq help`,
 * the (name, value) setter a config file will use, and the check of
 * README.md's option table (tests/unit/test_opts.c) all read this table;
 * the defaults come from headers/defaults.h, as the BPF side's do.
 */
#include <net/if.h>
#include <stddef.h>
#include <string.h>
#include "cmd.h"
#include "commands.h"
#include "sync.h"
#include "up.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Where a value goes; the pointer comparison, never evaluated, makes the
 * compiler check that the member has the type the option writes. */
#define AT(member, type)						\
	.off = offsetof(struct up_opts, member) +			\
	       0 * sizeof(&((struct up_opts *)0)->member == (type *)0)
#define ARRAY_AT(member, type, count)					\
	AT(member[0], type),						\
	.count_off = offsetof(struct up_opts, count) +			\
		     0 * sizeof(&((struct up_opts *)0)->count == (int *)0), \
	.max_count = sizeof(((struct up_opts *)0)->member) /		\
		     sizeof(((struct up_opts *)0)->member[0])

static const struct opt_word filter_words[] = {
	{ "strict", FILTER_STRICT, "only the remote a mapping was opened to" },
	{ "cone", FILTER_CONE, "anyone" },
	{ NULL }
};

static const struct opt_word mss_words[] = {
	{ "auto", MSS_CLAMP_AUTO, "the WAN route's MTU - 40" },
	{ NULL }
};

/* RFC 4787 REQ-10a: every ALG can be switched off. */
static const struct opt_word alg_words[] = {
	{ "ftp", NO_ALG_FTP, NULL },
	{ "irc", NO_ALG_IRC, NULL },
	{ NULL }
};

#define TIMEOUT(opt, member, what, dflt)					\
	{ opt, OPT_U32, AT(member, __u32), .metavar = "S",		\
	  .help = "seconds " what " may stay idle",		\
	  .def = STR(dflt), .min = 1, .max = 1U << 30 }

const struct opt_def up_opt_defs[] = {
	{ "config", OPT_STRING, AT(config_path, const char *),
	  .flags = OPTF_RUNTIME | OPTF_CMDLINE, .metavar = "FILE",
	  .help = "read FILE first (settings, forwards); options given here override it",
	  .def_doc = "/etc/bpfmasq/IFNAME.conf if it exists" },
	{ "external", OPT_EXT_ADDR,
	  ARRAY_AT(external, struct ext_spec, n_external),
	  .metavar = "ADDR[:LO-HI]",
	  .help = "masquerade as ADDR, which may come and go (a VRRP address): translation waits for it, flows stay; repeated: a pool, new connections take the first on the WAN; LO-HI: its ports",
	  .def_doc = "the WAN's primary address" },
	{ "internal", OPT_CIDR, ARRAY_AT(internal, struct internal_key, n_internal),
	  .metavar = "ADDR/LEN", .help = "sources to masquerade",
	  .def_doc = "every source that is not the WAN address" },
	{ "ports", OPT_PORT_RANGE, AT(ports, struct port_range),
	  .metavar = "LO-HI",
	  .help = "external ports (and ICMP ids) NAT may use",
	  .def = STR(BPFMASQ_DEF_PORT_LO) "-" STR(BPFMASQ_DEF_PORT_HI) },
	{ "lan", OPT_IFNAME, ARRAY_AT(lan_name, const char *, n_lan),
	  .metavar = "IFNAME",
	  .help = "XDP fast path on an inside interface" },
	{ "lan-inbound", OPT_FLAG, AT(lan_inbound, bool),
	  .help = "replies also go straight into the --lan interfaces" },
	{ "lan-new", OPT_FLAG, AT(lan_new, bool),
	  .help = "the fast paths also open connections (no forward rules)" },
	{ "no-hairpin", OPT_FLAG, AT(no_hairpin, bool),
	  .help = "inside hosts cannot reach each other via the external address" },
	{ "filter", OPT_ENUM, AT(filter, int), .words = filter_words,
	  .help = "who may answer through a mapping", .def = "strict" },
	{ "max-flows", OPT_U32, AT(max_flows, __u32), .metavar = "N",
	  .help = "connections the tables hold (preallocated)",
	  .def = STR(BPFMASQ_DEF_MAX_FLOWS), .min = 16, .max = 1U << 24 },
	{ "mss-clamp", OPT_U32, AT(mss_clamp, __u32), .metavar = "N",
	  .words = mss_words,
	  .help = "lower the MSS of SYNs crossing the WAN to N (auto: route MTU - 40)",
	  .min = MSS_CLAMP_MIN, .max = MSS_CLAMP_MAX },
	TIMEOUT("timeout-tcp-established", timeout_tcp_est,
		"established TCP", BPFMASQ_DEF_TIMEOUT_TCP_EST),
	TIMEOUT("timeout-tcp-transitory", timeout_tcp_trans,
		"opening and closing TCP", BPFMASQ_DEF_TIMEOUT_TCP_TRANS),
	TIMEOUT("timeout-udp", timeout_udp, "UDP", BPFMASQ_DEF_TIMEOUT_UDP),
	TIMEOUT("timeout-icmp", timeout_icmp, "ICMP queries",
		BPFMASQ_DEF_TIMEOUT_ICMP),
	{ "ftp-ports", OPT_PORT_LIST, AT(ftp_ports[0], __u16),
	  .max_count = ALG_MAX_PORTS, .metavar = "LIST",
	  .help = "control ports the FTP ALG watches",
	  .def = STR(BPFMASQ_DEF_FTP_PORT) },
	{ "irc-ports", OPT_PORT_LIST, AT(irc_ports[0], __u16),
	  .max_count = ALG_MAX_PORTS, .metavar = "LIST",
	  .help = "control ports the IRC DCC ALG watches",
	  .def = STR(BPFMASQ_DEF_IRC_PORT) },
	{ "no-alg", OPT_FLAGS, AT(no_alg, unsigned int), .words = alg_words,
	  .help = "switch an ALG off", .def_doc = "none" },
	{ "foreground", OPT_FLAG, AT(foreground, bool), .flags = OPTF_RUNTIME,
	  .help = "keep the controller in the foreground (service managers)" },
	{ "log", OPT_STRING, AT(log_path, const char *), .flags = OPTF_RUNTIME,
	  .metavar = "FILE", .help = "the controller's log",
	  .def_doc = "/run/bpfmasq/IFNAME.log" },
	{ "metrics-file", OPT_STRING, AT(metrics_file, const char *),
	  .flags = OPTF_RUNTIME, .metavar = "FILE",
	  .help = "the controller writes stats --prometheus there every 5 s",
	  .def_doc = "none" },
	{ "log-mappings", OPT_STRING, AT(log_mappings, const char *),
	  .flags = OPTF_RUNTIME, .metavar = "FILE|syslog",
	  .help = "log every external port mapped and released (RFC 6888 REQ-12: no destinations)",
	  .def_doc = "none" },
	{ "sync-peer", OPT_ADDR, ARRAY_AT(sync_peer, __be32, n_sync_peer),
	  .flags = OPTF_RUNTIME, .metavar = "ADDR",
	  .help = "exchange connections and mappings with the bpfmasq controller of the gateway at ADDR, one session each (needs --sync-key)",
	  .def_doc = "none" },
	{ "sync-listen", OPT_ADDR, AT(sync_listen, __be32), .flags = OPTF_RUNTIME,
	  .metavar = "ADDR",
	  .help = "our address for state sync, on the link to the peer",
	  .def_doc = "any" },
	{ "sync-port", OPT_U32, AT(sync_port, __u32), .flags = OPTF_RUNTIME,
	  .metavar = "PORT", .help = "TCP port both peers listen on for state sync",
	  .def = STR(SYNC_DEF_PORT), .min = 1, .max = 65535 },
	{ "sync-key", OPT_STRING, AT(sync_key, const char *),
	  .flags = OPTF_RUNTIME, .metavar = "FILE",
	  .help = "the secret both peers authenticate state sync with (at least 32 bytes, mode 600)",
	  .def_doc = "none" },
	OPT_END
};

_Static_assert(ALG_MAX_PORTS <= 16, "apply_port_list() holds 16 ports");

int up_opts_init(struct up_opts *o)
{
	memset(o, 0, sizeof(*o));
	return opts_set_defaults(up_opt_defs, o);
}

int up_opts_apply(struct up_opts *o, const char *name, const char *value)
{
	return opt_apply(up_opt_defs, o, name, value);
}

int up_opts_finish(struct up_opts *o)
{
	/* Whatever the order: --no-alg ftp wins over --ftp-ports. */
	if (o->no_alg & NO_ALG_FTP)
		memset(o->ftp_ports, 0, sizeof(o->ftp_ports));
	if (o->no_alg & NO_ALG_IRC)
		memset(o->irc_ports, 0, sizeof(o->irc_ports));
	/* 0 for a --lan that does not exist yet: check_up() warns, and the
	 * controller attaches it when it appears. */
	for (int i = 0; i < o->n_lan; i++)
		o->lan_ifindex[i] = if_nametoindex(o->lan_name[i]);
	return 0;
}

int parse_up_opts(int argc, char **argv, struct up_opts *o)
{
	int first, settings;

	if (up_opts_init(o))
		return -1;
	first = opts_parse(up_opt_defs, "up", argc, argv, o, &settings);
	if (first < 0)
		return -1;
	if (first != argc - 1) {
		p_err("usage: bpfmasq up IFNAME [OPTIONS] (see 'bpfmasq up help')");
		return -1;
	}
	o->ifname = argv[first];
	o->settings_given = settings > 0;
	return up_opts_finish(o);
}

void help_up(FILE *f)
{
	cmd_usage_line(f, "up IFNAME [OPTIONS]",
		       "masquerade traffic leaving IFNAME as IFNAME's address; on an instance of another bpfmasq build, upgrade it in place keeping every flow");
	opts_usage(up_opt_defs, f);
}
