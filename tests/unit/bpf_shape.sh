#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The data plane keeps one shape (bpf/ctx.h): a pair of per-hook global
# functions (NAME_xdp and NAME_tc) is made by HOOK_TWINS() from one body,
# never written out by hand twice; a flow or binding key becomes the
# words a global function takes only through flow_key_pack()/_unpack()
# or bind_key_pack()/_unpack(), never by a memcpy of its own; and the
# data plane's constants are in bpf/consts.h.  Each check is first shown
# a small tree that breaks it, so that a check that can no longer see
# anything fails too.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${*:2}"; fails=$((fails + 1)); }

# twins DIR: "FILE: NAME" of each hand-written pair of global functions.
twins() {
	local names
	names=$(grep -ho '^__attribute__((noinline)) [a-z_0-9 ]*[ *]\([a-z_0-9]*\)_\(tc\|xdp\)(' \
		"$1"/*.[ch] | sed 's/.*[ *]\([a-z_0-9]*_\(tc\|xdp\)\)($/\1/')
	grep '_tc$' <<<"$names" | while read -r n; do
		grep -qx "${n%_tc}_xdp" <<<"$names" && echo "${n%_tc}"
	done
}

# key_words DIR: lines outside ctx.h that copy a key into words, or back.
key_words() {
	grep -nE '__builtin_memcpy\([^;]*\b(k[01]|w[01]?|in_key|__w)\b' \
		"$1"/*.[ch] | grep -v '/ctx\.h:'
}

# constants DIR: numeric #defines outside consts.h.
constants() {
	grep -nE '^#define[[:space:]]+[A-Z_0-9]+[[:space:]]+\(?-?(0x[0-9a-fA-F]+|[0-9]+)(ULL|U)?\)?[[:space:]]*(/\*.*)?$' \
		"$1"/*.[ch] | grep -v '/consts\.h:'
}

# A tree that breaks every rule once.
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
cat > "$bad/bad.h" <<'EOF'
#define MAX_THINGS	8
__attribute__((noinline)) int frob_tc(struct __sk_buff *skb, __u32 a)
__attribute__((noinline)) int frob_xdp(struct xdp_md *ctx, __u32 a)
	__builtin_memcpy(&key, &k0, sizeof(k0));
EOF
if [[ $(twins "$bad") == frob && -n $(key_words "$bad") &&
      -n $(constants "$bad") ]]; then
	pass bpf_shape_checks_see
else
	fail bpf_shape_checks_see "a check no longer finds what it looks for (tests/unit/bpf_shape.sh)"
fi

found=$(twins "$ROOT/bpf" | tr '\n' ' ')
if [[ -z $found ]]; then
	pass bpf_shape_twins
else
	fail bpf_shape_twins "hand-written _tc/_xdp pairs: $found- make them with HOOK_TWINS() (bpf/ctx.h)"
fi
found=$(key_words "$ROOT/bpf")
if [[ -z $found ]]; then
	pass bpf_shape_key_words
else
	fail bpf_shape_key_words "a key copied into words by hand, use flow_key_pack()/bind_key_pack() (bpf/ctx.h): ${found//"$ROOT"\//}"
fi
found=$(constants "$ROOT/bpf")
if [[ -z $found ]]; then
	pass bpf_shape_constants
else
	fail bpf_shape_constants "a constant outside bpf/consts.h: ${found//"$ROOT"\//}"
fi
exit $((fails > 0))
