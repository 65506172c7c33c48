/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching and detaching bpfmasq's programs: XDP on the WAN and the --lan
 * interfaces, tc clsact filters on the WAN and the hairpin interfaces.
 * Only what bpfmasq made is ever removed: programs are recognised by name,
 * tc filters by handle and priority, and a clsact qdisc is destroyed only
 * by whoever created it.
 */
#ifndef BPFMASQ_ATTACH_H
#define BPFMASQ_ATTACH_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "instance.h"	/* BPFMASQ_TC_HANDLE, BPFMASQ_TC_PRIO */

/* Native XDP if the driver has it, else generic; *mode says which. */
int xdp_attach_any_mode(int ifindex, int prog_fd, __u32 *mode);
/* Put new_fd in the place of old_fd, atomically and in the same mode: a
 * packet meets one or the other.  -EEXIST when old_fd is not attached
 * there (any more), -ENOENT when nothing is. */
int xdp_replace(int ifindex, int old_fd, int new_fd);
/* Detach the XDP program on ifindex if it is the one named prog_name. */
void xdp_detach_ours(int ifindex, const char *prog_name);

/*
 * The LAN fast path's XDP program (masq_lan_fast or masq_lan_open) on
 * ifindex.  For --lan-inbound (inbound) only in native mode: a driver
 * without native XDP has no ndo_xdp_xmit either, and frames redirected
 * into it would be dropped; then -EOPNOTSUPP, with nothing left attached.
 */
int lan_xdp_attach(int ifindex, int prog_fd, bool inbound);
/* Either LAN program off ifindex. */
void lan_xdp_detach(int ifindex);

/* A clsact qdisc to attach to; *own says whether we made it (and so must
 * remove it again). */
int tc_hook_ensure(int ifindex, bool *own);
int tc_attach(int ifindex, enum bpf_tc_attach_point point, __u32 handle,
	      int prog_fd);
/* Our filter (handle, BPFMASQ_TC_PRIO) runs prog_fd from now on, with no
 * moment without a program. */
int tc_replace(int ifindex, enum bpf_tc_attach_point point, __u32 handle,
	       int prog_fd);
/* Held while making sure of a clsact qdisc and attaching to it, and
 * while removing an empty one; tc_unlock() takes what tc_lock() gave. */
int tc_lock(void);
void tc_unlock(int lock);
/* Both WAN filters, on a clsact qdisc made if need be (then *own = true). */
int tc_attach_wan(int ifindex, int in_fd, int out_fd, bool *own);
/* The id of the program in our filter (handle, BPFMASQ_TC_PRIO); 0: none. */
__u32 tc_query(int ifindex, enum bpf_tc_attach_point point, __u32 handle);
void tc_detach(int ifindex, enum bpf_tc_attach_point point, __u32 handle);
/* Both of our WAN filters; the clsact qdisc too when own_clsact. */
void tc_detach_ours(int ifindex, bool own_clsact);
void tc_hook_destroy(int ifindex);
/* ...only when no filter is left on it, ours or anyone's. */
void tc_hook_destroy_if_empty(int ifindex);

/*
 * What a link's frames start with.  Ethernet gets XDP and tc; a layer-3
 * link (PPP, TUN, WireGuard, GRE: no MAC, no ARP) tc only, since XDP
 * there is at best the generic hook, no faster than tc; anything else is
 * refused.
 */
enum link_layer { LINK_ETHER, LINK_L3, LINK_OTHER };

/* The ARPHRD_* type of ifname, or a negative errno. */
int link_type(const char *ifname);
/* ...and its layer; *name (if given) what `ip link` calls it. */
enum link_layer link_layer_of(unsigned short type, const char **name);

#endif
