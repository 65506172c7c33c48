# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Container bulk (BENCH_ONLY part "container"): real TCP from container
# namespaces on a bridge of the gateway, through the gateway, to a server
# namespace; gateway CPU per GB of bulk (upload: the containers send;
# download: they receive) and per short connection, for
#   nft      nftables masquerade
#   bpfmasq  bpfmasq up WAN, no --lan: the bridge's tc program
#            (masq_lan_hairpin) carries the containers' established flows
#            to the WAN (lan_tc_fastpath); replies through the WAN's XDP
#   route    plain kernel forwarding, no NAT
# A part of bench/run.sh (bench_container); bench/lib.sh and
# scripts/nslib.sh give the lab helpers it uses (lab_net, lab_down,
# threaded, cpu_snap, cpu_per_conn, rotated, median, ratio, kv, bm_stat,
# ns_add, nsx, die).
#
# Lab: run.sh's lab_net (gw, srv, the WAN veth; its cli stays unused), a
# bridge in gw and BENCH_CT_CONTAINERS container namespaces on it, each
# with one veth, checksum offload on (the TCP checksum is left partial)
# and GSO on, as a container's veth has them.
#
# Where the CPU goes on a veth lab (and how it is kept apart):
# - A veth hands an skb to its peer's NAPI only when the sender has no TSO
#   (veth_skb_is_eligible_for_gro()); else netif_rx() runs the receive on
#   the sending CPU, in the sender's context.  So the containers' veths have
#   TSO off (GSO on: the container's TCP still builds super-packets and
#   cuts them itself, on its CPU) and the gateway's bridge ports GRO on:
#   their NAPI thread, pinned to CPU_GW, receives the segments with their
#   partial checksums and GRO makes super-packets of them again, what a
#   NIC with GRO hands a gateway.  The WAN's NAPI (GRO on; XDP for
#   bpfmasq) runs on CPU_GW too.  The GRO work is the same for every
#   system (a container host's gateway gets the super-packets whole).
# - BENCH_CT_TSO=1 keeps the containers' TSO (super-packets reach the
#   gateway whole, through netif_rx()) and moves their receive to CPU_GW
#   with RPS.  That work then runs as a softirq, mostly in CPU_GW's idle
#   task, where this kernel (no IRQ time accounting, a tickless idle)
#   hardly samples it: its figures undercount, differently per system.
# - What the gateway sends (TSO on, as a NIC's offload) reaches the server
#   and the containers through netif_rx(); RPS on their veths moves that
#   work to CPU_GEN, so the gateway's CPU does not run their TCP stacks.
# - Gateway CPU = run time of the gateway's NAPI threads and processes
#   (bpfmasq's controller) + CPU_GW's softirq time (what netif_rx()
#   leaves to a softirq, accounted apart with IRQ time accounting), as
#   the conn part measures it (cpu_snap / cpu_per_conn in run.sh).
# iperf3 (client in each container, one server per container in srv, all
# on CPU_GEN) moves the bulk; connbench the short connections.
#
# Environment: BENCH_CT_SYSTEMS ("nft bpfmasq route"), BENCH_CT_RUNS (3),
# BENCH_CT_SECONDS (iperf3 -t, 5), BENCH_CT_CONTAINERS (2),
# BENCH_CT_CONN_SECONDS (connbench client, 3), BENCH_CT_CONN_CONC (64),
# BENCH_CT_TSO (0; 1: the containers' veths keep TSO, see below),
# BENCH_CONN_PERF (as for conn: perf's top symbols of CPU_GW per run).

CT_SYSTEMS=${BENCH_CT_SYSTEMS:-nft bpfmasq route}
CT_RUNS=${BENCH_CT_RUNS:-3}
CT_SECS=${BENCH_CT_SECONDS:-5}
CT_N=${BENCH_CT_CONTAINERS:-2}
CT_CONN_SECS=${BENCH_CT_CONN_SECONDS:-3}
CT_CONN_CONC=${BENCH_CT_CONN_CONC:-64}
CT_PORTS=1024-65535
CT_BR=cb$ID		# the gateway's bridge
CT_NET=10.0.7
CT_IPERF_PORT=5201
CT_TSO=${BENCH_CT_TSO:-0}

