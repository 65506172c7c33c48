// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "instance.h"
#include "util.h"

#define MAP(n, field, req) \
	{ #n, #n, OBJ_MAP, offsetof(struct instance, field), req, false }
#define PROG(n, field, req) \
	{ #n, #n, OBJ_PROG, offsetof(struct instance, field), req, false }

/*
 * Every map and program of bpfmasq.bpf.c, once: `up` fills an instance
 * from the loaded object by it, instance_find() from the kernel, and
 * pinning, unpinning and closing walk it.  Everything is pinned, so that
 * bpftool shows a running instance whole.  "Required": without it the
 * data plane cannot translate; the ALG and event maps go with the tc
 * egress program, the LAN programs with --lan.
 */
const struct instance_obj instance_objs[] = {
	/* One of the two is the anchor: XDP on an Ethernet WAN, tc
	 * ingress on a layer-3 one. */
	PROG(masq_wan_in, prog_in_fd, false),
	PROG(masq_wan_in_tc, prog_in_tc_fd, false),
	PROG(masq_wan_out, prog_out_fd, false),
	PROG(masq_lan_fast, prog_lan_fast_fd, false),
	PROG(masq_lan_open, prog_lan_open_fd, false),
	PROG(masq_lan_hairpin, prog_lan_hairpin_fd, false),
	PROG(masq_hairpin_l3, prog_lan_hairpin_l3_fd, false),
	MAP(flows, flows_fd, true),
	MAP(binds, binds_fd, true),
	MAP(state, state_fd, true),
	MAP(internal_nets, internal_fd, true),
	MAP(stats, stats_fd, true),
	MAP(fwd_ports, fwd_ports_fd, true),
	MAP(events, events_fd, false),
	MAP(seqadj, seqadj_fd, false),
	MAP(alg_handed, alg_handed_fd, false),
	MAP(alg_sent, alg_sent_fd, false),
	MAP(frags, frags_fd, false),
	MAP(icmp_scratch, icmp_scratch_fd, false),
	MAP(host_scratch, host_scratch_fd, false),
	MAP(conn_events, conn_events_fd, false),
	MAP(drop_budget, drop_budget_fd, false),
	{ "ext_pool", "ext_pool", OBJ_MAP, offsetof(struct instance, ext_pool_fd),
	  false, true },
	/* The kernel calls it "bpfmasq_.rodata" (object name, cut short). */
	{ ".rodata", "rodata", OBJ_MAP, offsetof(struct instance, rodata_fd), true, false },
};
const size_t instance_nr_objs = sizeof(instance_objs) / sizeof(instance_objs[0]);

#define for_each_obj(o) \
	for (const struct instance_obj *o = instance_objs; \
	     o < instance_objs + instance_nr_objs; o++)

const struct instance_obj *instance_obj_find(enum instance_obj_kind kind,
					     const char *name)
{
	size_t n = strlen(name);

	for_each_obj(o) {
		size_t on = strlen(o->name);

		if (o->kind != kind)
			continue;
		if (o->name[0] == '.') {
			/* "bpfmasq_.rodata" or libbpf's ".rodata" */
			if (n >= on && !strcmp(name + n - on, o->name))
				return o;
			continue;
		}
		if (!strcmp(name, o->name) ||
		    (n == BPF_OBJ_NAME_LEN - 1 && on > n &&
		     !strncmp(name, o->name, n)))
			return o;
	}
	return NULL;
}

void instance_init(struct instance *in)
{
	memset(in, 0, sizeof(*in));
	for_each_obj(o)
		*instance_slot(in, o) = -1;
}

void instance_close(struct instance *in)
{
	for_each_obj(o) {
		int *fd = instance_slot(in, o);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

/* Which object lacks, or NULL. */
static const struct instance_obj *missing_required(const struct instance *in)
{
	for_each_obj(o)
		if (o->required && instance_fd(in, o) < 0)
			return o;
	return NULL;
}

int instance_from_object(struct instance *in, struct bpf_object *obj)
{
	const struct instance_obj *lack;

	for_each_obj(o) {
		int fd = -1;

		if (o->kind == OBJ_MAP) {
			struct bpf_map *m = bpf_object__find_map_by_name(obj, o->name);

			if (m)
				fd = bpf_map__fd(m);
		} else {
			struct bpf_program *p = bpf_object__find_program_by_name(obj, o->name);

			/* Not loaded (autoload off) leaves it at -1. */
			if (p)
				fd = bpf_program__fd(p);
		}
		if (fd >= 0) {
			*instance_slot(in, o) = dup(fd);
			if (*instance_slot(in, o) < 0) {
				p_err("dup: %s", strerror(errno));
				return -1;
			}
		}
	}
	lack = missing_required(in);
	if (lack) {
		p_err("the BPF object has no %s '%s'; rebuild bpfmasq (make clean all)",
		      lack->kind == OBJ_MAP ? "map" : "program", lack->name);
		return -1;
	}
	return 0;
}

__u32 xdp_attached_id(int ifindex, __u32 *mode_flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	if (mode_flags)
		*mode_flags = q.attach_mode == XDP_ATTACHED_SKB ?
			      XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	if (q.drv_prog_id)
		return q.drv_prog_id;
	if (q.skb_prog_id)
		return q.skb_prog_id;
	return q.hw_prog_id;
}

int prog_name_by_id(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(name, len, "%s", info.name);
	return 0;
}

int tc_egress_prog_fd(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFMASQ_TC_HANDLE,
			    .priority = BPFMASQ_TC_PRIO);

	if (bpf_tc_query(&hook, &opts))
		return -1;
	return bpf_prog_get_fd_by_id(opts.prog_id);
}

#define MAX_PROG_MAPS 32

/* The ids of the maps a program uses; their number, or -errno. */
static int prog_map_ids(int prog_fd, __u32 *ids, struct bpf_prog_info *info)
{
	__u32 info_len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	info->nr_map_ids = MAX_PROG_MAPS;
	info->map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, info, &info_len))
		return -errno;
	return info->nr_map_ids < MAX_PROG_MAPS ? info->nr_map_ids :
						  MAX_PROG_MAPS;
}

/* Open the maps a program uses into the instance's slots, by name. */
static int open_maps_of(struct instance *in, const __u32 *ids, int n)
{
	for (int i = 0; i < n; i++) {
		const struct instance_obj *o;
		struct bpf_map_info mi = {};
		__u32 mi_len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mi_len)) {
			close(fd);
			return -errno;
		}
		o = instance_obj_find(OBJ_MAP, mi.name);
		if (o && *instance_slot(in, o) < 0)
			*instance_slot(in, o) = fd;
		else
			close(fd);
	}
	return 0;
}

