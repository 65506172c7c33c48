// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq reload IFNAME [--config FILE]`, and the controller's SIGHUP:
 * the config file read again and what it changes applied to the running
 * instance, without dropping a flow.  Only what lives in maps can change
 * (timeouts, no-hairpin and the --lan names in the state map, the
 * internal_nets prefixes, the forwards); a setting compiled into the
 * programs' .rodata (or a table's size) is compared with the running one
 * and, if it differs, refused in one line before anything is changed.
 *
 * The file is all that is read: the command line of the `up` that started
 * the instance is not remembered, so a setting given there alone goes back
 * to the file's value or the default (or is refused, for a .rodata one).
 * The forwards of the file are the instance's forwards afterwards, as
 * `nft -f` makes a ruleset: one added by hand with `forward add` and not
 * in the file is removed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "controller.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "reload.h"
#include "util.h"

struct change {
	char setting[48];
	char old[64];
	char new[64];
};

struct changes {
	struct change v[3 * MAX_INTERNAL + 2 * BPFMASQ_MAX_LAN + 64];
	int n;
};

static void change(struct changes *ch, const char *setting, const char *old,
		   const char *new)
{
	struct change *c;

	if (ch->n >= (int)(sizeof(ch->v) / sizeof(ch->v[0])))
		return;
	c = &ch->v[ch->n++];
	snprintf(c->setting, sizeof(c->setting), "%s", setting);
	snprintf(c->old, sizeof(c->old), "%s", old);
	snprintf(c->new, sizeof(c->new), "%s", new);
}

static void change_u32(struct changes *ch, const char *setting, __u32 old,
		       __u32 new)
{
	char a[16], b[16];

	if (old == new)
		return;
	snprintf(a, sizeof(a), "%u", old);
	snprintf(b, sizeof(b), "%u", new);
	change(ch, setting, a, b);
}

/* A .rodata setting that differs: one line, nothing changed. */
static int refuse(const struct instance *in, const char *path,
		  const char *setting, const char *running, const char *file)
{
	p_err("%s: %s is %s in %s but %s in the running data plane, where it cannot change (it is compiled into the programs): run 'bpfmasq down %s' and 'bpfmasq up %s' for now; nothing changed",
	      in->ifname, setting, file, path, running, in->ifname, in->ifname);
	return -1;
}

static const char *port_list(char *buf, size_t size, const __u16 *v,
			     const volatile __u16 *rv)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < ALG_MAX_PORTS && (v ? v[i] : rv[i]); i++)
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%u",
				i ? "," : "", v ? v[i] : rv[i]);
	if (!buf[0])
		snprintf(buf, size, "none");
	return buf;
}

static bool same_ports(const __u16 *v, const volatile __u16 *rv)
{
	for (int i = 0; i < ALG_MAX_PORTS; i++)
		if (v[i] != rv[i])
			return false;
	return true;
}

