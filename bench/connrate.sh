# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# connrate: new connections at rates the gateway limits, stateless TCP
# endpoints in XDP (connrate).

declare -gA RNS RPCT
CR_RATIO= CR_RATIO_NEW= CR_RATIO_LOG= CR_RATIO_EV= CR_GOAL_RATE=

# The conn part's endpoints (TCP stacks on CPU 0) limit it to ~9k conn/s,
# where every packet wakes the gateway's NAPI threads and that wake-up
# cost, the same for every system, is most of the gateway's CPU per
# connection.  Here client and server are stateless XDP programs
# (connrate.bpf.c: the client a paced live-frames generator, the server
# answering out of its own veth), so the gateway sees hundreds of kpps and
# its own per-connection work is what is measured.  Same gateway (conn_gw_up),
# same packets per connection (SYN, SYN|ACK, ACK, FIN|ACK, ACK, RST).

# connrate_lab_up SYSTEM RATE: fresh lab; bpfmasq's flow table holds every
# connection of 2x (timeout + its 2 s expiry period) at RATE, rounded up to
# a power of two as the map's buckets are.  Sets GW_TASKS.
connrate_lab_up() {
	local sys=$1 rate=$2 need max=131072
	lab_net
	need=$((rate * (CONN_TIMEOUT + 2) * 2))
	while ((max < need)); do max=$((max * 2)); done
	conn_gw_up "$sys" --max-flows "$max"
}

# settle: wait (up to 20 s) until the machine is idle, at least 95% over
# 0.3 s.  Removing a namespace is asynchronous: a kworker flushes its
# conntrack entries or frees bpfmasq's maps for a while after lab_down, on
# any CPU, and would run into the next trial (and its idle baseline).
settle() {
	local i a b u0 u1 t0 t1
	for i in $(seq 60); do
		read -r _ a < <(grep '^cpu ' /proc/stat)
		sleep 0.3
		read -r _ b < <(grep '^cpu ' /proc/stat)
		set -- $a
		u0=$(($4 + $5)) t0=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8))
		set -- $b
		u1=$(($4 + $5)) t1=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8))
		if (((u1 - u0) * 100 >= (t1 - t0) * 95)); then
			((i > 3)) && echo "  settle: idle after $((i * 3 / 10)) s" >&2
			return 0
		fi
	done
	echo "  settle: the machine did not become idle within 20 s" >&2
}

# connrate_trial SYSTEM RATE: fresh lab, one run.  Appends "SYSTEM RATE
# done% conn/s gw_ns/conn cpu1_ns/conn pkts/conn ctl_ns/conn kworker_ns/conn"
# to $CR_FILE.
connrate_trial() {
	local sys=$1 rate=$2 s0 s1 s3 rx0 rx1 out ok n gen_ns extra= expect=
	connrate_lab_up "$sys" "$rate"
	[[ $sys != route ]] &&
		expect="--expect-src $GW_WAN_IP --expect-sports $CONN_PORTS"
	settle
	s0=$(cpu_snap)
	sleep 1
	s1=$(cpu_snap)
	rx0=$(gw_rx)
	perf_start "$((CR_SECS + CONN_TAIL))"
	out=$("$CRB" "$NS_CLI" "$IF_CLI" "$NS_SRV" "$IF_SRV" --dmac "$LAN_MAC" \
		--src 10.0.1.10 --nsrc "$CONN_NSRC" --dst $DST_IP --port 8000 \
		--nports "$CR_DPORTS" --rate "$rate" --seconds "$CR_SECS" \
		--lag-us "$CR_LAG_US" --batch "$BATCH" --cpu $CPU_GEN $expect) ||
		die "connrate failed"
	sleep "$CONN_TAIL"
	s3=$(cpu_snap)
	rx1=$(gw_rx)
	perf_report
	[[ $sys == bpfmasq* ]] && extra=" new_flows=$(bm_stat new_flows) lan_fastpath=$(bm_stat lan_fastpath) ports_exhausted=$(bm_stat drop_ports_exhausted) table_full=$(bm_stat drop_table_full)"
	if [[ -n ${BENCH_DEBUG:-} ]]; then
		{
			nsx gw ethtool -S "$IF_LAN" | grep -v ': 0$'
			nsx gw ethtool -S "$IF_WAN" | grep -v ': 0$'
			nsx srv ethtool -S "$IF_SRV" | grep -v ': 0$'
			nsx cli ethtool -S "$IF_CLI" | grep -v ': 0$'
			[[ $sys == bpfmasq* ]] && bm stats "$IF_WAN" | grep -v ' 0$'
		} >&2
	fi
	[[ $sys == nft ]] && extra=" conntrack=$(nsx gw cat /proc/sys/net/netfilter/nf_conntrack_count) invalid=$(nsx gw conntrack -S 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if (sub(/^invalid=/, "", $i)) n += $i } END { print n + 0 }')"
	lab_down
	n=$(kv conns "$out")
	ok=$(kv completed "$out")
	gen_ns=$(kv gen_ns "$out")
	echo "  connrate $sys $rate: $out rx=$((rx1 - rx0))$extra" >&2
	awk -v s="$sys" -v r="$rate" -v n="$n" -v ok="$ok" -v g="$gen_ns" \
		-v rx=$((rx1 - rx0)) -v c="$(cpu_per_conn "$ok" "$s0" "$s1" "$s3")" '
	BEGIN {
		split(c, C)
		if (ok + 0 == 0) { print s, r, 0, 0, "inf", "inf", "-", "inf", "inf"; exit }
		printf "%s %s %.2f %.0f %s %s %.2f %s %s\n", s, r, 100 * ok / n,
			ok * 1e9 / g, C[1], C[2], rx / ok, C[5], C[6]
	}' >>"$CR_FILE"
	echo "  connrate $sys $rate: $(tail -n 1 "$CR_FILE") (rate done% conn/s gw cpu1 pkts ctl kworker)" >&2
}


