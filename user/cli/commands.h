/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BPFMASQ_COMMANDS_H
#define BPFMASQ_COMMANDS_H

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_conns(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#include <stdio.h>

/* Their grammar, for `bpfmasq help` and `bpfmasq CMD help`. */
void help_up(FILE *f);
void help_forward(FILE *f);

#include <stdbool.h>

struct instance;

/*
 * Run fn for IFNAME (NULL: for every interface with bpfmasq on it, quietly
 * skipping the others; *found says how many).  In JSON mode the output is
 * one array of what fn prints without IFNAME; with it, fn's output alone,
 * or wrapped in an array when fn prints a list.  0, or 1 after an error.
 */
typedef int (*instance_fn)(struct instance *in);
int instances_each(const char *ifname, instance_fn fn, bool fn_prints_list,
		   int *found);

/* `bpfmasq stats --prometheus [IFNAME]` (metrics_cmd.c). */
int metrics_cmd(const char *ifname);

/* The forwards of an instance, as `conns` rows (conns.c). */
void forwards_print(const struct instance *in);

#endif
