// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <systemd/sd-daemon.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "controller.h"
#include "events.h"
#include "expiry.h"
#include "extpool.h"
#include "log.h"
#include "flowtable.h"
#include "hairpin.h"
#include "metrics_file.h"
#include "lan_follow.h"
#include "progload.h"
#include "stream.h"
#include "util.h"

static volatile sig_atomic_t stop_requested, reload_requested,
	resync_requested, upgrade_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else if (sig == CONTROLLER_SIG_RESYNC)
		resync_requested = 1;
	else if (sig == CONTROLLER_SIG_UPGRADE)
		upgrade_requested = 1;
	else
		stop_requested = 1;
}

static int netlink_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_LINK |
			     RTMGRP_IPV4_ROUTE | RTMGRP_NEIGH,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

enum nl_event {
	NL_NONE = 0,
	NL_ADDR = 1 << 0,	/* an IPv4 address of the WAN changed */
	NL_GONE = 1 << 1,	/* the WAN interface was deleted */
	NL_LOST = 1 << 2,	/* events overflowed: re-read everything */
	NL_ROUTE = 1 << 3,	/* a route, neighbour or link changed */
	NL_LINK = 1 << 4,	/* a link or route came or went */
	NL_BACK = 1 << 5,	/* an interface of the WAN's name appeared */
};

/* The interface name an RTM_NEWLINK carries, or NULL. */
static const char *link_name(struct nlmsghdr *nh)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = IFLA_PAYLOAD(nh);
	struct rtattr *a;

	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME)
			return RTA_DATA(a);
	return NULL;
}

static int netlink_read(int fd, const struct instance *in)
{
	char buf[16384] __attribute__((aligned(4)));
	int events = NL_NONE;
	ssize_t len;

	while ((len = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == RTM_NEWADDR ||
			    nh->nlmsg_type == RTM_DELADDR) {
				struct ifaddrmsg *ifa = NLMSG_DATA(nh);

				if ((int)ifa->ifa_index == in->ifindex)
					events |= NL_ADDR;
			} else if (nh->nlmsg_type == RTM_DELLINK) {
				struct ifinfomsg *ifi = NLMSG_DATA(nh);

				if (ifi->ifi_index == in->ifindex)
					events |= NL_GONE;
			} else if (nh->nlmsg_type == RTM_NEWLINK) {
				struct ifinfomsg *ifi = NLMSG_DATA(nh);
				const char *name = link_name(nh);

				if (ifi->ifi_index != in->ifindex && name &&
				    !strcmp(name, in->ifname))
					events |= NL_BACK;
			}
			if (nh->nlmsg_type == RTM_NEWROUTE ||
			    nh->nlmsg_type == RTM_DELROUTE ||
			    nh->nlmsg_type == RTM_NEWLINK ||
			    nh->nlmsg_type == RTM_DELLINK)
				events |= NL_ROUTE | NL_LINK;
			if (nh->nlmsg_type == RTM_NEWNEIGH ||
			    nh->nlmsg_type == RTM_DELNEIGH)
				events |= NL_ROUTE;
		}
	}
	if (len < 0 && errno == ENOBUFS)
		events |= NL_LOST | NL_ADDR | NL_ROUTE | NL_LINK;
	return events;
}

/*
 * The WAN beyond what the state map says.  A PPP reconnect or a VPN
 * restart deletes the interface and creates it again under the same name,
 * and its address often comes a moment after the link: while the WAN has
 * no address, the flows of its last one are kept (translation stops,
 * nothing leaves untranslated), and they carry on if that address comes
 * back.  Another address flushes them, as a changed address always has
 * (the flows on the old one cannot work any more).  Whether the address
 * went with the interface or alone makes no difference, and must not:
 * the kernel reports the address gone before the interface, and the two
 * may be read apart.  An --external address that leaves the WAN has moved
 * to a peer gateway and may come back (failback).
 */
