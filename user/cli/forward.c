// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq forward add|del|list`: static port forwards.  A forward is a
 * pair of static bindings in `binds` (external port <-> inside server), so
 * the data plane needs nothing new: inbound packets to the port open flows
 * whatever the filtering mode, and the server's own outbound connections
 * from that port keep it (endpoint-independent mapping).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "commands.h"
#include "controller.h"
#include "flowtable.h"
#include "forward.h"
#include "fwdmap.h"
#include "instance.h"
#include "util.h"

static int parse_proto(const char *s, __u8 *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else {
		p_err("bad protocol '%s': use tcp or udp", s);
		return -1;
	}
	return 0;
}

static const char *proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

static int parse_endpoint(const char *s, __be32 *addr, __be16 *port)
{
	char buf[32], *colon;
	struct in_addr in;
	__u32 p;

	if (strlen(s) >= sizeof(buf) || !(colon = strchr(strcpy(buf, s), ':')))
		goto bad;
	*colon = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		goto bad;
	if (parse_u32("port", colon + 1, 1, 65535, &p))
		return -1;
	*addr = in.s_addr;
	*port = htons(p);
	return 0;
bad:
	p_err("bad inside endpoint '%s': expected IP:PORT like 10.0.1.5:80", s);
	return -1;
}

int forward_parse(const char *proto, const char *port, const char *target,
		  struct fwd_spec *f)
{
	__u32 p;

	if (parse_proto(proto, &f->proto) ||
	    parse_u32("port", port, 1, 65535, &p) ||
	    parse_endpoint(target, &f->addr, &f->to_port))
		return -1;
	f->port = p;
	return 0;
}

/* The controller sends the change to its sync peers at once
 * (--sync-peer), and follows the maps as after a reload. */
static void tell_controller(const struct nat_state *st)
{
	if (controller_alive(st->controller_pid))
		kill(st->controller_pid, CONTROLLER_SIG_RESYNC);
}

static int open_up(const char *ifname, struct instance *in, struct nat_state *st)
{
	int err;

	if (geteuid()) {
		p_err("must be run as root (changing BPF maps needs CAP_BPF)");
		return -1;
	}
	err = instance_find(ifname, in);
	if (err < 0)
		return -1;
	if (err == INSTANCE_NONE) {
		p_err("%s is not up (start it with 'bpfmasq up %s')", ifname,
		      ifname);
		return -1;
	}
	if (instance_get_state(in, st)) {
		p_err("cannot read the state of %s: %s", ifname, strerror(errno));
		instance_close(in);
		return -1;
	}
	return 0;
}

/* The CLI's way to ask an instance's --internal trie (headers/inside.h). */
static inline bool internal_nets_has(const void *nets,
				     const struct internal_key *k)
{
	const struct instance *in = nets;
	__u8 v;

	return !bpf_map_lookup_elem(in->internal_fd, k, &v);
}

#include "inside.h"