static bool shares_a_map(const __u32 *a, int na, const __u32 *b, int nb)
{
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (a[i] == b[j])
				return true;
	return false;
}

/* The id of the .rodata map among ids (a load's settings), 0 if none. */
static __u32 rodata_id(const __u32 *ids, int n)
{
	const struct instance_obj *ro = instance_obj_find(OBJ_MAP, ".rodata");

	for (int i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 mi_len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		bool is_ro;

		if (fd < 0)
			continue;
		is_ro = !bpf_obj_get_info_by_fd(fd, &mi, &mi_len) &&
			instance_obj_find(OBJ_MAP, mi.name) == ro;
		close(fd);
		if (is_ro)
			return ids[i];
	}
	return 0;
}

/*
 * The objects of an attached instance: its programs are those in the
 * kernel that are named like ours and share a map with the anchor (each
 * `up` loads its own maps), wherever they are attached or pinned, and
 * the maps are theirs.  A reload or an upgrade loads new programs over
 * the same maps, and the old ones live on while anyone holds them: of
 * those, only programs of the anchor's load (its .rodata) are the
 * instance's.
 */
static int open_objects(struct instance *in, int anchor_fd)
{
	__u32 anchor_ids[MAX_PROG_MAPS], ids[MAX_PROG_MAPS], id = 0, ro;
	struct bpf_prog_info info;
	int n_anchor, n, err;

	n_anchor = prog_map_ids(anchor_fd, anchor_ids, &info);
	if (n_anchor < 0)
		return n_anchor;
	err = open_maps_of(in, anchor_ids, n_anchor);
	if (err)
		return err;
	ro = rodata_id(anchor_ids, n_anchor);
	while (!bpf_prog_get_next_id(id, &id)) {
		const struct instance_obj *o;
		int fd = bpf_prog_get_fd_by_id(id);
		__u32 its_ro;

		if (fd < 0)
			continue;	/* unloaded meanwhile */
		n = prog_map_ids(fd, ids, &info);
		o = n > 0 ? instance_obj_find(OBJ_PROG, info.name) : NULL;
		if (!o || *instance_slot(in, o) >= 0 ||
		    !shares_a_map(ids, n, anchor_ids, n_anchor) ||
		    (ro && (its_ro = rodata_id(ids, n)) && its_ro != ro)) {
			close(fd);
			continue;
		}
		*instance_slot(in, o) = fd;
		err = open_maps_of(in, ids, n);
		if (err)
			return err;
	}
	return missing_required(in) ? -ENOENT : 0;
}

