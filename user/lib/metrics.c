// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus exposition of `bpfmasq stats --prometheus`.  Names follow
 * Prometheus practice: prefix bpfmasq_, counters in _total, one family per
 * quantity with labels telling its parts apart (a drop reason is a label
 * of one counter), so that summing a family over a label means something.
 * Every interface's samples carry interface="IFNAME".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "extpool.h"
#include "flowtable.h"
#include "instance.h"
#include "metrics.h"
#include "util.h"

#define FEED(...) .nfeed = sizeof((struct metric_feed[]){ __VA_ARGS__ }) / \
			   sizeof(struct metric_feed), .feed = { __VA_ARGS__ }

/*
 * Every metric family, in output order.  Each counter of
 * BPFMASQ_COUNTERS feeds exactly one family (tests/unit/test_metrics.c
 * checks): a new counter that is no drop reason must be added here.
 */
const struct metric_family metric_families[] = {
	{ .name = "bpfmasq_packets_translated_total", .type = "counter",
	  .help = "Packets translated, by direction (out: inside to outside).",
	  .label = "direction", .src = MS_COUNTERS,
	  FEED({ CNT_OUT_TRANSLATED, "out" }, { CNT_IN_TRANSLATED, "in" }) },
	{ .name = "bpfmasq_packets_fastpath_total", .type = "counter",
	  .help = "Translated packets a fast path redirected (also in bpfmasq_packets_translated_total): lan = outbound by the --lan XDP, wan = replies (--lan-inbound), lan_tc = outbound skbs by the inside interfaces' tc, wan_tc = replies by the WAN's tc (skbs: a GSO super-packet counts once).",
	  .label = "path", .src = MS_COUNTERS,
	  FEED({ CNT_LAN_FASTPATH, "lan" }, { CNT_WAN_FASTPATH, "wan" },
	       { CNT_LAN_TC_FASTPATH, "lan_tc" },
	       { CNT_WAN_TC_FASTPATH, "wan_tc" }) },
	{ .name = "bpfmasq_connections_opened_total", .type = "counter",
	  .help = "Connections opened (flows stored, each both directions).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_NEW_FLOWS, NULL }) },
	{ .name = "bpfmasq_connections_deleted_total", .type = "counter",
	  .help = "Connections deleted by 'bpfmasq conns delete' or 'conns flush' (not expired ones).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_CONNS_DELETED, NULL }) },
	{ .name = "bpfmasq_connections_expired_total", .type = "counter",
	  .help = "Connections removed after their idle timeout (closed ones included).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_CONNS_EXPIRED, NULL }) },
	{ .name = "bpfmasq_expiry_work_total", .type = "counter",
	  .help = "The controller's expiry work: walks of the whole flow table (at start, after lost events or a new table), and connections its queue had the kernel look at.",
	  .label = "work", .src = MS_COUNTERS,
	  FEED({ CNT_EXPIRY_WALKS, "table_walks" },
	       { CNT_EXPIRY_CHECKED, "queued_checks" }) },
	{ .name = "bpfmasq_bindings_created_total", .type = "counter",
	  .help = "Endpoint-independent mappings (external ports) handed out.",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_NEW_BINDINGS, NULL }) },
	{ .name = "bpfmasq_packets_passed_to_host_total", .type = "counter",
	  .help = "Inbound packets left to the gateway's own stack (not NAT traffic).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_PASS_HOST, NULL }) },
	{ .name = "bpfmasq_icmp_errors_translated_total", .type = "counter",
	  .help = "ICMP errors translated, quoted packet included.",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_ICMP_ERR_TRANSLATED, NULL }) },
	{ .name = "bpfmasq_fragments_total", .type = "counter",
	  .help = "Later fragments: translated, or held in the controller until their first fragment came.",
	  .label = "action", .src = MS_COUNTERS,
	  FEED({ CNT_FRAG_TRANSLATED, "translated" }, { CNT_FRAG_HELD, "held" }) },
	{ .name = "bpfmasq_packets_hairpinned_total", .type = "counter",
	  .help = "Packets from an inside host to the external address sent back inside.",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_HAIRPINNED, NULL }) },
	{ .name = "bpfmasq_alg_segments_total", .type = "counter",
	  .help = "FTP/IRC control segments that may carry a command: handed to the controller, or translated without inspection (the ring was full).",
	  .label = "result", .src = MS_COUNTERS,
	  FEED({ CNT_ALG_PUNTED, "to_controller" },
	       { CNT_ALG_UNHANDLED, "not_inspected" }) },
	{ .name = "bpfmasq_alg_commands_total", .type = "counter",
	  .help = "What the FTP/IRC ALGs did with a command they parsed.",
	  .label = "result", .src = MS_COUNTERS,
	  FEED({ CNT_ALG_REWRITTEN, "rewritten" },
	       { CNT_ALG_FORGED, "forged_left_alone" },
	       { CNT_ALG_MALFORMED, "malformed_left_alone" },
	       { CNT_ALG_PARTIAL, "split_command_dropped" },
	       { CNT_ALG_BAD_CSUM, "bad_checksum_dropped" }) },
	{ .name = "bpfmasq_alg_expectations_ended_total", .type = "counter",
	  .help = "ALG expectations (announced data connections) that were used, or expired unused after 300 s.",
	  .label = "result", .src = MS_COUNTERS,
	  FEED({ CNT_EXPECT_USED, "used" }, { CNT_EXPECT_EXPIRED, "expired" }) },
	{ .name = "bpfmasq_mss_clamped_total", .type = "counter",
	  .help = "TCP SYN and SYN-ACK segments whose MSS option --mss-clamp lowered.",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_MSS_CLAMPED, NULL }) },
	{ .name = "bpfmasq_events_total", .type = "counter",
	  .help = "Connection events (bpfmasq monitor, the mapping log) the controller published.",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_EVENTS_PUBLISHED, NULL }) },
	{ .name = "bpfmasq_events_lost_total", .type = "counter",
	  .help = "Connection events lost: ring = the data plane's ring was full, or the CLI found no controller to hand them to; monitor = a monitor too slow to read its copy.",
	  .label = "where", .src = MS_COUNTERS,
	  FEED({ CNT_EVENTS_LOST, "ring" }, { CNT_MONITOR_DROPPED, "monitor" }) },
	{ .name = "bpfmasq_events_lost_reported_total", .type = "counter",
	  .help = "Of the ring's lost events, how many the controller has reported (a LOST record and a gap line in the mapping log).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_EVENTS_LOST_REPORTED, NULL }) },
	{ .name = "bpfmasq_suppressed_drop_events_total", .type = "counter",
	  .help = "DROP events not written because a CPU had used its 20 a second (the drops themselves are counted in bpfmasq_packets_dropped_total).",
	  .label = NULL, .src = MS_COUNTERS, FEED({ CNT_DROP_EVENTS_SUPPRESSED, NULL }) },
	{ .name = "bpfmasq_sync_records_total", .type = "counter",
	  .help = "State sync records (--sync-peer): sent to the peer, acknowledged by it, received and applied, received and not applied (a conflict with our own entry, or a full table).",
	  .label = "result", .src = MS_COUNTERS,
	  FEED({ CNT_SYNC_SENT, "sent" }, { CNT_SYNC_ACKED, "acked" },
	       { CNT_SYNC_APPLIED, "applied" },
	       { CNT_SYNC_APPLY_FAILED, "not_applied" }) },
	{ .name = "bpfmasq_sync_sessions_total", .type = "counter",
	  .help = "State sync sessions to the peer: opened (each starts with a bulk resync), lost (those dropped because the peer fell too far behind included), dropped so, bulk resyncs sent.",
	  .label = "event", .src = MS_COUNTERS,
	  FEED({ CNT_SYNC_SESSIONS, "opened" }, { CNT_SYNC_SESSIONS_LOST, "lost" },
	       { CNT_SYNC_OVERFLOWS, "peer_too_slow" },
	       { CNT_SYNC_RESYNCS, "bulk_resyncs" }) },
	{ .name = "bpfmasq_sync_messages_rejected_total", .type = "counter",
	  .help = "State sync messages refused: reason auth = a bad HMAC (another key), protocol = malformed, out of sequence, or from an address that is not the peer.",
	  .label = "reason", .src = MS_COUNTERS,
	  FEED({ CNT_SYNC_AUTH_FAILED, "auth" }, { CNT_SYNC_REJECTED, "protocol" }) },
	{ .name = "bpfmasq_packets_dropped_total", .type = "counter",
	  .help = "Packets dropped, by reason (the drop_* counters of 'bpfmasq stats', less drop_).",
	  .label = "reason", .src = MS_DROPS },
	{ .name = "bpfmasq_connections", .type = "gauge",
	  .help = "Connections in the flows table.",
	  .label = NULL, .src = MS_CONNS },
	{ .name = "bpfmasq_connections_limit", .type = "gauge",
	  .help = "Connections the flows table holds (--max-flows); new ones are dropped as table_full beyond.",
	  .label = NULL, .src = MS_CONNS_LIMIT },
	{ .name = "bpfmasq_bindings", .type = "gauge",
	  .help = "Endpoint-independent mappings held: dynamic ones and port forwards.",
	  .label = "type", .src = MS_BINDINGS },
	{ .name = "bpfmasq_alg_expectations", .type = "gauge",
	  .help = "ALG expectations waiting for their data connection.",
	  .label = NULL, .src = MS_EXPECTATIONS },
	{ .name = "bpfmasq_nat_ports_used", .type = "gauge",
	  .help = "External ports (ICMP: echo identifiers) of the NAT range held by a mapping, forward or expectation, per protocol.",
	  .label = "proto", .src = MS_PORTS_USED },
	{ .name = "bpfmasq_nat_ports_free", .type = "gauge",
	  .help = "External ports (ICMP: echo identifiers) of the NAT range free for new mappings, per protocol; at 0 new connections are dropped as ports_exhausted.",
	  .label = "proto", .src = MS_PORTS_FREE },
	{ .name = "bpfmasq_controller_running", .type = "gauge",
	  .help = "1 when the controller (expiry, address changes, ALGs) runs.",
	  .label = NULL, .src = MS_CONTROLLER },
	{ .name = "bpfmasq_external_address_on_wan", .type = "gauge",
	  .help = "1 when the --external address is on the WAN here (this gateway translates for it), 0 when it is away (on a peer); summed over the gateways of a group, 1 per address.",
	  .label = "address", .src = MS_EXT_ON_WAN },
};

