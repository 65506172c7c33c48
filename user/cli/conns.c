// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq conns [list|count|delete|flush] [IFNAME] [FILTERS]`: the
 * translated connections (and forwards, and ALG expectations) as rows,
 * selected with conntrack-like filters, counted, or deleted.
 *
 * A row is one connection (both `flows` entries), one forward (a static
 * binding) or one expectation.  Rows are sorted, so that the output is the
 * same for the same state whatever the hash maps' order: by protocol name,
 * inside address and port, remote address and port (a forward's "any"
 * first), external port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "commands.h"
#include "alg_ports.h"
#include "connev.h"
#include "conns.h"
#include "flowtable.h"
#include "instance.h"
#include "util.h"

#define NSEC_PER_SEC 1000000000ULL

/* The states a row can be in: what conns prints, and --state takes. */
#define ROW_STATES(X)		\
	X(RS_SYN_SENT, "SYN_SENT")	\
	X(RS_ESTABLISHED, "ESTABLISHED")	\
	X(RS_FIN_WAIT, "FIN_WAIT")	\
	X(RS_CLOSE, "CLOSE")	\
	X(RS_REPLIED, "REPLIED")	\
	X(RS_UNREPLIED, "UNREPLIED")	\
	X(RS_EXPECT, "EXPECT")	\
	X(RS_FORWARD, "FORWARD")

#define RS_ENUM(sym, name) sym,
enum row_state { ROW_STATES(RS_ENUM) RS_MAX };
#undef RS_ENUM

#define RS_NAME(sym, name) [sym] = name,
static const char *const state_names[] = { ROW_STATES(RS_NAME) };
#undef RS_NAME

enum row_kind { ROW_FLOW, ROW_FORWARD, ROW_EXPECT };

struct conn_row {
	enum row_kind kind;
	enum row_state state;
	__u8 proto;
	__be32 in_addr, out_addr, rem_addr;
	__be16 in_port, out_port, rem_port;
	bool rem_any;		/* a forward, or an expectation anyone may use */
	bool rem_port_any;	/* an expectation for one remote address */
	__u64 idle_s;		/* ROW_FLOW: idle; ROW_EXPECT: age */
	const char *alg;	/* ROW_FLOW: an ALG control connection */
	bool seq_adjusted;
	struct conn conn;	/* ROW_FLOW */
	struct bind_key bkey;	/* ROW_EXPECT: what deleting it deletes */
};

static bool filter_empty(const struct conn_filter *f)
{
	return !f->has_proto && !f->inside.on && !f->remote.on &&
	       !f->has_outside && !f->states;
}

/* ---- parsing ----------------------------------------------------------- */

#define ENDPOINT_FORM "ADDR[/LEN][:PORT], like 10.0.1.2, 10.0.1.0/24 or 10.0.1.2:5000"
#define FILTERS_FORM "-p tcp|udp|icmp, --inside " "ADDR[/LEN][:PORT]" \
	", --outside-port PORT[-PORT], --remote ADDR[/LEN][:PORT] or --state STATE[,STATE...]"

static int parse_num(const char *s, __u32 max, __u32 *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_endpoint_filter(const char *opt, const char *s,
				 struct endpoint_filter *e)
{
	char buf[40], *colon, *slash;
	struct in_addr a;
	__u32 len = 32, port;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_num(colon + 1, 65535, &port))
			goto bad;
		e->has_port = true;
		e->port = port;
	}
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (parse_num(slash + 1, 32, &len))
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		goto bad;
	e->mask = len ? htonl(~0U << (32 - len)) : 0;
	e->addr = a.s_addr & e->mask;
	e->on = true;
	return 0;
bad:
	p_err("bad %s '%s': expected " ENDPOINT_FORM, opt, s);
	return -1;
}

static int parse_port_filter(const char *s, struct conn_filter *f)
{
	__u32 lo, hi;
	char buf[16], *dash;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_num(buf, 65535, &lo) ||
	    (dash ? parse_num(dash + 1, 65535, &hi) : (hi = lo, 0)) || lo > hi)
		goto bad;
	f->has_outside = true;
	f->out_lo = lo;
	f->out_hi = hi;
	return 0;
bad:
	p_err("bad --outside-port '%s': expected PORT or LO-HI with 0 <= LO <= HI <= 65535, like 61000 or 61000-61100",
	      s);
	return -1;
}

static const char *state_name(int i)
{
	return state_names[i];
}

