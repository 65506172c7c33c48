# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What the benchmark's parts (bench/*.sh, run by bench/run.sh) share: the
# settings from the environment (run.sh lists them), the lab of three
# namespaces (cli --- gw --- srv, scripts/nslib.sh names and removes them),
# the gateway set up as each system, the generator, the CPU accounting and
# the small statistics.

set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUTPUT:-$REPO/build}
B=$OUT/bench
BMB=$B/bmbench
BPFMASQ=${BPFMASQ:-$OUT/bpfmasq}

RATE=${BENCH_RATE:-250000}
FLOWS=${BENCH_FLOWS:-64}
SECS=${BENCH_SECONDS:-2}
RUNS=${BENCH_RUNS:-5}
SYSTEMS=${BENCH_SYSTEMS:-nft bpfmasq xdp route}
MICRO=${BENCH_MICRO:-1}
BATCH=${BENCH_BATCH:-16}
NDR=${BENCH_NDR:-1}
NDR_MAX=${BENCH_NDR_MAX:-4000000}
NDR_STEPS=${BENCH_NDR_STEPS:-8}
NDR_LOSS=${BENCH_NDR_LOSS:-10}	# per mille of frames a passing trial may lose
ONLY=${BENCH_ONLY:-}
CONN_SYSTEMS=${BENCH_CONN_SYSTEMS:-nft bpfmasq bpfmasq-new route}
# connrate also measures the default mode with the event stream read.
CR_SYSTEMS=${BENCH_CONNRATE_SYSTEMS:-nft bpfmasq bpfmasq-log bpfmasq-ev bpfmasq-new route}
CONN_SECS=${BENCH_CONN_SECONDS:-5}
CONN_RUNS=${BENCH_CONN_RUNS:-3}
CONN_CONC=${BENCH_CONN_CONC:-256}
CONN_NSRC=${BENCH_CONN_NSRC:-8}
CONN_PORTS=${BENCH_CONN_PORTS:-1024-65535}
CONN_TIMEOUT=${BENCH_CONN_TIMEOUT:-1}
CONN_TAIL=${BENCH_CONN_TAIL:-3}
CONNB=$B/connbench
CR_RATES=${BENCH_CONNRATE_RATES:-10000 20000 50000}
CR_SECS=${BENCH_CONNRATE_SECONDS:-5}
CR_RUNS=${BENCH_CONNRATE_RUNS:-3}
CR_LAG_US=${BENCH_CONNRATE_LAG_US:-5000}
CR_DPORTS=${BENCH_CONNRATE_DPORTS:-16}
CR_DONE_PCT=${BENCH_CONNRATE_DONE_PCT:-99}
CRB=$B/connrate
CM_SYSTEMS=${BENCH_CONNMAX_SYSTEMS:-nft bpfmasq bpfmasq-new}
CM_START=${BENCH_CONNMAX_START:-25000}
CM_MAX=${BENCH_CONNMAX_MAX:-400000}
CM_STEPS=${BENCH_CONNMAX_STEPS:-3}
SKB_GEN=${BENCH_SKB_GEN:-bmbench}

TMP=$(mktemp -d /tmp/bmbench.XXXXXX)
NS_PREFIX=bmb NS_TMP=$TMP
. "$REPO/scripts/nslib.sh"
NS_CLI=$(ns cli)	# full names, for the tools that enter them
NS_GW=$(ns gw)
NS_SRV=$(ns srv)
# The interfaces' names hold only the pid's last digits: IFNAMSIZ is 16.
ID=$(($$ % 100000))
IF_CLI=bc$ID	# cli side of cli<->gw
IF_LAN=bl$ID	# gw LAN
IF_WAN=bw$ID	# gw WAN
IF_SRV=bs$ID	# srv side of gw<->srv
BM_WAN=$IF_WAN	# what bm_stat asks about
PIN=/sys/fs/bpf/bmbench-$ID
CR_FILE=$TMP/connrate

CLI_IP=10.0.1.2
GW_LAN_IP=10.0.1.1
GW_WAN_IP=192.0.2.1
SRV_IP=192.0.2.2
DST_IP=198.51.100.1
DPORT=9
SPORT_BASE=20000
NAT_LO=61000
NAT_HI=65535
CPU_GEN=0
CPU_GW=1
CONN_CTL_CPU=${BENCH_CONN_CTL_CPU:-$CPU_GW}	# gateway processes (bpfmasq's controller)

