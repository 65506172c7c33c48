// SPDX-License-Identifier: GPL-2.0
/*
 * instance_objs[] against the skeleton: every map and program of
 * bpfmasq.bpf.c has one entry with a pin, every entry names something
 * the object has, each fd field of struct instance belongs to exactly one
 * entry, and the names the kernel reports (cut to 15 characters, .rodata
 * prefixed with the object's name) find their entries.  Loaded, the object
 * fills every slot through instance_from_object().
 *
 * Output: "PASS name" or "FAIL name: why" lines; the exit status says
 * whether anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include <bpf/bpf.h>
#include "build.h"
#include "instance.h"

/* One case: harness.h's check() with one string to explain a failure. */
static void verdict(bool ok, const char *name, const char *fmt, const char *arg)
{
	check(ok, name, fmt, arg);
}

static bool in_object(struct bpf_object *obj, const struct instance_obj *o)
{
	if (o->kind == OBJ_MAP)
		return bpf_object__find_map_by_name(obj, o->name);
	return bpf_object__find_program_by_name(obj, o->name);
}

/* Has the skeleton's map or program of this name a pinned entry?  A
 * missing one is a failed case of its own. */
static bool pinned(enum instance_obj_kind kind, const char *name)
{
	const struct instance_obj *o = instance_obj_find(kind, name);
	bool map = kind == OBJ_MAP;

	if (o && o->pin)
		return true;
	check(false, map ? "registry_every_map_pinned" : "registry_every_prog_pinned",
	      "%s '%s' has no pinned entry in instance_objs[]",
	      map ? "map" : "program", name);
	return false;
}

static void test_object_has_entries(struct bpfmasq_bpf *skel)
{
	struct bpf_program *p;
	struct bpf_map *m;
	bool all = true;

	bpf_object__for_each_map(m, skel->obj)
		all &= pinned(OBJ_MAP, bpf_map__name(m));
	bpf_object__for_each_program(p, skel->obj)
		all &= pinned(OBJ_PROG, bpf_program__name(p));
	if (all)
		verdict(true, "registry_every_object_pinned", NULL, NULL);
}

static void test_entries_exist(struct bpfmasq_bpf *skel)
{
	bool all = true;

	for (size_t i = 0; i < instance_nr_objs; i++) {
		if (!in_object(skel->obj, &instance_objs[i])) {
			verdict(false, "registry_entries_exist",
				"'%s' is not in the BPF object",
				instance_objs[i].name);
			all = false;
		}
	}
	if (all)
		verdict(true, "registry_entries_exist", NULL, NULL);
}

/* The fds sit from prog_in_fd up to cfg: one entry each, none shared. */
static void test_slots(void)
{
	size_t first = offsetof(struct instance, prog_in_fd);
	size_t end = offsetof(struct instance, cfg);
	size_t n = instance_nr_objs;
	int owners[64] = {};
	/* (cfg may be aligned past the last fd.) */
	bool ok = n <= 64 && first + n * sizeof(int) <= end &&
		  end - (first + n * sizeof(int)) <
		  _Alignof(struct bpfmasq_bpf__rodata);

	for (size_t i = 0; ok && i < instance_nr_objs; i++) {
		size_t s = (instance_objs[i].slot - first) / sizeof(int);

		if (instance_objs[i].slot < first || s >= n || owners[s]++)
			ok = false;
	}
	verdict(ok, "registry_one_entry_per_fd",
		"struct instance's fds and instance_objs[] do not pair up one to one%s",
		"");
}

static void test_kernel_names(void)
{
	const struct instance_obj *o;

	o = instance_obj_find(OBJ_PROG, "masq_lan_hairpi");
	verdict(o && !strcmp(o->name, "masq_lan_hairpin"),
		"registry_kernel_cut_name", "'%s' not found by its 15-character kernel name",
		"masq_lan_hairpin");
	o = instance_obj_find(OBJ_MAP, "bpfmasq_.rodata");
	verdict(o && !strcmp(o->name, ".rodata"), "registry_kernel_rodata",
		"'%s' not found", "bpfmasq_.rodata");
	verdict(!instance_obj_find(OBJ_PROG, "masq_lan_hairpinX") &&
		!instance_obj_find(OBJ_MAP, "flowsx") &&
		!instance_obj_find(OBJ_MAP, "flows.rodata_x"),
		"registry_no_false_match", "%s", "a name not ours matched");
}

