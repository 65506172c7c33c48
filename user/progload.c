// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "progload.h"

#define MAX_MAPS 32

/* Maps of obj handed a running map's fd so far. */
struct reused {
	const struct bpf_map *map[MAX_MAPS];
	int n;
};

static bool was_reused(const struct reused *r, const struct bpf_map *m)
{
	for (int i = 0; i < r->n; i++)
		if (r->map[i] == m)
			return true;
	return false;
}

/* Hand every map prog_fd uses to the same-named map of obj. */
static int reuse_maps_of(struct bpf_object *obj, int prog_fd,
			 struct reused *r)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	__u32 ids[MAX_MAPS];

	info.nr_map_ids = MAX_MAPS;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &info_len))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < MAX_MAPS; i++) {
		struct bpf_map_info mi = {};
		__u32 mi_len = sizeof(mi);
		struct bpf_map *m;
		int fd = bpf_map_get_fd_by_id(ids[i]);
		int err = 0;

		if (fd < 0)
			return -errno;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mi_len)) {
			close(fd);
			return -errno;
		}
		/* The kernel keeps the first BPF_OBJ_NAME_LEN - 1 bytes of
		 * a name (".rodata" comes prefixed with the object's). */
		bpf_object__for_each_map(m, obj) {
			if (strncmp(bpf_map__name(m), mi.name,
				    BPF_OBJ_NAME_LEN - 1) || was_reused(r, m))
				continue;
			err = bpf_map__reuse_fd(m, fd);
			if (!err && r->n < MAX_MAPS)
				r->map[r->n++] = m;
		}
		close(fd);	/* reuse_fd keeps a dup */
		if (err)
			return err;
	}
	return 0;
}

int instance_load_prog(const struct instance *in, const char *name)
{
	struct bpfmasq_bpf *skel = bpfmasq_bpf__open();
	struct reused reused = {};
	struct bpf_program *p;
	struct bpf_map *m;
	int out_fd, fd = -1, err;

	if (!skel) {
		log_msg("%s: cannot open the BPF object: %s", in->ifname,
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), name));
	err = reuse_maps_of(skel->obj, in->prog_in_fd, &reused);
	out_fd = tc_egress_prog_fd(in->ifindex);
	if (!err && out_fd >= 0)
		err = reuse_maps_of(skel->obj, out_fd, &reused);
	if (out_fd >= 0)
		close(out_fd);
	if (err) {
		log_msg("%s: cannot open the running data plane's maps: %s",
			in->ifname, strerror(-err));
		goto out;
	}
	/* A map made new here would be state the attached programs do not
	 * see; only per-CPU scratch space may be. */
	bpf_object__for_each_map(m, skel->obj) {
		if (bpf_map__type(m) != BPF_MAP_TYPE_PERCPU_ARRAY &&
		    !was_reused(&reused, m)) {
			log_msg("%s: the running data plane has no map '%s' (a different build?); run 'bpfmasq down %s' and up again",
				in->ifname, bpf_map__name(m), in->ifname);
			goto out;
		}
	}
	err = bpfmasq_bpf__load(skel);
	if (err) {
		log_msg("%s: cannot load %s: %s", in->ifname, name,
			strerror(-err));
		goto out;
	}
	p = bpf_object__find_program_by_name(skel->obj, name);
	fd = p ? dup(bpf_program__fd(p)) : -1;
out:
	bpfmasq_bpf__destroy(skel);
	return fd;
}
