/* SPDX-License-Identifier: GPL-2.0 */
/* One port forward, as `forward add` and a config file's forward line
 * give it: parsed here, installed into a running instance here. */
#ifndef BPFMASQ_FORWARD_H
#define BPFMASQ_FORWARD_H

#include <stdbool.h>
#include <linux/types.h>
#include "fwdmap.h"

struct instance;

struct fwd_spec {
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u16 port;		/* the external port, host order */
	__be32 addr;		/* the inside server */
	__be16 to_port;
};

/* "tcp" "80" "10.0.1.5:8080"; errors as `forward add` says them. */
int forward_parse(const char *proto, const char *port, const char *target,
		  struct fwd_spec *f);

/*
 * Add f to a running instance whose external address is ext_addr: the
 * pair of static bindings and the port's mark.  With existed non-NULL,
 * the very same forward already there is no error (*existed = true);
 * without, it is refused as `forward add` refuses it.  -1: error said.
 */
int forward_install(const struct instance *in, __be32 ext_addr,
		    const struct fwd_spec *f, bool *existed);

/* Every forward of a running instance, malloc'ed into *out (free it). */
int forwards_read(const struct instance *in, __be32 ext_addr,
		  struct fwd_spec **out, int *n);

#endif