BM_UP=

die() {
	echo "bench: $*" >&2
	exit 1
}

lab_down() {
	if [[ -n $BM_UP ]]; then
		bm_down "$IF_WAN"
		BM_UP=
	fi
	rm -rf "$PIN"
	ns_del_all
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	lab_down
	rm -rf "$TMP"
	exit $rc
}
ns_trap cleanup

# rotated RUNS LABEL SYSTEMS CMD [ARG...]: RUNS rounds of "CMD SYSTEM
# ARG..." for each word of SYSTEMS, the order rotated every round so that
# drift on a shared machine spreads evenly over the systems.
rotated() {
	local runs=$1 label=$2 run sys
	local -a order
	read -ra order <<<"$3"
	shift 3
	for run in $(seq "$runs"); do
		echo "# ${label}run $run/$runs" >&2
		for sys in "${order[@]}"; do
			"$1" "$sys" "${@:2}"
		done
		order=("${order[@]:1}" "${order[0]}")
	done
}

# off_gw_cpu CMD [ARG...]: run CMD with this script's own work (ip,
# ethtool, the /proc scans) kept off the gateway CPU: the children it
# starts inherit the mask.
off_gw_cpu() {
	local rc
	taskset -pc "$CPU_GEN" $$ >/dev/null
	"$@"
	rc=$?
	taskset -pc "0-$(($(nproc) - 1))" $$ >/dev/null
	return $rc
}

# median_cols FILE SYSTEM ARRAY=COLUMN...: ARRAY[SYSTEM] is the median of
# column COLUMN over SYSTEM's lines (one a run) of FILE.
median_cols() {
	local file=$1 sys=$2 spec
	shift 2
	for spec in "$@"; do
		declare -n median_cols_out=${spec%=*}
		# shellcheck disable=SC2034 # a nameref: the caller's array
		median_cols_out[$sys]=$(awk -v s="$sys" -v c="${spec#*=}" \
			'$1 == s { print $c }' "$file" | median)
		unset -n median_cols_out
	done
}

# want PART: PART is to run (BENCH_ONLY empty or naming it).
want() { [[ -z $ONLY || " $ONLY " == *" $1 "* ]]; }

# napi_thread IFNAME: pid of the kernel thread napi/IFNAME-N (exactly one).
napi_thread() {
	local p comm found=
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null <"$p/comm" || continue
		if [[ $comm == "napi/$1-"* ]]; then
			[[ -n $found ]] && return 1
			found=${p#/proc/}
		fi
	done
	[[ -n $found ]] && echo "$found"
}

# threaded NAME IFNAME CPU: NAPI of IFNAME (in namespace NAME) in its own thread, pinned to CPU.
threaded() {
	local pid i
	nsx "$1" sh -c "echo 1 > /sys/class/net/$2/threaded" ||
		die "cannot switch $2 to threaded NAPI"
	for i in $(seq 50); do
		pid=$(napi_thread "$2") && break
		sleep 0.1
	done
	[[ -n $pid ]] || die "no NAPI thread for $2"
	taskset -pc "$3" "$pid" >/dev/null || die "cannot pin napi/$2 to CPU $3"
	# Real-time priority: the NAPI thread runs as soon as frames arrive,
	# as a NIC's softirq would, instead of waiting behind the spinning
	# generator (CPU 0) or other load on a shared machine (CPU 1).
	chrt -f -p 50 "$pid" >/dev/null || die "cannot make napi/$2 SCHED_FIFO"
	echo "$pid"
}

# lab_net: fresh namespaces, veths, addresses, the route to the server side
# and permanent neighbours on the gateway.  Sets SRV_MAC, LAN_MAC.
lab_net() {
	ns_add cli gw srv || die "cannot create the namespaces"
	ip link add "$IF_CLI" netns "$NS_CLI" type veth peer name "$IF_LAN" \
		netns "$NS_GW" || die "cannot create veth"
	ip link add "$IF_WAN" netns "$NS_GW" type veth peer name "$IF_SRV" \
		netns "$NS_SRV" || die "cannot create veth"
	nsx cli ip addr add $CLI_IP/24 dev "$IF_CLI"
	nsx gw ip addr add $GW_LAN_IP/24 dev "$IF_LAN"
	nsx gw ip addr add $GW_WAN_IP/24 dev "$IF_WAN"
	nsx srv ip addr add $SRV_IP/24 dev "$IF_SRV"
	nsx srv ip addr add $DST_IP/24 dev lo
	nsx cli ip link set "$IF_CLI" up
	nsx gw ip link set "$IF_LAN" up
	nsx gw ip link set "$IF_WAN" up
	nsx srv ip link set "$IF_SRV" up
	nsx gw sysctl -qw net.ipv4.ip_forward=1
	nsx gw ip route add 198.51.100.0/24 via $SRV_IP
	SRV_MAC=$(mac_of srv "$IF_SRV")
	LAN_MAC=$(mac_of gw "$IF_LAN")
	nsx gw ip neigh replace $SRV_IP lladdr "$SRV_MAC" dev "$IF_WAN" \
		nud permanent
	nsx gw ip neigh replace $CLI_IP lladdr "$(mac_of cli "$IF_CLI")" \
		dev "$IF_LAN" nud permanent
}

# bm_gw_up [OPTIONS...]: the bpfmasq system: `bpfmasq up` on the gateway's
# WAN with its LAN as --lan and OPTIONS, taken down again by lab_down.
bm_gw_up() {
	bm up "$IF_WAN" --lan "$IF_LAN" "$@" --log "$TMP/ctl.log" \
		>"$TMP/up.out" 2>&1 ||
		die "bpfmasq up failed: $(cat "$TMP/up.out")"
	BM_UP=1
}

# nft_masquerade PORTS: the nft system, the kernel's own NAT on the
# gateway: masquerade out of the WAN, TCP and UDP to ports PORTS (LO-HI).
nft_masquerade() {
	nsx gw nft -f - <<EOF || die "nft failed"
table ip bmbench {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "$IF_WAN" meta l4proto { tcp, udp } masquerade to :$1
		oifname "$IF_WAN" masquerade
	}
}
EOF
}

