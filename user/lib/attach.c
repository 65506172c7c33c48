// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "instance.h"
#include "nl.h"

int xdp_attach_any_mode(int ifindex, int prog_fd, __u32 *mode)
{
	__u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
	int err;

	*mode = XDP_FLAGS_DRV_MODE;
	err = bpf_xdp_attach(ifindex, prog_fd, flags | *mode, NULL);
	if (err == -EOPNOTSUPP || err == -EINVAL) {
		/* No native XDP in this driver: the generic hook still
		 * translates, only slower. */
		*mode = XDP_FLAGS_SKB_MODE;
		err = bpf_xdp_attach(ifindex, prog_fd, flags | *mode, NULL);
	}
	return err;
}

int xdp_replace(int ifindex, int old_fd, int new_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
	__u32 mode;

	if (!xdp_attached_id(ifindex, &mode))
		return -ENOENT;
	return bpf_xdp_attach(ifindex, new_fd, XDP_FLAGS_REPLACE | mode, &opts);
}

void xdp_detach_ours(int ifindex, const char *prog_name)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 mode, id = xdp_attached_id(ifindex, &mode);

	if (id && !prog_name_by_id(id, name, sizeof(name)) &&
	    !strcmp(name, prog_name))
		bpf_xdp_detach(ifindex, mode, NULL);
}

int lan_xdp_attach(int ifindex, int prog_fd, bool inbound)
{
	__u32 mode;
	int err = xdp_attach_any_mode(ifindex, prog_fd, &mode);

	if (err)
		return err;
	if (inbound && mode != XDP_FLAGS_DRV_MODE) {
		lan_xdp_detach(ifindex);
		return -EOPNOTSUPP;
	}
	return 0;
}

void lan_xdp_detach(int ifindex)
{
	xdp_detach_ours(ifindex, "masq_lan_fast");
	xdp_detach_ours(ifindex, "masq_lan_open");
}

int tc_hook_ensure(int ifindex, bool *own)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS);
	int err = bpf_tc_hook_create(&hook);

	*own = !err;
	return err == -EEXIST ? 0 : err;
}

static int tc_attach_flags(int ifindex, enum bpf_tc_attach_point point,
			   __u32 handle, int prog_fd, __u32 flags)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = BPFMASQ_TC_PRIO, .prog_fd = prog_fd,
			    .flags = flags);

	return bpf_tc_attach(&hook, &opts);
}

int tc_attach(int ifindex, enum bpf_tc_attach_point point, __u32 handle,
	      int prog_fd)
{
	return tc_attach_flags(ifindex, point, handle, prog_fd, 0);
}

int tc_replace(int ifindex, enum bpf_tc_attach_point point, __u32 handle,
	       int prog_fd)
{
	return tc_attach_flags(ifindex, point, handle, prog_fd,
			       BPF_TC_F_REPLACE);
}

/*
 * A clsact qdisc is shared: a bpfmasq process attaches to one another
 * made, and whoever made one removes it once it looks empty.  Looking and
 * removing, and making sure of one and attaching to it, are each one step
 * under this lock, or a filter could go with a qdisc removed under it.
 * Without the lock (no /run) we go on: the race is rare, not worth a
 * failed attach.
 */
int tc_lock(void)
{
	int fd;

	mkdir(BPFMASQ_RUN_DIR, 0755);
	fd = open(BPFMASQ_RUN_DIR "/tc.lock", O_RDWR | O_CREAT | O_CLOEXEC,
		  0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

void tc_unlock(int lock)
{
	if (lock >= 0)
		close(lock);	/* releases the flock */
}

int tc_attach_wan(int ifindex, int in_fd, int out_fd, bool *own)
{
	int lock = tc_lock(), err;
	bool made;

	err = tc_hook_ensure(ifindex, &made);
	*own |= made;
	if (!err)
		err = tc_attach(ifindex, BPF_TC_INGRESS, BPFMASQ_TC_HANDLE,
				in_fd);
	if (!err)
		err = tc_attach(ifindex, BPF_TC_EGRESS, BPFMASQ_TC_HANDLE,
				out_fd);
	tc_unlock(lock);
	return err;
}

__u32 tc_query(int ifindex, enum bpf_tc_attach_point point, __u32 handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = BPFMASQ_TC_PRIO);

	return bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

void tc_detach(int ifindex, enum bpf_tc_attach_point point, __u32 handle)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle,
			    .priority = BPFMASQ_TC_PRIO);

	bpf_tc_detach(&hook, &opts);
}

void tc_hook_destroy(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}

static int on_filter(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_type == RTM_NEWTFILTER)
		*(bool *)arg = true;
	return 0;
}

/* Any filter, anyone's, left on the clsact qdisc of ifindex (or unknown)? */
static bool tc_has_filters(int ifindex)
{
	static const __u32 parents[] = {
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
		TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
	};
	bool found = false;

	for (size_t i = 0; i < 2 && !found; i++) {
		struct tcmsg t = { .tcm_family = AF_UNSPEC,
				   .tcm_ifindex = ifindex,
				   .tcm_parent = parents[i] };

		if (nl_dump(RTM_GETTFILTER, &t, sizeof(t), on_filter, &found))
			return true;
	}
	return found;
}

/*
 * A clsact qdisc we created may since hold others' filters (another
 * instance's, a container runtime's): destroying it would take them too,
 * so it goes only once it is empty.
 */
void tc_hook_destroy_if_empty(int ifindex)
{
	int lock = tc_lock();

	if (!tc_has_filters(ifindex))
		tc_hook_destroy(ifindex);
	tc_unlock(lock);
}

void tc_detach_ours(int ifindex, bool own_clsact)
{
	tc_detach(ifindex, BPF_TC_EGRESS, BPFMASQ_TC_HANDLE);
	tc_detach(ifindex, BPF_TC_INGRESS, BPFMASQ_TC_HANDLE);
	if (own_clsact)
		tc_hook_destroy_if_empty(ifindex);
}

/* The kinds of link the data plane reads, by what `ip link` calls them. */
static const struct {
	unsigned short type;
	const char *name;
	enum link_layer layer;
} link_types[] = {
	{ ARPHRD_ETHER, "ether", LINK_ETHER },
	{ ARPHRD_PPP, "ppp", LINK_L3 },		/* PPP, PPPoE */
	{ ARPHRD_NONE, "none", LINK_L3 },	/* TUN, WireGuard */
	{ ARPHRD_RAWIP, "rawip", LINK_L3 },	/* WWAN modems */
	{ ARPHRD_TUNNEL, "ipip", LINK_L3 },
	{ ARPHRD_TUNNEL6, "tunnel6", LINK_L3 },	/* ip6tnl carries IPv4 too */
	{ ARPHRD_IPGRE, "gre", LINK_L3 },
	{ ARPHRD_LOOPBACK, "loopback", LINK_OTHER },
	{ ARPHRD_SIT, "sit", LINK_OTHER },	/* IPv6 only */
};

enum link_layer link_layer_of(unsigned short type, const char **name)
{
	static char buf[24];

	for (size_t i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++) {
		if (link_types[i].type == type) {
			if (name)
				*name = link_types[i].name;
			return link_types[i].layer;
		}
	}
	if (name) {
		snprintf(buf, sizeof(buf), "type %u", type);
		*name = buf;
	}
	return LINK_OTHER;
}

int link_type(const char *ifname)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	err = ioctl(fd, SIOCGIFHWADDR, &ifr) ? -errno : ifr.ifr_hwaddr.sa_family;
	close(fd);
	return err;
}