ct_ns() { echo "c$1"; }	# container i's namespace, as nslib names it
ct_port() { echo "cv$ID-$1"; }	# container i's bridge port, in gw

# The containers' namespaces are nslib's too: lab_down removes them.
ct_lab_down() { lab_down; }

# ct_rps NS IF CPU: IF's receive work (netif_rx()) on CPU.
ct_rps() {
	nsx "$1" sh -c "printf %x $((1 << $3)) > /sys/class/net/$2/queues/rx-0/rps_cpus" ||
		die "cannot set RPS on $2 (kernel without CONFIG_RPS?)"
}

# ct_lab_up SYSTEM: fresh lab, the gateway as SYSTEM.  Sets GW_TASKS.
ct_lab_up() {
	local sys=$1 i n port pid
	lab_net
	nsx gw ip link add "$CT_BR" type bridge stp_state 0 ||
		die "cannot create the bridge"
	nsx gw ip addr add $CT_NET.1/24 dev "$CT_BR"
	nsx gw ip link set "$CT_BR" up
	for i in $(seq "$CT_N"); do
		n=$(ct_ns "$i")
		port=$(ct_port "$i")
		ns_add "$n" || die "cannot create namespace $n"
		ip link add eth0 netns "$(ns "$n")" type veth peer name "$port" \
			netns "$NS_GW" || die "cannot create veth $port"
		nsx gw ip link set "$port" master "$CT_BR"
		nsx gw ip link set "$port" up
		nsx "$n" ip addr add "$CT_NET.$((1 + i))/24" dev eth0
		nsx "$n" ip link set eth0 up
		nsx "$n" ip route add default via $CT_NET.1
		if [[ $CT_TSO == 1 ]]; then
			ct_rps gw "$port" $CPU_GW
		else
			nsx "$n" ethtool -K eth0 tso off >/dev/null
			nsx gw ethtool -K "$port" gro on >/dev/null
		fi
		ct_rps "$n" eth0 $CPU_GEN
	done
	# The server's veth: full checksums (as from a NIC), receive on CPU_GEN.
	nsx srv ethtool -K "$IF_SRV" tx off >/dev/null
	ct_rps srv "$IF_SRV" $CPU_GEN
	nsx gw ethtool -K "$IF_WAN" gro on >/dev/null
	case $sys in
	route)
		nsx srv ip route add $CT_NET.0/24 via $GW_WAN_IP ;;
	nft)
		nsx gw nft -f - <<NFT || die "nft failed"
table ip bmbench {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "$IF_WAN" meta l4proto { tcp, udp } masquerade to :$CT_PORTS
		oifname "$IF_WAN" masquerade
	}
}
NFT
		;;
	bpfmasq)
		timeout 30 ip netns exec "$NS_GW" "$BPFMASQ" up "$IF_WAN" \
			--ports "$CT_PORTS" --timeout-tcp-transitory 1 \
			--log "$TMP/ctl.log" >"$TMP/up.out" 2>&1 ||
			die "bpfmasq up failed: $(cat "$TMP/up.out")"
		BM_UP=1
		# The controller attaches the bridge's program on its own.
		for i in $(seq 50); do
			nsx gw tc filter show dev "$CT_BR" ingress 2>/dev/null |
				grep -q masq_lan_hairp && break
			sleep 0.1
		done
		nsx gw tc filter show dev "$CT_BR" ingress |
			grep -q masq_lan_hairp ||
			die "no bpfmasq program on the bridge $CT_BR" ;;
	*)
		die "unknown system '$sys' for the container test" ;;
	esac
	GW_TASKS=
	for i in $(seq "$CT_N"); do
		[[ $CT_TSO == 1 ]] && break
		pid=$(threaded gw "$(ct_port "$i")" $CPU_GW) || exit 1
		GW_TASKS+=" /proc/$pid"
	done
	pid=$(threaded gw "$IF_WAN" $CPU_GW) || exit 1
	GW_TASKS+=" /proc/$pid"
	# Softirqs CPU_GW defers to its ksoftirqd are gateway work too.
	pid=$(pgrep -x "ksoftirqd/$CPU_GW") && GW_TASKS+=" /proc/$pid"
	for pid in $(ip netns pids "$NS_GW"); do
		taskset -a -pc $CPU_GW "$pid" >/dev/null ||
			die "cannot pin gateway process $pid"
		GW_TASKS+=" $(echo /proc/"$pid"/task/*)"
	done
}