struct wan {
	bool gone;		/* deleted, not back yet */
	__be32 kept_addr;	/* whose flows wait for it */
	/* The --external pool as last followed (n_pool -1: not yet): an
	 * address a reload took out of it has its connections flushed. */
	struct ext_spec pool[BPFMASQ_MAX_EXT];
	int n_pool;
};

/*
 * Each address of the pool on the WAN or not, as it is now; the flows of
 * addresses a reload took out of the pool flushed.  False when the data
 * plane could not be told.
 */
static bool follow_pool(struct instance *in, struct wan *w, __be32 current,
			struct ext_spec *pool, int *n, struct stream *events)
{
	__u8 flags[BPFMASQ_MAX_EXT];
	char a[INET_ADDRSTRLEN];

	*n = ext_pool_read(in->ext_pool_fd, pool, flags, BPFMASQ_MAX_EXT);
	if (*n < 0) {
		log_err("%s: cannot read the --external addresses: %s",
			in->ifname, strerror(-*n));
		return false;
	}
	for (int i = 0; i < *n; i++) {
		bool on = !w->gone && if_has_ipv4(in->ifname, pool[i].addr);

		if (on == !!(flags[i] & EXT_ON_WAN))
			continue;
		if (ext_pool_set_on_wan(in->ext_pool_fd, pool[i].addr, on)) {
			log_err("%s: cannot tell the data plane that %s %s: %s; retrying",
				in->ifname, fmt_addr(a, pool[i].addr),
				on ? "came" : "left", strerror(errno));
			return false;
		}
		/* The first one's coming and going is the external
		 * address's (follow_address()). */
		if (!i)
			continue;
		if (on)
			log_msg("%s: %s (--external) is on %s: its connections translate here",
				in->ifname, fmt_addr(a, pool[i].addr), in->ifname);
		else
			log_msg("%s: %s (--external) has left %s (moved to a peer?): keeping its connections until it is back",
				in->ifname, fmt_addr(a, pool[i].addr), in->ifname);
	}
	for (int i = 0; i < w->n_pool; i++) {
		unsigned int flushed = 0;

		/* (The address new connections take, or took last, is
		 * follow_address()'s to flush once another one comes.) */
		if (ext_spec_find(pool, *n, w->pool[i].addr) >= 0 ||
		    w->pool[i].addr == current)
			continue;
		flows_flush(in->flows_fd, in->binds_fd, w->pool[i].addr,
			    &flushed, stream_sink(events));
		log_msg("%s: %s is no --external address any more: flushed %u connections on it",
			in->ifname, fmt_addr(a, w->pool[i].addr), flushed);
	}
	memcpy(w->pool, pool, *n * sizeof(pool[0]));
	w->n_pool = *n;
	return true;
}

/* False when the data plane could not be told: try again.  What it
 * flushes goes into the event stream (events may be NULL). */
