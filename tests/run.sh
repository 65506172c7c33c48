#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run bpfmasq's tests and sum up: tests/run.sh [unit|lab|all]
#
# unit: build/tests/test_nat, test_alg, test_diff, test_registry, test_opts
# (up's option table against README.md and `bpfmasq help`), test_metrics,
# the man page against the option table (man_check.sh), the build's header
# dependencies, the layers of user/ (layers.sh), the data plane's one shape
# (bpf_shape.sh: twins, key words, constants), `make install`
# (install_check.sh), a short fuzz run; lab: every
# tests/lab/test_*.sh (network namespaces), and part of them again over a
# layer-3 WAN (LAB_WAN=tun).  Output is streamed; lines
# beginning "PASS ", "FAIL " (once per failing name) and "SKIP " are
# counted, and a test program that exits non-zero without printing FAIL
# counts as one failure.  The last line is "N passed, N failed[, N
# skipped]"; the exit status is non-zero when anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-all}
# One lab test never needs this long; a hung one must not hang CI.
TEST_TIMEOUT=${TEST_TIMEOUT:-240}

case $MODE in
unit | lab | all) ;;
*)
	echo "usage: tests/run.sh [unit|lab|all]" >&2
	exit 2
	;;
esac
if [[ $(id -u) -ne 0 ]]; then
	echo "tests/run.sh: must run as root (BPF, network namespaces)" >&2
	exit 2
fi

passed=0 failed=0 skipped=0
out=$(mktemp /tmp/bpfmasq-run.XXXXXX)
trap 'rm -f "$out"' EXIT

# run NAME CMD...: stream CMD's output and add up its verdicts.
run() {
	local name=$1 rc p f s
	shift
	echo "== $name"
	# --foreground: Ctrl-C reaches the test, whose trap then cleans up.
	timeout --foreground -k 10 "$TEST_TIMEOUT" "$@" </dev/null 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	# A test may explain one failure on several lines: count names.
	f=$(grep '^FAIL ' "$out" | sed 's/: .*//' | sort -u | wc -l)
	s=$(grep -c '^SKIP ' "$out")
	if ((rc != 0 && f == 0)); then
		if ((rc == 124)); then
			echo "FAIL $name: timed out after ${TEST_TIMEOUT}s"
		else
			echo "FAIL $name: exited with status $rc"
		fi
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

if [[ $MODE == unit || $MODE == all ]]; then
	for name in test_nat test_alg test_diff test_registry test_opts \
		    test_metrics test_config; do
		unit=$ROOT/build/tests/$name
		if [[ -x $unit ]]; then
			run "unit/$name" "$unit"
		else
			echo "FAIL unit/$name: $unit not built (make $unit)"
			failed=$((failed + 1))
		fi
	done
	run build_deps bash "$ROOT/tests/unit/build_deps.sh"
	run layers bash "$ROOT/tests/unit/layers.sh"
	run bpf_shape bash "$ROOT/tests/unit/bpf_shape.sh"
	run man bash "$ROOT/tests/unit/man_check.sh"
	run completion bash "$ROOT/tests/unit/completion_check.sh"
	run scaleout bash "$ROOT/tests/unit/scaleout_check.sh"
	run install bash "$ROOT/tests/unit/install_check.sh"
	# The ALG parsers take bytes from the network: a short fuzz run on
	# every test run, longer ones with `make fuzz FUZZ_SECONDS=N`.
	run fuzz bash "$ROOT/tests/fuzz/run.sh" "${FUZZ_SECONDS:-5}"
fi

if [[ $MODE == lab || $MODE == all ]]; then
	for t in "$ROOT"/tests/lab/test_*.sh; do
		[[ -e $t ]] || continue
		run "lab/$(basename "$t" .sh)" bash "$t"
	done
	# The ordinary suite again over a WAN without Ethernet: wan0 a TUN
	# pair, the shape of PPP and WireGuard links (see lab_wan).  Tests
	# that need XDP on the WAN or --lan are not in it.
	for t in masquerade forward unsolicited same_port ftp irc hairpin_auto \
		 containers upgrade; do
		run "lab-l3wan/test_$t" env LAB_WAN=tun bash "$ROOT/tests/lab/test_$t.sh"
	done
fi

summary="$passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
