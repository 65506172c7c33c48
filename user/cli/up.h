/* SPDX-License-Identifier: GPL-2.0 */
/* The settings of `bpfmasq up`, and the one table that declares them. */
#ifndef BPFMASQ_UP_H
#define BPFMASQ_UP_H

#include <stdio.h>
#include "attach.h"
#include "bpfmasq.h"
#include "defaults.h"
#include "extpool.h"
#include "options.h"
#include "sync.h"
#include "util.h"

#define MAX_INTERNAL 64

enum filter_mode {
	FILTER_STRICT,	/* address and port dependent (RFC 4787) */
	FILTER_CONE,	/* endpoint independent */
};

enum alg_bits {
	NO_ALG_FTP = 1 << 0,
	NO_ALG_IRC = 1 << 1,
};

struct up_opts {
	const char *ifname;
	const char *config_path;
	/* --external, in the order given; none: the WAN's primary
	 * address. */
	struct ext_spec external[BPFMASQ_MAX_EXT];
	int n_external;
	int ifindex;
	struct internal_key internal[MAX_INTERNAL];
	int n_internal;
	struct port_range ports;
	int lan_ifindex[BPFMASQ_MAX_LAN];
	const char *lan_name[BPFMASQ_MAX_LAN];
	int n_lan;
	bool lan_inbound;
	bool lan_new;
	bool no_hairpin;
	int filter;		/* enum filter_mode */
	__u32 mss_clamp;	/* 0, MSS_CLAMP_AUTO or the MSS */
	enum link_layer wan_layer;	/* what check_up() found */
	__u32 max_flows;
	__u32 timeout_tcp_est, timeout_tcp_trans, timeout_udp, timeout_icmp;
	__u16 ftp_ports[ALG_MAX_PORTS], irc_ports[ALG_MAX_PORTS]; /* 0-ended */
	unsigned int no_alg;	/* enum alg_bits; empties the lists above */
	bool foreground;
	const char *log_path;
	const char *metrics_file;
	__be32 sync_peer[SYNC_MAX_PEERS];	/* --sync-peer */
	int n_sync_peer;
	__be32 sync_listen;		/* --sync-listen */
	__u32 sync_port;
	const char *sync_key;
	const char *log_mappings;	/* a file, "syslog", or NULL */
	bool settings_given;	/* anything beyond IFNAME on the command line */
};

/* Every option of `up`: README.md's option table is checked against it. */
extern const struct opt_def up_opt_defs[];

/* The defaults (headers/defaults.h), through the same setter. */
int up_opts_init(struct up_opts *o);
/* One setting by name, as from a config line "timeout-udp 120". */
int up_opts_apply(struct up_opts *o, const char *name, const char *value);
/* What follows from the settings once all are in (--no-alg, --lan). */
int up_opts_finish(struct up_opts *o);
/* The size of the binds table for these settings (up.c says why). */
__u32 up_binds_entries(const struct up_opts *o);
/* `bpfmasq up IFNAME [OPTIONS]`: init, argv, finish. */
int parse_up_opts(int argc, char **argv, struct up_opts *o);

#endif