# ct_bulk SYSTEM DIR: one iperf3 run per container at once (DIR up: the
# containers send; down: -R, they receive).  Prints "ns_per_gb gbit_s".
ct_bulk() {
	local sys=$1 dir=$2 i s0 s1 s3 bytes pids=() f0 o0 extra=
	for i in $(seq "$CT_N"); do
		ip netns exec "$NS_SRV" taskset -c $CPU_GEN iperf3 -s -1 \
			-B $DST_IP -p $((CT_IPERF_PORT + i)) \
			>"$TMP/iperf-s$i.out" 2>&1 &
	done
	for i in $(seq "$CT_N"); do
		for _ in $(seq 50); do
			nsx srv ss -Hltn "src $DST_IP:$((CT_IPERF_PORT + i))" |
				grep -q . && break
			sleep 0.1
		done
	done
	[[ $sys == bpfmasq ]] && f0=$(bm_stat lan_tc_fastpath) &&
		o0=$(bm_stat out_translated)
	s0=$(cpu_snap)
	sleep 1
	s1=$(cpu_snap)
	perf_start "$CT_SECS"
	for i in $(seq "$CT_N"); do
		nsx "$(ct_ns "$i")" taskset -c $CPU_GEN iperf3 -c $DST_IP \
			-p $((CT_IPERF_PORT + i)) -t "$CT_SECS" -J \
			$([[ $dir == down ]] && echo -R) >"$TMP/iperf-c$i.json" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	s3=$(cpu_snap)
	perf_report
	wait	# the one-shot servers
	bytes=0
	for i in $(seq "$CT_N"); do
		b=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"])' \
			"$TMP/iperf-c$i.json" 2>/dev/null) ||
			die "iperf3 $dir from container $i failed: $(tail -n 5 "$TMP/iperf-c$i.json")"
		bytes=$((bytes + b))
	done
	[[ $sys == bpfmasq ]] &&
		extra=" lan_tc_fastpath=$(($(bm_stat lan_tc_fastpath) - f0)) out_translated=$(($(bm_stat out_translated) - o0))"
	awk -v b="$bytes" -v t="$CT_SECS" -v s="$sys" -v d="$dir" -v x="$extra" \
		-v c="$(cpu_per_conn "$(awk -v b="$bytes" 'BEGIN { print b / 1e9 }')" "$s0" "$s1" "$s3")" '
	BEGIN {
		split(c, C)
		printf "  container %s %s: %.3f GB, %.2f Gbit/s, gw %.0f ms/GB (cpu1 %.0f)%s\n",
			s, d, b / 1e9, b * 8 / t / 1e9, C[1] / 1e6, C[2] / 1e6, x > "/dev/stderr"
		printf "%s %.2f\n", C[1], b * 8 / t / 1e9
	}'
}

# ct_conns SYSTEM: short connections (handshake, server FIN, client RST)
# from the first container for CT_CONN_SECS.  Prints "ns_per_conn conn_s".
ct_conns() {
	local sys=$1 srv_pid s0 s1 s3 out ok el
	ip netns exec "$NS_SRV" taskset -c $CPU_GEN "$CONNB" server \
		--addr $DST_IP --port 8000 --nports 4 \
		$([[ $sys != route ]] && echo --expect-src $GW_WAN_IP) \
		>"$TMP/ctsrv.out" 2>&1 &
	srv_pid=$!
	# (Its "listening" may sit in a stdio buffer: ask the sockets.)
	for _ in $(seq 100); do
		nsx srv ss -Hltn "src $DST_IP:8003" | grep -q . && break
		sleep 0.1
	done
	nsx srv ss -Hltn "src $DST_IP:8003" | grep -q . ||
		die "connbench server did not start: $(cat "$TMP/ctsrv.out")"
	s0=$(cpu_snap)
	sleep 1
	s1=$(cpu_snap)
	out=$(nsx "$(ct_ns 1)" taskset -c $CPU_GEN "$CONNB" client \
		--src $CT_NET.2 --nsrc 1 --sports "$CT_PORTS" --dst $DST_IP \
		--port 8000 --nports 4 --seconds "$CT_CONN_SECS" \
		--conc "$CT_CONN_CONC") || die "connbench client failed"
	sleep 2	# expiry of the run's flows is gateway work too
	s3=$(cpu_snap)
	kill -TERM "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	ok=$(kv ok "$out")
	el=$(kv elapsed_ns "$out")
	echo "  container $sys conn: $out $(tail -n 1 "$TMP/ctsrv.out")" >&2
	awk -v ok="$ok" -v el="$el" -v c="$(cpu_per_conn "$ok" "$s0" "$s1" "$s3")" '
	BEGIN {
		split(c, C)
		if (ok + 0 == 0) { print "inf 0"; exit }
		printf "%s %.0f\n", C[1], ok * 1e9 / el
	}'
}

