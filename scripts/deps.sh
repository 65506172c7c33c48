#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages that building, testing and the demo need.
# Idempotent and quiet: asks dpkg first and calls apt only for what is missing.
set -euo pipefail

PKGS=(
	# build
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc
	libsystemd-dev
	# state sync: HMAC-SHA256 and random challenges
	libsodium-dev
	# the CNI plugin (cni/): JSON in and out
	libjansson-dev
	# the man page
	scdoc
	# the Debian package (make deb): debhelper's dh, dpkg-buildpackage,
	# and lintian to check what it made
	debhelper dpkg-dev fakeroot lintian
	# fuzzing the ALG parsers (libFuzzer, sanitizers)
	libclang-rt-14-dev
	# lab tests and demo
	iproute2 iputils-ping nftables nginx-light socat curl ethtool procps
	psmisc python3
	# ICMP error and fragment lab tests (traceroute -U/-I/-T, captures)
	traceroute tcpdump
	# benchmark: skb frames from the client's stack (trafgen); real TCP
	# bulk from container namespaces (iperf3, run only inside the bench's
	# namespaces)
	netsniff-ng iperf3
	# FTP and IRC ALG lab tests: real servers and clients (run only inside
	# the lab's namespaces, never as host services; see below)
	vsftpd lftp ngircd
	# CNI plugin lab test: the reference plugins (bridge, host-local) the
	# plugin is chained after, in /usr/lib/cni
	containernetworking-plugins
	# the systemd unit: systemd-analyze verify (no systemd need run)
	systemd
	# metrics lab test: `promtool check metrics` (the package also ships
	# the Prometheus server, which the host must not get running)
	prometheus
	# HA lab test: VRRP moves the gateway addresses between two gateways
	keepalived
)

# Packages that ship a daemon, and its service name.  The lab starts its
# own copies inside network namespaces; the host must not get one.
declare -A SERVICES=([nginx-light]=nginx [vsftpd]=vsftpd [ngircd]=ngircd
	[prometheus]=prometheus [keepalived]=keepalived [iperf3]=iperf3)

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
# The lab runs its own nginx, vsftpd, ngircd, keepalived and iperf3 inside
# namespaces, and needs only promtool of prometheus: keep the packages'
# postinst from starting them on the host (ports 80, 21, 6667, 9090, 5201;
# VRRP).
# policy-rc.d answers for every package (invoke-rc.d, deb-systemd-invoke).
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

# Nor at the next boot: the daemons this run installed are disabled (a
# daemon that was already installed is the admin's business).
for p in "${missing[@]}"; do
	svc=${SERVICES[$p]:-}
	[[ -n $svc ]] || continue
	if command -v systemctl >/dev/null; then
		systemctl disable --quiet "$svc.service" >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null && [[ -e /etc/init.d/$svc ]]; then
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
	fi
done
