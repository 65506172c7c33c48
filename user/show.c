// SPDX-License-Identifier: GPL-2.0
/* Read-only commands: status, conns, stats. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "commands.h"
#include "flowtable.h"
#include "hairpin.h"
#include "instance.h"
#include "netfilter.h"
#include "util.h"

#define NSEC_PER_SEC 1000000000ULL

typedef int (*show_fn)(struct instance *in);

/*
 * Run fn for IFNAME, or for every interface with bpfmasq on it.  In JSON
 * mode the output is one array of what fn prints without IFNAME; with it,
 * fn's output alone, or wrapped in an array when fn prints a list.
 */
static int for_instances(int argc, char **argv, const char *cmd, show_fn fn,
			 bool fn_prints_list)
{
	struct if_nameindex *ifs, *it;
	struct instance in;
	int found = 0, err = 0;

	if (argc > 2) {
		p_err("usage: bpfmasq %s [IFNAME]", cmd);
		return 1;
	}
	if (geteuid()) {
		p_err("must be run as root (reading BPF maps needs CAP_BPF)");
		return 1;
	}
	if (argc == 2) {
		err = instance_find(argv[1], &in);
		if (err < 0)
			return 1;
		if (err == INSTANCE_NONE) {
			p_err("%s is not up (start it with 'bpfmasq up %s')",
			      argv[1], argv[1]);
			return 1;
		}
		if (json_output && fn_prints_list)
			jw_start_array(&jw);
		err = fn(&in);
		if (json_output && fn_prints_list)
			jw_end_array(&jw);
		if (json_output && !err)
			jw_finish(&jw);
		instance_close(&in);
		return err ? 1 : 0;
	}
	ifs = if_nameindex();
	if (!ifs) {
		p_err("cannot list interfaces: %s", strerror(errno));
		return 1;
	}
	if (json_output)
		jw_start_array(&jw);
	for (it = ifs; it->if_index; it++) {
		/* Quietly skip interfaces that are not ours. */
		bool saved = json_output;
		int r;

		json_output = false;
		r = instance_find(it->if_name, &in);
		json_output = saved;
		if (r != INSTANCE_FOUND)
			continue;
		found++;
		err |= fn(&in);
		instance_close(&in);
	}
	if_freenameindex(ifs);
	if (json_output) {
		jw_end_array(&jw);
		jw_finish(&jw);
	} else if (!found) {
		printf("no interface is up; start one with 'bpfmasq up IFNAME'\n");
	}
	return err ? 1 : 0;
}

static void if_names(const int *ifindex, int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		char name[IF_NAMESIZE];

		if (!if_indextoname(ifindex[i], name))
			snprintf(name, sizeof(name), "#%d", ifindex[i]);
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", name);
		if (off >= len)
			break;
	}
}

/* The ifindex a --lan name is attached as (in lan_ifindex), or 0. */
static int lan_attached_as(const struct nat_state *st, const char *name)
{
	int ifindex = if_nametoindex(name);

	for (int i = 0; ifindex && i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		if ((int)st->lan_ifindex[i] == ifindex)
			return ifindex;
	return 0;
}

/* Every --lan by name, with those not attached (yet) marked. */
static void lan_names(const struct nat_state *st, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < BPFMASQ_MAX_LAN && st->lan_name[i][0]; i++) {
		off += snprintf(buf + off, len - off, "%s%s%s", i ? " " : "",
				st->lan_name[i], lan_attached_as(st, st->lan_name[i]) ?
				"" : " (waiting for it to appear)");
		if (off >= len)
			break;
	}
}

/* Where hairpinning is on, or why nowhere. */
static void hairpin_str(const struct instance *in, const struct nat_state *st,
			const int *ifindex, int n, char *buf, size_t len)
{
	if (st->flags & STATE_NO_HAIRPIN)
		snprintf(buf, len, "off (--no-hairpin)");
	else if (!n)
		snprintf(buf, len, "no inside interface found%s",
			 in->cfg.cfg_match_all_sources ? "" :
			 " (none has a route into --internal)");
	else
		if_names(ifindex, n, buf, len);
}

