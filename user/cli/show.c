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
#include "build.h"
#include "commands.h"
#include "extpool.h"
#include "flowtable.h"
#include "hairpin.h"
#include "instance.h"
#include "metrics.h"
#include "netfilter.h"
#include "sync.h"
#include "util.h"

#define NSEC_PER_SEC 1000000000ULL

typedef int (*show_fn)(struct instance *in);

int instances_each(const char *ifname, instance_fn fn, bool fn_prints_list,
		   int *found)
{
	struct if_nameindex *ifs, *it;
	struct instance in;
	int err = 0;

	*found = 0;
	if (geteuid()) {
		p_err("must be run as root (reading BPF maps needs CAP_BPF)");
		return 1;
	}
	if (ifname) {
		err = instance_find(ifname, &in);
		if (err < 0)
			return 1;
		if (err == INSTANCE_NONE) {
			p_err("%s is not up (start it with 'bpfmasq up %s')",
			      ifname, ifname);
			return 1;
		}
		*found = 1;
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
		(*found)++;
		err |= fn(&in);
		instance_close(&in);
	}
	if_freenameindex(ifs);
	if (json_output) {
		jw_end_array(&jw);
		jw_finish(&jw);
	}
	return err ? 1 : 0;
}

/* `CMD [IFNAME]`: fn for IFNAME or for every interface (see above). */
static int for_instances(int argc, char **argv, const char *cmd, show_fn fn,
			 bool fn_prints_list)
{
	int found, err;

	if (argc > 2) {
		p_err("usage: bpfmasq %s [IFNAME]", cmd);
		return 1;
	}
	err = instances_each(argc == 2 ? argv[1] : NULL, fn, fn_prints_list,
			     &found);
	if (argc < 2 && !found && !json_output && !err)
		printf("no interface is up; start one with 'bpfmasq up IFNAME'\n");
	return err;
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

/* Which build runs the instance, and whether it is this one: a mismatch
 * is said, never silent. */
static void build_json(const struct instance *in)
{
	const struct build_id *self = build_self();
	struct build_id b;
	char tag[17], h[20];

	build_of(in, &b);
	jw_key(&jw, "build");
	jw_start_object(&jw);
	if (b.version[0]) {
		jw_kv_string(&jw, "version", b.version);
	}
	else {
		jw_key(&jw, "version");
		jw_null(&jw);
	}
	snprintf(h, sizeof(h), "%016llx", (unsigned long long)b.object);
	jw_kv_string(&jw, "object", h);
	jw_kv_uint(&jw, "layout", b.layout ? b.layout : 1);
	snprintf(h, sizeof(h), "%016llx", (unsigned long long)b.layout_hash);
	jw_kv_string(&jw, "layout_hash", h);
	jw_key(&jw, "this_build");
	jw_bool(&jw, build_same(&b, self));
	jw_kv_string(&jw, "cli_version", self->version);
	jw_key(&jw, "programs");
	jw_start_object(&jw);
	for (size_t i = 0; i < instance_nr_objs; i++) {
		const struct instance_obj *o = &instance_objs[i];

		if (o->kind != OBJ_PROG || instance_fd(in, o) < 0)
			continue;
		prog_tag(instance_fd(in, o), tag);
		jw_kv_string(&jw, o->name, tag);
	}
	jw_end_object(&jw);
	jw_end_object(&jw);
}

static void build_print(const struct instance *in)
{
	const struct build_id *self = build_self();
	struct build_id b;
	char buf[96], tag[17];
	bool first = true;

	build_of(in, &b);
	printf("    build: %s, layout %u%s\n", build_str(&b, buf, sizeof(buf)),
	       b.layout ? b.layout : 1, build_same(&b, self) ? "" :
	       " (not this bpfmasq's: 'bpfmasq up' upgrades it)");
	printf("    programs:");
	for (size_t i = 0; i < instance_nr_objs; i++) {
		const struct instance_obj *o = &instance_objs[i];

		if (o->kind != OBJ_PROG || instance_fd(in, o) < 0)
			continue;
		prog_tag(instance_fd(in, o), tag);
		printf("%s %s %s", first ? "" : ",", o->name, tag);
		first = false;
	}
	printf("\n");
}

/* State sync, a line per peer as the controller keeps them; without
 * that (a controller of before several peers), the first peer as the
 * counters tell it: up while more sessions were opened than lost. */
static int sync_status(const struct instance *in, const struct nat_state *st,
		       bool alive, struct sync_peer_status *p, __u64 *c)
{
	int n;

	memset(c, 0, CNT_MAX * sizeof(*c));
	if (!st->sync_peer)
		return 0;
	stats_read(in->stats_fd, c);
	n = alive ? sync_status_read(st->controller_pid, p, SYNC_MAX_PEERS) : -1;
	if (n < 0) {
		n = 1;
		p[0] = (struct sync_peer_status){
			.addr = st->sync_peer, .port = st->sync_port,
			.up = c[CNT_SYNC_SESSIONS] > c[CNT_SYNC_SESSIONS_LOST],
			.records_sent = c[CNT_SYNC_SENT],
			.records_acked = c[CNT_SYNC_ACKED],
			.lag = c[CNT_SYNC_SENT] - c[CNT_SYNC_ACKED],
			.records_applied = c[CNT_SYNC_APPLIED],
			.records_not_applied = c[CNT_SYNC_APPLY_FAILED],
			.messages_rejected = c[CNT_SYNC_REJECTED] +
					     c[CNT_SYNC_AUTH_FAILED],
			.sessions = c[CNT_SYNC_SESSIONS],
			.sessions_lost = c[CNT_SYNC_SESSIONS_LOST],
			.bulk_resyncs = c[CNT_SYNC_RESYNCS],
			.too_slow = c[CNT_SYNC_OVERFLOWS],
		};
	}
	/* A killed controller's sessions went with it. */
	for (int i = 0; i < n && !alive; i++)
		p[i].up = p[i].from_up = 0;
	return n;
}

static void sync_line(const struct sync_peer_status *p)
{
	char a[INET_ADDRSTRLEN];

	printf("    sync: peer %s:%u %s, records sent %llu acked %llu (lag %llu), applied %llu, rejected %llu\n",
	       fmt_addr(a, p->addr), p->port, p->up ? "up" : "down",
	       (unsigned long long)p->records_sent,
	       (unsigned long long)p->records_acked,
	       (unsigned long long)p->lag,
	       (unsigned long long)p->records_applied,
	       (unsigned long long)p->messages_rejected);
}

static void sync_json(const struct sync_peer_status *p, int n, const __u64 *c)
{
	char a[INET_ADDRSTRLEN];
	bool all_up = n > 0;

	if (!n) {
		jw_null(&jw);
		return;
	}
	for (int i = 0; i < n; i++)
		all_up &= p[i].up;
	jw_start_object(&jw);
	/* The first peer and the totals, as before several peers. */
	jw_kv_string(&jw, "peer", fmt_addr(a, p[0].addr));
	jw_kv_uint(&jw, "port", p[0].port);
	jw_key(&jw, "up");
	jw_bool(&jw, all_up);
	jw_kv_uint(&jw, "records_sent", c[CNT_SYNC_SENT]);
	jw_kv_uint(&jw, "records_acked", c[CNT_SYNC_ACKED]);
	jw_kv_uint(&jw, "records_applied", c[CNT_SYNC_APPLIED]);
	jw_kv_uint(&jw, "records_not_applied", c[CNT_SYNC_APPLY_FAILED]);
	jw_kv_uint(&jw, "sessions", c[CNT_SYNC_SESSIONS]);
	jw_kv_uint(&jw, "messages_rejected",
		   c[CNT_SYNC_REJECTED] + c[CNT_SYNC_AUTH_FAILED]);
	jw_key(&jw, "peers");
	jw_start_array(&jw);
	for (int i = 0; i < n; i++) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "peer", fmt_addr(a, p[i].addr));
		jw_kv_uint(&jw, "port", p[i].port);
		jw_key(&jw, "up");
		jw_bool(&jw, p[i].up);
		jw_key(&jw, "from_peer_up");
		jw_bool(&jw, p[i].from_up);
		jw_kv_uint(&jw, "records_sent", p[i].records_sent);
		jw_kv_uint(&jw, "records_acked", p[i].records_acked);
		jw_kv_uint(&jw, "lag", p[i].lag);
		jw_kv_uint(&jw, "records_applied", p[i].records_applied);
		jw_kv_uint(&jw, "records_not_applied", p[i].records_not_applied);
		jw_kv_uint(&jw, "messages_rejected", p[i].messages_rejected);
		jw_kv_uint(&jw, "sessions", p[i].sessions);
		jw_kv_uint(&jw, "sessions_lost", p[i].sessions_lost);
		jw_kv_uint(&jw, "bulk_resyncs", p[i].bulk_resyncs);
		jw_kv_uint(&jw, "too_slow", p[i].too_slow);
		jw_end_object(&jw);
	}
	jw_end_array(&jw);
	jw_end_object(&jw);
}