# connrate_rates: every system at every offered rate, rotated.
connrate_rates() {
	local rate
	for rate in $CR_RATES; do
		rotated "$CR_RUNS" "connrate $rate conn/s, " "$CR_SYSTEMS" \
			connrate_trial "$rate"
	done
}

bench_connrate() {
	echo
	echo "## New TCP connections, stateless endpoints in XDP (handshake," \
		"server FIN, client RST; $CONN_NSRC inside addresses, $CR_SECS s x" \
		"$CR_RUNS runs, median; NAT ports $CONN_PORTS, closed flows kept" \
		"${CONN_TIMEOUT} s)"
	: >"$TMP/connrate"
	off_gw_cpu connrate_rates
	# Median of column C of SYSTEM's runs at RATE.
	rcol() {
		awk -v s="$1" -v r="$2" -v c="$3" '$1 == s && $2 == r { print $c }' \
			"$TMP/connrate" | median
	}
	printf '%-8s %-9s %8s %7s %11s %12s %13s %10s %15s\n' offered system \
		conn/s done% gw-ns/conn ctl-ns/conn cpu1-ns/conn pkts/conn \
		conn/cpu-s:nft
	for rate in $CR_RATES; do
		all_ok=1
		RNS=() RPCT=()
		for sys in $CR_SYSTEMS; do
			RPCT[$sys]=$(rcol "$sys" "$rate" 3)
			RNS[$sys]=$(rcol "$sys" "$rate" 5)
			awk -v p="${RPCT[$sys]}" -v m="$CR_DONE_PCT" \
				'BEGIN { exit !(p + 0 >= m) }' || all_ok=0
		done
		for sys in $CR_SYSTEMS; do
			printf '%-8s %-9s %8s %7s %11s %12s %13s %10s %15s\n' \
				"$rate" "$sys" "$(rcol "$sys" "$rate" 4)" \
				"${RPCT[$sys]}" "${RNS[$sys]}" \
				"$(rcol "$sys" "$rate" 8)" "$(rcol "$sys" "$rate" 6)" \
				"$(rcol "$sys" "$rate" 7)" \
				"$(ratio "${RNS[nft]:-}" "${RNS[$sys]}")"
		done
		# The goal is judged at the highest offered rate that every
		# system still completes: above it the comparison would be of
		# failures, not of work per connection.
		if ((all_ok && rate > ${CR_GOAL_RATE:-0})) &&
			[[ -n ${RNS[nft]:-} && -n ${RNS[bpfmasq]:-} ]]; then
			CR_GOAL_RATE=$rate
			CR_RATIO=$(ratio "${RNS[nft]}" "${RNS[bpfmasq]}")
			CR_RATIO_NEW= CR_RATIO_LOG= CR_RATIO_EV=
			[[ -n ${RNS[bpfmasq-new]:-} ]] &&
				CR_RATIO_NEW=$(ratio "${RNS[nft]}" "${RNS[bpfmasq-new]}")
			[[ -n ${RNS[bpfmasq-log]:-} ]] &&
				CR_RATIO_LOG=$(ratio "${RNS[nft]}" "${RNS[bpfmasq-log]}")
			[[ -n ${RNS[bpfmasq-ev]:-} ]] &&
				CR_RATIO_EV=$(ratio "${RNS[nft]}" "${RNS[bpfmasq-ev]}")
		fi
	done
	if [[ -n $CR_GOAL_RATE ]]; then
		echo "goal judged at $CR_GOAL_RATE conn/s (the highest offered rate" \
			"every system completed >= $CR_DONE_PCT%, median)"
	elif [[ " $CR_SYSTEMS " == *" nft "* && " $CR_SYSTEMS " == *" bpfmasq "* ]]; then
		echo "no offered rate where every system completed >= $CR_DONE_PCT%"
	fi
}
