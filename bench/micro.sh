# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# micro: the BPF_PROG_TEST_RUN micro-benchmark (build/bench/micro).

MICRO_OUT=

bench_micro() {
	[[ $MICRO == 1 ]] || return 0
	echo
	echo "## BPF_PROG_TEST_RUN micro-benchmark (ns per run)"
	MICRO_OUT=$("$B/micro" ${BENCH_MICRO_FLOWS:-1000 65536 1048576}) ||
		die "micro-benchmark failed"
	echo "$MICRO_OUT"
}