/* Each --external address: where it is, and whether new connections
 * take it. */
static void pool_json(const struct nat_state *st, const struct ext_spec *pool,
		      const __u8 *flags, int n)
{
	char a[INET_ADDRSTRLEN], r[16];

	jw_key(&jw, "external_pool");
	jw_start_array(&jw);
	for (int i = 0; i < n; i++) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "address", fmt_addr(a, pool[i].addr));
		jw_key(&jw, "ports");
		if (pool[i].port_hi) {
			snprintf(r, sizeof(r), "%u-%u", pool[i].port_lo,
				 pool[i].port_hi);
			jw_string(&jw, r);
		} else {
			jw_null(&jw);	/* --ports */
		}
		jw_key(&jw, "on_wan");
		jw_bool(&jw, flags[i] & EXT_ON_WAN);
		jw_key(&jw, "new_connections");
		jw_bool(&jw, pool[i].addr == st->ext_addr);
		jw_end_object(&jw);
	}
	jw_end_array(&jw);
}

static void pool_line(const struct nat_state *st, const struct ext_spec *pool,
		      const __u8 *flags, int n)
{
	char a[INET_ADDRSTRLEN];

	printf("    external pool:");
	for (int i = 0; i < n; i++) {
		printf("%s %s", i ? "," : "", fmt_addr(a, pool[i].addr));
		if (pool[i].port_hi)
			printf(":%u-%u", pool[i].port_lo, pool[i].port_hi);
		printf(" (%s%s)", flags[i] & EXT_ON_WAN ? "on the WAN" :
		       "not on the WAN", pool[i].addr == st->ext_addr ?
		       ", new connections" : "");
	}
	printf("\n");
}