static __u32 map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* Everything compiled into the programs, or sized at load. */
static int check_rodata(const struct instance *in, const char *path,
			const struct up_opts *o)
{
	const struct bpfmasq_bpf__rodata *r = &in->cfg;
	char a[96], b[96];
	__u32 flows = map_max_entries(in->flows_fd);

	if (o->ports.lo != r->cfg_port_lo || o->ports.hi != r->cfg_port_hi) {
		snprintf(a, sizeof(a), "%u-%u", r->cfg_port_lo, r->cfg_port_hi);
		snprintf(b, sizeof(b), "%u-%u", o->ports.lo, o->ports.hi);
		return refuse(in, path, "ports", a, b);
	}
	if ((o->filter == FILTER_CONE) != r->cfg_filter_cone)
		return refuse(in, path, "filter",
			      r->cfg_filter_cone ? "cone" : "strict",
			      o->filter == FILTER_CONE ? "cone" : "strict");
	if ((o->n_internal == 0) != r->cfg_match_all_sources)
		return refuse(in, path, "internal",
			      r->cfg_match_all_sources ? "unset (every source)" : "set",
			      o->n_internal ? "set" : "unset (every source)");
	if (o->lan_inbound != r->cfg_lan_inbound)
		return refuse(in, path, "lan-inbound",
			      r->cfg_lan_inbound ? "on" : "off",
			      o->lan_inbound ? "on" : "off");
	if (o->lan_new != r->cfg_lan_new)
		return refuse(in, path, "lan-new", r->cfg_lan_new ? "on" : "off",
			      o->lan_new ? "on" : "off");
	if ((__u16)o->mss_clamp != r->cfg_mss_clamp) {
		snprintf(a, sizeof(a), "%s", r->cfg_mss_clamp == MSS_CLAMP_AUTO ?
			 "auto" : r->cfg_mss_clamp ? "" : "off");
		if (!a[0])
			snprintf(a, sizeof(a), "%u", r->cfg_mss_clamp);
		snprintf(b, sizeof(b), "%s", o->mss_clamp == MSS_CLAMP_AUTO ?
			 "auto" : o->mss_clamp ? "" : "off");
		if (!b[0])
			snprintf(b, sizeof(b), "%u", o->mss_clamp);
		return refuse(in, path, "mss-clamp", a, b);
	}
	if (!same_ports(o->ftp_ports, r->cfg_ftp_ports))
		return refuse(in, path, "ftp-ports (or no-alg ftp)",
			      port_list(a, sizeof(a), NULL, r->cfg_ftp_ports),
			      port_list(b, sizeof(b), o->ftp_ports, NULL));
	if (!same_ports(o->irc_ports, r->cfg_irc_ports))
		return refuse(in, path, "irc-ports (or no-alg irc)",
			      port_list(a, sizeof(a), NULL, r->cfg_irc_ports),
			      port_list(b, sizeof(b), o->irc_ports, NULL));
	if (flows && flows != 2 * o->max_flows) {
		snprintf(a, sizeof(a), "%u", flows / 2);
		snprintf(b, sizeof(b), "%u", o->max_flows);
		return refuse(in, path, "max-flows", a, b);
	}
	if (o->n_lan && in->prog_lan_fast_fd < 0 && in->prog_lan_open_fd < 0)
		return refuse(in, path, "lan", "unset (no LAN program loaded)",
			      "set");
	return 0;
}

/* What `up` refuses of the --lan names that needs no change to check. */
static int check_lan(const struct instance *in, const struct up_opts *o)
{
	if ((o->lan_inbound || o->lan_new) && !o->n_lan) {
		p_err("%s: --lan-inbound and --lan-new need at least one lan IFNAME; keep one in the file",
		      in->ifname);
		return -1;
	}
	for (int i = 0; i < o->n_lan; i++) {
		if (strlen(o->lan_name[i]) >= IF_NAMESIZE) {
			p_err("lan '%s': an interface name has at most %d characters",
			      o->lan_name[i], IF_NAMESIZE - 1);
			return -1;
		}
		if (!strcmp(o->lan_name[i], in->ifname)) {
			p_err("lan %s is the WAN interface itself", o->lan_name[i]);
			return -1;
		}
	}
	return 0;
}

static bool same_fwd(const struct fwd_spec *a, const struct fwd_spec *b)
{
	return a->proto == b->proto && a->port == b->port &&
	       a->addr == b->addr && a->to_port == b->to_port;
}

static bool fwd_in(const struct fwd_spec *f, const struct fwd_spec *v, int n)
{
	for (int i = 0; i < n; i++)
		if (same_fwd(f, &v[i]))
			return true;
	return false;
}

static const char *fwd_name(char *buf, size_t size, const struct fwd_spec *f)
{
	snprintf(buf, size, "forward %s %u",
		 f->proto == IPPROTO_TCP ? "tcp" : "udp", f->port);
	return buf;
}

