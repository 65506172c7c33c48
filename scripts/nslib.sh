# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Network namespaces for the lab tests (tests/lab/lib.sh) and the
# benchmark (bench/lib.sh): one naming, one way into a namespace, one
# teardown, one way to ask the gateway's bpfmasq.
#
# Every namespace is named "<NS_PREFIX><pid>-<name>" (ns NAME), so runs
# never collide; the includer sets NS_PREFIX ("bm" for the lab, "bmb" for
# the benchmark), NS_TMP (a directory of its own for command output) and
# BPFMASQ (the binary) before sourcing, and installs its cleanup with
# ns_trap, which calls ns_del_all among what it does.  Traffic only ever
# flows between the namespaces made here.

: "${NS_PREFIX:?set NS_PREFIX before sourcing nslib.sh}"
: "${NS_TMP:?set NS_TMP before sourcing nslib.sh}"
PY=${PY:-/usr/bin/python3}	# Debian's, with its python3-* packages
NS_ID=$NS_PREFIX$$
# A namespace left by a run that was killed hard must not block this one.
compgen -G "/run/netns/$NS_ID-*" >/dev/null && NS_ID=$NS_PREFIX$$r$RANDOM
NS_LIST=()

# ns NAME: the full name of namespace NAME.
ns() { printf '%s-%s' "$NS_ID" "$1"; }

# nsx NAME CMD...: run CMD inside namespace NAME.
nsx() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}

# ns_add NAME...: new namespaces with lo up and no IPv6 chatter.
ns_add() {
	local n
	for n; do
		ip netns add "$(ns "$n")" || return 1
		NS_LIST+=("$n")
		nsx "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null
		nsx "$n" ip link set lo up
	done
}

# ns_del_all: every process left in the namespaces made here is asked to
# stop (killed after 2 s), then the namespaces go.
ns_del_all() {
	local n pids i
	for n in "${NS_LIST[@]}"; do
		pids=$(ip netns pids "$(ns "$n")" 2>/dev/null)
		[[ -n $pids ]] && kill $pids 2>/dev/null
	done
	for i in $(seq 20); do
		pids=
		for n in "${NS_LIST[@]}"; do
			pids+=$(ip netns pids "$(ns "$n")" 2>/dev/null)
		done
		[[ -z $pids ]] && break
		sleep 0.1
	done
	for n in "${NS_LIST[@]}"; do
		pids=$(ip netns pids "$(ns "$n")" 2>/dev/null)
		[[ -n $pids ]] && kill -9 $pids 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	NS_LIST=()
}

# ns_trap CLEANUP: CLEANUP runs on exit, also after Ctrl-C or a TERM.
ns_trap() {
	trap "$1" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# mac_of NAME IF: the MAC address of IF in namespace NAME.
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

# ---- bpfmasq in the gateway namespace (gw) ------------------------------

# bm ARGS...: bpfmasq inside the gateway namespace, bounded.
# (in gw, or in $BM_NS)
bm() { timeout 30 ip netns exec "$(ns "${BM_NS:-gw}")" "$BPFMASQ" "$@"; }

# bm_down [NS:]IFNAME: `bpfmasq down` in gw (or NS), bounded and quiet (a
# cleanup step).
bm_down() {
	local n=gw i=$1
	[[ $i == *:* ]] && n=${i%%:*} i=${i#*:}
	timeout 15 ip netns exec "$(ns "$n")" "$BPFMASQ" down "$i" >/dev/null 2>&1
}

# bm_json ARGS...: `bpfmasq -j ARGS` to stdout via a file (a controller
# that kept a $(...)'s pipe open must not hang it).
bm_json() {
	bm -j "$@" >"$NS_TMP/json.out" 2>"$NS_TMP/json.err" || return 1
	cat "$NS_TMP/json.out"
}

# bm_stat NAME [IFNAME]: one counter of `bpfmasq stats -j` (0 if absent);
# IFNAME defaults to BM_WAN, else wan0.
bm_stat() {
	bm_json stats "${2:-${BM_WAN:-wan0}}" | "$PY" -c 'import json, sys
def find(d, k):
    if isinstance(d, dict):
        if k in d and not isinstance(d[k], (dict, list)):
            return d[k]
        for v in d.values():
            r = find(v, k)
            if r is not None:
                return r
    elif isinstance(d, list):
        for v in d:
            r = find(v, k)
            if r is not None:
                return r
    return None
r = find(json.load(sys.stdin), sys.argv[1])
print(0 if r is None else int(r))' "$1"
}