static bool follow_address(struct instance *in, struct wan *w,
			   struct stream *events)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct ext_spec pool[BPFMASQ_MAX_EXT];
	unsigned int flushed = 0;
	struct nat_state st;
	__be32 now_addr, old;
	int n;

	if (instance_get_state(in, &st)) {
		log_err("%s: cannot read the state: %s", in->ifname,
			strerror(errno));
		return false;
	}
	if (!follow_pool(in, w, st.ext_addr ? st.ext_addr : w->kept_addr,
			 pool, &n, events))
		return false;
	now_addr = w->gone ? 0 : wan_external(in->ifname, pool, n);
	if (st.ext_addr == now_addr)
		return true;
	log_msg("%s: external address %s -> %s", in->ifname,
	      st.ext_addr ? fmt_addr(a, st.ext_addr) : "none",
	      now_addr ? fmt_addr(b, now_addr) : "none (translation stopped)");
	old = st.ext_addr ? st.ext_addr : w->kept_addr;
	st.ext_addr = now_addr;
	if (instance_set_state(in, &st)) {
		log_err("%s: cannot hand the new address to the data plane: %s; retrying",
			in->ifname, strerror(errno));
		return false;
	}
	if (!now_addr) {
		w->kept_addr = old;
		if (ext_spec_find(pool, n, old) >= 0)
			log_msg("%s: %s has left %s (moved to a peer?): keeping its connections until it is back",
				in->ifname, fmt_addr(a, old), in->ifname);
		else
			log_msg("%s: keeping the connections on %s until %s has an address again",
				in->ifname, fmt_addr(a, old), in->ifname);
		return true;
	}
	w->kept_addr = 0;
	/* Forwards are the first --external address's (with a pool, those
	 * on its other addresses are peers' and stay). */
	bindings_move_static(in->binds_fd, n ? pool[0].addr : now_addr,
			     pool, n);
	if (old == now_addr) {
		log_msg("%s: %s is back; its connections carry on", in->ifname,
			fmt_addr(a, old));
	} else if (old && ext_spec_find(pool, n, old) < 0) {
		flows_flush(in->flows_fd, in->binds_fd, old, &flushed,
			    stream_sink(events));
		log_msg("%s: flushed %u connections on %s", in->ifname, flushed,
		      fmt_addr(a, old));
	}
	return true;
}

/*
 * The WAN came back under a new ifindex: attach the same programs to it
 * (they live on in the controller's fds, with every map), so that the
 * flows kept meanwhile carry on.  false (logged) when it cannot be served.
 */
static bool wan_reattach(struct instance *in, struct wan *w)
{
	int ifindex = if_nametoindex(in->ifname), old = in->ifindex, err = 0;
	enum link_layer layer;
	const char *type;
	struct nat_state st;
	bool own = false;
	__u32 mode;
	int t;

	if (!ifindex)
		return false;
	t = link_type(in->ifname);
	layer = t < 0 ? LINK_OTHER : link_layer_of(t, &type);
	if (layer != (in->cfg.cfg_wan_l3 ? LINK_L3 : LINK_ETHER)) {
		log_err("%s: came back as ifindex %d, a link/%s interface, but the data plane was loaded for %s; run 'bpfmasq down %s' and up again",
			in->ifname, ifindex, t < 0 ? "?" : type,
			in->cfg.cfg_wan_l3 ? "a layer-3 link" : "Ethernet",
			in->ifname);
		return false;
	}
	/* Inbound first, as `up` does. */
	if (layer == LINK_ETHER)
		err = xdp_attach_any_mode(ifindex, in->prog_in_fd, &mode);
	if (!err)
		err = tc_attach_wan(ifindex, in->prog_in_tc_fd,
				    in->prog_out_fd, &own);
	if (err || instance_get_state(in, &st)) {
		log_msg("%s: came back as ifindex %d but cannot be attached to: %s",
			in->ifname, ifindex, strerror(err ? -err : errno));
		xdp_detach_ours(ifindex, "masq_wan_in");
		tc_detach_ours(ifindex, own);
		return false;
	}
	st.wan_ifindex = ifindex;
	st.route_gen++;
	st.flags = (st.flags & ~STATE_OWN_CLSACT) | (own ? STATE_OWN_CLSACT : 0);
	if (instance_set_state(in, &st))
		log_err("%s: cannot record the new ifindex: %s", in->ifname,
			strerror(errno));
	in->ifindex = ifindex;
	w->gone = false;
	log_msg("%s: back as ifindex %d (was %d); programs attached again",
		in->ifname, ifindex, old);
	/* The hairpin filters are named after the WAN's ifindex. */
	hairpin_detach_all(old);
	return true;
}

/* The fast path's cached next hops may be wrong now: one batch of news
 * invalidates them all at once (struct flow_nexthop).  False when the
 * data plane could not be told: try again. */
