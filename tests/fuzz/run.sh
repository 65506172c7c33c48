#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build and run the ALG parser fuzz targets: tests/fuzz/run.sh [SECONDS]
#
# Each target (libFuzzer with ASan and UBSan) runs SECONDS (default 10)
# from a small seed corpus written here; its log, any crash-* input and
# the corpus it grew are kept in build/fuzz/<target>.d/.  Prints PASS/FAIL
# per target and "N passed, N failed"; exits non-zero on any crash.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-10}
OUT=$ROOT/build/fuzz
CC=${FUZZ_CC:-clang}
CFLAGS=(-g -O1 '-fsanitize=fuzzer,address,undefined'
	-fno-sanitize-recover=undefined -I"$ROOT/user/alg" -I"$ROOT/headers")

if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]]; then
	echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
	exit 2
fi

# name, then its sources
declare -A SOURCES=(
	[fuzz_ftp]="tests/fuzz/fuzz_ftp.c user/alg/alg_ftp.c"
	[fuzz_irc]="tests/fuzz/fuzz_irc.c user/alg/alg_irc.c"
)

# One file per seed: printf formats, so \r\n and \001 work.
seed() {
	local dir=$1 name=$2
	shift 2
	# shellcheck disable=SC2059
	printf "$@" >"$dir/$name"
}

seed_ftp() {
	local d=$1
	seed "$d" port 'PORT 10,0,0,2,4,1\r\n'
	seed "$d" port2 'USER anonymous\r\nport 192,168,1,10,195,80\r\n'
	seed "$d" eprt 'EPRT |1|10.0.0.2|5282|\r\n'
	seed "$d" eprt6 'EPRT |2|fd00::2|5282|\r\nEPRT !1!10.0.0.2!5282!\r\n'
	seed "$d" r227 '227 Entering Passive Mode (10,0,0,5,19,137).\r\n'
	seed "$d" r229 '150 ok\r\n229 Entering Extended Passive Mode (|||6446|)\r\n'
	seed "$d" split 'PORT 10,0,0'
}

seed_irc() {
	local d=$1
	seed "$d" chat 'PRIVMSG bob :\001DCC CHAT chat 167772162 5000\001\r\n'
	seed "$d" send ':a!b@c PRIVMSG bob :\001DCC SEND "my file" 3232235777 5000 12\001\r\n'
	seed "$d" resume 'PRIVMSG a :\001DCC RESUME f 5000 1024\001\r\nPRIVMSG b :\001DCC ACCEPT f 5000 1024\001\r\n'
	seed "$d" several 'PRIVMSG b :\001DCC TSEND f 1 2 3\001\r\nNOTICE x :hi\r\nPRIVMSG c :\001DCC SCHAT chat 4294967295 0 77\001\r\n'
	seed "$d" cve 'PRIVMSG bob :hi \001DCC CHAT chat 167772162 5000\001\r\n'
}

mkdir -p "$OUT"
passed=0 failed=0
for name in fuzz_ftp fuzz_irc; do
	# shellcheck disable=SC2086
	if ! (cd "$ROOT" && $CC "${CFLAGS[@]}" ${SOURCES[$name]} -o "$OUT/$name"); then
		echo "FAIL $name: build"
		failed=$((failed + 1))
		continue
	fi
	work=$OUT/$name
	mkdir -p "$work.d/corpus"
	"seed_${name#fuzz_}" "$work.d/corpus"
	if (cd "$work.d" && "$work" -max_total_time="$SECONDS_EACH" \
		-max_len=4096 -print_final_stats=1 corpus) >"$work.d/log" 2>&1; then
		echo "PASS $name ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' \
			"$work.d/log" | grep -o '[0-9]*$') runs in ${SECONDS_EACH}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: see $work.d/log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$work.d/log" | head -5
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
