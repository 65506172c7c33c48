/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_COMMANDS_H
#define BPFMASQ_COMMANDS_H

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_conns(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_forward(int argc, char **argv);

#include <stdio.h>

/* Their grammar, for `bpfmasq help` and `bpfmasq CMD help`. */
void help_up(FILE *f);
void help_forward(FILE *f);

#include <stdbool.h>

struct instance;
/* Forwards (and ALG expectations) of an instance, as `conns` rows. */
void bindings_show(const struct instance *in, bool expectations);

#endif
