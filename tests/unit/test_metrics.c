// SPDX-License-Identifier: GPL-2.0
/*
 * metric_families[] (user/lib/metrics.c) against the counters and Prometheus
 * practice: every counter of BPFMASQ_COUNTERS feeds exactly one family,
 * names start with bpfmasq_ and counters (only) end in _total, a family's
 * label values are distinct, and the exposition of two interfaces has one
 * block (HELP, TYPE, samples) per family.  With promtool installed, its
 * `check metrics` must find no problem in that exposition.
 *
 * Output: "PASS name" or "FAIL name: why" lines; the exit status says
 * whether anything failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "metrics.h"

static void verdict(bool ok, const char *name, const char *why)
{
	check(ok, name, "%s", why);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void test_counters_fed_once(void)
{
	int fed[CNT_MAX] = {};
	char why[256] = "";

	for (size_t i = 0; i < metric_nr_families; i++) {
		const struct metric_family *m = &metric_families[i];

		if (m->src == MS_DROPS)
			for (int c = CNT_FIRST_DROP; c < CNT_END_DROP; c++)
				fed[c]++;
		for (unsigned int j = 0; j < m->nfeed; j++)
			fed[m->feed[j].counter]++;
	}
	for (int c = 0; c < CNT_MAX && !why[0]; c++)
		if (fed[c] != 1)
			snprintf(why, sizeof(why),
				 "counter %d feeds %d families (add it to metric_families[] in user/lib/metrics.c)",
				 c, fed[c]);
	verdict(!why[0], "metrics_every_counter_fed_once", why);
}

static void test_names(void)
{
	char why[256] = "";

	for (size_t i = 0; i < metric_nr_families && !why[0]; i++) {
		const struct metric_family *m = &metric_families[i];
		bool counter = !strcmp(m->type, "counter");

		if (strncmp(m->name, "bpfmasq_", 8))
			snprintf(why, sizeof(why), "%s: no bpfmasq_ prefix", m->name);
		else if (counter != ends_with(m->name, "_total"))
			snprintf(why, sizeof(why), "%s: a %s %s in _total", m->name,
				 m->type, counter ? "must end" : "must not end");
		else if (!counter && strcmp(m->type, "gauge"))
			snprintf(why, sizeof(why), "%s: type %s", m->name, m->type);
		else if (m->src == MS_COUNTERS && !m->nfeed)
			snprintf(why, sizeof(why), "%s: fed by no counter", m->name);
		else if (m->nfeed > 1 && !m->label)
			snprintf(why, sizeof(why), "%s: several counters, no label", m->name);
		for (size_t j = 0; j < i && !why[0]; j++)
			if (!strcmp(metric_families[j].name, m->name))
				snprintf(why, sizeof(why), "%s twice", m->name);
		for (unsigned int a = 0; a < m->nfeed && !why[0]; a++)
			for (unsigned int b = 0; b < a; b++)
				if (m->feed[a].value && m->feed[b].value &&
				    !strcmp(m->feed[a].value, m->feed[b].value))
					snprintf(why, sizeof(why), "%s: label value %s twice",
						 m->name, m->feed[a].value);
	}
	verdict(!why[0], "metrics_names", why);
}

static void test_exposition(void)
{
	struct metrics_snap s[2] = {};
	char *buf = NULL, why[256] = "", *line, *save;
	const char *last = "";
	size_t len = 0, helps = 0;
	FILE *f = open_memstream(&buf, &len);

	snprintf(s[0].ifname, sizeof(s[0].ifname), "wan0");
	snprintf(s[1].ifname, sizeof(s[1].ifname), "we\"ird");
	for (int c = 0; c < CNT_MAX; c++)
		s[0].counters[c] = c, s[1].counters[c] = 1000 + c;
	s[0].conns_limit = 131072;
	metrics_print(f, s, 2);
	fclose(f);
	/* One block per family: a family's samples follow its HELP and
	 * TYPE, and no family comes back later. */
	for (line = strtok_r(buf, "\n", &save); line && !why[0];
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			last = line + 7;
			helps++;
		} else if (line[0] != '#') {
			if (strncmp(line, last, strcspn(last, " ")) ||
			    line[strcspn(last, " ")] != '{')
				snprintf(why, sizeof(why), "'%s' outside its block", line);
		}
	}
	if (!why[0] && helps != metric_nr_families)
		snprintf(why, sizeof(why), "%zu HELP lines for %zu families",
			 helps, metric_nr_families);
	verdict(!why[0], "metrics_one_block_per_family", why);
	free(buf);
}

/* promtool, where installed (scripts/deps.sh installs it); what it finds
 * goes to stderr. */
static void test_promtool(void)
{
	struct metrics_snap s = { .ifname = "wan0" };
	FILE *p;

	if (access("/usr/bin/promtool", X_OK)) {
		printf("SKIP metrics_promtool: promtool not installed (scripts/deps.sh)\n");
		return;
	}
	p = popen("promtool check metrics >&2", "w");
	if (!p) {
		verdict(false, "metrics_promtool", "cannot run promtool");
		return;
	}
	metrics_print(p, &s, 1);
	verdict(pclose(p) == 0, "metrics_promtool",
		"promtool check metrics found problems (on stderr)");
}

int main(int argc, char **argv)
{
	harness_init(argc, argv, NULL);
	test_counters_fed_once();
	test_names();
	test_exposition();
	test_promtool();
	return harness_exit();
}