# lab_up SYSTEM: fresh namespaces and the gateway configured as SYSTEM.

lab_up() {
	local sys=$1 srv_mac lan_mac
	lab_net
	srv_mac=$SRV_MAC
	lan_mac=$LAN_MAC
	GEN_MACS="--smac $(mac_of cli "$IF_CLI") --dmac $lan_mac"

	case $sys in
	nft|bpfmasq)
		SINK_SRC=$GW_WAN_IP
		SINK_PORTS=$NAT_LO-$NAT_HI ;;
	*)
		SINK_SRC=$CLI_IP
		SINK_PORTS=$SPORT_BASE-65535 ;;
	esac
	mkdir -p "$PIN"
	"$BMB" attach "$NS_SRV" "$IF_SRV" "$PIN/sink" sink --saddr "$SINK_SRC" \
		--daddr $DST_IP --sport "$SINK_PORTS" --dport $DPORT --ttl 63 ||
		die "cannot attach the sink"
	threaded srv "$IF_SRV" $CPU_GEN >/dev/null

	case $sys in
	route)
		# GRO on: the NAPI ring a NIC would have (UDP forwarding
		# is not coalesced: rx-udp-gro-forwarding stays off).
		nsx gw ethtool -K "$IF_LAN" gro on >/dev/null ;;
	nft)
		nsx gw ethtool -K "$IF_LAN" gro on >/dev/null
		nft_masquerade "$NAT_LO-$NAT_HI" ;;
	xdp)
		"$BMB" attach "$NS_GW" "$IF_LAN" "$PIN/redirect" redirect \
			--out "$IF_WAN" --dmac "$srv_mac" ||
			die "cannot attach the redirect" ;;
	bpfmasq)
		bm_gw_up --ports $NAT_LO-$NAT_HI ;;
	*)
		die "unknown system '$sys'" ;;
	esac
	GW_NAPI=$(threaded gw "$IF_LAN" $CPU_GW) || exit 1
}

# gen RATE COUNT [EXTRA...]: one generator run; prints its key=value line.
gen() {
	local rate=$1 count=$2
	shift 2
	"$BMB" gen "$NS_CLI" "$IF_CLI" $GEN_MACS --saddr $CLI_IP \
		--daddr $DST_IP --sport-base $SPORT_BASE --dport $DPORT \
		--flows "$FLOWS" --rate "$rate" --count "$count" \
		--batch "$BATCH" --cpu $CPU_GEN --sink "$PIN/sink" "$@"
}

kv() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }

