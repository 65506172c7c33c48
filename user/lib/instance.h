/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A running bpfmasq instance on one WAN interface, as found in the kernel.
 *
 * The attached XDP program is the anchor: its maps are the state, its
 * .rodata is the configuration.  That works in every mount namespace (pins
 * under /sys/fs/bpf are per bpffs mount, and `ip netns exec` gives each
 * command a fresh one), so a restarted controller or a `status` from
 * another shell always finds the same state.
 */
#ifndef BPFMASQ_INSTANCE_H
#define BPFMASQ_INSTANCE_H

#include <net/if.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "bpfmasq.h"
#include "bpfmasq.skel.h"

#define BPFMASQ_PIN_ROOT	"/sys/fs/bpf"
#define BPFMASQ_PIN_SUBDIR	"bpfmasq"
/* Our tc filter's identity on the WAN's clsact egress hook. */
/* Controller logs (IFNAME.log) and the lock of the tc hooks. */
#define BPFMASQ_RUN_DIR		"/run/bpfmasq"
#define BPFMASQ_TC_HANDLE	0xb9a5
#define BPFMASQ_TC_PRIO		0xb9a5

/* The fds of an instance's maps and programs; -1 when absent.  Which
 * object fills which fd is written once, in instance_objs[]. */
struct instance {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int prog_in_fd;		/* masq_wan_in (XDP on the WAN): the anchor */
	int prog_in_tc_fd;	/* masq_wan_in_tc: the anchor of a layer-3 WAN */
	int prog_out_fd;
	int prog_lan_fast_fd;	/* at most one of the two LAN XDP programs */
	int prog_lan_open_fd;	/* is loaded (`up` picks by --lan-new) */
	int prog_lan_hairpin_fd;
	int prog_lan_hairpin_l3_fd;
	int flows_fd;
	int binds_fd;
	int state_fd;
	int internal_fd;
	int stats_fd;
	int rodata_fd;
	int events_fd;		/* -1 when the tc egress program is gone */
	int fwd_ports_fd;
	int seqadj_fd;		/* -1 when the tc egress program is gone */
	int alg_handed_fd;	/* likewise */
	int alg_sent_fd;
	int frags_fd;
	int icmp_scratch_fd;
	int host_scratch_fd;
	int conn_events_fd;	/* the connection event ring (struct conn_event) */
	int drop_budget_fd;
	int ext_pool_fd;
	struct bpfmasq_bpf__rodata cfg;
};

enum instance_obj_kind { OBJ_MAP, OBJ_PROG };

/* One map or program of the BPF object, and what an instance does with it. */
struct instance_obj {
	const char *name;	/* as in the BPF object */
	const char *pin;	/* its pin's file name in pin_dir() */
	enum instance_obj_kind kind;
	size_t slot;		/* offsetof() its fd in struct instance */
	bool required;		/* an instance without it is broken */
	/* Builds before it had none: an upgrade makes it anew (empty, then
	 * filled from what the old build kept elsewhere) where it would
	 * otherwise refuse a running instance without it. */
	bool new_on_upgrade;
};

/* Every map and program of bpfmasq.bpf.c (tests/unit/test_registry.c
 * checks that against the skeleton). */
extern const struct instance_obj instance_objs[];
extern const size_t instance_nr_objs;

static inline int *instance_slot(struct instance *in,
				 const struct instance_obj *o)
{
	return (int *)((char *)in + o->slot);
}

static inline int instance_fd(const struct instance *in,
			      const struct instance_obj *o)
{
	return *(const int *)((const char *)in + o->slot);
}

/* The entry a name from the BPF object or from the kernel (which cuts
 * names to BPF_OBJ_NAME_LEN - 1 and prefixes .rodata) stands for. */
const struct instance_obj *instance_obj_find(enum instance_obj_kind kind,
					     const char *name);

enum instance_find_result {
	INSTANCE_FOUND = 0,
	INSTANCE_NONE = 1,	/* no bpfmasq on this interface */
};

void instance_init(struct instance *in);
/*
 * The program that makes ifindex a bpfmasq WAN, 0 if none: masq_wan_in
 * at XDP on an Ethernet WAN (*xdp true), masq_wan_in_tc at tc ingress on
 * a layer-3 one (or on an Ethernet WAN someone took the XDP program off).
 */
__u32 instance_anchor_id(int ifindex, bool *xdp);
/* INSTANCE_FOUND, INSTANCE_NONE, or -1 after printing an error. */
int instance_find(const char *ifname, struct instance *in);
void instance_close(struct instance *in);
/* An instance whose WAN interface is gone while its controller waits for
 * it to come back (a PPP reconnect): INSTANCE_FOUND or INSTANCE_NONE. */
int instance_find_gone(const char *ifname, struct instance *in);

int instance_get_state(const struct instance *in, struct nat_state *st);
int instance_set_state(const struct instance *in, const struct nat_state *st);
bool controller_alive(__u32 pid);

/* Which program is attached (XDP: any mode), 0 if none. */
__u32 xdp_attached_id(int ifindex, __u32 *mode_flags);
/* Add n to counter idx (on CPU 0): what the controller itself counts. */
void stats_add(int stats_fd, __u32 idx, __u64 n);

/* Our tc egress program on ifindex, or -1. */
int tc_egress_prog_fd(int ifindex);
int prog_name_by_id(__u32 id, char *name, size_t len);

/* The fds of a loaded object's maps and programs (dups), by instance_objs[];
 * -1 after printing an error when a required one is missing. */
int instance_from_object(struct instance *in, struct bpf_object *obj);

/* Pins every object the instance holds under /sys/fs/bpf/bpfmasq/IFNAME
 * (mounting bpffs if needed). */
int instance_pin(const struct instance *in);
void instance_unpin(const char *ifname);
void pin_dir(char *buf, size_t len, const char *ifname);

/* The external address forwards and port counts belong to: --external
 * even while it is on a peer gateway, else the WAN's address now. */
static inline __be32 state_forward_addr(const struct nat_state *st)
{
	return st->ext_want ? st->ext_want : st->ext_addr;
}

#endif
