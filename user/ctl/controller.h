/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_CONTROLLER_H
#define BPFMASQ_CONTROLLER_H

#include "instance.h"

/* What the controller does beyond the data plane's settings (which it
 * reads from the instance). */
struct controller_opts {
	const char *metrics_file;	/* --metrics-file, or NULL */
};

/*
 * Runs until SIGTERM/SIGINT: expires idle flows and follows the WAN
 * address.  Writes one byte to ready_fd (if >= 0) once it is in charge.
 * Leaves programs and flows in place when it stops, so a new controller
 * can take over.
 */
int controller_run(struct instance *in, int ready_fd,
		   const struct controller_opts *opts);

#endif