int forward_install(const struct instance *in, __be32 ext_addr,
		    const struct fwd_spec *f, bool *existed)
{
	struct bind_key kin = { .dir = DIR_IN, .proto = f->proto };
	struct bind_key kout = { .dir = DIR_OUT, .proto = f->proto };
	struct bind_val vin = { .flags = BIND_STATIC, .addr = f->addr,
				.port = f->to_port };
	struct bind_val vout = { .flags = BIND_STATIC };
	char a[INET_ADDRSTRLEN], b[24], target[24];
	const char *proto = proto_name(f->proto);
	struct bind_val cur, old_out;
	bool had_out;

	fmt_endpoint(target, f->addr, f->to_port);
	if (!ext_addr) {
		p_err("%s has no external address now; add one first", in->ifname);
		return -1;
	}
	/*
	 * A forward's target must be a host bpfmasq masquerades: with
	 * --internal, a host outside the prefixes would open its own
	 * connections, and send its replies' later fragments, from its
	 * private address.
	 */
	if (!addr_is_inside(f->addr, ext_addr, &in->cfg.cfg_match_all_sources,
			    in)) {
		if (in->cfg.cfg_match_all_sources && f->addr == ext_addr)
			p_err("%s is the external address of %s; forward to an inside host",
			      fmt_addr(a, f->addr), in->ifname);
		else if (in->cfg.cfg_match_all_sources)
			p_err("0.0.0.0 is no host; forward to an inside host's address");
		else
			p_err("%s is not an inside host of %s (outside its --internal prefixes): its traffic would leave untranslated; forward to an inside host, or bring %s up with an --internal prefix that holds it",
			      fmt_addr(a, f->addr), in->ifname, in->ifname);
		return -1;
	}
	kin.addr = ext_addr;
	kin.port = htons(f->port);
	kout.addr = f->addr;
	kout.port = f->to_port;
	vout.addr = kin.addr;
	vout.port = kin.port;

	if (!bpf_map_lookup_elem(in->binds_fd, &kin, &cur)) {
		if ((cur.flags & BIND_STATIC) && existed &&
		    cur.addr == f->addr && cur.port == f->to_port) {
			*existed = true;
			return 0;
		}
		if (cur.flags & BIND_STATIC)
			p_err("%s port %u is already forwarded to %s; delete that forward first",
			      proto, f->port, fmt_endpoint(b, cur.addr, cur.port));
		else
			p_err("%s port %u is in use by the NAT mapping of %s; pick another port or retry once it expires",
			      proto, f->port, fmt_endpoint(b, cur.addr, cur.port));
		return -1;
	}
	had_out = !bpf_map_lookup_elem(in->binds_fd, &kout, &old_out);
	if (had_out && (old_out.flags & BIND_STATIC)) {
		p_err("%s is already the target of %s port %u; delete that forward first",
		      target, proto, ntohs(old_out.port));
		return -1;
	}
	/* The external side is the lock, exactly as in port allocation. */
	if (bpf_map_update_elem(in->binds_fd, &kin, &vin, BPF_NOEXIST)) {
		p_err("cannot add the forward: %s", strerror(errno));
		return -1;
	}
	if (bpf_map_update_elem(in->binds_fd, &kout, &vout, BPF_ANY)) {
		p_err("cannot add the forward: %s", strerror(errno));
		bpf_map_delete_elem(in->binds_fd, &kin);
		return -1;
	}
	if (forward_port_mark(in, kin.port, true)) {
		p_err("cannot add the forward: %s", strerror(errno));
		/* The server's own dynamic mapping, if it had one, again. */
		if (had_out)
			bpf_map_update_elem(in->binds_fd, &kout, &old_out, BPF_ANY);
		else
			bpf_map_delete_elem(in->binds_fd, &kout);
		bpf_map_delete_elem(in->binds_fd, &kin);
		return -1;
	}
	if (existed)
		*existed = false;
	return 0;
}

/* {"status":WHAT}: what a change did, in JSON (the text says more). */
static void json_status(const char *what)
{
	jw_start_object(&jw);
	jw_kv_string(&jw, "status", what);
	jw_end_object(&jw);
	jw_finish(&jw);
}

static int forward_add(int argc, char **argv)
{
	char a[INET_ADDRSTRLEN];
	struct nat_state st;
	struct instance in;
	struct fwd_spec f;
	int ret = 1;

	if (argc != 5) {
		p_err("usage: bpfmasq forward add IFNAME tcp|udp PORT IP:PORT");
		return 1;
	}
	if (forward_parse(argv[2], argv[3], argv[4], &f))
		return 1;
	if (open_up(argv[1], &in, &st))
		return 1;
	if (forward_install(&in, state_forward_addr(&st), &f, NULL))
		goto out;
	tell_controller(&st);
	if (json_output)
		json_status("added");
	else
		printf("%s: forwarding %s %s:%u to %s\n", argv[1], argv[2],
		       fmt_addr(a, state_forward_addr(&st)), f.port, argv[4]);
	ret = 0;
out:
	instance_close(&in);
	return ret;
}