# ct_trial SYSTEM: appends "SYSTEM up_ns/GB up_Gbit/s down_ns/GB
# down_Gbit/s ns/conn conn/s" to $TMP/container.
ct_trial() {
	local sys=$1 up down conn
	ct_lab_up "$sys"
	up=$(ct_bulk "$sys" up) || exit 1
	down=$(ct_bulk "$sys" down) || exit 1
	conn=$(ct_conns "$sys") || exit 1
	if [[ $sys == bpfmasq ]]; then
		echo "  container bpfmasq drops: $(timeout 10 ip netns exec "$NS_GW" \
			"$BPFMASQ" stats "$IF_WAN" | awk '/drop_/ && $2 != 0' | tr -s ' \n' ' ')" >&2
	fi
	ct_lab_down
	echo "$sys $up $down $conn" >>"$TMP/container"
}

# bench_container: the part's table and CT_RATIO (bpfmasq's upload CPU per
# GB over nft's) for the goal line.
CT_RATIO=
bench_container() {
	local sys
	declare -A UPC UPT DNC DNT CNC CNR
	command -v iperf3 >/dev/null || die "iperf3 missing (scripts/deps.sh)"
	[[ -x $CONNB ]] || die "$CONNB not built (make bench)"
	echo
	echo "## Container bulk through the gateway (real TCP: iperf3, $CT_N" \
		"containers on a bridge, checksum offload and GSO on; ${CT_SECS} s" \
		"each way, then ${CT_CONN_SECS} s of short connections; median" \
		"of $CT_RUNS)"
	: >"$TMP/container"
	off_gw_cpu rotated "$CT_RUNS" "container " "$CT_SYSTEMS" ct_trial
	for sys in $CT_SYSTEMS; do
		median_cols "$TMP/container" "$sys" UPC=2 UPT=3 DNC=4 DNT=5 \
			CNC=6 CNR=7
	done
	# ms/GB: gateway CPU (its NAPI threads and processes + CPU_GW
	# softirq) per GB the receivers got; us/conn the same per completed
	# short connection.
	printf '%-8s %9s %8s %6s %9s %8s %6s %8s %7s %6s\n' system \
		up-ms/GB up-Gb/s :nft down-ms/GB down-Gb/s :nft us/conn conn/s :nft
	for sys in $CT_SYSTEMS; do
		printf '%-8s %9s %8s %6s %9s %8s %6s %8s %7s %6s\n' "$sys" \
			"$(awk -v v="${UPC[$sys]}" 'BEGIN { printf "%.0f", v / 1e6 }')" \
			"${UPT[$sys]}" "$(ratio "${UPC[$sys]}" "${UPC[nft]:-}")" \
			"$(awk -v v="${DNC[$sys]}" 'BEGIN { printf "%.0f", v / 1e6 }')" \
			"${DNT[$sys]}" "$(ratio "${DNC[$sys]}" "${DNC[nft]:-}")" \
			"$(awk -v v="${CNC[$sys]}" 'BEGIN { printf "%.1f", v / 1e3 }')" \
			"${CNR[$sys]}" "$(ratio "${CNC[$sys]}" "${CNC[nft]:-}")"
	done
	[[ -n ${UPC[nft]:-} && -n ${UPC[bpfmasq]:-} ]] &&
		CT_RATIO=$(ratio "${UPC[bpfmasq]}" "${UPC[nft]}")
	return 0
}
