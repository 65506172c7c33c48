/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_CONTROLLER_H
#define BPFMASQ_CONTROLLER_H

#include <signal.h>
#include "instance.h"
#include "sync.h"

/* What the controller does beyond the data plane's settings (which it
 * reads from the instance). */
struct controller_opts {
	const char *metrics_file;	/* --metrics-file, or NULL */
	const char *log_mappings;	/* --log-mappings: a file, "syslog" or NULL */
	struct sync_opts sync;		/* .n_peers 0: no state sync */
	/* SIGHUP: re-read config_path (what `up` read, or would have read)
	 * into the running instance (the CLI's `reload`, a layer above);
	 * 0, or -1 with nothing changed (said on stderr: the log). */
	const char *config_path;
	int (*reload)(struct instance *in, const char *config_path);
	/* CONTROLLER_SIG_UPGRADE: the command that starts this controller
	 * again (execv: argv[0] the binary's path), after a reload by
	 * another build swapped the programs; NULL-ended, or NULL. */
	char *const *exec_argv;
};

/*
 * Signals the controller takes besides SIGTERM/SIGINT: SIGHUP reloads
 * (opts->reload, then a resync), SIGUSR1 only resyncs, after `bpfmasq
 * reload` changed the state map itself: the --lan interfaces are attached
 * or detached by name again, and the hairpin filters follow
 * STATE_NO_HAIRPIN.
 */
#define CONTROLLER_SIG_RESYNC SIGUSR1
/*
 * SIGUSR2: `bpfmasq reload` by another build (a package upgrade) swapped
 * the programs for its own: the controller executes its binary's path
 * again (which holds that build now) with the `up` it was started by,
 * which adopts the instance.  The process stays (a unit's main process
 * under systemd); the code becomes the new build's.
 */
#define CONTROLLER_SIG_UPGRADE SIGUSR2

/*
 * Runs until SIGTERM/SIGINT: expires idle flows and follows the WAN
 * address.  Writes one byte to ready_fd (if >= 0) once it is in charge.
 * Leaves programs and flows in place when it stops, so a new controller
 * can take over.
 */
int controller_run(struct instance *in, int ready_fd,
		   const struct controller_opts *opts);

#endif
