// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "build.h"
#include "extpool.h"
#include "hairpin.h"
#include "log.h"
#include "progload.h"
#include "util.h"

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

/* ---- replacing every program: reload of .rodata, upgrade ------------- */

/*
 * A map made anew for a new size, and what is moved into it.  The copy
 * runs twice: before the swap (everything), and after it, for what the
 * old programs made meanwhile (entries the new map lacks; for counters,
 * what they counted since the first copy).  What can still go: an update
 * of an entry both copies have, made by an old program between the two
 * (a flow's last_seen, its TCP state, its cached next hop): the flow
 * stays, maybe idle-timed a little early or asking the FIB once more; and
 * the first reply of a connection opened within the swap itself, when it
 * meets a program of the other generation (a TCP SYN/ACK is sent again).
 * No connection that existed before the swap is lost.
 */
struct migration {
	const struct instance_obj *o;
	int old_fd, new_fd;
	struct bpf_map_info old;
	__u32 new_entries;
	void *snap;		/* per-CPU counters at the first copy */
	unsigned int copied, lost;
};

static int map_info(int fd, struct bpf_map_info *mi)
{
	__u32 len = sizeof(*mi);

	memset(mi, 0, sizeof(*mi));
	return bpf_obj_get_info_by_fd(fd, mi, &len) ? -errno : 0;
}

/* Keyed maps: every entry the new map lacks. */
static int copy_keyed(struct migration *mg)
{
	__u32 ks = mg->old.key_size, vs = mg->old.value_size;
	char *key = calloc(1, ks), *next = calloc(1, ks), *val = calloc(1, vs);
	void *prev = NULL;
	int err = 0;

	if (!key || !next || !val) {
		err = -ENOMEM;
		goto out;
	}
	while (!bpf_map_get_next_key(mg->old_fd, prev, next)) {
		memcpy(key, next, ks);
		prev = key;
		if (bpf_map_lookup_elem(mg->old_fd, key, val))
			continue;	/* gone meanwhile */
		if (!bpf_map_update_elem(mg->new_fd, key, val, BPF_NOEXIST))
			mg->copied++;
		else if (errno != EEXIST)
			mg->lost++;
	}
out:
	free(key);
	free(next);
	free(val);
	return err;
}

/* Arrays: the indexes both have; per-CPU counters also what was counted
 * since the first copy. */
static int copy_array(struct migration *mg, bool again)
{
	bool percpu = mg->old.type == BPF_MAP_TYPE_PERCPU_ARRAY;
	int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
	size_t vs = percpu ? ((mg->old.value_size + 7) & ~7U) * ncpu :
			     mg->old.value_size;
	__u32 n = mg->old.max_entries < mg->new_entries ?
		  mg->old.max_entries : mg->new_entries;
	__u64 *cur = malloc(vs), *nv = malloc(vs);
	int err = 0;

	if (ncpu <= 0 || !cur || !nv) {
		err = -ENOMEM;
		goto out;
	}
	if (!again) {
		mg->snap = calloc(n, vs);
		if (!mg->snap) {
			err = -ENOMEM;
			goto out;
		}
	}
	for (__u32 i = 0; i < n; i++) {
		__u64 *snap = (__u64 *)((char *)mg->snap + (size_t)i * vs);

		if (bpf_map_lookup_elem(mg->old_fd, &i, cur))
			continue;
		if (!again) {
			memcpy(snap, cur, vs);
			if (bpf_map_update_elem(mg->new_fd, &i, cur, BPF_ANY))
				mg->lost++;
			else
				mg->copied++;
			continue;
		}
		/* Only counters (per-CPU __u64) add up; anything else was
		 * copied once. */
		if (!percpu || mg->old.value_size != sizeof(__u64) ||
		    bpf_map_lookup_elem(mg->new_fd, &i, nv))
			continue;
		for (int c = 0; c < ncpu; c++)
			nv[c] += cur[c] - snap[c];
		bpf_map_update_elem(mg->new_fd, &i, nv, BPF_ANY);
	}
out:
	free(cur);
	free(nv);
	return err;
}

static int migrate(struct migration *mg, bool again)
{
	switch (mg->old.type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
		return copy_keyed(mg);
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return copy_array(mg, again);
	default:
		/* The events ring: what is in it is in flight to the
		 * controller, which is replaced too. */
		return 0;
	}
}

/* An attachment swapped, to swap back if a later one fails. */
struct swapped {
	bool xdp;
	int ifindex;
	enum bpf_tc_attach_point point;
	__u32 handle;
	int old_fd, new_fd;
};

/* The WAN's three, the LANs', and a hairpin filter of either kind on
 * each inside interface. */
#define MAX_SWAPS (3 + BPFMASQ_MAX_LAN + 2 * HAIRPIN_MAX_IFS)

