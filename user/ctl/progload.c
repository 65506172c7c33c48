// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "progload.h"

int instance_load_prog(const struct instance *in, const char *name)
{
	struct bpfmasq_bpf *skel = bpfmasq_bpf__open();
	struct bpf_program *p;
	int fd = -1, err;

	if (!skel) {
		log_err("%s: cannot open the BPF object: %s", in->ifname,
			strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), name));
	for (size_t i = 0; i < instance_nr_objs; i++) {
		const struct instance_obj *o = &instance_objs[i];
		struct bpf_map *m;

		if (o->kind != OBJ_MAP)
			continue;
		m = o->name[0] == '.' ? skel->maps.rodata :
		    bpf_object__find_map_by_name(skel->obj, o->name);
		/* A map made new here would be state the attached programs
		 * do not see; only per-CPU scratch space may be. */
		if (instance_fd(in, o) < 0) {
			if (bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY)
				continue;
			log_err("%s: the running data plane has no map '%s'; run 'bpfmasq down %s' and up again",
				in->ifname, o->name, in->ifname);
			goto out;
		}
		err = bpf_map__reuse_fd(m, instance_fd(in, o));
		if (err) {
			log_err("%s: cannot reuse map '%s': %s", in->ifname,
				o->name, strerror(-err));
			goto out;
		}
	}
	err = bpfmasq_bpf__load(skel);
	if (err) {
		log_err("%s: cannot load %s over the running maps (%s); run 'bpfmasq down %s' and up again",
			in->ifname, name, strerror(-err), in->ifname);
		goto out;
	}
	p = bpf_object__find_program_by_name(skel->obj, name);
	fd = p ? dup(bpf_program__fd(p)) : -1;
out:
	bpfmasq_bpf__destroy(skel);
	return fd;
}
