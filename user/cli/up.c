// SPDX-License-Identifier: GPL-2.0
/* `bpfmasq up` and `bpfmasq down`: load, attach, pin, start the controller;
 * and the exact reverse. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sodium.h>
#include "attach.h"
#include "build.h"
#include "commands.h"
#include "config.h"
#include "controller.h"
#include "hairpin.h"
#include "instance.h"
#include "netfilter.h"
#include "progload.h"
#include "reload.h"
#include "up.h"
#include "util.h"


/*
 * Bindings are per inside endpoint, so they never outnumber the external
 * ports: both directions, for TCP, UDP and ICMP, plus room for forwards
 * and ALG expectations (which may lie outside the range).  Sizing them
 * from the range rather than from --max-flows is what keeps memory per
 * flow near the flow entries alone.
 */
__u32 up_binds_entries(const struct up_opts *o)
{
	__u64 by_ports = 2ULL * 3 * (o->ports.hi - o->ports.lo + 1) + 4096;
	__u64 by_flows = 2ULL * o->max_flows;

	return by_ports < by_flows ? by_ports : by_flows;
}

/* Every check that needs no change to the system, so that a refusal
 * leaves nothing behind (root and the interface's existence were checked
 * on the way to finding that no instance runs there). */
static int check_up(struct up_opts *o)
{
	char a[INET_ADDRSTRLEN];
	const char *type;
	__u32 id;
	int t;

	t = link_type(o->ifname);
	if (t < 0) {
		p_err("cannot read the link type of %s: %s", o->ifname,
		      strerror(-t));
		return -1;
	}
	o->wan_layer = link_layer_of(t, &type);
	if (o->wan_layer == LINK_OTHER) {
		p_err("%s is a link/%s interface, which bpfmasq cannot serve: it translates on Ethernet and on layer-3 links (ppp, none: TUN and WireGuard, rawip, ipip, gre); masquerade there with nftables",
		      o->ifname, type);
		return -1;
	}
	if (o->wan_layer == LINK_L3 && o->n_lan) {
		p_err("--lan: the XDP fast path sends Ethernet frames, and %s is a layer-3 link (link/%s); leave out --lan (the tc path translates everything)",
		      o->ifname, type);
		return -1;
	}
	/* A VRRP backup: its data plane waits, ready, for an address to
	 * move here. */
	for (int i = 0; i < o->n_external && !json_output; i++)
		if (!if_has_ipv4(o->ifname, o->external[i].addr))
			fprintf(stderr, "Warning: --external %s is not on %s now: %s\n",
				fmt_addr(a, o->external[i].addr), o->ifname,
				i ? "its connections translate when it is added" :
				"translation starts when it is added");
	if (!o->n_external && !if_primary_ipv4(o->ifname)) {
		p_err("interface %s has no IPv4 address to masquerade as; add one first (ip addr add ADDR/LEN dev %s), or name the one it will get with --external ADDR",
		      o->ifname, o->ifname);
		return -1;
	}
	id = xdp_attached_id(o->ifindex, NULL);
	if (id) {
		p_err("%s already has an XDP program (id %u) that is not bpfmasq's; remove it first (ip link set dev %s xdp off)",
		      o->ifname, id, o->ifname);
		return -1;
	}
	if (o->lan_inbound && !o->n_lan) {
		p_err("--lan-inbound sends replies into the --lan interfaces; name at least one with --lan IFNAME");
		return -1;
	}
	if (o->n_sync_peer) {
		__u8 key[32];
		char err[512];

		if (!o->sync_key) {
			p_err("--sync-peer needs --sync-key FILE, the secret both gateways share (head -c 32 /dev/urandom > FILE; chmod 600 FILE)");
			return -1;
		}
		if (sync_key_load(o->sync_key, key, err, sizeof(err))) {
			p_err("%s", err);
			return -1;
		}
		sodium_memzero(key, sizeof(key));	/* checked only */
	} else if (o->sync_key || o->sync_listen) {
		p_err("--sync-key and --sync-listen go with --sync-peer ADDR, the peer gateway's sync address");
		return -1;
	}
	for (int i = 0; i < o->n_lan; i++) {
		if (strlen(o->lan_name[i]) >= IF_NAMESIZE) {
			p_err("--lan '%s': an interface name has at most %d characters",
			      o->lan_name[i], IF_NAMESIZE - 1);
			return -1;
		}
		/* A bridge a container runtime makes with its first
		 * container: the controller attaches when it appears. */
		if (!o->lan_ifindex[i]) {
			if (!json_output)
				fprintf(stderr, "Warning: no interface %s yet; the --lan fast path is attached when it appears\n",
					o->lan_name[i]);
			continue;
		}
		if (o->lan_ifindex[i] == o->ifindex) {
			p_err("--lan %s is the WAN interface itself", o->lan_name[i]);
			return -1;
		}
		t = link_type(o->lan_name[i]);
		if (t >= 0 && link_layer_of(t, &type) != LINK_ETHER) {
			p_err("--lan %s is a link/%s interface, and the XDP fast path reads Ethernet frames; leave it out (hairpinning and the tc path serve it)",
			      o->lan_name[i], type);
			return -1;
		}
		id = xdp_attached_id(o->lan_ifindex[i], NULL);
		if (id) {
			p_err("--lan %s already has an XDP program (id %u); remove it first (ip link set dev %s xdp off)",
			      o->lan_name[i], id, o->lan_name[i]);
			return -1;
		}
	}
	return 0;
}