static bool routes_changed(struct instance *in)
{
	struct nat_state st;

	if (!instance_get_state(in, &st)) {
		st.route_gen++;
		if (!instance_set_state(in, &st))
			return true;
	}
	log_err("%s: cannot invalidate cached next hops: %s; retrying",
		in->ifname, strerror(errno));
	return false;
}

/*
 * Expiry by queue (user/lib/expiry.h) while the event stream has told of
 * every connection; by a walk of the whole table where it may not have
 * (at start, after lost records, after a reload), or where the kernel
 * cannot run the queue's program at all.
 */
struct expirer {
	struct expiry *q;	/* NULL: walk every time */
	bool walk;		/* the queue may miss connections */
	__u64 next_binds;	/* ms */
};

/* The connection event stream's records as the queue needs them. */
static void expirer_event(void *ctx, const struct conn_event *r)
{
	struct expirer *x = ctx;
	struct flow_key k = { .saddr = r->in_addr, .daddr = r->rem_addr,
			      .sport = r->in_port, .dport = r->rem_port,
			      .proto = r->proto, .dir = DIR_OUT };

	if (!x->q)
		return;
	if (r->type == CE_FLOW_NEW)
		expiry_add_new(x->q, &k, now_coarse_ns());
	else if (r->type == CE_LOST)
		x->walk = true;
}

/* A connection a peer gateway's record added (state sync). */
static void expirer_synced(void *ctx, const struct flow_key *out_key)
{
	struct expirer *x = ctx;

	if (x->q)
		expiry_add_new(x->q, out_key, now_coarse_ns());
}

/* The instance's maps or timeouts may have changed (reload, SIGUSR1). */
static void expirer_follow(struct instance *in, struct expirer *x)
{
	struct nat_state st;
	int err;

	if (!x->q)
		return;
	err = expiry_follow(x->q, in);
	if (err < 0) {
		log_err("%s: cannot load the expiry program again (%s); walking the table instead",
			in->ifname, strerror(-err));
		expiry_close(x->q);
		x->q = NULL;
		return;
	}
	/* A new table was filled by copying, not through the stream; with
	 * new timeouts, what is queued is due at the wrong time. */
	if (err || (!instance_get_state(in, &st) &&
		    expiry_set_timeouts(x->q, &st)))
		x->walk = true;
}

/* The small ALG maps, and the bindings unless a walk just freed them: at
 * most every BIND_GC_INTERVAL_MS. */
static void expire_bindings(struct instance *in, struct expirer *x,
			    struct stream *events, __u64 now_ns, bool walked)
{
	struct expire_result r = {};

	if (x->q && !walked && bindings_expire(in->binds_fd, x->q, now_ns, &r,
				    stream_sink(events)))
		log_msg("%s: binding expiry failed: %s", in->ifname,
			strerror(errno));
	else if (r.expectations_expired)
		stats_add(in->stats_fd, CNT_EXPECT_EXPIRED,
			  r.expectations_expired);
	if (in->seqadj_fd >= 0)
		flow_keyed_gc(in->seqadj_fd, sizeof(struct flow_seqadj),
			      in->flows_fd);
	if (in->alg_handed_fd >= 0)
		flow_keyed_gc(in->alg_handed_fd, sizeof(__u32), in->flows_fd);
	if (in->alg_sent_fd >= 0)
		flow_keyed_gc(in->alg_sent_fd, sizeof(__u32), in->flows_fd);
}

/* One round of expiry; returns the milliseconds to the next. */
static __u64 expire(struct instance *in, struct expirer *x,
		    struct stream *events)
{
	__u64 now_ns = now_coarse_ns(), now = now_ns / 1000000;
	bool binds = now >= x->next_binds;
	struct expire_result r = {};
	bool walked = !x->q || x->walk;
	struct nat_state st;
	int err;

