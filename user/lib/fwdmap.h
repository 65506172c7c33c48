/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A forward in the maps, beyond its two static bindings: the mark of its
 * external port, and its removal with the connections it carried.  For
 * the CLI's forward commands and for the state sync that applies a peer
 * gateway's forwards.
 */
#ifndef BPFMASQ_FWDMAP_H
#define BPFMASQ_FWDMAP_H

#include <stdbool.h>
#include <linux/types.h>

struct instance;

/* The mark of an external port that has a forward (in fwd_ports), on or
 * off: -1 with errno when the map refuses. */
int forward_port_mark(const struct instance *in, __be16 port, bool on);

/* Remove the forward of proto's external port (and the connections it
 * carried), as `forward del` does: -1 when there is none. */
int forward_remove(const struct instance *in, __be32 ext_addr, __u8 proto,
		   __u16 port);

#endif