const size_t metric_nr_families = sizeof(metric_families) /
				  sizeof(metric_families[0]);

static const char *const counter_names[] = {
#define BPFMASQ_NAME(sym, name) [sym] = name,
	BPFMASQ_COUNTERS(BPFMASQ_NAME)
#undef BPFMASQ_NAME
};

const char *counter_name(int idx)
{
	return idx >= 0 && idx < CNT_MAX ? counter_names[idx] : "?";
}

int stats_read(int stats_fd, __u64 *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0) {
		errno = -ncpu;
		return -1;
	}
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -1;
	for (__u32 i = 0; i < CNT_MAX; i++) {
		sums[i] = 0;
		/* A counter the loaded program does not have (an older
		 * data plane adopted by a newer CLI) reads as 0. */
		if (bpf_map_lookup_elem(stats_fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sums[i] += vals[c];
	}
	free(vals);
	return 0;
}

static const char *const proto_label[MP_MAX] = { "tcp", "udp", "icmp" };

static int metrics_proto(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return MP_TCP;
	case IPPROTO_UDP:
		return MP_UDP;
	case IPPROTO_ICMP:
		return MP_ICMP;
	default:
		return -1;
	}
}

static void read_pool(const struct instance *in, struct metrics_snap *s)
{
	struct ext_spec pool[BPFMASQ_MAX_EXT];
	__u8 flags[BPFMASQ_MAX_EXT];
	int n = in->ext_pool_fd < 0 ? 0 :
		ext_pool_read(in->ext_pool_fd, pool, flags, BPFMASQ_MAX_EXT);

	s->n_ext = n < 0 ? 0 : n;
	for (int i = 0; i < s->n_ext; i++) {
		fmt_addr(s->ext_addr[i], pool[i].addr);
		s->ext_on_wan[i] = !!(flags[i] & EXT_ON_WAN);
	}
}

