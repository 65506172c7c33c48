/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_METRICS_FILE_H
#define BPFMASQ_METRICS_FILE_H

#include <stdbool.h>

struct instance;

/* How often the controller writes --metrics-file. */
#define METRICS_FILE_INTERVAL_MS 5000

/* The Prometheus exposition of in, written to path atomically (a
 * temporary file renamed over it); 0 or a negative errno. */
int metrics_file_write(const struct instance *in, const char *path);
/* ...from the controller's loop (nothing when path is NULL), logging a
 * failure once and the recovery once; *failing remembers which. */
void metrics_file_tick(const struct instance *in, const char *path,
		       bool *failing);

#endif
