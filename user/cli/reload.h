/* SPDX-License-Identifier: GPL-2.0 */
/* `bpfmasq reload`: the config file applied again to a running instance
 * (reload.c says what can change and what is refused). */
#ifndef BPFMASQ_RELOAD_H
#define BPFMASQ_RELOAD_H

#include <stdio.h>

struct instance;

/* The controller's SIGHUP (controller_opts.reload): the changes go to its
 * log, one line each.  0, or -1 with the error said. */
int reload_in_controller(struct instance *in, const char *path);

int cmd_reload(int argc, char **argv);
void help_reload(FILE *f);

#endif