warm_and_run() {
	local g=$1 fp0
	"$g" 20000 $((FLOWS * 4)) >/dev/null || die "warm-up failed"
	[[ $sys == bpfmasq ]] && fp0=$(bm_stat lan_fastpath)
	out=$("$g" "$RATE" $((RATE * SECS)) --napi "$GW_NAPI") ||
		die "$2 failed"
	[[ $sys == bpfmasq ]] &&
		extra=" fastpath=$(($(bm_stat lan_fastpath) - fp0))"
	return 0
}

# trial SYSTEM: build the lab, warm the flows up, measure once.

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="${1:-nan}" -v b="${2:-nan}" 'BEGIN {
		if (a == "nan" || b == "nan" || a == "inf" || b == "inf" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b }'
}

# compute full checksums (tx offload off: frames arrive as from a NIC, so
# bpfmasq's XDP paths see them) and run threaded NAPI pinned to CPU 0 with
# the client and server; both gateway veths run threaded NAPI (GRO on gives
# veth its NAPI) pinned to CPU 1, and so does bpfmasq's controller.  The
# gateway has permanent neighbours for the inside addresses.  Sets GW_TASKS
# (the gateway's threads).
conn_gw_up() {
	local sys=$1 i cli_mac pid
	shift
	cli_mac=$(mac_of cli "$IF_CLI")
	for i in $(seq 0 $((CONN_NSRC - 1))); do
		nsx gw ip neigh replace "10.0.1.$((10 + i))" \
			lladdr "$cli_mac" dev "$IF_LAN" nud permanent
	done
	nsx cli ethtool -K "$IF_CLI" tx off gro on >/dev/null
	nsx srv ethtool -K "$IF_SRV" tx off gro on >/dev/null
	# TSO off on the gateway's veths: veth hands a forwarded skb from a
	# TSO-capable device to the peer's NAPI only if it could be GROed
	# (veth_skb_is_eligible_for_gro()), else to netif_rx(), i.e. the
	# *gateway's* CPU would run the client's or server's TCP stack.
	nsx gw ethtool -K "$IF_LAN" gro on tso off >/dev/null
	nsx gw ethtool -K "$IF_WAN" gro on tso off >/dev/null
	threaded cli "$IF_CLI" $CPU_GEN >/dev/null
	threaded srv "$IF_SRV" $CPU_GEN >/dev/null
	case $sys in
	route)
		;;
	nft)
		nsx gw sysctl -qw \
			net.netfilter.nf_conntrack_tcp_timeout_close=$CONN_TIMEOUT \
			net.netfilter.nf_conntrack_tcp_timeout_time_wait=$CONN_TIMEOUT ||
			die "cannot set conntrack timeouts"
		nft_masquerade "$CONN_PORTS" ;;
	bpfmasq|bpfmasq-new|bpfmasq-log|bpfmasq-ev)
		# bpfmasq-new: also --lan-new (connections opened in XDP,
		# past the gateway's forward rules).  bpfmasq-log: the
		# default mode with the mapping log on; bpfmasq-ev: and a
		# `bpfmasq monitor` printing every connection, whose work
		# counts as the gateway's (it runs in the gateway's
		# namespace).
		rm -f "$TMP/mappings.log"
		bm_gw_up --lan-inbound \
			$([[ $sys == bpfmasq-new ]] && echo --lan-new) \
			$([[ $sys == bpfmasq-log || $sys == bpfmasq-ev ]] &&
				echo --log-mappings "$TMP/mappings.log") \
			--ports "$CONN_PORTS" \
			--timeout-tcp-transitory "$CONN_TIMEOUT" "$@"
		if [[ $sys == bpfmasq-ev ]]; then
			nsx gw "$BPFMASQ" monitor "$IF_WAN" >/dev/null 2>&1 &
		fi ;;
	*)
		die "unknown system '$sys' for the connection test" ;;
	esac
	pid=$(threaded gw "$IF_LAN" $CPU_GW) || exit 1
	GW_TASKS="/proc/$pid"
	pid=$(threaded gw "$IF_WAN" $CPU_GW) || exit 1
	GW_TASKS+=" /proc/$pid"
	# The controller (expiry) is gateway work too: on the gateway CPU
	# (BENCH_CONN_CTL_CPU; its run time counts wherever it runs).
	for pid in $(ip netns pids "$NS_GW"); do
		taskset -a -pc "$CONN_CTL_CPU" "$pid" >/dev/null ||
			die "cannot pin gateway process $pid"
		GW_TASKS+=" $(echo /proc/"$pid"/task/*)"
	done
}