struct swaps {
	struct swapped v[MAX_SWAPS];
	int n;
};

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static int swap_xdp(struct swaps *sw, int ifindex, int old_fd, int new_fd)
{
	int err;

	if (old_fd < 0 || new_fd < 0 ||
	    xdp_attached_id(ifindex, NULL) != prog_id(old_fd))
		return 0;	/* not attached there: nothing to swap */
	err = xdp_replace(ifindex, old_fd, new_fd);
	if (!err)
		sw->v[sw->n++] = (struct swapped){ true, ifindex, 0, 0,
						   old_fd, new_fd };
	return err;
}

static int swap_tc(struct swaps *sw, int ifindex,
		   enum bpf_tc_attach_point point, __u32 handle, int old_fd,
		   int new_fd)
{
	int err;

	if (old_fd < 0 || new_fd < 0 ||
	    tc_query(ifindex, point, handle) != prog_id(old_fd))
		return 0;
	err = tc_replace(ifindex, point, handle, new_fd);
	if (!err)
		sw->v[sw->n++] = (struct swapped){ false, ifindex, point,
						   handle, old_fd, new_fd };
	return err;
}

static int swap_hairpin(struct swaps *sw, int wan, int old_fd, int new_fd)
{
	int done[HAIRPIN_MAX_IFS], n;

	if (old_fd < 0 || new_fd < 0)
		return 0;
	n = hairpin_replace(wan, prog_id(old_fd), new_fd, done,
			    HAIRPIN_MAX_IFS);
	for (int i = 0; i < (n < 0 ? 0 : n); i++)
		sw->v[sw->n++] = (struct swapped){
			false, done[i], BPF_TC_INGRESS,
			hairpin_handle(done[i], wan), old_fd, new_fd };
	return n < 0 ? n : 0;
}

static void swap_back(struct swaps *sw)
{
	while (sw->n--) {
		struct swapped *s = &sw->v[sw->n];

		if (s->xdp)
			xdp_replace(s->ifindex, s->new_fd, s->old_fd);
		else
			tc_replace(s->ifindex, s->point, s->handle, s->old_fd);
	}
}

/* Every place an old program runs, the new one, inbound first as `up`
 * attaches (replies of flows the old egress opens keep finding their
 * way).  On failure everything is swapped back. */
static int swap_all(const struct instance *in, const struct instance *nin,
		    const struct nat_state *st)
{
	static struct swaps sw;
	int old_lan = in->prog_lan_open_fd >= 0 ? in->prog_lan_open_fd :
						   in->prog_lan_fast_fd;
	int new_lan = nin->prog_lan_open_fd >= 0 ? nin->prog_lan_open_fd :
						    nin->prog_lan_fast_fd;
	int err;

	sw.n = 0;
	err = swap_xdp(&sw, in->ifindex, in->prog_in_fd, nin->prog_in_fd);
	if (!err)
		err = swap_tc(&sw, in->ifindex, BPF_TC_INGRESS,
			      BPFMASQ_TC_HANDLE, in->prog_in_tc_fd,
			      nin->prog_in_tc_fd);
	for (int i = 0; !err && i < BPFMASQ_MAX_LAN && st->lan_ifindex[i]; i++)
		err = swap_xdp(&sw, st->lan_ifindex[i], old_lan, new_lan);
	if (!err)
		err = swap_hairpin(&sw, in->ifindex, in->prog_lan_hairpin_fd,
				   nin->prog_lan_hairpin_fd);
	if (!err)
		err = swap_hairpin(&sw, in->ifindex, in->prog_lan_hairpin_l3_fd,
				   nin->prog_lan_hairpin_l3_fd);
	if (!err)
		err = swap_tc(&sw, in->ifindex, BPF_TC_EGRESS,
			      BPFMASQ_TC_HANDLE, in->prog_out_fd,
			      nin->prog_out_fd);
	if (err)
		swap_back(&sw);
	return err;
}

/* A build without the pool kept its one --external address in the state
 * map only: the pool the new programs read holds that one. */
static int ext_pool_seed(int fd, const struct nat_state *st)
{
	struct ext_spec one = { .addr = st->ext_want };
	int err;

	if (!st->ext_want)
		return 0;
	err = ext_pool_write(fd, &one, 1, NULL, NULL);
	if (!err && st->ext_addr == st->ext_want)
		err = ext_pool_set_on_wan(fd, one.addr, true);
	errno = -err;
	return err ? -1 : 0;
}

static bool is_table(const struct instance_obj *o, const char *name)
{
	return !strcmp(o->name, name);
}