static size_t count_conns(const struct instance *in)
{
	struct conn *c;
	size_t n = 0;

	if (conns_list(in->flows_fd, &c, &n))
		return 0;
	free(c);
	return n;
}

/*
 * Where the pins can be read from this shell: our own bpffs, or else the
 * controller's mount namespace (`ip netns exec` gives every command a
 * fresh /sys, so pins made by `up` live on in the controller's).
 */
static void pins_path(const struct instance *in, __u32 pid, bool alive,
		      char *buf, size_t len)
{
	char dir[PATH_MAX];

	pin_dir(dir, sizeof(dir), in->ifname);
	if (!access(dir, F_OK)) {
		snprintf(buf, len, "%s", dir);
		return;
	}
	snprintf(buf, len, "/proc/%u/root%s", pid, dir);
	if (!alive || access(buf, F_OK))
		snprintf(buf, len, "none visible from here");
}

/* "21,2121", or "off" for an ALG switched off. */
static void port_list_str(const volatile __u16 *list, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < 4 && list[i] && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%u", i ? "," : "",
				list[i]);
	if (!buf[0])
		snprintf(buf, len, "off");
}

/* --mss-clamp as given: "off", "auto" or the MSS. */
static void mss_clamp_str(__u16 v, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "off");
	else if (v == MSS_CLAMP_AUTO)
		snprintf(buf, len, "auto");
	else
		snprintf(buf, len, "%u", v);
}