	if (instance_get_state(in, &st))
		return EXPIRE_INTERVAL_MIN_MS;
	if (walked) {
		err = flows_expire(in->flows_fd, in->binds_fd, &st, now_ns,
				   binds, &r, stream_sink(events), x->q);
		if (err) {
			log_msg("%s: flow expiry failed: %s", in->ifname,
				strerror(-err));
			return EXPIRE_INTERVAL_MIN_MS;
		}
		if (x->q) {
			expiry_set_timeouts(x->q, &st);
			x->walk = false;
		}
		if (r.expectations_expired)
			stats_add(in->stats_fd, CNT_EXPECT_EXPIRED,
				  r.expectations_expired);
	} else {
		err = expiry_run(x->q, now_ns, &r, stream_sink(events));
		if (err) {
			log_err("%s: the kernel refused the expiry program (%s); walking the table instead",
				in->ifname, strerror(-err));
			expiry_close(x->q);
			x->q = NULL;
		}
	}
	if (binds) {
		expire_bindings(in, x, events, now_ns, walked);
		x->next_binds = now + BIND_GC_INTERVAL_MS;
	}
	if (walked)
		stats_add(in->stats_fd, CNT_EXPIRY_WALKS, 1);
	if (r.checked)
		stats_add(in->stats_fd, CNT_EXPIRY_CHECKED, r.checked);
	if (r.conns_expired)
		stats_add(in->stats_fd, CNT_CONNS_EXPIRED, r.conns_expired);
	if (r.conns_expired || r.half_pairs || r.bindings_freed)
		p_debug("%s: expired %u connections, %u half pairs, %u bindings",
			in->ifname, r.conns_expired, r.half_pairs,
			r.bindings_freed);
	if (!x->q)
		return expire_interval_ms(&st);
	return expiry_wait_ms(x->q, now_coarse_ns(), EXPIRE_INTERVAL_MAX_MS);
}

/* from == 0: take over unconditionally (the previous one is gone), and
 * forget an unfinished `down`.  -1 with errno set when the state could
 * not be read or written. */
static int set_controller_pid(struct instance *in, __u32 from, __u32 to)
{
	struct nat_state st;

	if (instance_get_state(in, &st))
		return -1;
	if (from && st.controller_pid != from)
		return 0;
	st.controller_pid = to;
	if (!from)
		st.flags &= ~STATE_GOING_DOWN;
	return instance_set_state(in, &st);
}

/* What stays behind a controller that stops, for its last log line. */
static const char *left_behind(const struct instance *in, bool gone)
{
	struct nat_state st;

	if (gone)
		return "the interface and its programs are gone";
	if (!instance_get_state(in, &st) && (st.flags & STATE_GOING_DOWN))
		return "'bpfmasq down' removes the programs, pins and flows";
	return "programs and flows stay in place ('bpfmasq up' adopts them, 'bpfmasq down' removes them)";
}