int instance_replace(struct instance *in, const struct replace_opts *ro)
{
	struct migration mig[32];	/* more than instance_objs has maps */
	struct bpfmasq_bpf *skel;
	struct bpf_program *p;
	struct instance nin;
	struct nat_state st;
	int n_mig = 0, err, ret = -1;

	instance_init(&nin);
	if (instance_get_state(in, &st)) {
		p_err("cannot read the state of %s: %s; nothing changed",
		      in->ifname, strerror(errno));
		return -1;
	}
	skel = bpfmasq_bpf__open();
	if (!skel) {
		p_err("cannot open the BPF object: %s", strerror(errno));
		return -1;
	}
	*skel->rodata = ro->cfg;
	build_stamp(skel);
	bpf_object__for_each_program(p, skel->obj) {
		const struct instance_obj *o =
			instance_obj_find(OBJ_PROG, bpf_program__name(p));
		bool load = o && instance_fd(in, o) >= 0;

		if (p == skel->progs.masq_wan_in_tc || p == skel->progs.masq_wan_out)
			load = true;
		else if (p == skel->progs.masq_lan_fast)
			load = ro->lan && !ro->cfg.cfg_lan_new;
		else if (p == skel->progs.masq_lan_open)
			load = ro->lan && ro->cfg.cfg_lan_new;
		bpf_program__set_autoload(p, load);
	}
	for (size_t i = 0; i < instance_nr_objs; i++) {
		const struct instance_obj *o = &instance_objs[i];
		int fd = instance_fd(in, o);
		struct bpf_map *m;
		struct bpf_map_info mi;
		__u32 want;

		if (o->kind != OBJ_MAP || o->name[0] == '.')
			continue;
		m = bpf_object__find_map_by_name(skel->obj, o->name);
		if (fd < 0) {
			/* Per-CPU scratch space may be made anew, and a map
			 * the old build did not have (seeded below); any
			 * other map would be state the old programs do not
			 * see. */
			if (bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY ||
			    o->new_on_upgrade)
				continue;
			p_err("%s: the running data plane has no map '%s'; run 'bpfmasq down %s' and up again",
			      in->ifname, o->name, in->ifname);
			goto out;
		}
		err = map_info(fd, &mi);
		if (err) {
			p_err("%s: cannot read map '%s': %s", in->ifname,
			      o->name, strerror(-err));
			goto out;
		}
		want = is_table(o, "flows") ? ro->flows_entries :
		       is_table(o, "binds") ? ro->binds_entries :
		       bpf_map__max_entries(m);
		if (!want || want == mi.max_entries) {
			err = bpf_map__reuse_fd(m, fd);
			if (err) {
				p_err("%s: cannot reuse map '%s': %s", in->ifname,
				      o->name, strerror(-err));
				goto out;
			}
			continue;
		}
		if (n_mig == (int)(sizeof(mig) / sizeof(mig[0]))) {
			p_err("%s: too many maps to migrate; nothing changed",
			      in->ifname);
			goto out;
		}
		bpf_map__set_max_entries(m, want);
		mig[n_mig++] = (struct migration){ .o = o, .old_fd = fd,
						   .old = mi,
						   .new_entries = want };
	}
	err = bpfmasq_bpf__load(skel);
	if (err) {
		p_err("cannot load this build's programs over the maps of %s (%s); nothing changed; rerun with -d for the verifier log",
		      in->ifname, strerror(-err));
		goto out;
	}
	snprintf(nin.ifname, sizeof(nin.ifname), "%s", in->ifname);
	nin.ifindex = in->ifindex;
	nin.cfg = *skel->rodata;
	if (instance_from_object(&nin, skel->obj))
		goto out;
	if (in->ext_pool_fd < 0 && ext_pool_seed(nin.ext_pool_fd, &st)) {
		p_err("%s: cannot fill the new map of --external addresses: %s; nothing changed",
		      in->ifname, strerror(errno));
		goto out;
	}
	for (int i = 0; i < n_mig; i++) {
		mig[i].new_fd = instance_fd(&nin, mig[i].o);
		err = migrate(&mig[i], false);
		if (err || mig[i].lost) {
			p_err("%s: the new '%s' (%u entries) cannot take the %u entries of the running one%s; nothing changed",
			      in->ifname, mig[i].o->name, mig[i].new_entries,
			      mig[i].copied + mig[i].lost,
			      err ? ": out of memory" : "");
			goto out;
		}
	}
	err = swap_all(in, &nin, &st);
	if (err) {
		p_err("cannot swap the programs of %s: %s; the old ones run on, nothing changed",
		      in->ifname, strerror(-err));
		goto out;
	}
	for (int i = 0; i < n_mig; i++) {
		unsigned int lost = mig[i].lost;

		migrate(&mig[i], true);
		if (mig[i].lost > lost)
			p_err("%s: %u entries of '%s' made during the swap did not fit into the new one",
			      in->ifname, mig[i].lost - lost, mig[i].o->name);
	}
	instance_close(in);
	*in = nin;
	instance_init(&nin);
	ret = 0;
	/* Pins are for reading (bpftool); the attachments hold the
	 * programs.  A failed pin is said, not undone. */
	if (instance_pin(in))
		p_err("%s: the new programs run but could not be pinned", in->ifname);
out:
	for (int i = 0; i < n_mig; i++)
		free(mig[i].snap);
	instance_close(&nin);
	bpfmasq_bpf__destroy(skel);
	return ret;
}