/* netfilter's own masquerade on the same WAN (a container runtime's
 * default): both work, but the admin should know which NAT translates. */
static void warn_netfilter_masq(const struct up_opts *o)
{
	char rule[512], msg[1024];

	if (json_output || !nf_masq_find(o->ifname, rule, sizeof(rule)))
		return;
	nf_masq_warning(o->ifname, rule, msg, sizeof(msg));
	fprintf(stderr, "%s\n", msg);
}

static void warn_port_overlap(const struct up_opts *o)
{
	unsigned int lo, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && o->ports.lo <= hi &&
	    o->ports.hi >= lo && !json_output)
		fprintf(stderr,
			"Warning: NAT ports %u-%u overlap the kernel's ephemeral range %u-%u; the gateway's own connections may collide with NAT mappings\n",
			o->ports.lo, o->ports.hi, lo, hi);
	fclose(f);
}

/* The LAN's XDP program: with --lan-new the one that also opens flows. */
static struct bpf_program *lan_prog(struct bpfmasq_bpf *skel)
{
	return skel->rodata->cfg_lan_new ? skel->progs.masq_lan_open :
					   skel->progs.masq_lan_fast;
}

static void detach_lan(const struct nat_state *st, int i)
{
	lan_xdp_detach(st->lan_ifindex[i]);
}

/* A LAN gets the XDP fast path (hairpinning is the controller's, on every
 * inside interface).  On failure nothing of it stays attached. */
static int attach_lan(struct bpfmasq_bpf *skel, struct nat_state *st, int i,
		      const char *name, bool inbound)
{
	int err = lan_xdp_attach(st->lan_ifindex[i],
				 bpf_program__fd(lan_prog(skel)), inbound);

	if (err == -EOPNOTSUPP)
		p_err("--lan %s has no native XDP, so it cannot take redirected replies; leave out --lan-inbound",
		      name);
	else if (err)
		p_err("cannot attach XDP to --lan %s: %s", name, strerror(-err));
	return err;
}

/* Remove whatever `up` attached, from the state it recorded. */
static void detach_all(int wan_ifindex, const struct nat_state *st)
{
	for (int i = 0; i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		detach_lan(st, i);
	hairpin_detach_all(wan_ifindex);
	tc_detach_ours(wan_ifindex, st->flags & STATE_OWN_CLSACT);
	xdp_detach_ours(wan_ifindex, "masq_wan_in");
}

/* The file a SIGHUP reads: the one `up` read, or the one it would have
 * (it may be written later). */
static const char *reload_path(const struct up_opts *o,
			       const struct up_config *c)
{
	static char path[PATH_MAX];
	const char *dir = getenv(CONF_DIR_ENV);

	if (c->path[0])
		snprintf(path, sizeof(path), "%s", c->path);
	else
		snprintf(path, sizeof(path), "%s/%s.conf",
			 dir && *dir ? dir : CONF_DIR, o->ifname);
	return path;
}

/* The `up` being run, for the controller to run again when another
 * build's reload asks it to (CONTROLLER_SIG_UPGRADE). */
static int up_argc;
static char **up_argv;

/* [this binary's path, "up", the arguments of this `up`...]: what a
 * package upgrade makes the new build's `up` (it adopts). */
static char *const *exec_argv(void)
{
	static char self[PATH_MAX];
	static char **v;
	ssize_t n;

	if (v)
		return v;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || !up_argv || !(v = calloc(up_argc + 2, sizeof(*v))))
		return NULL;
	self[n] = '\0';
	v[0] = self;
	v[1] = "up";
	for (int i = 1; i < up_argc; i++)
		v[i + 1] = up_argv[i];
	return v;
}

