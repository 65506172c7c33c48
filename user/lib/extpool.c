// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include "extpool.h"
#include "util.h"

int ext_pool_read(int fd, struct ext_spec *out, __u8 *flags, int max)
{
	struct ext_pool_val v[BPFMASQ_MAX_EXT], val;
	struct ext_spec e[BPFMASQ_MAX_EXT];
	__be32 *prev = NULL, key;
	int n = 0;

	/* At most BPFMASQ_MAX_EXT entries (the map's size), put in rank
	 * order as they come. */
	while (n < BPFMASQ_MAX_EXT && !bpf_map_get_next_key(fd, prev, &key)) {
		int i = n++;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val)) {
			n--;	/* gone meanwhile */
			continue;
		}
		for (; i > 0 && v[i - 1].rank > val.rank; i--) {
			v[i] = v[i - 1];
			e[i] = e[i - 1];
		}
		v[i] = val;
		e[i] = (struct ext_spec){ key, val.port_lo, val.port_hi };
	}
	if (n < BPFMASQ_MAX_EXT && errno != ENOENT)
		return -errno;
	for (int i = 0; i < n && i < max; i++) {
		out[i] = e[i];
		if (flags)
			flags[i] = v[i].flags;
	}
	return n < max ? n : max;
}

int ext_spec_find(const struct ext_spec *v, int n, __be32 addr)
{
	for (int i = 0; i < n; i++)
		if (v[i].addr == addr)
			return i;
	return -1;
}

int ext_pool_write(int fd, const struct ext_spec *v, int n,
		   bool (*on_wan)(const char *ifname, __be32 addr),
		   const char *ifname)
{
	struct ext_spec old[BPFMASQ_MAX_EXT];
	int n_old = ext_pool_read(fd, old, NULL, BPFMASQ_MAX_EXT);

	if (n_old < 0)
		return n_old;
	for (int i = 0; i < n_old; i++)
		if (ext_spec_find(v, n, old[i].addr) < 0 &&
		    bpf_map_delete_elem(fd, &old[i].addr) && errno != ENOENT)
			return -errno;
	for (int i = 0; i < n; i++) {
		struct ext_pool_val e = {}, cur;

		e.port_lo = v[i].port_lo;
		e.port_hi = v[i].port_hi;
		e.rank = i;
		if (!bpf_map_lookup_elem(fd, &v[i].addr, &cur)) {
			e.flags = cur.flags;
			if (cur.port_lo != e.port_lo || cur.port_hi != e.port_hi) {
				e.prev_lo = cur.port_lo;
				e.prev_hi = cur.port_hi;
			} else {
				e.prev_lo = cur.prev_lo;
				e.prev_hi = cur.prev_hi;
			}
		} else if (on_wan && on_wan(ifname, v[i].addr)) {
			e.flags = EXT_ON_WAN;
		}
		if (bpf_map_update_elem(fd, &v[i].addr, &e, BPF_ANY))
			return -errno;
	}
	return 0;
}

int ext_pool_set_on_wan(int fd, __be32 addr, bool on)
{
	struct ext_pool_val e;

	if (bpf_map_lookup_elem(fd, &addr, &e))
		return -errno;
	if (!!(e.flags & EXT_ON_WAN) == on)
		return 0;
	e.flags = on ? e.flags | EXT_ON_WAN : e.flags & ~EXT_ON_WAN;
	return bpf_map_update_elem(fd, &addr, &e, BPF_EXIST) ? -errno : 0;
}

const char *ext_specs_str(const struct ext_spec *v, int n, char *buf,
			  size_t len)
{
	char a[16];
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && k < len; i++) {
		k += snprintf(buf + k, len - k, "%s%s", i ? ", " : "",
			      fmt_addr(a, v[i].addr));
		if (v[i].port_hi && k < len)
			k += snprintf(buf + k, len - k, ":%u-%u", v[i].port_lo,
				      v[i].port_hi);
	}
	return buf;
}