static int show_status(struct instance *in)
{
	struct ext_spec pool[BPFMASQ_MAX_EXT];
	__u8 pool_flags[BPFMASQ_MAX_EXT];
	int n_pool;
	char ftp[32], irc[32], mss[8];
	struct nat_state st = {};
	char addr[INET_ADDRSTRLEN], lans[128], ports[16], pins[PATH_MAX + 32];
	char hairpin[1024], name[IF_NAMESIZE], nf_rule[512];
	struct sync_peer_status peers[SYNC_MAX_PEERS];
	const char *tc_fast;
	__u64 sc[CNT_MAX];
	bool nf_masq;
	int n_peers;
	int hp[HAIRPIN_MAX_IFS], n_hp;
	bool alive;
	size_t n;

	if (instance_get_state(in, &st)) {
		p_err("cannot read state of %s: %s", in->ifname, strerror(errno));
		return -1;
	}
	alive = controller_alive(st.controller_pid);
	n = count_conns(in);
	n_pool = in->ext_pool_fd < 0 ? 0 :
		 ext_pool_read(in->ext_pool_fd, pool, pool_flags, BPFMASQ_MAX_EXT);
	if (n_pool < 0)
		n_pool = 0;
	pins_path(in, st.controller_pid, alive, pins, sizeof(pins));
	port_list_str(in->cfg.cfg_ftp_ports, ftp, sizeof(ftp));
	port_list_str(in->cfg.cfg_irc_ports, irc, sizeof(irc));
	lan_names(&st, lans, sizeof(lans));
	n_hp = hairpin_ifaces(in->ifindex, hp, HAIRPIN_MAX_IFS);
	hairpin_str(in, &st, hp, n_hp, hairpin, sizeof(hairpin));
	n_peers = sync_status(in, &st, alive, peers, sc);
	snprintf(ports, sizeof(ports), "%u-%u", in->cfg.cfg_port_lo,
		 in->cfg.cfg_port_hi);
	mss_clamp_str(in->cfg.cfg_mss_clamp, mss, sizeof(mss));
	nf_masq = nf_masq_find(in->ifname, nf_rule, sizeof(nf_rule));
	/* The outbound half of the tc fast path rides on the hairpin
	 * programs (masq_lan_hairpin), the way back on masq_wan_in_tc; both
	 * need an Ethernet WAN. */
	tc_fast = in->cfg.cfg_wan_l3 ? "off (WAN without Ethernet)" :
		  st.flags & STATE_NO_HAIRPIN ?
		  "replies only (--no-hairpin: no tc program inside)" :
		  in->cfg.cfg_lan_new ? "established and new connections" :
		  "established connections";
	if (state_forward_addr(&st))
		fmt_addr(addr, state_forward_addr(&st));
	else
		strcpy(addr, "none");

	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_string(&jw, "external", addr);
		jw_key(&jw, "external_configured");
		jw_bool(&jw, st.ext_want != 0);
		jw_key(&jw, "external_on_wan");
		jw_bool(&jw, st.ext_addr != 0);
		pool_json(&st, pool, pool_flags, n_pool);
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
		jw_kv_string(&jw, "tc_fast_path", tc_fast);
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
		build_json(in);
		jw_key(&jw, "sync");
		sync_json(peers, n_peers, sc);
		jw_end_object(&jw);
		return 0;
	}
	printf("%s: external %s%s, ports %s, filter %s, flows %zu\n",
	       in->ifname, addr, !st.ext_want ? "" : st.ext_addr ?
	       " (--external, on the WAN)" :
	       " (--external, not on the WAN: translation waits for it)",
	       ports, in->cfg.cfg_filter_cone ? "cone" : "strict", n);
	if (n_pool > 1 || (n_pool && pool[0].port_hi))
		pool_line(&st, pool, pool_flags, n_pool);
	printf("    wan: ifindex %d, %s\n", in->ifindex, in->cfg.cfg_wan_l3 ?
	       "layer 3 (no Ethernet): inbound and outbound on tc, no XDP" :
	       "Ethernet: inbound on XDP, outbound on tc");
	printf("    lan fast path: %s%s%s (routing generation %u)\n",
	       lans[0] ? lans : "off",
	       lans[0] && in->cfg.cfg_lan_inbound ? ", replies too" : "",
	       lans[0] && in->cfg.cfg_lan_new ? ", new connections too" : "",
	       st.route_gen);
	printf("    hairpin: %s\n", hairpin);
	printf("    tc fast path: %s\n", tc_fast);
	printf("    mss clamp: %s\n", in->cfg.cfg_mss_clamp == MSS_CLAMP_AUTO ?
	       "auto (WAN route MTU - 40)" : mss);
	if (nf_masq)
		printf("    netfilter: also masquerades here (%s); replies conntrack knows are left to it%s\n",
		       nf_rule, in->cfg.cfg_conntrack ? "" :
		       ", but this kernel has no conntrack lookups for BPF: some may be dropped");
	if (!n_peers)
		printf("    sync: off\n");
	for (int i = 0; i < n_peers; i++)
		sync_line(&peers[i]);
	printf("    pinned state: %s\n", pins);
	printf("    alg: ftp %s, irc %s\n", ftp, irc);
	printf("    timeouts: tcp established %us, tcp transitory %us, udp %us, icmp %us; idle flows looked for every %.1fs\n",
	       st.timeout_tcp_est, st.timeout_tcp_trans, st.timeout_udp,
	       st.timeout_icmp, expire_interval_ms(&st) / 1000.0);
	build_print(in);
	if (alive)
		printf("    controller: running, pid %u\n", st.controller_pid);
	else
		printf("    controller: not running (flows do not expire); restart it with 'bpfmasq up %s'\n",
		       in->ifname);
	return 0;
}

