// SPDX-License-Identifier: GPL-2.0
/*
 * --metrics-file: the controller writes `stats --prometheus` to a file
 * every few seconds, for node_exporter's textfile collector (Debian's
 * reads the *.prom files in /var/lib/prometheus/node-exporter).  The collector may read
 * at any moment, so the file is written whole under another name in the
 * same directory and renamed over the old one: it sees the old or the new,
 * never half.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "instance.h"
#include "log.h"
#include "metrics.h"
#include "metrics_file.h"

int metrics_file_write(const struct instance *in, const char *path)
{
	char tmp[PATH_MAX];
	struct metrics_snap snap;
	FILE *f;
	int err = 0;

	if (metrics_read(in, &snap))
		return -EIO;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	metrics_print(f, &snap, 1);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void metrics_file_tick(const struct instance *in, const char *path,
		       bool *failing)
{
	int err;

	if (!path)
		return;
	err = metrics_file_write(in, path);
	/* Once per change, not every few seconds. */
	if (err && !*failing)
		log_err("%s: cannot write metrics to %s: %s", in->ifname, path,
			strerror(-err));
	else if (!err && *failing)
		log_msg("%s: writing metrics to %s again", in->ifname, path);
	*failing = err != 0;
}
