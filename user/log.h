/* SPDX-License-Identifier: GPL-2.0 */
/* The controller's log: one timestamped line per event, to stderr (which
 * is the log file when it runs in the background). */
#ifndef BPFMASQ_LOG_H
#define BPFMASQ_LOG_H

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