static int read_config(struct instance *in)
{
	struct bpf_map_info mi = {};
	__u32 mi_len = sizeof(mi), zero = 0;
	char *buf;
	int err;

	if (bpf_obj_get_info_by_fd(in->rodata_fd, &mi, &mi_len))
		return -errno;
	buf = calloc(1, mi.value_size > sizeof(in->cfg) ? mi.value_size :
		     sizeof(in->cfg));
	if (!buf)
		return -ENOMEM;
	err = bpf_map_lookup_elem(in->rodata_fd, &zero, buf);
	if (!err)
		memcpy(&in->cfg, buf, sizeof(in->cfg));
	free(buf);
	return err ? -errno : 0;
}

/* Is pid's network namespace ours? */
static bool same_netns(__u32 pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	return !stat(path, &a) && !stat("/proc/self/ns/net", &b) &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int instance_find_gone(const char *ifname, struct instance *in)
{
	__u32 id = 0, ids[MAX_PROG_MAPS];
	struct bpf_prog_info info;
	int n, err;

	instance_init(in);
	snprintf(in->ifname, sizeof(in->ifname), "%s", ifname);
	/* masq_wan_out: the one program every kind of WAN has. */
	while (!bpf_prog_get_next_id(id, &id)) {
		int fd = bpf_prog_get_fd_by_id(id);
		struct nat_state st;
		bool match = false;

		if (fd < 0)
			continue;
		n = prog_map_ids(fd, ids, &info);
		if (n > 0 && !strcmp(info.name, "masq_wan_out")) {
			for (int i = 0; i < n && !match; i++) {
				struct bpf_map_info mi = {};
				__u32 mi_len = sizeof(mi), zero = 0;
				int mfd = bpf_map_get_fd_by_id(ids[i]);

				if (mfd < 0)
					continue;
				match = !bpf_obj_get_info_by_fd(mfd, &mi, &mi_len) &&
					!strcmp(mi.name, "state") &&
					!bpf_map_lookup_elem(mfd, &zero, &st) &&
					!strncmp(st.wan_name, ifname,
						 sizeof(st.wan_name)) &&
					controller_alive(st.controller_pid) &&
					same_netns(st.controller_pid);
				close(mfd);
			}
		}
		if (!match) {
			close(fd);
			continue;
		}
		in->ifindex = st.wan_ifindex;
		in->prog_out_fd = fd;
		err = open_objects(in, fd);
		if (!err)
			err = read_config(in);
		if (err) {
			instance_close(in);
			return INSTANCE_NONE;
		}
		return INSTANCE_FOUND;
	}
	return INSTANCE_NONE;
}

__u32 instance_anchor_id(int ifindex, bool *xdp)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 id = xdp_attached_id(ifindex, NULL);

	*xdp = true;
	if (id && !prog_name_by_id(id, name, sizeof(name)) &&
	    !strcmp(name, "masq_wan_in"))
		return id;
	*xdp = false;
	id = tc_query(ifindex, BPF_TC_INGRESS, BPFMASQ_TC_HANDLE);
	if (id && !prog_name_by_id(id, name, sizeof(name)) &&
	    !strcmp(name, "masq_wan_in_tc"))
		return id;
	return 0;
}