static int show_status(struct instance *in)
{
	char ftp[32], irc[32], mss[8];
	struct nat_state st = {};
	char addr[INET_ADDRSTRLEN], lans[128], ports[16], pins[PATH_MAX + 32];
	char hairpin[1024], name[IF_NAMESIZE], nf_rule[512];
	bool nf_masq;
	int hp[HAIRPIN_MAX_IFS], n_hp;
	bool alive;
	size_t n;

	if (instance_get_state(in, &st)) {
		p_err("cannot read state of %s: %s", in->ifname, strerror(errno));
		return -1;
	}
	alive = controller_alive(st.controller_pid);
	n = count_conns(in);
	pins_path(in, st.controller_pid, alive, pins, sizeof(pins));
	port_list_str(in->cfg.cfg_ftp_ports, ftp, sizeof(ftp));
	port_list_str(in->cfg.cfg_irc_ports, irc, sizeof(irc));
	lan_names(&st, lans, sizeof(lans));
	n_hp = hairpin_ifaces(in->ifindex, hp, HAIRPIN_MAX_IFS);
	hairpin_str(in, &st, hp, n_hp, hairpin, sizeof(hairpin));
	snprintf(ports, sizeof(ports), "%u-%u", in->cfg.cfg_port_lo,
		 in->cfg.cfg_port_hi);
	mss_clamp_str(in->cfg.cfg_mss_clamp, mss, sizeof(mss));
	nf_masq = nf_masq_find(in->ifname, nf_rule, sizeof(nf_rule));
	if (st.ext_addr)
		fmt_addr(addr, st.ext_addr);
	else
		strcpy(addr, "none");

	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_string(&jw, "external", addr);
		jw_kv_string(&jw, "ports", ports);
		jw_kv_string(&jw, "filter", in->cfg.cfg_filter_cone ? "cone" : "strict");
		jw_kv_string(&jw, "lan", lans);
		jw_key(&jw, "lan_interfaces");
		jw_start_array(&jw);
		for (int i = 0; i < BPFMASQ_MAX_LAN && st.lan_name[i][0]; i++) {
			int ifi = lan_attached_as(&st, st.lan_name[i]);

			jw_start_object(&jw);
			jw_kv_string(&jw, "name", st.lan_name[i]);
			jw_kv_uint(&jw, "ifindex", ifi);
			jw_kv_string(&jw, "state", ifi ? "attached" : "waiting");
			jw_end_object(&jw);
		}
		jw_end_array(&jw);
		jw_key(&jw, "hairpin");
		jw_start_array(&jw);
		for (int i = 0; i < n_hp; i++)
			if (if_indextoname(hp[i], name))
				jw_string(&jw, name);
		jw_end_array(&jw);
		jw_key(&jw, "no_hairpin");
		jw_bool(&jw, st.flags & STATE_NO_HAIRPIN);
		jw_kv_uint(&jw, "ifindex", in->ifindex);
		jw_key(&jw, "wan_l3");
		jw_bool(&jw, in->cfg.cfg_wan_l3);
		jw_key(&jw, "lan_inbound");
		jw_bool(&jw, in->cfg.cfg_lan_inbound);
		jw_key(&jw, "lan_new");
		jw_bool(&jw, in->cfg.cfg_lan_new);
		jw_kv_string(&jw, "mss_clamp", mss);
		jw_key(&jw, "conntrack");
		jw_bool(&jw, in->cfg.cfg_conntrack);
		jw_key(&jw, "netfilter_masquerade");
		if (nf_masq)
			jw_string(&jw, nf_rule);
		else
			jw_null(&jw);
		jw_kv_uint(&jw, "flows", n);
		jw_kv_uint(&jw, "route_gen", st.route_gen);
		jw_kv_uint(&jw, "controller_pid", alive ? st.controller_pid : 0);
		jw_key(&jw, "controller_running");
		jw_bool(&jw, alive);
		jw_kv_string(&jw, "pins", pins);
		jw_key(&jw, "alg");
		jw_start_object(&jw);
		jw_kv_string(&jw, "ftp", ftp);
		jw_kv_string(&jw, "irc", irc);
		jw_end_object(&jw);
		jw_key(&jw, "timeouts");
		jw_start_object(&jw);
		jw_kv_uint(&jw, "tcp_established", st.timeout_tcp_est);
		jw_kv_uint(&jw, "tcp_transitory", st.timeout_tcp_trans);
		jw_kv_uint(&jw, "udp", st.timeout_udp);
		jw_kv_uint(&jw, "icmp", st.timeout_icmp);
		jw_end_object(&jw);
		jw_kv_uint(&jw, "expire_interval_ms", expire_interval_ms(&st));
		jw_end_object(&jw);
		return 0;
	}
	printf("%s: external %s, ports %s, filter %s, flows %zu\n", in->ifname,
	       addr, ports, in->cfg.cfg_filter_cone ? "cone" : "strict", n);
	printf("    wan: ifindex %d, %s\n", in->ifindex, in->cfg.cfg_wan_l3 ?
	       "layer 3 (no Ethernet): inbound and outbound on tc, no XDP" :
	       "Ethernet: inbound on XDP, outbound on tc");
	printf("    lan fast path: %s%s%s (routing generation %u)\n",
	       lans[0] ? lans : "off",
	       lans[0] && in->cfg.cfg_lan_inbound ? ", replies too" : "",
	       lans[0] && in->cfg.cfg_lan_new ? ", new connections too" : "",
	       st.route_gen);
	printf("    hairpin: %s\n", hairpin);
	printf("    mss clamp: %s\n", in->cfg.cfg_mss_clamp == MSS_CLAMP_AUTO ?
	       "auto (WAN route MTU - 40)" : mss);
	if (nf_masq)
		printf("    netfilter: also masquerades here (%s); replies conntrack knows are left to it%s\n",
		       nf_rule, in->cfg.cfg_conntrack ? "" :
		       ", but this kernel has no conntrack lookups for BPF: some may be dropped");
	printf("    pinned state: %s\n", pins);
	printf("    alg: ftp %s, irc %s\n", ftp, irc);
	printf("    timeouts: tcp established %us, tcp transitory %us, udp %us, icmp %us; idle flows looked for every %.1fs\n",
	       st.timeout_tcp_est, st.timeout_tcp_trans, st.timeout_udp,
	       st.timeout_icmp, expire_interval_ms(&st) / 1000.0);
	if (alive)
		printf("    controller: running, pid %u\n", st.controller_pid);
	else
		printf("    controller: not running (flows do not expire); restart it with 'bpfmasq up %s'\n",
		       in->ifname);
	return 0;
}

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		return "?";
	}
}