static const char *const counter_names[] = {
#define BPFMASQ_NAME(sym, name) [sym] = name,
	BPFMASQ_COUNTERS(BPFMASQ_NAME)
#undef BPFMASQ_NAME
};

static int show_stats(struct instance *in)
{
	__u64 sums[CNT_MAX];

	if (stats_read(in->stats_fd, sums)) {
		p_err("cannot read the counters of %s: %s", in->ifname,
		      strerror(errno));
		return -1;
	}
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
	} else {
		printf("%s:\n", in->ifname);
	}
	for (__u32 i = 0; i < CNT_MAX; i++) {
		if (json_output)
			jw_kv_uint(&jw, counter_names[i], sums[i]);
		else
			printf("    %-28s %llu\n", counter_names[i],
			       (unsigned long long)sums[i]);
	}
	if (json_output)
		jw_end_object(&jw);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	return for_instances(argc, argv, "status", show_status, false);
}

/* stats [IFNAME] [--prometheus] */
int cmd_stats(int argc, char **argv)
{
	const char *ifname = NULL;
	bool prom = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus"))
			prom = true;
		else if (argv[i][0] == '-' || ifname)
			goto usage;
		else
			ifname = argv[i];
	}
	if (prom)
		return metrics_cmd(ifname);
	return for_instances(ifname ? 2 : 1, argv, "stats", show_stats, false);
usage:
	p_err("bad argument '%s': usage: bpfmasq stats [IFNAME] [--prometheus]",
	      argv[i]);
	return 1;
}
