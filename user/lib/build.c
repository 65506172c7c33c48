// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "build.h"
#include "util.h"
#include "version.h"	/* generated: BPFMASQ_VERSION */

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

static __u64 fnv(__u64 h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * FNV_PRIME;
	return h;
}

/* What two builds must agree on for a map they share; max_entries is not
 * in it (a table of another size is migrated, not refused). */
struct map_shape {
	__u32 type, key_size, value_size, flags;
};

static bool shared_map(const struct instance_obj *o)
{
	/* .rodata is each load's own: the settings and the build. */
	return o->kind == OBJ_MAP && o->name[0] != '.';
}

static __u64 layout_hash(struct bpf_object *obj)
{
	__u32 v = BPFMASQ_LAYOUT_VERSION;
	__u64 h = fnv(FNV_OFFSET, &v, sizeof(v));

	for (size_t i = 0; i < instance_nr_objs; i++) {
		const struct instance_obj *o = &instance_objs[i];
		struct bpf_map *m;
		struct map_shape s;

		if (!shared_map(o) ||
		    !(m = bpf_object__find_map_by_name(obj, o->name)))
			continue;
		s = (struct map_shape){ bpf_map__type(m), bpf_map__key_size(m),
					bpf_map__value_size(m),
					bpf_map__map_flags(m) };
		h = fnv(h, o->name, strlen(o->name));
		h = fnv(h, &s, sizeof(s));
	}
	return h;
}

const struct build_id *build_self(void)
{
	static struct build_id self;
	struct bpfmasq_bpf *skel;
	const void *elf;
	size_t n;

	if (self.layout)
		return &self;
	snprintf(self.version, sizeof(self.version), "%s", BPFMASQ_VERSION);
	elf = bpfmasq_bpf__elf_bytes(&n);
	self.object = fnv(FNV_OFFSET, elf, n);
	self.layout = BPFMASQ_LAYOUT_VERSION;
	skel = bpfmasq_bpf__open();
	if (skel) {
		self.layout_hash = layout_hash(skel->obj);
		bpfmasq_bpf__destroy(skel);
	}
	return &self;
}

void build_of(const struct instance *in, struct build_id *b)
{
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < sizeof(b->version) - 1; i++)
		b->version[i] = in->cfg.build_version[i];
	b->object = in->cfg.build_object;
	b->layout = in->cfg.build_layout;
	b->layout_hash = in->cfg.build_layout_hash;
}

bool build_same(const struct build_id *a, const struct build_id *b)
{
	return a->object == b->object && !strcmp(a->version, b->version);
}

const char *build_str(const struct build_id *b, char *buf, size_t len)
{
	if (!b->version[0])
		snprintf(buf, len, "unknown (a build from before build ids)");
	else
		snprintf(buf, len, "%s (object %016llx)", b->version,
			 (unsigned long long)b->object);
	return buf;
}

void build_stamp(struct bpfmasq_bpf *skel)
{
	const struct build_id *self = build_self();

	for (size_t i = 0; i < sizeof(skel->rodata->build_version); i++)
		skel->rodata->build_version[i] =
			i < sizeof(self->version) ? self->version[i] : 0;
	skel->rodata->build_object = self->object;
	skel->rodata->build_layout = self->layout;
	skel->rodata->build_layout_hash = self->layout_hash;
}

int build_check_layout(const struct instance *in, char *why, size_t len)
{
	/* A build from before layouts were recorded has layout 1. */
	__u32 layout = in->cfg.build_layout ? in->cfg.build_layout : 1;
	struct bpfmasq_bpf *skel;
	int ret = 0;

	if (layout != BPFMASQ_LAYOUT_VERSION) {
		snprintf(why, len, "its maps have layout %u and this build's %u",
			 layout, BPFMASQ_LAYOUT_VERSION);
		return -1;
	}
	skel = bpfmasq_bpf__open();
	if (!skel) {
		snprintf(why, len, "cannot open the BPF object: %s",
			 strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < instance_nr_objs && !ret; i++) {
		const struct instance_obj *o = &instance_objs[i];
		struct bpf_map_info mi = {};
		__u32 mi_len = sizeof(mi);
		struct bpf_map *m;
		int fd = instance_fd(in, o);

		if (!shared_map(o) || fd < 0 ||
		    !(m = bpf_object__find_map_by_name(skel->obj, o->name)))
			continue;
		if (bpf_obj_get_info_by_fd(fd, &mi, &mi_len)) {
			snprintf(why, len, "cannot read its map '%s': %s",
				 o->name, strerror(errno));
			ret = -1;
		} else if (mi.type != bpf_map__type(m) ||
			   mi.key_size != bpf_map__key_size(m) ||
			   mi.value_size != bpf_map__value_size(m) ||
			   mi.map_flags != bpf_map__map_flags(m)) {
			snprintf(why, len, "its map '%s' has type %u, key %u and value %u bytes, flags %#x, this build's type %u, key %u and value %u bytes, flags %#x",
				 o->name, mi.type, mi.key_size, mi.value_size,
				 mi.map_flags, bpf_map__type(m),
				 bpf_map__key_size(m), bpf_map__value_size(m),
				 bpf_map__map_flags(m));
			ret = -1;
		}
	}
	bpfmasq_bpf__destroy(skel);
	return ret;
}

void prog_tag(int prog_fd, char tag[17])
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	tag[0] = '\0';
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return;
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(tag + 2 * i, 3, "%02x", info.tag[i]);
}

int build_may_take_over(const struct instance *in)
{
	struct build_id running;
	char why[256], b[96];

	if (!build_check_layout(in, why, sizeof(why)))
		return 0;
	build_of(in, &running);
	p_err("%s runs bpfmasq %s, whose maps this build (%s) cannot use: %s; 'bpfmasq down %s' then 'bpfmasq up %s' starts it anew, dropping every connection; nothing changed",
	      in->ifname, build_str(&running, b, sizeof(b)),
	      build_self()->version, why, in->ifname, in->ifname);
	return -1;
}
