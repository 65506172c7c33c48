/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A labelled, non-fatal check for the plain-C unit tests (in the manner of
 * the kernel selftests' ASSERT_*): one "PASS name" or "FAIL name: why"
 * line, which tests/run.sh counts; check_fails says how many failed.
 */
#ifndef BPFMASQ_TEST_CHECK_H
#define BPFMASQ_TEST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int check_fails;

/* (No printf format attribute: "" is a fine explanation for some.) */
static inline bool check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		return true;
	}
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	check_fails++;
	return false;
}

#endif