static int read_bindings(const struct instance *in, struct metrics_snap *s,
			 __be32 ext)
{
	__u32 lo = in->cfg.cfg_port_lo, hi = in->cfg.cfg_port_hi;
	struct ext_pool_val e;
	struct bind_key *bk;
	struct bind_val *bv;
	size_t n;
	int err;

	/* The address new connections take may have a block of its own. */
	if (ext && in->ext_pool_fd >= 0 &&
	    !bpf_map_lookup_elem(in->ext_pool_fd, &ext, &e) && e.port_hi) {
		lo = e.port_lo;
		hi = e.port_hi;
	}
	err = bindings_dump(in->binds_fd, &bk, &bv, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		__u32 port = ntohs(bk[i].port);
		int p;

		/* The external side: one entry per port held. */
		if (bk[i].dir != DIR_IN)
			continue;
		if (bv[i].flags & BIND_EXPECT)
			s->expectations++;
		else if (bv[i].flags & BIND_STATIC)
			s->bindings_forward++;
		else
			s->bindings_dynamic++;
		p = metrics_proto(bk[i].proto);
		/* Mappings left on an old address hold no port of the new. */
		if (p >= 0 && port >= lo && port <= hi && (!ext || bk[i].addr == ext))
			s->ports_used[p]++;
	}
	for (int p = 0; p < MP_MAX; p++) {
		__u64 range = hi >= lo ? hi - lo + 1 : 0;

		s->ports_free[p] = range > s->ports_used[p] ?
				   range - s->ports_used[p] : 0;
	}
	free(bk);
	free(bv);
	return 0;
}

