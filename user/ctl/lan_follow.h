/* SPDX-License-Identifier: GPL-2.0 */
/* The --lan interfaces by name: attached when they appear or come back. */
#ifndef BPFMASQ_LAN_FOLLOW_H
#define BPFMASQ_LAN_FOLLOW_H

#include "instance.h"

/* Attach the LAN program to every --lan interface that exists and lacks
 * it, and record in the state map which exist (lan_ifindex); logs each
 * interface that appeared, came back or went.  For the controller, at
 * start and on every link change. */
void lan_sync(struct instance *in);

/* Forget what lan_sync() saw, so that the next one looks at every name
 * afresh (after a reload changed the names). */
void lan_sync_reset(void);

#endif