# cpu_snap: "wall_ns gw_task_ns cpu1_softirq_ticks cpu1_idle_ticks
# ctl_task_ns" where
# gw_task_ns sums the run time (/proc/PID/schedstat) of the gateway's
# threads and the ticks are CPU_GW's /proc/stat fields (idle+iowait: NO_HZ

# keeps them exact; softirq: sampled at the tick).
cpu_snap() {
	local t sum=0 napi=0 a n=0 idle iow sirq
	for t in $GW_TASKS; do
		read -r a _ 2>/dev/null <"$t/schedstat" || continue
		sum=$((sum + a))
		n=$((n + 1))
		((n <= 2)) && napi=$((napi + a))	# the two NAPI threads
	done
	read -r _ _ _ _ idle iow _ sirq _ < <(grep "^cpu$CPU_GW " /proc/stat)
	echo "$(date +%s%N) $sum $sirq $((idle + iow)) $((sum - napi)) $(kworker_ns)"
}

# kworker_ns: run time of every kworker thread on the machine (ns).  Work
# the kernel defers to workqueues (conntrack's garbage collector among it)
# runs there, on any CPU: reported beside the gateway CPU, not in it.
kworker_ns() {
	local t c a sum=0
	for t in /proc/[0-9]*; do
		read -r c 2>/dev/null <"$t/comm" || continue
		[[ $c == kworker/* ]] || continue
		read -r a _ 2>/dev/null <"$t/schedstat" && sum=$((sum + a))
	done
	echo $sum
}

gw_rx() {
	local a b
	a=$(nsx gw cat /sys/class/net/$IF_LAN/statistics/rx_packets)
	b=$(nsx gw cat /sys/class/net/$IF_WAN/statistics/rx_packets)
	echo $((a + b))
}

# cpu_per_conn N SNAP0 SNAP1 SNAP3 (cpu_snap lines: idle baseline from 0 to
# 1, the run from 1 to 3): "gw cpu1 tasks sirq ctl kworker", each in ns
# per connection for N connections.  gw = the gateway's threads + CPU_GW's
# softirq; cpu1 = all of CPU_GW's busy time less its idle rate (a
# cross-check); kworker = every kworker's run time less its idle rate.
cpu_per_conn() {
	awk -v ok="$1" -v hz="$(getconf CLK_TCK)" -v a="$2" -v b="$3" -v d="$4" '
	BEGIN {
		split(a, A); split(b, B); split(d, D)
		if (ok + 0 == 0) { print "inf inf inf inf inf inf"; exit }
		# baseline: CPU_GW busy ns per wall ns with no traffic
		base = ((B[1] - A[1]) - (B[4] - A[4]) * 1e9 / hz) / (B[1] - A[1])
		if (base < 0) base = 0
		wall = D[1] - B[1]
		task = D[2] - B[2]
		sirq = (D[3] - B[3]) * 1e9 / hz
		busy = wall - (D[4] - B[4]) * 1e9 / hz - base * wall
		printf "%.0f %.0f %.0f %.0f %.0f %.0f\n", (task + sirq) / ok,
			busy / ok, task / ok, sirq / ok, (D[5] - B[5]) / ok,
			((D[6] - B[6]) - (B[6] - A[6]) * wall / (B[1] - A[1])) / ok
	}'
}

# perf_start SECONDS / perf_report: with BENCH_CONN_PERF, record the
# gateway CPU for SECONDS and print its top symbols (BENCH_PERF_LIMIT
# percent and up, BENCH_PERF_LINES lines) on stderr.
PERF_PID=
perf_start() {
	[[ -n ${BENCH_CONN_PERF:-} ]] || return 0
	perf record -q -g -C $CPU_GW -o "$TMP/perf.data" -- \
		sleep "$1" >/dev/null 2>&1 &
	PERF_PID=$!
}

perf_report() {
	[[ -n $PERF_PID ]] || return 0
	wait "$PERF_PID"
	PERF_PID=
	perf report -i "$TMP/perf.data" --no-children --sort comm,dso,sym -g none \
		--percent-limit "${BENCH_PERF_LIMIT:-1}" --stdio 2>/dev/null |
		grep -v '^#' | grep "%" | head -"${BENCH_PERF_LINES:-40}" >&2
}