/* --state adds to the states of an earlier --state. */
static int parse_states(const char *s, struct conn_filter *f)
{
	__u32 states;

	if (!parse_name_list(s, state_name, 0, RS_MAX, &states) && states) {
		f->states |= states;
		return 0;
	}
	p_err("bad --state '%s': expected one or more of SYN_SENT,ESTABLISHED,FIN_WAIT,CLOSE,REPLIED,UNREPLIED,EXPECT,FORWARD",
	      s);
	return -1;
}

static int parse_proto_filter(const char *s, struct conn_filter *f)
{
	if (!strcmp(s, "tcp"))
		f->proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		f->proto = IPPROTO_UDP;
	else if (!strcmp(s, "icmp"))
		f->proto = IPPROTO_ICMP;
	else {
		p_err("bad -p '%s': expected tcp, udp or icmp", s);
		return -1;
	}
	f->has_proto = true;
	return 0;
}

enum conns_op { OP_LIST, OP_COUNT, OP_DELETE, OP_FLUSH };

static const char *const op_names[] = {
	[OP_LIST] = "list", [OP_COUNT] = "count", [OP_DELETE] = "delete",
	[OP_FLUSH] = "flush",
};

#define CONNS_USAGE "usage: bpfmasq conns [list|count|delete|flush] [IFNAME] [FILTERS]"

static int parse_inside_filter(const char *s, struct conn_filter *f)
{
	return parse_endpoint_filter("--inside", s, &f->inside);
}

static int parse_remote_filter(const char *s, struct conn_filter *f)
{
	return parse_endpoint_filter("--remote", s, &f->remote);
}

/* The filters; --proto is -p (one slot of seen[]), --state the only one
 * that may come again. */
static const struct {
	const char *name;
	int (*parse)(const char *val, struct conn_filter *f);
} filters[] = {
	{ "-p", parse_proto_filter },
	{ "--proto", parse_proto_filter },
	{ "--inside", parse_inside_filter },
	{ "--outside-port", parse_port_filter },
	{ "--remote", parse_remote_filter },
	{ "--state", parse_states },
};
#define N_FILTERS	(int)(sizeof(filters) / sizeof(filters[0]))
#define FILTER_STATE	(N_FILTERS - 1)

int conns_filter_parse(int argc, char **argv, const char **ifname,
		       struct conn_filter *f)
{
	bool seen[N_FILTERS] = {};

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val, *eq;
		size_t optlen;
		int o;

		if (arg[0] != '-') {
			if (*ifname) {
				p_err("unexpected argument '%s': " CONNS_USAGE,
				      arg);
				return -1;
			}
			*ifname = arg;
			continue;
		}
		eq = strchr(arg, '=');
		optlen = eq ? (size_t)(eq - arg) : strlen(arg);
		for (o = 0; o < N_FILTERS; o++)
			if (strlen(filters[o].name) == optlen &&
			    !strncmp(arg, filters[o].name, optlen))
				break;
		if (o == N_FILTERS) {
			p_err("unknown filter '%s': expected " FILTERS_FORM, arg);
			return -1;
		}
		if (o == 1)
			o = 0;	/* --proto is -p */
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			p_err("filter '%s' needs a value (see 'bpfmasq help')",
			      arg);
			return -1;
		}
		if (seen[o] && o != FILTER_STATE) {
			p_err("filter '%s' given twice: give it once (--state takes a list, like --state ESTABLISHED,FIN_WAIT)",
			      filters[o].name);
			return -1;
		}
		seen[o] = true;
		if (filters[o].parse(val, f))
			return -1;
	}
	return 0;
}

/* ---- rows -------------------------------------------------------------- */

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

/* Is this an ALG control connection (as the data plane decides)? */
static const char *conn_alg(const struct instance *in, const struct conn *c)
{
	bool to_server;

	switch (alg_of_conn(c->out_key.proto, c->out_key.sport,
			    c->out_key.dport, in->cfg.cfg_ftp_ports,
			    in->cfg.cfg_irc_ports, &to_server)) {
	case ALG_FTP:
		return "ftp";
	case ALG_IRC:
		return "irc";
	default:
		return NULL;
	}
}

static enum row_state state_of(const char *name)
{
	for (int i = 0; i < RS_MAX; i++)
		if (!strcmp(name, state_names[i]))
			return i;
	return RS_CLOSE;	/* conn_state_name() has no other */
}

