// SPDX-License-Identifier: GPL-2.0
/*
 * The --lan interfaces are names, not ifindexes: a container runtime
 * deletes its bridge with its last container and makes it again with the
 * next one, and at boot `up` may run before the bridge exists.  The
 * controller attaches the LAN's XDP program (the one `up` loaded, whose
 * fd the instance holds) to an interface of such a name whenever it
 * appears, and keeps nat_state.lan_ifindex (is_lan(), --lan-inbound) to
 * the ones that exist.
 */
#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "lan_follow.h"
#include "log.h"
#include "progload.h"

/* What the controller last saw of each name: -1 not yet looked, 0 gone;
 * and the ifindex it was last attached as (0: never). */
static int seen[BPFMASQ_MAX_LAN] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static int was[BPFMASQ_MAX_LAN];

void lan_sync_reset(void)
{
	for (int i = 0; i < BPFMASQ_MAX_LAN; i++)
		seen[i] = -1;
	memset(was, 0, sizeof(was));
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Attach to ifindex unless ours is there; false when it cannot serve. */
static bool lan_attach(struct instance *in, const char *name, int ifindex,
		       int prog_fd)
{
	__u32 id = xdp_attached_id(ifindex, NULL);
	int err;

	if (id && id == prog_id(prog_fd))
		return true;
	if (id) {
		log_err("--lan %s: ifindex %d has another XDP program (id %u); not attached",
			name, ifindex, id);
		return false;
	}
	err = lan_xdp_attach(ifindex, prog_fd, in->cfg.cfg_lan_inbound);
	if (err == -EOPNOTSUPP)
		log_err("--lan %s: ifindex %d has no native XDP, so it cannot take redirected replies (--lan-inbound); not attached",
			name, ifindex);
	else if (err)
		log_err("--lan %s: cannot attach XDP to ifindex %d: %s", name,
			ifindex, strerror(-err));
	return !err;
}

/*
 * The LAN program, loaded now if need be: a reload that named a first
 * --lan loaded one, but under `ip netns exec` a program attached nowhere
 * dies with the reload's pins, as the hairpin programs would (hairpin.c).
 */
static int lan_prog(struct instance *in)
{
	const char *name = in->cfg.cfg_lan_new ? "masq_lan_open" :
						 "masq_lan_fast";
	const struct instance_obj *o = instance_obj_find(OBJ_PROG, name);

	if (in->prog_lan_open_fd >= 0)
		return in->prog_lan_open_fd;
	if (in->prog_lan_fast_fd >= 0)
		return in->prog_lan_fast_fd;
	*instance_slot(in, o) = instance_load_prog(in, name);
	if (instance_fd(in, o) >= 0 && instance_pin(in))
		log_err("%s: cannot pin %s", in->ifname, name);
	return instance_fd(in, o);
}

void lan_sync(struct instance *in)
{
	__u32 now[BPFMASQ_MAX_LAN] = {};
	struct nat_state st;
	int n = 0, prog_fd;

	if (instance_get_state(in, &st))
		return;
	/* No name left: only lan_ifindex to empty. */
	prog_fd = st.lan_name[0][0] ? lan_prog(in) : -1;
	if (prog_fd < 0 && st.lan_name[0][0])
		return;
	for (int i = 0; i < BPFMASQ_MAX_LAN && st.lan_name[i][0]; i++) {
		const char *name = st.lan_name[i];
		int ifindex = if_nametoindex(name);

		if (!ifindex) {
			if (seen[i] > 0)
				log_msg("--lan %s: removed (ifindex %d); attached again when it comes back",
					name, seen[i]);
			else if (seen[i] < 0)
				log_msg("--lan %s: not there yet; attached when it appears",
					name);
			seen[i] = 0;
			continue;
		}
		if (ifindex == seen[i]) {
			now[n++] = ifindex;
			continue;
		}
		if (!lan_attach(in, name, ifindex, prog_fd)) {
			seen[i] = 0;
			continue;
		}
		if (was[i] && was[i] != ifindex)
			log_msg("--lan %s: back as ifindex %d (was %d); fast path attached again",
				name, ifindex, was[i]);
		else if (seen[i] >= 0 || !was[i])
			log_msg("--lan %s: %s as ifindex %d; fast path attached",
				name, seen[i] < 0 ? "found" : "appeared", ifindex);
		seen[i] = was[i] = ifindex;
		now[n++] = ifindex;
	}
	if (!memcmp(now, st.lan_ifindex, sizeof(now)))
		return;
	/* Whatever is no longer a --lan loses our program, even one this
	 * controller attached after a reload took its name away. */
	for (int i = 0; i < BPFMASQ_MAX_LAN && st.lan_ifindex[i]; i++) {
		bool kept = false;

		for (int j = 0; j < n; j++)
			kept |= now[j] == st.lan_ifindex[i];
		if (!kept)
			lan_xdp_detach(st.lan_ifindex[i]);
	}
	memcpy(st.lan_ifindex, now, sizeof(now));
	st.route_gen++;		/* cached next hops may name the old one */
	if (instance_set_state(in, &st))
		log_err("--lan: cannot record the interfaces: %s",
			strerror(errno));
}
