// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

/* systemd sets JOURNAL_STREAM when stderr goes to the journal, which
 * stamps and names lines itself but takes their priority from "<N>". */
static bool to_journal(void)
{
	static int journal = -1;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	return journal;
}

static void log_line(int prio, const char *fmt, va_list ap)
{
	char ts[32];
	time_t t;

	if (to_journal()) {
		fprintf(stderr, "<%d>", prio);
	} else {
		t = time(NULL);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime(&t));
		fprintf(stderr, "%s bpfmasq[%d]: ", ts, getpid());
	}
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_ERR, fmt, ap);
	va_end(ap);
}
