// SPDX-License-Identifier: GPL-2.0
/*
 * Which interfaces are inside: the --lan ones, and every interface with a
 * route into an --internal prefix; with no --internal (every source but
 * the WAN address is inside), every interface but the WAN, loopback,
 * ports of a bridge or bond (their master sees the packets) and the WAN
 * of another bpfmasq instance.  Ethernet interfaces get masq_lan_hairpin,
 * layer-3 ones (a VPN of inside hosts) masq_hairpin_l3.  The controller asks again on every link
 * or route change, so interfaces that come later (a container's bridge,
 * a VPN) are served too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "hairpin.h"
#include "log.h"
#include "nl.h"
#include "progload.h"

/*
 * The filter's handle names its instance (the WAN's ifindex) and says
 * whether we created the clsact qdisc.  So `down`, `status` and a
 * restarted controller read what is attached where from the kernel
 * itself, and no list of interfaces can go stale.
 */
#define HANDLE_HAIRPIN		0x80000000U
#define HANDLE_OWN_QDISC	0x40000000U
#define HANDLE_WAN_MASK		0x3fffffffU

static __u32 handle_of(int wan, bool own)
{
	return HANDLE_HAIRPIN | (own ? HANDLE_OWN_QDISC : 0) |
	       ((__u32)wan & HANDLE_WAN_MASK);
}

/* The program id of wan's hairpin filter on ifindex, 0 if none; *own:
 * we created the qdisc it hangs on. */
static __u32 hairpin_on(int ifindex, int wan, bool *own)
{
	__u32 id = tc_query(ifindex, BPF_TC_INGRESS, handle_of(wan, false));

	*own = false;
	if (id)
		return id;
	id = tc_query(ifindex, BPF_TC_INGRESS, handle_of(wan, true));
	*own = id != 0;
	return id;
}

/* Is ifindex the WAN of a bpfmasq instance? */
static bool is_bpfmasq_wan(int ifindex)
{
	bool xdp;

	return instance_anchor_id(ifindex, &xdp) != 0;
}

static void hairpin_off(int ifindex, int wan)
{
	bool own;

	if (!hairpin_on(ifindex, wan, &own))
		return;
	tc_detach(ifindex, BPF_TC_INGRESS, handle_of(wan, own));
	if (own)
		tc_hook_destroy_if_empty(ifindex);
}

static int hairpin_attach(int ifindex, int wan, int prog_fd)
{
	int lock = tc_lock(), err;
	bool own;

	err = tc_hook_ensure(ifindex, &own);
	if (!err)
		err = tc_attach(ifindex, BPF_TC_INGRESS, handle_of(wan, own),
				prog_fd);
	tc_unlock(lock);
	if (err && own)
		tc_hook_destroy_if_empty(ifindex);
	return err;
}

/* ---- what rtnetlink says -------------------------------------------- */

struct link {
	int ifindex;
	bool eligible;		/* may be inside at all */
	bool inside;
	bool l3;		/* no Ethernet header: masq_hairpin_l3 */
};

struct links {
	struct link *v;
	int n, cap;
};

static struct link *link_find(struct links *l, int ifindex)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i].ifindex == ifindex)
			return &l->v[i];
	return NULL;
}

static int on_link(const struct nlmsghdr *nh, void *arg)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = IFLA_PAYLOAD(nh);
	struct links *l = arg;
	struct rtattr *a;
	bool enslaved = false;
	enum link_layer layer;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_MASTER)
			enslaved = true;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		struct link *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	layer = link_layer_of(ifi->ifi_type, NULL);
	l->v[l->n++] = (struct link){
		.ifindex = ifi->ifi_index,
		.eligible = !(ifi->ifi_flags & IFF_LOOPBACK) && !enslaved &&
			    layer != LINK_OTHER,
		.l3 = layer == LINK_L3,
	};
	return 0;
}

struct route_scan {
	struct links *links;
	struct internal_key *nets;
	int n_nets;
};

/* Do the prefixes a/alen and b/blen overlap? */
static bool overlap(__be32 a, __u32 alen, __be32 b, __u32 blen)
{
	__u32 len = alen < blen ? alen : blen;
	__u32 mask = len ? ~0U << (32 - len) : 0;

	return !((ntohl(a) ^ ntohl(b)) & mask);
}

static void mark_inside(struct route_scan *rs, int oif)
{
	struct link *k = link_find(rs->links, oif);

	if (k)
		k->inside = true;
}

static int on_route(const struct nlmsghdr *nh, void *arg)
{
	struct rtmsg *rt = NLMSG_DATA(nh);
	int len = RTM_PAYLOAD(nh), oif = 0;
	struct route_scan *rs = arg;
	struct rtnexthop *hops = NULL;
	int hops_len = 0;
	__u32 table = rt->rtm_table;
	__be32 dst = 0;
	struct rtattr *a;
	bool hit = false;

	if (nh->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET ||
	    rt->rtm_type != RTN_UNICAST || !rt->rtm_dst_len)
		return 0;
	for (a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_DST)
			memcpy(&dst, RTA_DATA(a), sizeof(dst));
		else if (a->rta_type == RTA_OIF)
			memcpy(&oif, RTA_DATA(a), sizeof(oif));
		else if (a->rta_type == RTA_TABLE)
			memcpy(&table, RTA_DATA(a), sizeof(table));
		else if (a->rta_type == RTA_MULTIPATH) {
			hops = RTA_DATA(a);
			hops_len = RTA_PAYLOAD(a);
		}
	}
	if (table == RT_TABLE_LOCAL)
		return 0;
	for (int i = 0; i < rs->n_nets && !hit; i++)
		hit = overlap(dst, rt->rtm_dst_len, rs->nets[i].addr,
			      rs->nets[i].prefixlen);
	if (!hit)
		return 0;
	if (oif)
		mark_inside(rs, oif);
	for (; hops && RTNH_OK(hops, hops_len);
	     hops_len -= NLMSG_ALIGN(hops->rtnh_len), hops = RTNH_NEXT(hops))
		mark_inside(rs, hops->rtnh_ifindex);
	return 0;
}

