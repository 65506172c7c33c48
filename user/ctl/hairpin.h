/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hairpinning on the inside interfaces (RFC 4787 REQ-9, RFC 5382 REQ-8):
 * masq_lan_hairpin at tc ingress of every interface an inside host may
 * send from, so that it reaches another inside host through the external
 * address without anyone naming the interfaces.
 */
#ifndef BPFMASQ_HAIRPIN_H
#define BPFMASQ_HAIRPIN_H

#include <stdbool.h>
#include "instance.h"

#define HAIRPIN_MAX_IFS 256

/*
 * Attach the hairpin program to every inside interface that lacks it and
 * take it off those that are no longer inside; logs each change.  The
 * programs (masq_lan_hairpin for Ethernet, masq_hairpin_l3 for
 * layer-3 interfaces) are the instance's if it has them, else loaded
 * over its maps the first time an interface needs one, and pinned.
 * Returns how many interfaces carry it, or -1.
 */
int hairpin_sync(struct instance *in);

/* Take the instance's hairpin filters off every interface. */
void hairpin_detach_all(int wan_ifindex);

/* Every hairpin filter of the instance running program old_id runs
 * new_fd from now on; the interfaces done go to done[] (at most max).
 * Their number, or -errno (those in done[] stay replaced). */
int hairpin_replace(int wan_ifindex, __u32 old_id, int new_fd, int *done,
		    int max);
/* The handle of the instance's hairpin filter on ifindex, 0 if none. */
int hairpin_handle(int ifindex, int wan_ifindex);

/* The interfaces that carry the instance's hairpin filter (at most max). */
int hairpin_ifaces(int wan_ifindex, int *ifindex, int max);

#endif
