# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# conn: new TCP connections per second and gateway CPU per connection,
# real TCP endpoints (connbench).

declare -gA CPS CNS CBUSY CPK CCTL
CONN_RATIO=

# conn_lab_up SYSTEM: the lab for real TCP through the gateway (connbench
# client in cli, server in srv; the gateway's side is conn_gw_up).  Sets
# CONN_SRC_EXPECT (the source address the server must see) and GW_TASKS.
conn_lab_up() {
	local sys=$1 i
	lab_net
	for i in $(seq 0 $((CONN_NSRC - 1))); do
		nsx cli ip addr add "10.0.1.$((10 + i))/24" dev "$IF_CLI"
	done
	nsx cli ip route add 198.51.100.0/24 via $GW_LAN_IP
	nsx cli ip neigh replace $GW_LAN_IP lladdr "$LAN_MAC" \
		dev "$IF_CLI" nud permanent
	nsx srv ip neigh replace $GW_WAN_IP \
		lladdr "$(mac_of gw "$IF_WAN")" dev "$IF_SRV" nud permanent
	CONN_SRC_EXPECT=$GW_WAN_IP
	if [[ $sys == route ]]; then
		nsx srv ip route add 10.0.1.0/24 via $GW_WAN_IP
		CONN_SRC_EXPECT=
	fi
	conn_gw_up "$sys"
}

# conn_gw_up SYSTEM [BPFMASQ_UP_OPTIONS...]: what both connection tests
# (conn, connrate) share, on a fresh lab_net.  Client and server veths

# "SYSTEM conn/s gw_ns/conn cpu1_ns/conn pkts/conn" to $TMP/conn.
conn_trial() {
	local sys=$1 srv_pid s0 s1 s3 out sout rx0 rx1 ok el i extra=
	conn_lab_up "$sys"
	# ip netns exec execs the server: $! is its pid.
	ip netns exec "$NS_SRV" taskset -c $CPU_GEN "$CONNB" server --addr $DST_IP \
		--port 8000 --nports 4 ${CONN_SRC_EXPECT:+--expect-src $CONN_SRC_EXPECT} \
		>"$TMP/srv.out" 2>&1 &
	srv_pid=$!
	for i in $(seq 50); do
		grep -q listening "$TMP/srv.out" && break
		sleep 0.1
	done
	grep -q listening "$TMP/srv.out" || die "server did not start: $(cat "$TMP/srv.out")"
	# Idle baseline of CPU_GW (1 s), then the run and its tail.
	s0=$(cpu_snap)
	sleep 1
	s1=$(cpu_snap)
	rx0=$(gw_rx)
	perf_start "$CONN_SECS"
	out=$(nsx cli taskset -c $CPU_GEN "$CONNB" client --src 10.0.1.10 \
		--nsrc "$CONN_NSRC" --sports "$CONN_PORTS" --dst $DST_IP \
		--port 8000 --nports 4 --seconds "$CONN_SECS" --conc "$CONN_CONC") ||
		die "client failed"
	perf_report
	sleep "$CONN_TAIL"
	s3=$(cpu_snap)
	rx1=$(gw_rx)
	[[ $sys == bpfmasq* ]] && extra=" new_flows=$(bm_stat new_flows) lan_fastpath=$(bm_stat lan_fastpath) ports_exhausted=$(bm_stat drop_ports_exhausted) table_full=$(bm_stat drop_table_full)"
	[[ $sys == nft ]] && extra=" conntrack=$(nsx gw cat /proc/sys/net/netfilter/nf_conntrack_count)"
	kill -TERM "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	sout=$(tail -n 1 "$TMP/srv.out")
	lab_down
	ok=$(kv ok "$out")
	el=$(kv elapsed_ns "$out")
	echo "  conn $sys: $out $sout rx=$((rx1 - rx0))$extra" >&2
	awk -v s="$sys" -v ok="$ok" -v el="$el" -v rx=$((rx1 - rx0)) \
		-v c="$(cpu_per_conn "$ok" "$s0" "$s1" "$s3")" '
	BEGIN {
		split(c, C)
		if (ok + 0 == 0) { print s, 0, "inf", "inf", "-"; exit }
		printf "%s %.0f %s %s %.2f %s %s %s %s\n", s, ok * 1e9 / el,
			C[1], C[2], rx / ok, C[3], C[4], C[5], C[6]
	}' >>"$TMP/conn"
	echo "  conn $sys: $(tail -n 1 "$TMP/conn") (conn/s gw cpu1 pkts tasks sirq ctl kworker)" >&2
}


bench_conn() {
	echo
	echo "## New TCP connections through the gateway (handshake, server FIN," \
		"client RST; $CONN_NSRC inside addresses, $CONN_CONC in flight," \
		"$CONN_SECS s x $CONN_RUNS runs, median; NAT ports $CONN_PORTS," \
		"closed flows kept ${CONN_TIMEOUT} s)"
	: >"$TMP/conn"
	off_gw_cpu rotated "$CONN_RUNS" "conn " "$CONN_SYSTEMS" conn_trial
	for sys in $CONN_SYSTEMS; do
		median_cols "$TMP/conn" "$sys" CPS=2 CNS=3 CBUSY=4 CPK=5 CCTL=8
	done
	# gw-ns/conn: the gateway's NAPI threads + its processes (bpfmasq's
	# controller; also shown alone as ctl) + CPU_GW softirq, per completed
	# connection.  cpu1: all of CPU_GW's busy time less its idle baseline
	# (a cross-check).  conn/cpu-s: connections per second of gateway CPU,
	# relative to nft (the goal: "at equal gateway CPU").
	printf '%-9s %8s %11s %12s %13s %10s %11s %15s\n' system conn/s \
		gw-ns/conn ctl-ns/conn cpu1-ns/conn pkts/conn conn/s:nft \
		conn/cpu-s:nft
	for sys in $CONN_SYSTEMS; do
		printf '%-9s %8s %11s %12s %13s %10s %11s %15s\n' "$sys" \
			"${CPS[$sys]}" "${CNS[$sys]}" "${CCTL[$sys]}" \
			"${CBUSY[$sys]}" "${CPK[$sys]}" \
			"$(ratio "${CPS[$sys]}" "${CPS[nft]:-}")" \
			"$(ratio "${CNS[nft]:-}" "${CNS[$sys]}")"
	done
	if [[ -n ${CNS[nft]:-} && -n ${CNS[bpfmasq]:-} ]]; then
		awk -v n="${CNS[nft]}" -v b="${CNS[bpfmasq]}" -v c="${CCTL[bpfmasq]}" \
			-v r="${CNS[route]:-}" 'BEGIN {
			printf "bpfmasq without its controller: %.0f ns/conn, %.2fx nft in connections per CPU-second\n", b - c, n / (b - c)
			if (r != "")
				printf "above plain routing: nft %.0f ns/conn, bpfmasq %.0f (data plane %.0f + controller %.0f)\n", n - r, b - r, b - c - r, c
		}'
	fi
	[[ -n ${CNS[nft]:-} && -n ${CNS[bpfmasq]:-} ]] &&
		CONN_RATIO=$(ratio "${CNS[nft]}" "${CNS[bpfmasq]}")
}