static int cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct conn_row *a = pa, *b = pb;
	int r;

	if ((r = strcmp(proto_name(a->proto), proto_name(b->proto))) ||
	    (r = cmp_u32(ntohl(a->in_addr), ntohl(b->in_addr))) ||
	    (r = cmp_u32(ntohs(a->in_port), ntohs(b->in_port))) ||
	    (r = cmp_u32(!a->rem_any, !b->rem_any)) ||
	    (r = cmp_u32(ntohl(a->rem_addr), ntohl(b->rem_addr))) ||
	    (r = cmp_u32(ntohs(a->rem_port), ntohs(b->rem_port))) ||
	    (r = cmp_u32(ntohs(a->out_port), ntohs(b->out_port))))
		return r;
	return cmp_u32(a->kind, b->kind);
}

/* Every row of an instance, sorted; free() *rows. */
static int rows_read(const struct instance *in, struct conn_row **rows,
		     size_t *nrows)
{
	__u64 now = now_coarse_ns();
	struct bind_key *bk = NULL;
	struct bind_val *bv = NULL;
	struct conn_row *r;
	struct conn *c;
	size_t n, nb = 0, cnt = 0;
	int err;

	err = conns_list(in->flows_fd, &c, &n);
	if (err)
		return err;
	err = bindings_dump(in->binds_fd, &bk, &bv, &nb);
	if (err) {
		free(c);
		return err;
	}
	r = calloc(n + nb + 1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++, cnt++) {
		r[cnt].kind = ROW_FLOW;
		r[cnt].state = state_of(conn_state_name(&c[i]));
		r[cnt].proto = c[i].out_key.proto;
		r[cnt].in_addr = c[i].out_key.saddr;
		r[cnt].in_port = c[i].out_key.sport;
		r[cnt].out_addr = c[i].out.nat_addr;
		r[cnt].out_port = c[i].out.nat_port;
		r[cnt].rem_addr = c[i].out_key.daddr;
		r[cnt].rem_port = c[i].out_key.dport;
		r[cnt].idle_s = age_ns(conn_last_seen(&c[i]), now) / NSEC_PER_SEC;
		r[cnt].alg = conn_alg(in, &c[i]);
		r[cnt].seq_adjusted = c[i].out.flags & FLOW_SEQADJ;
		r[cnt].conn = c[i];
	}
	for (size_t i = 0; i < nb; i++) {
		bool expect = bv[i].flags & BIND_EXPECT;

		/* A forward or expectation is one DIR_IN binding (the
		 * external port); ordinary mappings are no rows. */
		if (bk[i].dir != DIR_IN || !(expect || bv[i].flags & BIND_STATIC))
			continue;
		r[cnt].kind = expect ? ROW_EXPECT : ROW_FORWARD;
		r[cnt].state = expect ? RS_EXPECT : RS_FORWARD;
		r[cnt].proto = bk[i].proto;
		r[cnt].in_addr = bv[i].addr;
		r[cnt].in_port = bv[i].port;
		r[cnt].out_addr = bk[i].addr;
		r[cnt].out_port = bk[i].port;
		r[cnt].rem_addr = expect ? bv[i].peer : 0;
		r[cnt].rem_any = !r[cnt].rem_addr;
		r[cnt].rem_port_any = true;
		r[cnt].idle_s = expect ? age_ns(bv[i].last_used_ns, now) /
					 NSEC_PER_SEC : 0;
		r[cnt].bkey = bk[i];
		cnt++;
	}
	qsort(r, cnt, sizeof(*r), row_cmp);
	*rows = r;
	*nrows = cnt;
out:
	free(c);
	free(bk);
	free(bv);
	return err;
}

static bool endpoint_match(const struct endpoint_filter *e, __be32 addr,
			   __be16 port, bool any, bool port_any)
{
	if (!e->on)
		return true;
	if (any || (addr & e->mask) != e->addr)
		return false;
	return !e->has_port || (!port_any && ntohs(port) == e->port);
}

static bool row_match(const struct conn_filter *f, const struct conn_row *r)
{
	__u16 out = ntohs(r->out_port);

	if (f->has_proto && r->proto != f->proto)
		return false;
	if (f->states && !(f->states & 1U << r->state))
		return false;
	if (f->has_outside && (out < f->out_lo || out > f->out_hi))
		return false;
	return endpoint_match(&f->inside, r->in_addr, r->in_port, false, false) &&
	       endpoint_match(&f->remote, r->rem_addr, r->rem_port, r->rem_any,
			      r->rem_port_any);
}

