/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_PROGLOAD_H
#define BPFMASQ_PROGLOAD_H

#include "instance.h"

/*
 * Load one program of the data plane over the maps of a running instance,
 * its .rodata (the settings) included, so that it shares every flow,
 * binding and counter with the attached programs.  Returns its fd, or -1
 * after logging why.  What keeps a program alive is whoever holds it: an
 * attached filter, a pin, an fd; a controller that needs one no longer
 * held anywhere (pins die with the mount namespace of `ip netns exec`)
 * loads it again.
 */
int instance_load_prog(const struct instance *in, const char *name);

#endif
