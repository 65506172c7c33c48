/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_NL_H
#define BPFMASQ_NL_H

#include <stddef.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/*
 * One rtnetlink dump: a request of type with payload (an ifinfomsg,
 * rtmsg, tcmsg...), each answer handed to cb until the dump is done or cb
 * returns non-zero.  0 or a negative errno.
 */
int nl_dump(__u16 type, const void *payload, size_t len,
	    int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg);

#endif