static void test_from_object(void)
{
	struct bpfmasq_bpf *skel = bpfmasq_bpf__open_and_load();
	struct instance in;
	bool ok;

	if (!skel) {
		verdict(false, "registry_from_object", "cannot load the object: %s",
			strerror(errno));
		return;
	}
	instance_init(&in);
	ok = !instance_from_object(&in, skel->obj);
	for (size_t i = 0; ok && i < instance_nr_objs; i++)
		if (instance_fd(&in, &instance_objs[i]) < 0) {
			verdict(false, "registry_from_object", "no fd for '%s'",
				instance_objs[i].name);
			ok = false;
			break;
		}
	if (ok)
		verdict(true, "registry_from_object", NULL, NULL);
	instance_close(&in);
	bpfmasq_bpf__destroy(skel);
}

/*
 * The build recorded in .rodata, and the layout check against maps of this build (accepted) and against a
 * `flows` whose value is one word longer, as another build's would be
 * (refused, naming the map); an instance from before build ids reads as
 * layout 1.
 */
static void test_layout_check(void)
{
	struct bpfmasq_bpf *skel = bpfmasq_bpf__open();
	struct build_id b;
	struct instance in;
	char why[256] = "";
	int other;

	if (!skel) {
		verdict(false, "layout_check", "cannot open the object: %s",
			strerror(errno));
		return;
	}
	build_stamp(skel);
	if (bpfmasq_bpf__load(skel)) {
		verdict(false, "layout_check", "cannot load the object: %s",
			strerror(errno));
		bpfmasq_bpf__destroy(skel);
		return;
	}
	instance_init(&in);
	in.cfg = *skel->rodata;
	if (instance_from_object(&in, skel->obj)) {
		verdict(false, "layout_check", "%s", "no instance from the object");
		goto out;
	}
	verdict(!build_check_layout(&in, why, sizeof(why)),
		"layout_same_build_accepted", "refused: %s", why);
	build_of(&in, &b);
	verdict(build_same(&b, build_self()) && b.object &&
		b.layout == BPFMASQ_LAYOUT_VERSION &&
		b.layout_hash == build_self()->layout_hash,
		"build_recorded_in_rodata", "recorded version '%s'", b.version);
	in.cfg.build_layout = 0;
	verdict(!build_check_layout(&in, why, sizeof(why)),
		"layout_unrecorded_is_1", "refused: %s", why);
	other = bpf_map_create(BPF_MAP_TYPE_HASH, "flows",
			       sizeof(struct flow_key),
			       sizeof(struct flow_val) + 8, 16, NULL);
	if (other < 0) {
		verdict(false, "layout_other_flows_refused",
			"cannot create a map: %s", strerror(errno));
		goto out;
	}
	close(in.flows_fd);
	in.flows_fd = other;
	why[0] = '\0';
	verdict(build_check_layout(&in, why, sizeof(why)) &&
		strstr(why, "its map 'flows' has type 1, key") != NULL,
		"layout_other_flows_refused", "why: '%s'", why);
out:
	instance_close(&in);
	bpfmasq_bpf__destroy(skel);
}

int main(int argc, char **argv)
{
	struct bpfmasq_bpf *skel;

	harness_init(argc, argv, NULL);
	skel = bpfmasq_bpf__open();
	if (!skel) {
		test_error("registry_open", "cannot open the BPF object: %s",
			   strerror(errno));
		return harness_exit();
	}
	test_object_has_entries(skel);
	test_entries_exist(skel);
	bpfmasq_bpf__destroy(skel);
	test_slots();
	test_kernel_names();
	test_from_object();
	test_layout_check();
	return harness_exit();
}