static int start_controller(struct instance *in, const struct up_opts *o,
			    const struct up_config *c)
{
	struct controller_opts copts = {
		.metrics_file = o->metrics_file,
		.log_mappings = o->log_mappings,
		.sync = { .n_peers = o->n_sync_peer, .listen = o->sync_listen,
			  .port = o->sync_port, .key_file = o->sync_key },
		.config_path = reload_path(o, c),
		.reload = reload_in_controller,
		.exec_argv = exec_argv(),
	};
	char log_path[PATH_MAX], ok;
	struct pollfd pfd;
	int p[2], fd;
	pid_t pid;

	memcpy(copts.sync.peer, o->sync_peer, sizeof(copts.sync.peer));
	if (o->foreground)
		return controller_run(in, -1, &copts) ? -1 : 0;

	if (o->log_path) {
		snprintf(log_path, sizeof(log_path), "%s", o->log_path);
	} else {
		mkdir(BPFMASQ_RUN_DIR, 0755);
		snprintf(log_path, sizeof(log_path), BPFMASQ_RUN_DIR "/%s.log", in->ifname);
	}
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		p_err("cannot open log %s: %s", log_path, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		p_err("pipe: %s", strerror(errno));
		close(fd);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		p_err("cannot start the controller: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		close(p[0]);
		setsid();
		dup2(devnull, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		_exit(controller_run(in, p[1], &copts));
	}
	close(p[1]);
	close(fd);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(p[0], &ok, 1) != 1) {
		p_err("the controller did not start; see %s", log_path);
		kill(pid, SIGKILL);
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

enum up_how { UP_NEW, UP_ADOPTED, UP_UPGRADED };

static void print_up(const struct instance *in, enum up_how how, int pid)
{
	char a[INET_ADDRSTRLEN];
	struct nat_state st = {};

	instance_get_state(in, &st);
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", in->ifname);
		jw_kv_string(&jw, "external",
			     fmt_addr(a, state_forward_addr(&st)));
		jw_key(&jw, "external_on_wan");
		jw_bool(&jw, st.ext_addr != 0);
		jw_key(&jw, "adopted");
		jw_bool(&jw, how == UP_ADOPTED);
		jw_key(&jw, "upgraded");
		jw_bool(&jw, how == UP_UPGRADED);
		jw_kv_uint(&jw, "controller_pid", pid > 0 ? pid : 0);
		jw_end_object(&jw);
		jw_finish(&jw);
		return;
	}
	printf("%s: %s, masquerading as %s%s, ports %u-%u, controller pid %d\n",
	       in->ifname, how == UP_ADOPTED ? "adopted running data plane" :
	       how == UP_UPGRADED ? "upgraded to this build, every flow kept" :
	       "up",
	       fmt_addr(a, state_forward_addr(&st)),
	       st.ext_addr ? "" : " once it is on the interface",
	       in->cfg.cfg_port_lo, in->cfg.cfg_port_hi, pid);
}

/* A data plane is attached but its controller is gone: take it over,
 * with the config file's forwards that it lacks. */
static int adopt(struct up_opts *o, const struct up_config *c,
		 struct instance *in)
{
	struct nat_state st;
	int pid;

	if (instance_get_state(in, &st)) {
		p_err("cannot read the state of %s: %s", o->ifname, strerror(errno));
		return 1;
	}
	/* Our own pid: a controller executing its new build (a reload by
	 * that build asked it to) is adopting. */
	if (controller_alive(st.controller_pid) &&
	    st.controller_pid != (__u32)getpid()) {
		p_err("%s is already up (controller pid %u); 'bpfmasq reload %s' applies its config file, 'bpfmasq down %s' first changes the rest",
		      o->ifname, st.controller_pid, o->ifname, o->ifname);
		return 1;
	}
	if (o->settings_given && !json_output)
		fprintf(stderr, "Note: %s keeps its running settings; 'bpfmasq reload %s' applies its config file, 'bpfmasq down %s' first changes the rest\n",
			o->ifname, o->ifname, o->ifname);
	if (instance_pin(in))
		return 1;
	config_forwards_apply(c, in, true);
	pid = start_controller(in, o, c);
	if (pid < 0)
		return 1;
	if (!o->foreground)
		print_up(in, UP_ADOPTED, pid);
	return 0;
}

static void stop_controller(__u32 pid);

/*
 * Another build runs here: this one's programs take the place of its
 * programs over the same maps (keeping their settings: `reload` changes
 * them), then this build's controller takes over from the old one.  Maps
 * of another layout are never handed to these programs: refused, nothing
 * changed.
 */
static int upgrade(struct up_opts *o, const struct up_config *c,
		   struct instance *in)
{
	struct replace_opts ro = { .cfg = in->cfg };
	struct build_id running;
	struct nat_state st;
	char b[96];
	int pid;

	build_of(in, &running);
	build_str(&running, b, sizeof(b));
	if (build_may_take_over(in))
		return 1;
	if (o->settings_given && !json_output)
		fprintf(stderr, "Note: %s keeps its running settings; 'bpfmasq reload %s' applies its config file\n",
			o->ifname, o->ifname);
	ro.lan = in->prog_lan_fast_fd >= 0 || in->prog_lan_open_fd >= 0;
	if (instance_replace(in, &ro))
		return 1;
	/* The old controller holds the old programs (and would attach
	 * them to a LAN that comes back): it goes, this build's comes. */
	if (!instance_get_state(in, &st) &&
	    st.controller_pid != (__u32)getpid())
		stop_controller(st.controller_pid);
	config_forwards_apply(c, in, true);
	pid = start_controller(in, o, c);
	if (pid < 0)
		return 1;
	if (!json_output)
		fprintf(stderr, "%s: was bpfmasq %s\n", o->ifname, b);
	if (!o->foreground)
		print_up(in, UP_UPGRADED, pid);
	return 0;
}

static int instance_from_skel(struct instance *in, const struct up_opts *o,
			      struct bpfmasq_bpf *skel)
{
	instance_init(in);
	snprintf(in->ifname, sizeof(in->ifname), "%s", o->ifname);
	in->ifindex = o->ifindex;
	in->cfg = *skel->rodata;
	return instance_from_object(in, skel->obj);
}

int cmd_up(int argc, char **argv)
{
	struct bpfmasq_bpf *skel = NULL;
	struct nat_state st = {};
	struct instance in;
	struct up_config conf;
	struct up_opts o;
	__u32 mode, zero = 0;
	int err, pid, lan_up = 0, n_present = 0;
	const char *lan_present[BPFMASQ_MAX_LAN];
	bool tc_up = false, wan_up = false, own_clsact = false;
	__u8 one = 1;

	up_argc = argc;
	up_argv = argv;
	if (up_opts_load("up", argc, argv, false, &o, &conf))
		goto fail_conf;
	if (geteuid()) {
		p_err("must be run as root (loading BPF and attaching need CAP_BPF and CAP_NET_ADMIN)");
		goto fail_conf;
	}
	err = instance_find(o.ifname, &in);
	if (err < 0)
		goto fail_conf;
	if (err == INSTANCE_FOUND) {
		struct build_id running;

		build_of(&in, &running);
		err = build_same(&running, build_self()) ?
		      adopt(&o, &conf, &in) : upgrade(&o, &conf, &in);
		instance_close(&in);
		config_free(&conf);
		return err;
	}
	o.ifindex = in.ifindex;
	if (check_up(&o))
		goto fail_conf;
	warn_port_overlap(&o);
	warn_netfilter_masq(&o);

	skel = bpfmasq_bpf__open();
	if (!skel) {
		p_err("cannot open the BPF object: %s", strerror(errno));
		return 1;
	}
	skel->rodata->cfg_port_lo = o.ports.lo;
	skel->rodata->cfg_port_hi = o.ports.hi;
	skel->rodata->cfg_filter_cone = o.filter == FILTER_CONE;
	skel->rodata->cfg_match_all_sources = o.n_internal == 0;
	skel->rodata->cfg_lan_inbound = o.lan_inbound;
	skel->rodata->cfg_lan_new = o.lan_new;
	skel->rodata->cfg_wan_l3 = o.wan_layer == LINK_L3;
	skel->rodata->cfg_mss_clamp = o.mss_clamp;
	skel->rodata->cfg_conntrack = nf_ct_kfuncs_available();
	build_stamp(skel);
	for (int i = 0; i < ALG_MAX_PORTS; i++) {
		skel->rodata->cfg_ftp_ports[i] = o.ftp_ports[i];
		skel->rodata->cfg_irc_ports[i] = o.irc_ports[i];
	}
	/* A program that is loaded but attached nowhere lives only as long
	 * as its pin: one that a restarted controller could not find. */
	bpf_program__set_autoload(skel->progs.masq_lan_fast,
				  o.n_lan && !o.lan_new);
	bpf_program__set_autoload(skel->progs.masq_lan_open,
				  o.n_lan && o.lan_new);
	bpf_program__set_autoload(skel->progs.masq_wan_in,
				  o.wan_layer == LINK_ETHER);
	/* The controller loads these when an inside interface needs one. */
	bpf_program__set_autoload(skel->progs.masq_lan_hairpin, false);
	bpf_program__set_autoload(skel->progs.masq_hairpin_l3, false);
	bpf_map__set_max_entries(skel->maps.flows, 2 * o.max_flows);
	bpf_map__set_max_entries(skel->maps.binds, up_binds_entries(&o));
	err = bpfmasq_bpf__load(skel);
	if (err) {
		p_err("cannot load the BPF programs (%s); bpfmasq needs a kernel with BPF and BTF (/sys/kernel/btf/vmlinux); rerun with -d for the verifier log",
		      strerror(-err));
		goto fail;
	}

	st.timeout_tcp_est = o.timeout_tcp_est;
	st.timeout_tcp_trans = o.timeout_tcp_trans;
	st.timeout_udp = o.timeout_udp;
	st.timeout_icmp = o.timeout_icmp;
	st.ext_want = o.n_external ? o.external[0].addr : 0;
	/* The first peer: what a `status` of before several peers shows. */
	st.sync_peer = o.n_sync_peer ? o.sync_peer[0] : 0;
	st.sync_port = o.n_sync_peer ? o.sync_port : 0;
	st.ext_addr = wan_external(o.ifname, o.external, o.n_external);
	st.wan_ifindex = o.ifindex;
	snprintf(st.wan_name, sizeof(st.wan_name), "%s", o.ifname);
	if (o.no_hairpin)
		st.flags |= STATE_NO_HAIRPIN;
	for (int i = 0; i < o.n_lan; i++) {
		snprintf(st.lan_name[i], sizeof(st.lan_name[i]), "%s",
			 o.lan_name[i]);
		if (o.lan_ifindex[i]) {
			lan_present[n_present] = o.lan_name[i];
			st.lan_ifindex[n_present++] = o.lan_ifindex[i];
		}
	}
	for (int i = 0; i < o.n_internal; i++) {
		if (bpf_map__update_elem(skel->maps.internal_nets, &o.internal[i],
					 sizeof(o.internal[i]), &one, 1, BPF_ANY)) {
			p_err("cannot store --internal prefix: %s", strerror(errno));
			goto fail;
		}
	}

	err = ext_pool_write(bpf_map__fd(skel->maps.ext_pool), o.external,
			     o.n_external, if_has_ipv4, o.ifname);
	if (err) {
		p_err("cannot store the --external addresses: %s",
		      strerror(-err));
		goto fail;
	}

	/* Inbound first: once outbound translation starts, replies must
	 * already find their way back.  (On a layer-3 WAN inbound is tc
	 * ingress, attached before egress below.) */
	if (o.wan_layer == LINK_ETHER) {
		err = xdp_attach_any_mode(o.ifindex,
					  bpf_program__fd(skel->progs.masq_wan_in),
					  &mode);
		if (err) {
			p_err("cannot attach XDP to %s: %s", o.ifname,
			      strerror(-err));
			goto fail;
		}
		wan_up = true;
	}
	for (; lan_up < n_present; lan_up++)
		if (attach_lan(skel, &st, lan_up, lan_present[lan_up],
			       o.lan_inbound))
			goto fail;
	/* Record what exists so far: `down` removes what it lists. */
	if (bpf_map__update_elem(skel->maps.state, &zero, sizeof(zero), &st,
				 sizeof(st), BPF_ANY)) {
		p_err("cannot record the state of %s: %s", o.ifname,
		      strerror(errno));
		goto fail;
	}
	tc_up = true;
	err = tc_attach_wan(o.ifindex,
			    bpf_program__fd(skel->progs.masq_wan_in_tc),
			    bpf_program__fd(skel->progs.masq_wan_out),
			    &own_clsact);
	if (own_clsact) {
		st.flags |= STATE_OWN_CLSACT;
		if (bpf_map__update_elem(skel->maps.state, &zero, sizeof(zero),
					 &st, sizeof(st), BPF_ANY) && !err)
			err = -errno;
	}
	if (err) {
		p_err("cannot attach the tc programs to %s: %s", o.ifname,
		      strerror(-err));
		goto fail;
	}

	if (instance_from_skel(&in, &o, skel) || instance_pin(&in) ||
	    config_forwards_apply(&conf, &in, false))
		goto fail_pinned;
	pid = start_controller(&in, &o, &conf);
	if (pid < 0)
		goto fail_pinned;
	if (!o.foreground)
		print_up(&in, UP_NEW, pid);
	instance_close(&in);
	bpfmasq_bpf__destroy(skel);
	config_free(&conf);
	return 0;

fail_pinned:
	instance_unpin(o.ifname);
	instance_close(&in);
	hairpin_detach_all(o.ifindex);	/* a controller that failed may
					 * have started on them */
fail:
	for (int i = 0; i < lan_up; i++)
		detach_lan(&st, i);
	if (tc_up || own_clsact)
		tc_detach_ours(o.ifindex, st.flags & STATE_OWN_CLSACT);
	if (wan_up)
		xdp_detach_ours(o.ifindex, "masq_wan_in");
	bpfmasq_bpf__destroy(skel);
fail_conf:
	config_free(&conf);
	return 1;
}

static void stop_controller(__u32 pid)
{
	if (!controller_alive(pid))
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 30 && controller_alive(pid); i++)
		usleep(100 * 1000);
	if (controller_alive(pid))
		kill(pid, SIGKILL);
}

int cmd_down(int argc, char **argv)
{
	struct nat_state st = {};
	struct instance in;
	int err;

	if (argc != 2) {
		p_err("usage: bpfmasq down IFNAME");
		return 1;
	}
	if (geteuid()) {
		p_err("must be run as root (detaching needs CAP_NET_ADMIN)");
		return 1;
	}
	if (!if_nametoindex(argv[1]) &&
	    instance_find_gone(argv[1], &in) == INSTANCE_FOUND) {
		err = INSTANCE_FOUND;
	} else {
		err = instance_find(argv[1], &in);
		if (err < 0)
			return 1;
	}
	if (err == INSTANCE_NONE) {
		p_err("%s is not up (no bpfmasq program attached to it)", argv[1]);
		return 1;
	}
	if (instance_get_state(&in, &st)) {
		if (!json_output)
			fprintf(stderr, "Warning: cannot read the state of %s (%s); removing what is found without it\n",
				argv[1], strerror(errno));
	} else {
		/* Only the controller's last log line depends on it. */
		st.flags |= STATE_GOING_DOWN;
		instance_set_state(&in, &st);
	}
	stop_controller(st.controller_pid);
	detach_all(in.ifindex, &st);
	instance_unpin(in.ifname);
	instance_close(&in);
	if (json_output) {
		jw_start_object(&jw);
		jw_kv_string(&jw, "ifname", argv[1]);
		jw_kv_string(&jw, "status", "down");
		jw_end_object(&jw);
		jw_finish(&jw);
	} else {
		printf("%s: down\n", argv[1]);
	}
	return 0;
}