/* A new forward whose external port a NAT mapping holds cannot be added
 * now (as `forward add` says); found before anything changes. */
static int check_forwards_free(const struct instance *in, __be32 ext,
			       const struct up_config *c,
			       const struct fwd_spec *cur, int n_cur)
{
	char t[24];

	for (int i = 0; i < c->n_fwd; i++) {
		const struct fwd_spec *f = &c->fwd[i].f;
		struct bind_key k = { .addr = ext, .port = htons(f->port),
				      .proto = f->proto, .dir = DIR_IN };
		struct bind_val v;

		if (fwd_in(f, cur, n_cur))
			continue;
		if (!ext) {
			p_err("%s: %s:%d: %s has no external address now to forward from; nothing changed",
			      in->ifname, c->path, c->fwd[i].line, in->ifname);
			return -1;
		}
		if (!bpf_map_lookup_elem(in->binds_fd, &k, &v) &&
		    !(v.flags & BIND_STATIC)) {
			p_err("%s:%d: %s port %u is in use by the NAT mapping of %s; pick another port or reload once it expires; nothing changed",
			      c->path, c->fwd[i].line,
			      f->proto == IPPROTO_TCP ? "tcp" : "udp", f->port,
			      fmt_endpoint(t, v.addr, v.port));
			return -1;
		}
	}
	return 0;
}

static int internal_read(const struct instance *in, struct internal_key *v,
			 int max)
{
	struct internal_key k, next, *prev = NULL;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(in->internal_fd, prev, &next)) {
		k = next;
		prev = &k;
		v[n++] = k;
	}
	return n;
}

static bool key_in(const struct internal_key *k, const struct internal_key *v,
		   int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].prefixlen == k->prefixlen && v[i].addr == k->addr)
			return true;
	return false;
}

static const char *cidr(char *buf, size_t size, const struct internal_key *k)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", fmt_addr(a, k->addr), k->prefixlen);
	return buf;
}

static void lan_names(char *buf, size_t size, const char (*names)[16], int n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && names[i][0]; i++)
		len += snprintf(buf + len, len < size ? size - len : 0, "%s%s",
				i ? "," : "", names[i]);
	if (!buf[0])
		snprintf(buf, size, "none");
}

/*
 * Read path as `up` would (without a command line), check it all, then
 * apply the differences, listing them in ch.  -1 (error said): nothing
 * was changed, except after a map update failed half way (said).
 */
static int reload_apply(struct instance *in, const char *path,
			struct changes *ch)
{
	char *argv[] = { "reload", "--config", (char *)path, in->ifname, NULL };
	struct internal_key cur_int[MAX_INTERNAL];
	char lan_new[BPFMASQ_MAX_LAN][16] = {};
	struct fwd_spec *cur = NULL;
	char a[64], b[64], s[48];
	struct up_config c;
	struct nat_state st;
	struct up_opts o;
	int n_cur = 0, n_int, ret = -1;
	__u8 one = 1;

	ch->n = 0;
	if (up_opts_load("reload", 4, argv, false, &o, &c))
		goto out;
	if (check_rodata(in, c.path, &o) || check_lan(in, &o))
		goto out;
	if (instance_get_state(in, &st)) {
		p_err("cannot read the state of %s: %s", in->ifname,
		      strerror(errno));
		goto out;
	}
	n_int = internal_read(in, cur_int, MAX_INTERNAL);
	if (forwards_read(in, state_forward_addr(&st), &cur, &n_cur)) {
		p_err("cannot read the forwards of %s: %s", in->ifname,
		      strerror(errno));
		goto out;
	}
	if (check_forwards_free(in, state_forward_addr(&st), &c, cur, n_cur))
		goto out;