bool conns_filter_match_event(const struct conn_filter *f,
			      const struct conn_event *r)
{
	struct conn_row row = {
		.kind = ROW_FLOW, .proto = r->proto,
		.in_addr = r->in_addr, .in_port = r->in_port,
		.out_addr = r->out_addr, .out_port = r->out_port,
		.rem_addr = r->rem_addr, .rem_port = r->rem_port,
		/* A mapping has no remote; a drop has no state. */
		.rem_any = r->type == CE_BIND_NEW || r->type == CE_BIND_DESTROY,
		.state = state_of(conn_state_str(r->state)),
	};

	if (f->states && r->state == CS_NONE)
		return false;
	return row_match(f, &row);
}

static void row_print(const struct instance *in, const struct conn_row *r)
{
	char inside[24], outside[24], remote[24] = "*";
	const char *state = state_names[r->state];

	fmt_endpoint(inside, r->in_addr, r->in_port);
	fmt_endpoint(outside, r->out_addr, r->out_port);
	if (r->kind == ROW_FLOW)
		fmt_endpoint(remote, r->rem_addr, r->rem_port);
	else if (!r->rem_any)
		fmt_addr(remote, r->rem_addr);
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_string(&jw, "proto", proto_name(r->proto));
		jw_kv_string(&jw, "state", state);
		jw_kv_string(&jw, "inside", inside);
		jw_kv_string(&jw, "outside", outside);
		jw_kv_string(&jw, "remote", remote);
		if (r->kind == ROW_FLOW)
			jw_kv_uint(&jw, "idle", r->idle_s);
		else if (r->kind == ROW_EXPECT)
			jw_kv_uint(&jw, "age", r->idle_s);
		if (r->alg) {
			jw_kv_string(&jw, "alg", r->alg);
			jw_key(&jw, "seq_adjusted");
			jw_bool(&jw, r->seq_adjusted);
		}
		jw_end_object(&jw);
	} else if (r->kind == ROW_FLOW) {
		printf("%-4s %-11s inside %-21s outside %-21s remote %-21s idle %llus%s%s\n",
		       proto_name(r->proto), state, inside, outside, remote,
		       (unsigned long long)r->idle_s, r->alg ? " alg " : "",
		       r->alg ? r->alg : "");
	} else {
		printf("%-4s %-11s inside %-21s outside %-21s remote %s\n",
		       proto_name(r->proto), state, inside, outside, remote);
	}
}

/* ---- the operations ---------------------------------------------------- */

/* What the operation in progress works with (instances_each() passes only
 * the instance). */
static struct {
	enum conns_op op;
	struct conn_filter filter;
	bool ifname_given;
} cur;

static int read_rows(const struct instance *in, struct conn_row **rows,
		     size_t *n)
{
	int err = rows_read(in, rows, n);

	if (err)
		p_err("cannot read the tables of %s: %s", in->ifname,
		      strerror(-err));
	return err ? -1 : 0;
}