static __u32 anchor_of(const struct instance *in)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = in->prog_in_fd >= 0 ? in->prog_in_fd : in->prog_in_tc_fd;

	return fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * `bpfmasq reload` swapped the programs (a setting of their .rodata, a
 * table's size): the controller goes on with the new ones, their maps and
 * their settings, found as `status` finds them.
 */
static void follow_programs(struct instance *in)
{
	struct instance nin;
	bool xdp;
	__u32 now = instance_anchor_id(in->ifindex, &xdp);

	if (!now || now == anchor_of(in))
		return;
	if (instance_find(in->ifname, &nin) != INSTANCE_FOUND) {
		log_err("%s: the programs were replaced but the new ones cannot be opened; keeping the old ones' maps",
			in->ifname);
		return;
	}
	instance_close(in);
	*in = nin;
	log_msg("%s: following the programs a reload loaded (anchor id %u)",
		in->ifname, now);
}

/* The events ring goes with the maps: opened again when they changed. */
static void events_follow(struct instance *in, struct events **ev,
			  __u32 *ev_anchor)
{
	if (anchor_of(in) == *ev_anchor)
		return;
	events_close(*ev);
	*ev = events_open(in);
	*ev_anchor = anchor_of(in);
	if (!*ev)
		log_err("%s: cannot read data plane events (%s)", in->ifname,
			strerror(errno));
}

/*
 * After a reload: the --lan names and STATE_NO_HAIRPIN may have changed,
 * and the programs with their maps.  Returns whether hairpinning is on now.
 */
static bool resync(struct instance *in, bool hairpin)
{
	struct nat_state st;
	bool want;

	follow_programs(in);
	lan_sync_reset();
	lan_sync(in);
	sync_note_forwards();
	if (instance_get_state(in, &st))
		return hairpin;
	want = !(st.flags & STATE_NO_HAIRPIN);
	if (want && !hairpin) {
		hairpin = hairpin_sync(in) >= 0;
		log_msg("%s: hairpinning %s", in->ifname,
			hairpin ? "on" : "cannot start");
	} else if (!want && hairpin) {
		hairpin_detach_all(in->ifindex);
		log_msg("%s: hairpinning off (no-hairpin)", in->ifname);
		hairpin = false;
	} else if (hairpin) {
		hairpin_sync(in);
	}
	return hairpin;
}

/* SIGHUP: the same reload as `bpfmasq reload`, told to the service
 * manager around it (Type=notify, sd_notify(3)'s RELOADING=1). */
static bool reload(struct instance *in, const struct controller_opts *opts,
		   bool hairpin)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
		   ts.tv_nsec / 1000);
	if (!opts->reload || !opts->config_path) {
		log_err("%s: SIGHUP: no config file to reload", in->ifname);
	} else {
		log_msg("%s: SIGHUP: reloading %s", in->ifname,
			opts->config_path);
		if (opts->reload(in, opts->config_path))
			log_err("%s: reload refused; nothing changed", in->ifname);
		else
			hairpin = resync(in, hairpin);
	}
	sd_notifyf(0, "READY=1\nSTATUS=masquerading on %s", in->ifname);
	return hairpin;
}

/*
 * Another build's reload swapped the programs: become that build, by
 * executing the binary's path again (a package upgrade put the new build
 * there) with the `up` that started this controller; it adopts the
 * instance, whose controller pid is still this process's.  Returns only
 * when that cannot be done (logged): then this controller goes on.
 */
static void exec_new_build(struct instance *in,
			   const struct controller_opts *opts,
			   const sigset_t *unblocked, struct events *ev, int nl)
{
	if (!opts->exec_argv) {
		log_err("%s: asked to run the new build, but no command is known to start it; restart with 'bpfmasq up %s'",
			in->ifname, in->ifname);
		return;
	}
	log_msg("%s: the programs were upgraded; executing %s to run their build",
		in->ifname, opts->exec_argv[0]);
	events_close(ev);
	close(nl);
	/* The signal mask is inherited: the new controller blocks and
	 * unblocks these itself. */
	sigprocmask(SIG_SETMASK, unblocked, NULL);
	execv(opts->exec_argv[0], opts->exec_argv);
	log_err("%s: cannot execute %s: %s; the old controller stops, 'bpfmasq up %s' starts the new one",
		in->ifname, opts->exec_argv[0], strerror(errno), in->ifname);
	/* Its events ring and netlink socket are closed: it cannot go on. */
	set_controller_pid(in, getpid(), 0);
	_exit(1);
}

/* The first hairpin sync; false (logged) when it cannot be done. */
static bool hairpin_start(struct instance *in)
{
	struct nat_state st;
	int n;

	if (instance_get_state(in, &st) || (st.flags & STATE_NO_HAIRPIN))
		return false;
	n = hairpin_sync(in);
	if (n == 0)
		log_msg("%s: no inside interface to hairpin on yet", in->ifname);
	return n >= 0;
}