	/* The state map: one write. */
	change_u32(ch, "timeout-tcp-established", st.timeout_tcp_est,
		   o.timeout_tcp_est);
	change_u32(ch, "timeout-tcp-transitory", st.timeout_tcp_trans,
		   o.timeout_tcp_trans);
	change_u32(ch, "timeout-udp", st.timeout_udp, o.timeout_udp);
	change_u32(ch, "timeout-icmp", st.timeout_icmp, o.timeout_icmp);
	st.timeout_tcp_est = o.timeout_tcp_est;
	st.timeout_tcp_trans = o.timeout_tcp_trans;
	st.timeout_udp = o.timeout_udp;
	st.timeout_icmp = o.timeout_icmp;
	if (!!(st.flags & STATE_NO_HAIRPIN) != o.no_hairpin)
		change(ch, "no-hairpin", o.no_hairpin ? "off" : "on",
		       o.no_hairpin ? "on" : "off");
	st.flags = (st.flags & ~STATE_NO_HAIRPIN) |
		   (o.no_hairpin ? STATE_NO_HAIRPIN : 0);
	/* The controller moves to it (forwards too) once it is on the WAN,
	 * and flushes the flows of the old one, as when an address
	 * changes. */
	if (st.ext_want != o.external) {
		snprintf(a, sizeof(a), "%s", st.ext_want ?
			 fmt_addr(s, st.ext_want) : "the WAN's address");
		snprintf(b, sizeof(b), "%s", o.external ?
			 fmt_addr(s, o.external) : "the WAN's address");
		change(ch, "external", a, b);
		st.ext_want = o.external;
	}
	for (int i = 0; i < o.n_lan; i++)
		snprintf(lan_new[i], sizeof(lan_new[i]), "%s", o.lan_name[i]);
	if (memcmp(lan_new, st.lan_name, sizeof(lan_new))) {
		lan_names(a, sizeof(a), st.lan_name, BPFMASQ_MAX_LAN);
		lan_names(b, sizeof(b), lan_new, BPFMASQ_MAX_LAN);
		change(ch, "lan", a, b);
		/* A name that goes loses its fast path now; the controller
		 * attaches the new ones (and drops the gone ones from
		 * lan_ifindex) on its resync. */
		for (int i = 0; i < BPFMASQ_MAX_LAN && st.lan_name[i][0]; i++) {
			bool kept = false;
			int ifindex;

			for (int j = 0; j < o.n_lan; j++)
				kept |= !strcmp(st.lan_name[i], lan_new[j]);
			ifindex = kept ? 0 : if_nametoindex(st.lan_name[i]);
			if (ifindex) {
				lan_xdp_detach(ifindex);
			}
		}
		memcpy(st.lan_name, lan_new, sizeof(lan_new));
	}
	if (instance_set_state(in, &st)) {
		p_err("cannot write the state of %s: %s; nothing changed",
		      in->ifname, strerror(errno));
		goto out;
	}

	/* New prefixes before the forwards that may need them; gone ones
	 * after (flows of their hosts stay until they expire). */
	for (int i = 0; i < o.n_internal; i++) {
		if (key_in(&o.internal[i], cur_int, n_int))
			continue;
		if (bpf_map_update_elem(in->internal_fd, &o.internal[i], &one,
					BPF_ANY)) {
			p_err("cannot add internal prefix %s: %s; the changes listed before were made",
			      cidr(a, sizeof(a), &o.internal[i]), strerror(errno));
			goto out;
		}
		change(ch, "internal", "none", cidr(a, sizeof(a), &o.internal[i]));
	}
	for (int i = 0; i < n_cur; i++) {
		bool kept = false;

		for (int j = 0; j < c.n_fwd; j++)
			kept |= same_fwd(&cur[i], &c.fwd[j].f);
		if (kept)
			continue;
		forward_remove(in, state_forward_addr(&st), cur[i].proto, cur[i].port);
		change(ch, fwd_name(s, sizeof(s), &cur[i]),
		       fmt_endpoint(a, cur[i].addr, cur[i].to_port), "none");
	}
	for (int j = 0; j < c.n_fwd; j++) {
		const struct fwd_spec *f = &c.fwd[j].f;

		if (fwd_in(f, cur, n_cur))
			continue;
		if (forward_install(in, state_forward_addr(&st), f, NULL)) {
			p_err("%s:%d: the forward could not be added; the changes listed before were made",
			      c.path, c.fwd[j].line);
			goto out;
		}
		change(ch, fwd_name(s, sizeof(s), f), "none",
		       fmt_endpoint(a, f->addr, f->to_port));
	}
	for (int i = 0; i < n_int; i++) {
		if (key_in(&cur_int[i], o.internal, o.n_internal))
			continue;
		bpf_map_delete_elem(in->internal_fd, &cur_int[i]);
		change(ch, "internal", cidr(a, sizeof(a), &cur_int[i]), "none");
	}
	ret = 0;
out:
	free(cur);
	config_free(&c);
	return ret;
}