int metrics_read(const struct instance *in, struct metrics_snap *s)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct nat_state st = {};
	struct conn *c;
	size_t n;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(s->ifname, sizeof(s->ifname), "%s", in->ifname);
	if (stats_read(in->stats_fd, s->counters)) {
		p_err("cannot read the counters of %s: %s", in->ifname,
		      strerror(errno));
		return -1;
	}
	if (instance_get_state(in, &st)) {
		p_err("cannot read the state of %s: %s", in->ifname,
		      strerror(errno));
		return -1;
	}
	s->controller_running = controller_alive(st.controller_pid);
	read_pool(in, s);
	err = conns_list(in->flows_fd, &c, &n);
	if (!err) {
		free(c);
		s->conns = n;
		err = bpf_obj_get_info_by_fd(in->flows_fd, &info, &len) ? -errno : 0;
		s->conns_limit = info.max_entries / 2;
	}
	if (!err)
		err = read_bindings(in, s, st.ext_addr ? st.ext_addr :
				    state_forward_addr(&st));
	if (err) {
		p_err("cannot read the tables of %s: %s", in->ifname,
		      strerror(-err));
		return -1;
	}
	return 0;
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void print_escaped(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void print_sample(FILE *f, const struct metric_family *m,
			 const struct metrics_snap *s, const char *value,
			 __u64 v)
{
	fprintf(f, "%s{interface=\"", m->name);
	print_escaped(f, s->ifname);
	fputc('"', f);
	if (m->label && value)
		fprintf(f, ",%s=\"%s\"", m->label, value);
	fprintf(f, "} %llu\n", (unsigned long long)v);
}

static void print_family(FILE *f, const struct metric_family *m,
			 const struct metrics_snap *s)
{
	switch (m->src) {
	case MS_COUNTERS:
		for (unsigned int i = 0; i < m->nfeed; i++)
			print_sample(f, m, s, m->feed[i].value,
				     s->counters[m->feed[i].counter]);
		break;
	case MS_DROPS:
		for (__u32 i = CNT_FIRST_DROP; i < CNT_END_DROP; i++)
			print_sample(f, m, s, counter_names[i] + strlen("drop_"),
				     s->counters[i]);
		break;
	case MS_CONNS:
		print_sample(f, m, s, NULL, s->conns);
		break;
	case MS_CONNS_LIMIT:
		print_sample(f, m, s, NULL, s->conns_limit);
		break;
	case MS_BINDINGS:
		print_sample(f, m, s, "dynamic", s->bindings_dynamic);
		print_sample(f, m, s, "forward", s->bindings_forward);
		break;
	case MS_EXPECTATIONS:
		print_sample(f, m, s, NULL, s->expectations);
		break;
	case MS_PORTS_USED:
	case MS_PORTS_FREE:
		for (int p = 0; p < MP_MAX; p++)
			print_sample(f, m, s, proto_label[p],
				     m->src == MS_PORTS_USED ? s->ports_used[p] :
							       s->ports_free[p]);
		break;
	case MS_CONTROLLER:
		print_sample(f, m, s, NULL, s->controller_running);
		break;
	case MS_EXT_ON_WAN:
		for (int i = 0; i < s->n_ext; i++)
			print_sample(f, m, s, s->ext_addr[i], s->ext_on_wan[i]);
		break;
	}
}

void metrics_print(FILE *f, const struct metrics_snap *s, size_t n)
{
	if (!n)
		return;
	for (size_t i = 0; i < metric_nr_families; i++) {
		const struct metric_family *m = &metric_families[i];

		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
			m->name, m->type);
		for (size_t j = 0; j < n; j++)
			print_family(f, m, &s[j]);
	}
}