static bool port_listed(const volatile __u16 *list, __be16 port)
{
	for (int i = 0; i < 4; i++)
		if (list[i] && list[i] == ntohs(port))
			return true;
	return false;
}

/* Is this an ALG control connection (as the data plane decides)? */
static const char *conn_alg(const struct instance *in, const struct conn *c)
{
	if (c->out_key.proto != IPPROTO_TCP)
		return NULL;
	if (port_listed(in->cfg.cfg_ftp_ports, c->out_key.dport) ||
	    port_listed(in->cfg.cfg_ftp_ports, c->out_key.sport))
		return "ftp";
	if (port_listed(in->cfg.cfg_irc_ports, c->out_key.dport))
		return "irc";
	return NULL;
}

static int show_conns(struct instance *in)
{
	__u64 now = now_coarse_ns();
	struct conn *c;
	size_t n;
	int err;

	err = conns_list(in->flows_fd, &c, &n);
	if (err) {
		p_err("cannot read flows of %s: %s", in->ifname, strerror(-err));
		return -1;
	}
	bindings_show(in, true);
	for (size_t i = 0; i < n; i++) {
		char inside[24], outside[24], remote[24];
		__u64 last = conn_last_seen(&c[i]);
		__u64 idle = age_ns(last, now) / NSEC_PER_SEC;

		fmt_endpoint(inside, c[i].out_key.saddr, c[i].out_key.sport);
		fmt_endpoint(outside, c[i].out.nat_addr, c[i].out.nat_port);
		fmt_endpoint(remote, c[i].out_key.daddr, c[i].out_key.dport);
		const char *alg = conn_alg(in, &c[i]);

		if (json_output) {
			jw_start_object(&jw);
			jw_kv_string(&jw, "ifname", in->ifname);
			jw_kv_string(&jw, "proto", proto_name(c[i].out_key.proto));
			jw_kv_string(&jw, "state", conn_state_name(&c[i]));
			jw_kv_string(&jw, "inside", inside);
			jw_kv_string(&jw, "outside", outside);
			jw_kv_string(&jw, "remote", remote);
			jw_kv_uint(&jw, "idle", idle);
			if (alg) {
				jw_kv_string(&jw, "alg", alg);
				jw_key(&jw, "seq_adjusted");
				jw_bool(&jw, c[i].out.flags & FLOW_SEQADJ);
			}
			jw_end_object(&jw);
		} else {
			printf("%-4s %-11s inside %-21s outside %-21s remote %-21s idle %llus%s%s\n",
			       proto_name(c[i].out_key.proto),
			       conn_state_name(&c[i]), inside, outside, remote,
			       (unsigned long long)idle, alg ? " alg " : "",
			       alg ? alg : "");
		}
	}
	free(c);
	return 0;
}

static const char *const counter_names[] = {
#define BPFMASQ_NAME(sym, name) [sym] = name,
	BPFMASQ_COUNTERS(BPFMASQ_NAME)
#undef BPFMASQ_NAME
};

static int show_stats(struct instance *in)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(__u64));

	if (!vals || ncpu <= 0) {
		free(vals);
		p_err("cannot size per-CPU counters");
		return -1;
	}
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
	} else {
		printf("%s:\n", in->ifname);
	}
	for (__u32 i = 0; i < CNT_MAX; i++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(in->stats_fd, &i, vals))
			memset(vals, 0, ncpu * sizeof(__u64));
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		if (json_output)
			jw_kv_uint(&jw, counter_names[i], sum);
		else
			printf("    %-28s %llu\n", counter_names[i],
			       (unsigned long long)sum);
	}
	if (json_output)
		jw_end_object(&jw);
	free(vals);
	return 0;
}

/* conns -j is one flat array across interfaces, like conntrack -L. */
int cmd_conns(int argc, char **argv)
{
	return for_instances(argc, argv, "conns", show_conns, true);
}

int cmd_status(int argc, char **argv)
{
	return for_instances(argc, argv, "status", show_status, false);
}

int cmd_stats(int argc, char **argv)
{
	return for_instances(argc, argv, "stats", show_stats, false);
}
