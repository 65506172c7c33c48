// SPDX-License-Identifier: GPL-2.0
/* The unit tests' harness: cases, asserts, the -t filter (harness.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MAX_FILTERS	32

static const char *filters[MAX_FILTERS];
static int nfilters;
static int n_passed, n_failed;

static struct {
	char name[192];
	bool failed, quiet, open;
} cur;

static void usage(const char *prog, const char *extra, int status)
{
	fprintf(status ? stderr : stdout,
		"usage: %s [-t NAME[,NAME...]]...\n"
		"  -t NAME   run only NAME (a file, group or case) and what is in it;\n"
		"            GROUP/TEXT: the cases of GROUP whose names hold TEXT\n%s",
		prog, extra ? extra : "");
	exit(status);
}

void harness_init(int argc, char **argv, const char *usage_extra)
{
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		char *list, *tok;

		switch (opt) {
		case 't':
			list = strdup(optarg);
			for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
				if (nfilters == MAX_FILTERS) {
					fprintf(stderr, "%s: more than %d -t names; run fewer at once\n",
						argv[0], MAX_FILTERS);
					exit(2);
				}
				filters[nfilters++] = tok;
			}
			break;
		case 'h':
			usage(argv[0], usage_extra, 0);
			break;
		default:
			usage(argv[0], usage_extra, 2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'; name tests with -t NAME\n",
			argv[0], argv[optind]);
		exit(2);
	}
}

bool test_selected(const char *name)
{
	size_t len = strlen(name);

	if (!nfilters)
		return true;
	for (int i = 0; i < nfilters; i++)
		if (!strncmp(filters[i], name, len) &&
		    (filters[i][len] == '\0' || filters[i][len] == '/'))
			return true;
	return false;
}

bool test_selected_in(const char *group, const char *name)
{
	size_t len = strlen(group);

	if (!nfilters)
		return true;
	for (int i = 0; i < nfilters; i++) {
		if (strncmp(filters[i], group, len))
			continue;
		if (filters[i][len] == '\0' ||
		    (filters[i][len] == '/' && strstr(name, filters[i] + len + 1)))
			return true;
	}
	return false;
}

void test_start(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cur.name, sizeof(cur.name), fmt, ap);
	va_end(ap);
	cur.failed = false;
	cur.quiet = false;
	cur.open = true;
}

void test_start_quiet(bool quiet)
{
	cur.quiet = quiet;
}

static void vfail(const char *fmt, va_list ap)
{
	/* One FAIL line per case (tests/run.sh counts them); further
	 * problems of the same case are indented under it. */
	if (cur.failed)
		printf("    also: ");
	else if (cur.quiet)
		printf("FAIL %s (run to prepare a selected case): ", cur.name);
	else
		printf("FAIL %s: ", cur.name);
	vprintf(fmt, ap);
	putchar('\n');
	cur.failed = true;
}

bool test_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	return false;
}

bool test_failed(void)
{
	return cur.failed;
}

void test_end(void)
{
	if (!cur.open)
		return;
	cur.open = false;
	/* A preparing step that failed counts: what it prepared is wrong. */
	if (cur.failed)
		n_failed++;
	else if (!cur.quiet) {
		n_passed++;
		printf("PASS %s\n", cur.name);
	}
}

bool check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	test_start("%s", name);
	if (!ok) {
		va_start(ap, fmt);
		vfail(fmt, ap);
		va_end(ap);
	}
	test_end();
	return ok;
}

void test_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("SKIP %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void test_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	n_failed++;
}

int harness_exit(void)
{
	if (nfilters && !n_passed && !n_failed) {
		fprintf(stderr, "no test matches the -t names given; see the PASS lines of a whole run for names\n");
		return 1;
	}
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
