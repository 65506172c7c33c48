// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq reload IFNAME [--config FILE]`, and the controller's SIGHUP:
 * the config file read again and what it changes applied to the running
 * instance, without dropping a flow.  What lives in maps (timeouts,
 * no-hairpin and the --lan names in the state map, the internal_nets
 * prefixes, the forwards) is written there; what is compiled into the
 * programs' .rodata, and the tables' sizes, by new programs loaded over
 * the same maps and swapped in (instance_replace()).  Everything is
 * checked before anything is applied: a refusal changes nothing.
 *
 * The file is all that is read: the command line of the `up` that started
 * the instance is not remembered, so a setting given there alone goes back
 * to the file's value or the default.
 * The forwards of the file are the instance's forwards afterwards, as
 * `nft -f` makes a ruleset: one added by hand with `forward add` and not
 * in the file is removed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "build.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "controller.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "progload.h"
#include "reload.h"
#include "util.h"

struct change {
	char setting[48];
	char old[256];	/* an --external pool of eight, with blocks */
	char new[256];
};

struct changes {
	struct change v[3 * MAX_INTERNAL + 2 * BPFMASQ_MAX_LAN + 64];
	int n;
	bool upgraded;	/* this build's programs replaced another's */
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

/* What cannot change live: lan-inbound onto a LAN without native XDP.
 * One line, nothing changed. */
static int refuse(const struct instance *in, const char *path,
		  const char *setting, const char *running, const char *file,
		  const char *lan)
{
	p_err("%s: %s is %s in %s but %s in the running data plane, and lan %s runs in generic XDP mode, where replies cannot be redirected into it (no native XDP); nothing changed",
	      in->ifname, setting, file, path, running, lan);
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

static __u32 map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

static const char *mss_str(char *buf, size_t size, __u16 v)
{
	if (v == MSS_CLAMP_AUTO)
		snprintf(buf, size, "auto");
	else if (v)
		snprintf(buf, size, "%u", v);
	else
		snprintf(buf, size, "off");
	return buf;
}

static const char *on_off(bool v)
{
	return v ? "on" : "off";
}

/*
 * The inbound range of ports replies are still NAT's after --ports
 * changes (cfg_port_prev_*): the hull of the range replaced and of every
 * port bound outside the new one (left by an earlier change; forwards
 * are not NAT ports).  Bindings the old programs make until the swap are
 * in the replaced range, so none is missed.
 */
static void prev_range(const struct instance *in, const struct up_opts *o,
		       __u16 *lo, __u16 *hi)
{
	struct bind_key k, next, *prev = NULL;
	__u32 l = in->cfg.cfg_port_lo, h = in->cfg.cfg_port_hi;
	struct bind_val v;

	while (!bpf_map_get_next_key(in->binds_fd, prev, &next)) {
		__u16 p = ntohs(next.port);

		k = next;
		prev = &k;
		/* Forwards are served by their own bitmap (fwd_ports). */
		if (k.dir != DIR_IN || (p >= o->ports.lo && p <= o->ports.hi) ||
		    bpf_map_lookup_elem(in->binds_fd, &k, &v) ||
		    (v.flags & BIND_STATIC))
			continue;
		l = p < l ? p : l;
		h = p > h ? p : h;
	}
	/* Wholly inside the new range: nothing left to serve. */
	if (l >= o->ports.lo && h <= o->ports.hi)
		l = h = 0;
	*lo = l;
	*hi = h;
}

/* Is any --lan attached in generic XDP mode (no redirect into it)? */
static const char *lan_generic(const struct nat_state *st)
{
	static char name[IF_NAMESIZE];
	__u32 mode;

	for (int i = 0; i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		if (xdp_attached_id(st->lan_ifindex[i], &mode) &&
		    mode == XDP_FLAGS_SKB_MODE &&
		    if_indextoname(st->lan_ifindex[i], name))
			return name;
	return NULL;
}

/*
 * The programs' settings (.rodata) and the tables' sizes the file asks
 * for, into ro, with a line per change.  *need: the programs must be
 * replaced (instance_replace()) for them.  -1 (said): refused.
 */
static int plan_programs(const struct instance *in, const char *path,
			 const struct up_opts *o, const struct nat_state *st,
			 struct replace_opts *ro, bool *need,
			 struct changes *ch)
{
	const struct bpfmasq_bpf__rodata *r = &in->cfg;
	struct bpfmasq_bpf__rodata *n = &ro->cfg;
	__u32 flows = map_max_entries(in->flows_fd);
	__u32 binds = map_max_entries(in->binds_fd);
	bool had_lan = in->prog_lan_fast_fd >= 0 || in->prog_lan_open_fd >= 0;
	const char *generic;
	char a[64], b[64];
	int n_ch = ch->n;

	memset(ro, 0, sizeof(*ro));
	*n = *r;
	n->cfg_port_lo = o->ports.lo;
	n->cfg_port_hi = o->ports.hi;
	n->cfg_filter_cone = o->filter == FILTER_CONE;
	n->cfg_match_all_sources = o->n_internal == 0;
	n->cfg_lan_inbound = o->lan_inbound;
	n->cfg_lan_new = o->lan_new;
	n->cfg_mss_clamp = o->mss_clamp;
	for (int i = 0; i < ALG_MAX_PORTS; i++) {
		n->cfg_ftp_ports[i] = o->ftp_ports[i];
		n->cfg_irc_ports[i] = o->irc_ports[i];
	}
	ro->lan = o->n_lan > 0;
	ro->flows_entries = 2 * o->max_flows;
	ro->binds_entries = up_binds_entries(o);

	if (o->lan_inbound && !r->cfg_lan_inbound &&
	    (generic = lan_generic(st)))
		return refuse(in, path, "lan-inbound", "off", "on",
			      generic);
	if (n->cfg_port_lo != r->cfg_port_lo || n->cfg_port_hi != r->cfg_port_hi) {
		snprintf(a, sizeof(a), "%u-%u", r->cfg_port_lo, r->cfg_port_hi);
		snprintf(b, sizeof(b), "%u-%u", o->ports.lo, o->ports.hi);
		change(ch, "ports", a, b);
		prev_range(in, o, (__u16 *)&n->cfg_port_prev_lo,
			   (__u16 *)&n->cfg_port_prev_hi);
	}
	if (n->cfg_filter_cone != r->cfg_filter_cone)
		change(ch, "filter", r->cfg_filter_cone ? "cone" : "strict",
		       n->cfg_filter_cone ? "cone" : "strict");
	if (n->cfg_match_all_sources != r->cfg_match_all_sources)
		change(ch, "internal-mode",
		       r->cfg_match_all_sources ? "every source" : "prefixes",
		       n->cfg_match_all_sources ? "every source" : "prefixes");
	if (n->cfg_lan_inbound != r->cfg_lan_inbound)
		change(ch, "lan-inbound", on_off(r->cfg_lan_inbound),
		       on_off(n->cfg_lan_inbound));
	if (n->cfg_lan_new != r->cfg_lan_new)
		change(ch, "lan-new", on_off(r->cfg_lan_new),
		       on_off(n->cfg_lan_new));
	if (n->cfg_mss_clamp != r->cfg_mss_clamp)
		change(ch, "mss-clamp", mss_str(a, sizeof(a), r->cfg_mss_clamp),
		       mss_str(b, sizeof(b), n->cfg_mss_clamp));
	port_list(a, sizeof(a), NULL, r->cfg_ftp_ports);
	port_list(b, sizeof(b), NULL, n->cfg_ftp_ports);
	if (strcmp(a, b))
		change(ch, "ftp-ports", a, b);
	port_list(a, sizeof(a), NULL, r->cfg_irc_ports);
	port_list(b, sizeof(b), NULL, n->cfg_irc_ports);
	if (strcmp(a, b))
		change(ch, "irc-ports", a, b);
	if (flows != ro->flows_entries)
		change_u32(ch, "max-flows", flows / 2, o->max_flows);
	else
		ro->flows_entries = 0;
	if (binds == ro->binds_entries)
		ro->binds_entries = 0;
	*need = ch->n != n_ch || ro->binds_entries || (ro->lan && !had_lan);
	return 0;
}

/* What `up` refuses of the --lan names that needs no change to check. */
static int check_lan(const struct instance *in, const struct up_opts *o)
{
	if (o->lan_inbound && !o->n_lan) {
		p_err("%s: --lan-inbound needs at least one lan IFNAME; keep one in the file",
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
 * Will the controller, executing its binary's path again, run this
 * build?  Only if this binary is at that path now (a package upgrade
 * replaced the file: the kernel then calls the old one "... (deleted)").
 * Else why says what it runs.
 */
static bool controller_runs_this_binary(const struct instance *in, char *why,
					size_t len)
{
	char self[PATH_MAX], ctl[PATH_MAX], link[64];
	struct nat_state st;
	ssize_t n, m;
	char *del;

	if (instance_get_state(in, &st) || !controller_alive(st.controller_pid)) {
		snprintf(why, len, "is not running");
		return false;
	}
	snprintf(link, sizeof(link), "/proc/%u/exe", st.controller_pid);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	m = readlink(link, ctl, sizeof(ctl) - 1);
	if (n <= 0 || m <= 0) {
		snprintf(why, len, "cannot be looked at (%s)", strerror(errno));
		return false;
	}
	self[n] = ctl[m] = '\0';
	del = strstr(ctl, " (deleted)");
	if (del && !del[10])
		*del = '\0';
	if (!strcmp(self, ctl))
		return true;
	snprintf(why, len, "runs %.*s, this is %.*s", (int)(len / 2 - 16), ctl,
		 (int)(len / 2 - 16), self);
	return false;
}

/*
 * Read path as `up` would (without a command line), check it all, then
 * apply the differences, listing them in ch.  -1 (error said): nothing
 * was changed, except after a map update failed half way (said).
 */
static int reload_apply(struct instance *in, const char *path,
			struct changes *ch, bool in_controller)
{
	char *argv[] = { "reload", "--config", (char *)path, in->ifname, NULL };
	struct internal_key cur_int[2 * MAX_INTERNAL];
	char lan_new[BPFMASQ_MAX_LAN][16] = {};
	struct fwd_spec *cur = NULL;
	char a[64], b[64], s[48], why[256];
	struct up_config c;
	struct nat_state st;
	struct up_opts o;
	struct build_id running;
	struct replace_opts ro;
	struct ext_spec cur_ext[BPFMASQ_MAX_EXT];
	int n_cur = 0, n_int, n_ext, err, ret = -1;
	bool replace = false;
	__u8 one = 1;

	ch->n = 0;
	ch->upgraded = false;
	if (up_opts_load("reload", 4, argv, false, &o, &c))
		goto out;
	/*
	 * Another build runs here (a package upgrade put this one in its
	 * binary's place): its programs are replaced by this build's, and
	 * its controller asked to execute this binary (cmd_reload()).  One
	 * from before build ids would not understand that signal; maps of
	 * another layout are never given to these programs.
	 */
	build_of(in, &running);
	ch->upgraded = !build_same(&running, build_self());
	if (ch->upgraded && (!running.version[0] || in_controller)) {
		p_err("%s runs bpfmasq %s, whose controller a reload cannot replace: 'bpfmasq up %s' with this build upgrades it keeping every connection; nothing changed",
		      in->ifname, build_str(&running, b, sizeof(b)), in->ifname);
		goto out;
	}
	if (ch->upgraded && !in_controller &&
	    !controller_runs_this_binary(in, why, sizeof(why))) {
		p_err("%s runs bpfmasq %s, and its controller %s: a reload upgrades in place when this build is installed where the old one was; 'bpfmasq up %s' with this build upgrades it keeping every connection; nothing changed",
		      in->ifname, build_str(&running, b, sizeof(b)), why,
		      in->ifname);
		goto out;
	}
	if (ch->upgraded && build_may_take_over(in))
		goto out;
	if (check_lan(in, &o))
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
	if (ch->upgraded)
		change(ch, "build", build_str(&running, a, sizeof(a)),
		       build_str(build_self(), b, sizeof(b)));
	if (plan_programs(in, c.path, &o, &st, &ro, &replace, ch))
		goto out;
	replace |= ch->upgraded;
	if (replace) {
		int n_added = 0;

		/* The new programs may judge sources by prefixes the old
		 * ones did not read: those are there before the swap. */
		for (int i = 0; i < o.n_internal; i++) {
			if (key_in(&o.internal[i], cur_int, n_int))
				continue;
			if (bpf_map_update_elem(in->internal_fd, &o.internal[i],
						&one, BPF_ANY))
				break;
			cur_int[n_int + n_added++] = o.internal[i];
		}
		if (instance_replace(in, &ro)) {
			for (int i = 0; i < n_added; i++)
				bpf_map_delete_elem(in->internal_fd,
						    &cur_int[n_int + i]);
			ch->n = 0;
			goto out;
		}
		for (int i = 0; i < n_added; i++)
			change(ch, "internal", "none",
			       cidr(a, sizeof(a), &cur_int[n_int + i]));
		/* Added: no longer "gone" below. */
		n_int += n_added;
		if (instance_get_state(in, &st)) {
			p_err("cannot read the state of %s: %s; the changes listed before were made",
			      in->ifname, strerror(errno));
			goto out;
		}
	}

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
	n_ext = ext_pool_read(in->ext_pool_fd, cur_ext, NULL, BPFMASQ_MAX_EXT);
	if (n_ext < 0) {
		p_err("cannot read the --external addresses of %s: %s; the changes listed before were made",
		      in->ifname, strerror(-n_ext));
		goto out;
	}
	if (n_ext != o.n_external ||
	    memcmp(cur_ext, o.external, n_ext * sizeof(cur_ext[0]))) {
		char pa[BPFMASQ_MAX_EXT * 32], pb[BPFMASQ_MAX_EXT * 32];

		change(ch, "external", n_ext ?
		       ext_specs_str(cur_ext, n_ext, pa, sizeof(pa)) :
		       "the WAN's address", o.n_external ?
		       ext_specs_str(o.external, o.n_external, pb, sizeof(pb)) :
		       "the WAN's address");
		err = ext_pool_write(in->ext_pool_fd, o.external, o.n_external,
				     if_has_ipv4, in->ifname);
		if (err) {
			p_err("cannot store the --external addresses of %s: %s; the changes listed before were made",
			      in->ifname, strerror(-err));
			goto out;
		}
		st.ext_want = o.n_external ? o.external[0].addr : 0;
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
	int ret = reload_apply(in, path, &ch, true);

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
		       "read " CONF_DIR "/IFNAME.conf (or FILE) again and apply it to the running instance, keeping every flow: timeouts, internal, external, no-hairpin, lan and forwards (the file's are all the forwards) in the maps; ports, filter, ALG ports, mss-clamp, lan-inbound, lan-new and max-flows by new programs swapped in over the same (or migrated) maps; by a newer build installed in the old one's place, upgrades programs and controller; the controller's SIGHUP does the same");
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
	if (reload_apply(&in, path, &ch, false))
		goto out;
	/* The controller follows the programs, attaches and detaches what
	 * the names and the no-hairpin flag now say; or, after an upgrade,
	 * becomes this build. */
	if (!instance_get_state(&in, &st) && controller_alive(st.controller_pid))
		kill(st.controller_pid, ch.upgraded ? CONTROLLER_SIG_UPGRADE :
						      CONTROLLER_SIG_RESYNC);
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