static int conns_list_one(struct instance *in)
{
	struct conn_row *rows;
	size_t n;

	if (read_rows(in, &rows, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (row_match(&cur.filter, &rows[i]))
			row_print(in, &rows[i]);
	free(rows);
	return 0;
}

static int conns_count_one(struct instance *in)
{
	struct conn_row *rows;
	size_t n, count = 0;

	if (read_rows(in, &rows, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		count += row_match(&cur.filter, &rows[i]);
	free(rows);
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_uint(&jw, "count", count);
		jw_end_object(&jw);
	} else if (cur.ifname_given) {
		printf("%zu\n", count);	/* as conntrack -C */
	} else {
		printf("%s: %zu\n", in->ifname, count);
	}
	return 0;
}

/* The DESTROY and UNMAP records of a delete, for the controller to put
 * into the event stream and the mapping log. */
struct gone_records {
	struct conn_event *r;
	size_t n, cap;
	size_t failed;		/* no memory to keep them */
};

static void gone_add(void *ctx, struct conn_event *r)
{
	struct gone_records *g = ctx;

	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;
		struct conn_event *nr = realloc(g->r, cap * sizeof(*nr));

		if (!nr) {
			g->failed++;	/* counted as lost */
			return;
		}
		g->r = nr;
		g->cap = cap;
	}
	g->r[g->n++] = *r;
}

/*
 * Hand the records to the controller.  Without one (or when it cannot
 * take them) they are counted as lost (events_lost), and the next
 * controller writes the count into the stream and the mapping log: a
 * gap that says so rather than a silent one.
 */
static void gone_publish(const struct instance *in, struct gone_records *g)
{
	size_t lost = g->failed;

	if (connev_publish(in->ifname, g->r, g->n))
		lost += g->n;
	if (lost)
		stats_add(in->stats_fd, CNT_EVENTS_LOST, lost);
	free(g->r);
}

static int conns_delete_one(struct instance *in)
{
	struct gone_records gone = {};
	struct gone_recorder rec;
	struct delete_result res;
	struct conn_row *rows;
	struct bind_key *exp;
	struct conn *del;
	size_t n, ndel = 0, nexp = 0;
	int err;

	if (read_rows(in, &rows, &n))
		return -1;
	del = calloc(n + 1, sizeof(*del));
	exp = calloc(n + 1, sizeof(*exp));
	if (!del || !exp) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!row_match(&cur.filter, &rows[i]))
			continue;
		/* Forwards are never deleted here: 'forward del' does. */
		if (rows[i].kind == ROW_FLOW)
			del[ndel++] = rows[i].conn;
		else if (rows[i].kind == ROW_EXPECT)
			exp[nexp++] = rows[i].bkey;
	}
	gone_recorder_init(&rec, gone_add, &gone);
	err = conns_delete(in->flows_fd, in->binds_fd, del, ndel, exp, nexp,
			   &res, &rec.sink);
	if (res.conns_deleted)
		stats_add(in->stats_fd, CNT_CONNS_DELETED, res.conns_deleted);
	gone_publish(in, &gone);
out:
	free(rows);
	free(del);
	free(exp);
	if (err) {
		p_err("cannot delete connections of %s: %s", in->ifname,
		      strerror(-err));
		return -1;
	}
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_uint(&jw, "deleted", res.conns_deleted);
		jw_kv_uint(&jw, "expectations_deleted", res.expectations_deleted);
		jw_kv_uint(&jw, "bindings_freed", res.bindings_freed);
		jw_end_object(&jw);
	} else if (res.expectations_deleted) {
		printf("%s: %u connection%s and %u expectation%s deleted\n",
		       in->ifname, res.conns_deleted,
		       res.conns_deleted == 1 ? "" : "s",
		       res.expectations_deleted,
		       res.expectations_deleted == 1 ? "" : "s");
	} else {
		printf("%s: %u connection%s deleted\n", in->ifname,
		       res.conns_deleted, res.conns_deleted == 1 ? "" : "s");
	}
	return 0;
}

int cmd_conns(int argc, char **argv)
{
	static const instance_fn fns[] = {
		[OP_LIST] = conns_list_one, [OP_COUNT] = conns_count_one,
		[OP_DELETE] = conns_delete_one, [OP_FLUSH] = conns_delete_one,
	};
	const char *ifname = NULL;
	int found, err, first = 1;

	memset(&cur, 0, sizeof(cur));
	cur.op = OP_LIST;
	/* A sub-command is spelt out: a prefix could be an interface. */
	for (int o = 0; argc > 1 && o < 4; o++)
		if (!strcmp(argv[1], op_names[o])) {
			cur.op = o;
			first = 2;
		}
	if (conns_filter_parse(argc - first, argv + first, &ifname, &cur.filter))
		return 1;
	if (cur.op == OP_FLUSH && !filter_empty(&cur.filter)) {
		p_err("conns flush takes no filter: to delete some connections use 'bpfmasq conns delete [IFNAME] FILTERS'");
		return 1;
	}
	if (cur.op == OP_DELETE && filter_empty(&cur.filter)) {
		p_err("conns delete needs a filter (" FILTERS_FORM "); to delete every connection use 'bpfmasq conns flush [IFNAME]'");
		return 1;
	}
	if (cur.op == OP_DELETE && cur.filter.states & 1U << RS_FORWARD) {
		p_err("bad --state FORWARD for conns delete: forwards are kept; remove one with 'bpfmasq forward del IFNAME tcp|udp PORT'");
		return 1;
	}
	cur.ifname_given = ifname;
	err = instances_each(ifname, fns[cur.op], cur.op == OP_LIST, &found);
	if (!ifname && !found && !json_output && !err)
		printf("no interface is up; start one with 'bpfmasq up IFNAME'\n");
	return err;
}

void forwards_print(const struct instance *in)
{
	struct conn_row *rows;
	size_t n;

	if (read_rows(in, &rows, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (rows[i].kind == ROW_FORWARD)
			row_print(in, &rows[i]);
	free(rows);
}
