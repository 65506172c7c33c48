// SPDX-License-Identifier: GPL-2.0
/*
 * `bpfmasq stats --prometheus [IFNAME]`: every instance's metrics
 * (lib/metrics.c reads and prints them), in one exposition on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include "commands.h"
#include "metrics.h"
#include "util.h"

static struct metrics_snap *snaps;
static size_t nsnaps;

static int collect(struct instance *in)
{
	struct metrics_snap *more = realloc(snaps, (nsnaps + 1) * sizeof(*snaps));

	if (!more) {
		p_err("out of memory");
		return -1;
	}
	snaps = more;
	if (metrics_read(in, &snaps[nsnaps]))
		return -1;
	nsnaps++;
	return 0;
}

int metrics_cmd(const char *ifname)
{
	int found, err;

	if (json_output) {
		p_err("--prometheus prints the Prometheus text format: leave out -j");
		return 1;
	}
	err = instances_each(ifname, collect, false, &found);
	/* No interface up: an empty exposition, which is valid. */
	metrics_print(stdout, snaps, nsnaps);
	free(snaps);
	return err;
}
