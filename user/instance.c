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
#include "instance.h"
#include "util.h"

void instance_init(struct instance *in)
{
	memset(in, 0, sizeof(*in));
	in->prog_in_fd = in->flows_fd = in->binds_fd = in->state_fd = -1;
	in->internal_fd = in->stats_fd = in->rodata_fd = -1;
	in->events_fd = in->fwd_ports_fd = in->seqadj_fd = -1;
	in->alg_handed_fd = in->alg_sent_fd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void instance_close(struct instance *in)
{
	close_fd(&in->prog_in_fd);
	close_fd(&in->flows_fd);
	close_fd(&in->binds_fd);
	close_fd(&in->state_fd);
	close_fd(&in->internal_fd);
	close_fd(&in->stats_fd);
	close_fd(&in->rodata_fd);
	close_fd(&in->events_fd);
	close_fd(&in->fwd_ports_fd);
	close_fd(&in->seqadj_fd);
	close_fd(&in->alg_handed_fd);
	close_fd(&in->alg_sent_fd);
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

/* Open the maps a program uses into the instance's slots, by name. */
static int open_maps_of(struct instance *in, int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	__u32 ids[16];

	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &info_len))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < 16; i++) {
		struct bpf_map_info mi = {};
		__u32 mi_len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		int *slot = NULL;

		if (fd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mi_len)) {
			close(fd);
			return -errno;
		}
		if (!strcmp(mi.name, "flows"))
			slot = &in->flows_fd;
		else if (!strcmp(mi.name, "binds"))
			slot = &in->binds_fd;
		else if (!strcmp(mi.name, "state"))
			slot = &in->state_fd;
		else if (!strcmp(mi.name, "internal_nets"))
			slot = &in->internal_fd;
		else if (!strcmp(mi.name, "stats"))
			slot = &in->stats_fd;
		else if (!strcmp(mi.name, "events"))
			slot = &in->events_fd;
		else if (!strcmp(mi.name, "fwd_ports"))
			slot = &in->fwd_ports_fd;
		else if (!strcmp(mi.name, "seqadj"))
			slot = &in->seqadj_fd;
		else if (!strcmp(mi.name, "alg_handed"))
			slot = &in->alg_handed_fd;
		else if (!strcmp(mi.name, "alg_sent"))
			slot = &in->alg_sent_fd;
		else if (strstr(mi.name, ".rodata"))
			slot = &in->rodata_fd;
		if (slot && *slot < 0)
			*slot = fd;
		else
			close(fd);
	}
	return 0;
}

/* The maps of an attached instance: most are used by masq_wan_in, the
 * event ring only by the tc egress program. */
static int open_maps(struct instance *in)
{
	int out_fd, err;

	err = open_maps_of(in, in->prog_in_fd);
	if (err)
		return err;
	out_fd = tc_egress_prog_fd(in->ifindex);
	if (out_fd >= 0) {
		err = open_maps_of(in, out_fd);
		close(out_fd);
		if (err)
			return err;
	}
	if (in->flows_fd < 0 || in->binds_fd < 0 || in->state_fd < 0 ||
	    in->internal_fd < 0 || in->stats_fd < 0 || in->rodata_fd < 0 ||
	    in->fwd_ports_fd < 0)
		return -ENOENT;
	return 0;
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

int instance_find(const char *ifname, struct instance *in)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;
	int err;

	instance_init(in);
	snprintf(in->ifname, sizeof(in->ifname), "%s", ifname);
	in->ifindex = if_nametoindex(ifname);
	if (!in->ifindex) {
		p_err("no interface '%s' (see 'ip link')", ifname);
		return -1;
	}
	id = xdp_attached_id(in->ifindex, NULL);
	if (!id || prog_name_by_id(id, name, sizeof(name)) ||
	    strcmp(name, "masq_wan_in"))
		return INSTANCE_NONE;

	in->prog_in_fd = bpf_prog_get_fd_by_id(id);
	if (in->prog_in_fd < 0) {
		p_err("cannot open the XDP program on %s: %s", ifname,
		      strerror(errno));
		return -1;
	}
	err = open_maps(in);
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

static const char *const pin_names[] = {
	"flows", "binds", "state", "internal_nets", "stats", "events",
	"fwd_ports", "seqadj",
	"masq_wan_in", "masq_wan_out", "masq_lan_fast",
};

static int pin_one(const char *dir, const char *name, int fd)
{
	char path[PATH_MAX + 64];

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);	/* a stale pin from an earlier life */
	if (bpf_obj_pin(fd, path)) {
		p_err("cannot pin %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int instance_pin(const struct instance *in, int prog_out_fd, int prog_lan_fd)
{
	int fds[] = { in->flows_fd, in->binds_fd, in->state_fd,
		      in->internal_fd, in->stats_fd, in->events_fd,
		      in->fwd_ports_fd, in->seqadj_fd, in->prog_in_fd,
		      prog_out_fd, prog_lan_fd };
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
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (pin_one(dir, pin_names[i], fds[i]))
			return -1;
	return 0;
}

void instance_unpin(const char *ifname)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];

	pin_dir(dir, sizeof(dir), ifname);
	for (size_t i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]);
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
