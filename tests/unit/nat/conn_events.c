// SPDX-License-Identifier: GPL-2.0
/*
 * The connection event records the data plane writes (conn_events) for
 * `bpfmasq monitor`, the mapping log and state sync: on creation only,
 * never on a hit; DROP records within a per-CPU budget.  Every other
 * fixture's steps are checked against the same invariants by steps.c.
 */
#include "nat_test.h"

/* Every CPU's DROP budget for this second: spent, or whole. */
static void drop_budget_set(struct env *e, __u32 used)
{
	int ncpus = libbpf_num_possible_cpus();
	struct drop_budget b[ncpus > 0 ? ncpus : 1];
	__u32 zero = 0;

	for (int i = 0; i < ncpus; i++)
		b[i] = (struct drop_budget){
			.second = now_coarse_ns() / 1000000000ULL,
			.used = used };
	bpf_map__update_elem(e->skel->maps.drop_budget, &zero, sizeof(zero),
			     b, sizeof(b), BPF_ANY);
}

static void drop_budget_spent(struct env *e)
{
	drop_budget_set(e, DROP_EVENTS_PER_SEC);
}

static void drop_budget_whole(struct env *e)
{
	drop_budget_set(e, 0);
}

static void cev_is(struct env *e, int i, __u8 type, __u8 proto, __u32 in,
		   __u16 inp, __u32 out, __u32 outp, __u32 rem, __u16 remp)
{
	const struct conn_event *r = &cev[i];
	__u32 op;

	if (i >= n_cev) {
		fail(e, "conn_events: record %d missing (%d)", i, n_cev);
		return;
	}
	if (!var_get(e, outp, &op))
		return;
	if (r->type != type || r->proto != proto || r->in_addr != htonl(in) ||
	    r->in_port != htons(inp) || r->out_addr != htonl(out) ||
	    r->out_port != htons(op) || r->rem_addr != htonl(rem) ||
	    r->rem_port != htons(remp))
		fail(e, "conn_events: record %d is type %u proto %u %08x:%u %08x:%u %08x:%u",
		     i, r->type, r->proto, ntohl(r->in_addr), ntohs(r->in_port),
		     ntohl(r->out_addr), ntohs(r->out_port), ntohl(r->rem_addr),
		     ntohs(r->rem_port));
}

static void cev_new_udp(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one FLOW_NEW", n_cev);
	cev_is(e, 0, CE_FLOW_NEW, IPPROTO_UDP, IN1, 40000, EXT, V0, REM, 53);
	if (cev[0].flags != CEF_NEW_BINDING)
		fail(e, "conn_events: flags %#x, expected the new binding's alone",
		     cev[0].flags);
}

static void cev_new_flow_bound(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one FLOW_NEW", n_cev);
	cev_is(e, 0, CE_FLOW_NEW, IPPROTO_UDP, IN1, 40000, EXT, V0, REM2, 53);
	if (cev[0].flags & CEF_NEW_BINDING)
		fail(e, "conn_events: a flow on an existing binding says it made one");
}

static void cev_none(struct env *e)
{
	if (n_cev)
		fail(e, "conn_events: %d records from a packet of a flow that exists",
		     n_cev);
}

static void cev_drop_in(struct env *e)
{
	if (n_cev != 1)
		fail(e, "conn_events: %d records, expected one DROP", n_cev);
	cev_is(e, 0, CE_DROP, IPPROTO_UDP, 0, 0, EXT, 61234, REM, 53);
	if (cev[0].reason != DROP_NO_MAPPING || !(cev[0].flags & CEF_INBOUND))
		fail(e, "conn_events: DROP reason %u flags %u", cev[0].reason,
		     cev[0].flags);
}

static void cev_drop_budget_after(struct env *e)
{
	cev_none(e);
	drop_budget_whole(e);
}

static void cev_drop_budget_whole_before(struct env *e)
{
	drop_budget_whole(e);
}

/* The records the data plane writes for monitor and the mapping log:
 * creation only, never on a hit; DROP records within a budget. */
static const struct step conn_events[] = {
	{
		.name = "a new connection writes one FLOW_NEW with its endpoints, saying it made the binding",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_NEW },
		.after = cev_new_udp,
	}, {
		.name = "a packet of that flow writes nothing",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM, 53),
		.cnt = { OUT_XLATED },
		.after = cev_none,
	}, {
		.name = "its reply writes nothing",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, V0),
		.verdict = XDP_PASS,
		.out = UDP(REM, 53, IN1, 40000),
		.cnt = { IN_XLATED },
		.after = cev_none,
	}, {
		.name = "a second remote on the same binding writes FLOW_NEW only",
		.prog = WAN_OUT,
		.in = UDP(IN1, 40000, REM2, 53),
		.verdict = TC_ACT_OK,
		.out = UDP(EXT, V0, REM2, 53),
		.cnt = { { CNT_OUT_TRANSLATED, 1 }, { CNT_NEW_FLOWS, 1 } },
		.after = cev_new_flow_bound,
	}, {
		.name = "a drop writes one DROP record with the packet's endpoints and reason",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61234),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 } },
		.before = cev_drop_budget_whole_before,
		.after = cev_drop_in,
	}, {
		.name = "a drop past the CPU's budget is counted as suppressed, no record",
		.prog = WAN_IN,
		.in = UDP(REM, 53, EXT, 61234),
		.verdict = XDP_DROP,
		.same = true,
		.cnt = { { DROP_NO_MAPPING, 1 }, { CNT_DROP_EVENTS_SUPPRESSED, 1 } },
		.before = drop_budget_spent,
		.after = cev_drop_budget_after,
	},
};

static const struct group groups[] = {
	{ .name = "conn-events", STEPS(conn_events) },
};

FIXTURE(conn_events, groups);