int instance_find(const char *ifname, struct instance *in)
{
	int err, *slot;
	bool xdp;
	__u32 id;

	instance_init(in);
	snprintf(in->ifname, sizeof(in->ifname), "%s", ifname);
	in->ifindex = if_nametoindex(ifname);
	if (!in->ifindex) {
		p_err("no interface '%s' (see 'ip link')", ifname);
		return -1;
	}
	id = instance_anchor_id(in->ifindex, &xdp);
	if (!id)
		return INSTANCE_NONE;
	slot = xdp ? &in->prog_in_fd : &in->prog_in_tc_fd;
	*slot = bpf_prog_get_fd_by_id(id);
	if (*slot < 0) {
		p_err("cannot open the bpfmasq program on %s: %s", ifname,
		      strerror(errno));
		return -1;
	}
	err = open_objects(in, *slot);
	if (!err)
		err = read_config(in);
	if (err) {
		p_err("the bpfmasq program on %s has lost its maps (%s); run 'bpfmasq down %s' and up again",
		      ifname, strerror(-err), ifname);
		instance_close(in);
		return -1;
	}
	return INSTANCE_FOUND;
}

int instance_get_state(const struct instance *in, struct nat_state *st)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(in->state_fd, &zero, st);
}

int instance_set_state(const struct instance *in, const struct nat_state *st)
{
	__u32 zero = 0;

	return bpf_map_update_elem(in->state_fd, &zero, st, BPF_ANY);
}

bool controller_alive(__u32 pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	if (!pid || kill(pid, 0))
		return false;
	/* "PID (comm) S ...": a zombie (Z) or dying (X) controller is gone
	 * even though kill() still finds it. */
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	return !strncmp(buf + strcspn(buf, "(") + 1, "bpfmasq", 7);
}

void pin_dir(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s/%s", BPFMASQ_PIN_ROOT, BPFMASQ_PIN_SUBDIR,
		 ifname);
}

static int pin_one(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* A stale pin from an earlier life, or of a program a reload no
	 * longer loads (the other LAN program). */
	unlink(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_pin(fd, path)) {
		p_err("cannot pin %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int instance_pin(const struct instance *in)
{
	char dir[PATH_MAX];

	if (ensure_bpffs(BPFMASQ_PIN_ROOT))
		return -1;
	snprintf(dir, sizeof(dir), "%s/%s", BPFMASQ_PIN_ROOT, BPFMASQ_PIN_SUBDIR);
	mkdir(dir, 0700);
	pin_dir(dir, sizeof(dir), in->ifname);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		p_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for_each_obj(o)
		if (pin_one(dir, o->pin, instance_fd(in, o)))
			return -1;
	return 0;
}

void instance_unpin(const char *ifname)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];

	pin_dir(dir, sizeof(dir), ifname);
	for_each_obj(o) {
		snprintf(path, sizeof(path), "%s/%s", dir, o->pin);
		unlink(path);
	}
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/%s", BPFMASQ_PIN_ROOT, BPFMASQ_PIN_SUBDIR);
	rmdir(dir);	/* only succeeds once no other interface uses it */
}

void stats_add(int stats_fd, __u32 idx, __u64 n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals))))
		return;
	if (!bpf_map_lookup_elem(stats_fd, &idx, vals)) {
		vals[0] += n;
		bpf_map_update_elem(stats_fd, &idx, vals, BPF_ANY);
	}
	free(vals);
}