int forwards_read(const struct instance *in, __be32 ext_addr,
		  struct fwd_spec **out, int *n)
{
	struct bind_key k, next, *prev = NULL;
	struct fwd_spec *v = NULL, *nv;
	struct bind_val val;

	*n = 0;
	while (!bpf_map_get_next_key(in->binds_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.dir != DIR_IN || k.addr != ext_addr ||
		    bpf_map_lookup_elem(in->binds_fd, &k, &val) ||
		    !(val.flags & BIND_STATIC))
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -1;
		}
		v = nv;
		v[(*n)++] = (struct fwd_spec){ .proto = k.proto,
					       .port = ntohs(k.port),
					       .addr = val.addr,
					       .to_port = val.port };
	}
	*out = v;
	return 0;
}

static int forward_del(int argc, char **argv)
{
	struct nat_state st;
	struct instance in;
	__u32 port;
	__u8 proto;
	int ret = 1;

	if (argc != 4) {
		p_err("usage: bpfmasq forward del IFNAME tcp|udp PORT");
		return 1;
	}
	if (parse_proto(argv[2], &proto) ||
	    parse_u32("port", argv[3], 1, 65535, &port))
		return 1;
	if (open_up(argv[1], &in, &st))
		return 1;
	if (forward_remove(&in, state_forward_addr(&st), proto, port)) {
		p_err("%s has no forward of %s port %u (see 'bpfmasq forward list %s')",
		      argv[1], argv[2], port, argv[1]);
		goto out;
	}
	tell_controller(&st);
	if (json_output)
		json_status("deleted");
	else
		printf("%s: forward of %s port %u deleted\n", argv[1], argv[2],
		       port);
	ret = 0;
out:
	instance_close(&in);
	return ret;
}

static int forward_list(int argc, char **argv)
{
	struct nat_state st;
	struct instance in;

	if (argc != 2) {
		p_err("usage: bpfmasq forward list IFNAME");
		return 1;
	}
	if (open_up(argv[1], &in, &st))
		return 1;
	if (json_output)
		jw_start_array(&jw);
	forwards_print(&in);
	if (json_output) {
		jw_end_array(&jw);
		jw_finish(&jw);
	}
	instance_close(&in);
	return 0;
}

static void help_forward_add(FILE *f)
{
	cmd_usage_line(f, "forward add IFNAME tcp|udp PORT IP:PORT",
		       "forward external PORT to an inside server");
}

static void help_forward_del(FILE *f)
{
	cmd_usage_line(f, "forward del IFNAME tcp|udp PORT",
		       "delete that forward and its connections");
}

static void help_forward_list(FILE *f)
{
	cmd_usage_line(f, "forward list IFNAME", "the forwards of IFNAME");
}

static int do_forward_help(int argc, char **argv);

static const struct cmd forward_cmds[] = {
	{ "add", forward_add, help_forward_add },
	{ "del", forward_del, help_forward_del },
	{ "list", forward_list, help_forward_list },
	{ "help", do_forward_help, NULL },
	{ NULL }
};

void help_forward(FILE *f)
{
	for (const struct cmd *c = forward_cmds; c->help; c++)
		c->help(f);
}

static int do_forward_help(int argc, char **argv)
{
	printf("Usage: bpfmasq forward COMMAND [ARGS] (unique prefixes work)\n");
	help_forward(stdout);
	cmd_usage_line(stdout, "forward help", "this text");
	return 0;
}

int cmd_forward(int argc, char **argv)
{
	if (argc < 2) {
		p_err("usage: bpfmasq forward add|del|list IFNAME ... (see 'bpfmasq forward help')");
		return 1;
	}
	return cmd_select(forward_cmds, "bpfmasq forward", argc - 1, argv + 1);
}