int controller_run(struct instance *in, int ready_fd,
		   const struct controller_opts *opts)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t handled, unblocked;
	struct stream *events = NULL;
	struct sync *sync = NULL;
	struct events *ev;
	__u32 ev_anchor;
	__u64 next_expire = 0, next_metrics = 0, wait_ms;
	struct expirer x = { .walk = true };
	bool metrics_failing = false;
	bool addr_pending, routes_pending = false;
	struct wan w = { .n_pool = -1 };
	int nl, nl_events;
	bool hairpin;
	struct nat_state st;
	struct timespec ts;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(CONTROLLER_SIG_RESYNC, &sa, NULL);
	sigaction(CONTROLLER_SIG_UPGRADE, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Taken only inside ppoll(), so that one arriving just before it
	 * wakes it rather than waiting for the next expiry walk. */
	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, CONTROLLER_SIG_RESYNC);
	sigaddset(&handled, CONTROLLER_SIG_UPGRADE);
	sigprocmask(SIG_BLOCK, &handled, &unblocked);

	nl = netlink_open();
	if (nl < 0) {
		log_err("cannot open rtnetlink: %s", strerror(errno));
		return 1;
	}
	/* `down` finds the controller to stop by this. */
	if (set_controller_pid(in, 0, getpid())) {
		log_err("%s: cannot record the controller in the state map: %s",
			in->ifname, strerror(errno));
		close(nl);
		return 1;
	}
	/* Before anything it removes, and before `up` returns: a monitor
	 * started then finds the socket. */
	events = stream_open(in, opts->log_mappings);
	/* What the stream publishes is what the peer needs. */
	if (opts->sync.n_peers) {
		sync = sync_open(in, &opts->sync);
		stream_tap(events, sync_event, sync);
	}
	/* New connections reach the expiry queue through the stream; with
	 * no stream, or no kernel support for its program, walking it is. */
	x.q = events ? expiry_open(in) : NULL;
	if (x.q && stream_tap(events, expirer_event, &x)) {
		expiry_close(x.q);
		x.q = NULL;
	}
	sync_on_flow(sync, expirer_synced, &x);
	if (!x.q)
		log_msg("%s: expiry walks the table every few seconds (%s)",
			in->ifname, events ? strerror(errno) : "no event stream");
	/* An address change while nobody watched is caught up on now. */
	addr_pending = !follow_address(in, &w, events);
	lan_sync(in);
	hairpin = hairpin_start(in);
	if (!hairpin && !instance_get_state(in, &st) &&
	    !(st.flags & STATE_NO_HAIRPIN)) {
		log_err("%s: cannot hairpin, stopping", in->ifname);
		set_controller_pid(in, getpid(), 0);
		close(nl);
		return 1;
	}
	log_msg("%s: controller running", in->ifname);
	/* Under systemd (Type=notify): every program was attached before
	 * the controller started, so from here on traffic is translated. */
	sd_notifyf(0, "READY=1\nSTATUS=masquerading on %s", in->ifname);
	if (ready_fd >= 0) {
		char ok = 1;

		if (write(ready_fd, &ok, 1) != 1)
			log_err("cannot signal readiness: %s", strerror(errno));
		close(ready_fd);
	}

	ev = events_open(in);
	ev_anchor = anchor_of(in);
	if (!ev)
		log_err("%s: cannot read data plane events (%s); port exhaustion gets no ICMP answer",
			in->ifname, strerror(errno));
	while (!stop_requested) {
		struct pollfd pfd[2 + STREAM_MAX_POLLFDS + SYNC_MAX_POLLFDS] = {
			{ .fd = nl, .events = POLLIN },
			{ .fd = ev ? events_fd(ev) : -1, .events = POLLIN },
		};
		__u64 now = now_coarse_ns() / 1000000;
		int npfd, nsync;

		if (reload_requested) {
			reload_requested = 0;
			stream_reopen(events);
			hairpin = reload(in, opts, hairpin);
			addr_pending = true;
			events_follow(in, &ev, &ev_anchor);
			expirer_follow(in, &x);
		}
		if (upgrade_requested) {
			upgrade_requested = 0;
			exec_new_build(in, opts, &unblocked, ev, nl);
		}
		if (resync_requested) {
			resync_requested = 0;
			hairpin = resync(in, hairpin);
			addr_pending = true;	/* --external may have changed */
			events_follow(in, &ev, &ev_anchor);
			expirer_follow(in, &x);
		}
		if (now >= next_expire)
			next_expire = now + expire(in, &x, events);
		if (opts->metrics_file && now >= next_metrics) {
			metrics_file_tick(in, opts->metrics_file,
					  &metrics_failing);
			next_metrics = now + METRICS_FILE_INTERVAL_MS;
		}
		if (addr_pending)
			addr_pending = !follow_address(in, &w, events);
		if (routes_pending)
			routes_pending = !routes_changed(in);
		events_tick(ev);
		stream_tick(events);
		sync_tick(sync);
		/* A connection queued since may be due before the next
		 * round the last one planned. */
		if (x.q && !x.walk && next_expire > now)
			next_expire = now + expiry_wait_ms(x.q, now_coarse_ns(),
							   next_expire - now);
		wait_ms = next_expire - now;
		if (opts->metrics_file && next_metrics - now < wait_ms)
			wait_ms = next_metrics - now;
		wait_ms = events_timeout_ms(ev, wait_ms);
		wait_ms = stream_timeout_ms(events, wait_ms);
		wait_ms = sync_timeout_ms(sync, wait_ms);
		ts.tv_sec = wait_ms / 1000;
		ts.tv_nsec = (wait_ms % 1000) * 1000000;
		npfd = stream_pollfds(events, pfd + 2, STREAM_MAX_POLLFDS);
		nsync = sync_pollfds(sync, pfd + 2 + npfd, SYNC_MAX_POLLFDS);
		if (ppoll(pfd, 2 + npfd + nsync, &ts, &unblocked) <= 0)
			continue;
		if (pfd[1].revents)
			events_consume(ev);
		stream_dispatch(events, pfd + 2, npfd);
		sync_dispatch(sync, pfd + 2 + npfd, nsync);
		if (!pfd[0].revents)
			continue;
		nl_events = netlink_read(nl, in);
		if (nl_events & NL_GONE) {
			/* With it went every program attached to it; the
			 * controller's fds keep programs and maps alive. */
			log_msg("%s: interface removed (ifindex %d); keeping its connections and waiting for it to come back",
				in->ifname, in->ifindex);
			w.gone = true;
			nl_events |= NL_ADDR;
		}
		if ((nl_events & NL_BACK) && wan_reattach(in, &w))
			nl_events |= NL_ADDR | NL_LINK;
		if (nl_events & NL_ROUTE)
			routes_pending = !routes_changed(in);
		if (nl_events & NL_LINK) {
			/* A reload's swap is a link change: never attach
			 * or load a program of the generation it replaced. */
			follow_programs(in);
			events_follow(in, &ev, &ev_anchor);
			expirer_follow(in, &x);
			lan_sync(in);
		}
		if ((nl_events & NL_LINK) && hairpin)
			hairpin_sync(in);
		if (nl_events & NL_ADDR)
			addr_pending = !follow_address(in, &w, events);
	}
	sd_notify(0, "STOPPING=1");
	sigprocmask(SIG_SETMASK, &unblocked, NULL);
	events_close(ev);
	if (!instance_get_state(in, &st) && (st.flags & STATE_GOING_DOWN))
		stream_all_gone(events, in->flows_fd, in->binds_fd);
	stream_untap(events, sync);
	stream_untap(events, &x);
	expiry_close(x.q);
	x.q = NULL;
	sync_close(sync);
	stream_close(events);
	if (set_controller_pid(in, getpid(), 0))
		log_err("%s: cannot clear the controller's pid in the state map: %s",
			in->ifname, strerror(errno));
	log_msg("%s: controller stopped; %s", in->ifname,
		left_behind(in, w.gone));
	close(nl);
	return 0;
}
