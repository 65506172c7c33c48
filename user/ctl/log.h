/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The controller's log: one line per event to stderr, which is the log
 * file when it runs in the background (a timestamp in front), or the
 * journal under systemd (a syslog priority in front, "<6>", so that the
 * journal keeps the level).
 */
#ifndef BPFMASQ_LOG_H
#define BPFMASQ_LOG_H

/* What happened: LOG_INFO. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What went wrong (the controller carries on or stops, as it says):
 * LOG_ERR. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
