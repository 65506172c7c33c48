#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The build knows what includes what: a changed header rebuilds what
# includes it and nothing else.  Asks make (-q, with -W pretending the
# header was just edited; nothing is built or touched) about outputs of an
# earlier build.  Run from tests/run.sh after the build.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUTPUT:-build}
fails=0

# stale NAME HEADER TARGET: after editing HEADER, TARGET must be rebuilt.
# fresh NAME HEADER TARGET: ... and must not be.
ask() { make -C "$ROOT" -q OUTPUT="$OUT" -W "$2" "$OUT/$3" >/dev/null 2>&1; }
stale() {
	if ask "$@"; then
		echo "FAIL build_$1: editing $2 would not rebuild $OUT/$3"
		fails=$((fails + 1))
	else
		echo "PASS build_$1"
	fi
}
fresh() {
	if ask "$@"; then
		echo "PASS build_$1"
	else
		echo "FAIL build_$1: editing $2 would rebuild $OUT/$3, which does not include it"
		fails=$((fails + 1))
	fi
}

# Up to date to begin with, or the answers below mean nothing.
if ! make -C "$ROOT" -q OUTPUT="$OUT" "$OUT/bpfmasq" >/dev/null 2>&1; then
	echo "FAIL build_deps: $OUT/bpfmasq is not up to date (run make first)"
	exit 1
fi
stale seqadj_bpf headers/seqadj.h bpfmasq.bpf.o
stale seqadj_alg headers/seqadj.h user/ctl/alg.o
stale seqadj_binary headers/seqadj.h bpfmasq
stale bpf_header bpf/nat.h bpfmasq.bpf.o
stale defaults_bpf headers/defaults.h bpfmasq.bpf.o
stale defaults_cli headers/defaults.h user/cli/up_opts.o
stale user_header user/lib/instance.h user/cli/forward.o
fresh user_header_precise user/alg/alg_irc.h user/cli/forward.o
fresh user_header_not_bpf user/lib/instance.h bpfmasq.bpf.o
# The ALG parsers are plain C: a new BPF object does not rebuild them.
fresh alg_not_bpf bpf/nat.h user/alg/alg_ftp.o
# A unit test links the library layer and only the layers it tests.
if make -C "$ROOT" -q OUTPUT="$OUT" "$OUT/tests/test_registry" "$OUT/tests/test_opts" \
	>/dev/null 2>&1; then
	fresh test_links_lib user/ctl/controller.h tests/test_registry
	stale test_links_cli user/ctl/controller.h tests/test_opts
else
	echo "SKIP build_test_links: $OUT/tests/test_registry, test_opts not built or not up to date"
fi
exit $((fails > 0))
