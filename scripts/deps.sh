#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages that building, testing and the demo need.
# Idempotent and quiet: asks dpkg first and calls apt only for what is missing.
set -euo pipefail

PKGS=(
	# build
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	# fuzzing the ALG parsers (libFuzzer, sanitizers)
	libclang-rt-14-dev
	# lab tests and demo
	iproute2 iputils-ping nftables nginx-light socat curl ethtool procps
	psmisc python3
	# ICMP error and fragment lab tests (traceroute -U/-I/-T, captures)
	traceroute tcpdump
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $st == installed ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"

log=$(mktemp /tmp/bpfmasq-deps.XXXXXX)
policy=/usr/sbin/policy-rc.d
own_policy=
cleanup() {
	[[ -n $own_policy ]] && rm -f "$policy"
	rm -f "$log"
}
trap cleanup EXIT
# The lab runs its own nginx inside namespaces: keep the package's postinst
# from starting one on the host's port 80.
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 0755 "$policy"
	own_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq &&
       apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
       >"$log" 2>&1; then
	cat "$log" >&2
	echo "deps.sh: apt-get failed" >&2
	exit 1
fi