static int read_internal_nets(const struct instance *in,
			      struct internal_key **nets)
{
	struct internal_key k, next, *v = NULL;
	int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(in->internal_fd, prev, &next)) {
		struct internal_key *nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = next;
		k = next;
		prev = &k;
	}
	*nets = v;
	return n;
}

static bool is_lan(const struct nat_state *st, int ifindex)
{
	for (int i = 0; i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		if ((int)st->lan_ifindex[i] == ifindex)
			return true;
	return false;
}

/* Mark the links that are inside now. */
static int find_inside(const struct instance *in, const struct nat_state *st,
		       struct links *l)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct route_scan rs = { .links = l };
	int err;

	err = nl_dump(RTM_GETLINK, &ifi, sizeof(ifi), on_link, l);
	if (err)
		return err;
	if (!in->cfg.cfg_match_all_sources) {
		rs.n_nets = read_internal_nets(in, &rs.nets);
		if (rs.n_nets < 0)
			return rs.n_nets;
		err = nl_dump(RTM_GETROUTE, &rtm, sizeof(rtm), on_route, &rs);
		free(rs.nets);
		if (err)
			return err;
	}
	for (int i = 0; i < l->n; i++) {
		struct link *k = &l->v[i];

		if (k->ifindex == in->ifindex || is_bpfmasq_wan(k->ifindex))
			k->eligible = false;
		if (in->cfg.cfg_match_all_sources)
			k->inside = true;
		k->inside = (k->inside && k->eligible) ||
			    is_lan(st, k->ifindex);
		if (st->flags & STATE_NO_HAIRPIN)
			k->inside = false;
	}
	return 0;
}

/*
 * A program held only by its filters and pins would die with a controller
 * killed under `ip netns exec` (its pins with it) whenever no interface
 * used it; so none is loaded before some interface needs it.
 */
static int hairpin_prog(struct instance *in, bool l3)
{
	const char *name = l3 ? "masq_hairpin_l3" : "masq_lan_hairpin";
	const struct instance_obj *o = instance_obj_find(OBJ_PROG, name);

	if (instance_fd(in, o) < 0) {
		*instance_slot(in, o) = instance_load_prog(in, name);
		if (instance_fd(in, o) >= 0 && instance_pin(in))
			log_err("%s: cannot pin %s", in->ifname, name);
	}
	return instance_fd(in, o);
}

int hairpin_sync(struct instance *in)
{
	struct links l = {};
	struct nat_state st;
	char name[IF_NAMESIZE];
	int err, n = 0;

	if (instance_get_state(in, &st))
		return -1;
	err = find_inside(in, &st, &l);
	if (err) {
		log_err("%s: cannot list interfaces and routes: %s", in->ifname,
			strerror(-err));
		free(l.v);
		return -1;
	}
	for (int i = 0; i < l.n; i++) {
		struct link *k = &l.v[i];
		bool own, have = hairpin_on(k->ifindex, in->ifindex, &own);

		if (!if_indextoname(k->ifindex, name))
			snprintf(name, sizeof(name), "#%d", k->ifindex);
		if (k->inside && !have) {
			int fd = hairpin_prog(in, k->l3);

			err = fd < 0 ? -ENOENT :
			      hairpin_attach(k->ifindex, in->ifindex, fd);
			if (err) {
				log_err("%s: cannot hairpin on %s: %s",
					in->ifname, name, strerror(-err));
				continue;
			}
			log_msg("%s: hairpinning on %s", in->ifname, name);
			have = true;
		} else if (!k->inside && have) {
			hairpin_off(k->ifindex, in->ifindex);
			log_msg("%s: no longer hairpinning on %s (not inside)",
				in->ifname, name);
			have = false;
		}
		n += have;
	}
	free(l.v);
	return n;
}

void hairpin_detach_all(int wan_ifindex)
{
	struct if_nameindex *ifs = if_nameindex(), *it;

	for (it = ifs; it && it->if_index; it++)
		hairpin_off(it->if_index, wan_ifindex);
	if (ifs)
		if_freenameindex(ifs);
}

int hairpin_ifaces(int wan_ifindex, int *ifindex, int max)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	bool own;
	int n = 0;

	for (it = ifs; it && it->if_index && n < max; it++)
		if (hairpin_on(it->if_index, wan_ifindex, &own))
			ifindex[n++] = it->if_index;
	if (ifs)
		if_freenameindex(ifs);
	return n;
}

int hairpin_replace(int wan_ifindex, __u32 old_id, int new_fd, int *done,
		    int max)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	int n = 0, err = 0;
	bool own;

	for (it = ifs; it && it->if_index && !err; it++) {
		if (hairpin_on(it->if_index, wan_ifindex, &own) != old_id)
			continue;
		if (n == max) {
			err = -E2BIG;
			break;
		}
		err = tc_replace(it->if_index, BPF_TC_INGRESS,
				 handle_of(wan_ifindex, own), new_fd);
		if (!err)
			done[n++] = it->if_index;
	}
	if (ifs)
		if_freenameindex(ifs);
	return err ? err : n;
}

int hairpin_handle(int ifindex, int wan_ifindex)
{
	bool own;

	if (!hairpin_on(ifindex, wan_ifindex, &own))
		return 0;
	return handle_of(wan_ifindex, own);
}