int reload_in_controller(struct instance *in, const char *path)
{
	static struct changes ch;
	int ret = reload_apply(in, path, &ch);

	for (int i = 0; i < ch.n; i++)
		log_msg("%s: %s %s -> %s", in->ifname, ch.v[i].setting,
			ch.v[i].old, ch.v[i].new);
	if (!ret && !ch.n)
		log_msg("%s: %s: no change", in->ifname, path);
	return ret;
}

void help_reload(FILE *f)
{
	cmd_usage_line(f, "reload IFNAME [--config FILE]",
		       "read " CONF_DIR "/IFNAME.conf (or FILE) again and apply timeouts, internal, external, no-hairpin, lan and forwards (the file's are all the forwards) to the running instance, keeping every flow; a setting compiled into the programs is refused; the controller's SIGHUP does the same");
}

int cmd_reload(int argc, char **argv)
{
	const char *dir = getenv(CONF_DIR_ENV), *ifname = NULL, *file = NULL;
	static struct changes ch;
	char path[PATH_MAX];
	struct nat_state st;
	struct instance in;
	int err, ret = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
		else if (argv[i][0] != '-' && !ifname)
			ifname = argv[i];
		else
			ifname = NULL, argc = -1;
	}
	if (argc < 0 || !ifname) {
		p_err("usage: bpfmasq reload IFNAME [--config FILE] (the file alone is read: no other option)");
		return 1;
	}
	if (geteuid()) {
		p_err("must be run as root (changing BPF maps needs CAP_BPF)");
		return 1;
	}
	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/%s.conf",
			 dir && *dir ? dir : CONF_DIR, ifname);
	err = instance_find(ifname, &in);
	if (err < 0)
		return 1;
	if (err == INSTANCE_NONE) {
		p_err("%s is not up (start it with 'bpfmasq up %s')", ifname,
		      ifname);
		return 1;
	}
	if (reload_apply(&in, path, &ch))
		goto out;
	/* The controller attaches and detaches what the names and the
	 * no-hairpin flag now say. */
	if (!instance_get_state(&in, &st) && controller_alive(st.controller_pid))
		kill(st.controller_pid, CONTROLLER_SIG_RESYNC);
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", ifname);
		jw_kv_string(&jw, "config", path);
		jw_key(&jw, "changes");
		jw_start_array(&jw);
		for (int i = 0; i < ch.n; i++) {
			jw_start_object(&jw);
			jw_kv_string(&jw, "setting", ch.v[i].setting);
			jw_kv_string(&jw, "old", ch.v[i].old);
			jw_kv_string(&jw, "new", ch.v[i].new);
			jw_end_object(&jw);
		}
		jw_end_array(&jw);
		jw_end_object(&jw);
		jw_finish(&jw);
	} else {
		for (int i = 0; i < ch.n; i++)
			printf("%s: %s %s -> %s\n", ifname, ch.v[i].setting,
			       ch.v[i].old, ch.v[i].new);
		if (!ch.n)
			printf("%s: %s: no change\n", ifname, path);
	}
	ret = 0;
out:
	instance_close(&in);
	return ret;
}
