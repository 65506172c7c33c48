# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# skb: the same with skb frames from the client's kernel stack.

declare -gA SKB_NS SKB_PCT SKB_RUN

# The same lab, systems, rate, flows, sink and CPU accounting as the cpu
# part, but the frames are skbs from the client namespace's kernel stack,
# as a container's traffic leaves through its veth: written to a packet
# socket on the client's veth, they pass its qdisc and veth_xmit() into
# the gateway LAN's NAPI ring.  For xdp and bpfmasq the gateway's veth
# turns each into an xdp_buff (veth_convert_skb_to_xdp_buff(), a copy) for
# the XDP program.
#
# The sender (BENCH_SKB_GEN):
#   bmbench (default)  `bmbench gen --skb`: gen's frames (same template,
#       ports and complete checksums), paced as gen paces (frame i in slot
#       i/rate, a batch of BENCH_BATCH frames leaves in one sendmmsg() when
#       the slot of its last frame has come).
#   trafgen  trafgen (netsniff-ng) with --rate: the frames from a
#       configuration with trafgen's csumip()/csumudp(), through the qdisc
#       (--qdisc-path).  Its --rate is no pacing below a second: it sends
#       the second's quota as fast as it can and then sleeps out the second
#       (seen: 250k frames at ~440 kpps, then 0.4 s idle), and it writes
#       one frame per sendto(), each of which wakes the gateway's NAPI
#       thread (an IPI) when the gateway is quicker than the sender: with
#       xdp or bpfmasq it reached only 155-185 kpps here.  --gap sleeps
#       once per frame; a tbf qdisc pacing trafgen frame by frame held
#       ~115 kpps for xdp (one wake-up of each NAPI thread per frame, CPU 0
#       saturated).  Kept to compare (bench/README.md).
# Either way the client's veth gets a qdisc (pfifo): when the gateway's
# NAPI ring is full, veth stops the queue and the frame waits.  veth has
# no qdisc by default, and then it drops such a frame (trafgen, bypassing
# the qdisc, gets EAGAIN).

# skb_trafgen_cfg: trafgen's configuration, one packet per flow: the frame
# of bmbench's generator (build_frame in bmbench.c: 60 bytes, IPv4 with DF
# and TTL 64, UDP, 18 bytes of payload) with the same source ports
# (`bmbench ports`), the IPv4 and UDP checksums computed by trafgen.
skb_trafgen_cfg() {
	local smac dmac ports p
	smac=$(mac_of cli "$IF_CLI" | sed 's/^/0x/; s/:/, 0x/g')
	dmac=$(sed 's/^/0x/; s/:/, 0x/g' <<<"$LAN_MAC")
	ports=$("$BMB" ports --saddr $CLI_IP --daddr $DST_IP --dport $DPORT \
		--sport-base $SPORT_BASE --flows "$FLOWS") ||
		die "cannot list the generator's ports"
	for p in $ports; do
		cat <<EOF
{
	/* Ethernet */ $dmac, $smac, c16(0x0800),
	/* IPv4: 46 bytes, DF, TTL 64, UDP */
	0x45, 0x00, c16(46), c16(0), 0x40, 0x00, 64, 17, csumip(14, 33),
	${CLI_IP//./, }, ${DST_IP//./, },
	/* UDP: 26 bytes */
	c16($p), c16($DPORT), c16(26), csumudp(14, 34),
	"bpfmasq-bench-0123"
}
EOF
	done
}

# skb_trafgen RATE COUNT [--napi PID]: COUNT frames at RATE pps (trafgen's
# --rate) from trafgen on the client (it pins its one process to CPU 0 =
# CPU_GEN itself); prints a line like gen's.
skb_trafgen() {
	local rate=$1 count=$2 napi=${4:-0} c0 c1 out sent sec usec
	c0=$("$BMB" count --sink "$PIN/sink" --napi "$napi") ||
		die "cannot read the counters"
	out=$(nsx cli taskset -c $CPU_GEN trafgen -i "$TMP/skb.cfg" \
		-o "$IF_CLI" -n "$count" -b "${rate}pps" -P 1 --qdisc-path \
		--no-sock-mem --notouch-irq 2>&1) ||
		die "trafgen failed: $out"
	# Let the last frames drain through the gateway.
	sleep 0.2
	c1=$("$BMB" count --sink "$PIN/sink" --napi "$napi") ||
		die "cannot read the counters"
	sent=$(sed -n 's/^[^0-9]*\([0-9]*\) packets outgoing.*/\1/p' <<<"$out")
	read -r sec usec < <(sed -n \
		's/^[^0-9]*\([0-9]*\) sec, \([0-9]*\) usec on CPU.*/\1 \2/p' <<<"$out")
	[[ -n $sent && -n $sec ]] || die "cannot read trafgen's output: $out"
	echo "sent=$sent gen_ns=$((sec * 1000000000 + usec * 1000))" \
		"ok=$(($(kv ok "$c1") - $(kv ok "$c0")))" \
		"bad=$(($(kv bad "$c1") - $(kv bad "$c0")))" \
		"other=$(($(kv other "$c1") - $(kv other "$c0")))" \
		"napi_ns=$(($(kv napi_ns "$c1") - $(kv napi_ns "$c0")))" \
		"napi_runs=$(($(kv napi_runs "$c1") - $(kv napi_runs "$c0")))"
}

# skb_gen RATE COUNT [--napi PID]: one run of the skb sender.
skb_gen() {
	if [[ $SKB_GEN == trafgen ]]; then
		skb_trafgen "$@"
	else
		gen "$@" --skb
	fi
}

# skb_trial SYSTEM: fresh lab, warm-up, one measured run.  Appends
# "SYSTEM ns_per_pkt delivered_pct pkts_per_napi_run" to $TMP/skb.
skb_trial() {
	local sys=$1 out ok sent napi runs extra= q
	lab_up "$sys"
	# TSO off on the client's veth: veth hands a frame to the gateway
	# LAN's NAPI ring only if it could be GROed (TSO off on the sender,
	# veth_skb_is_eligible_for_gro()), else to netif_rx() on the sending
	# CPU, where the gateway's work would not be counted.  XDP on the
	# LAN veth (xdp, bpfmasq) turns it off anyway; nft and route need it.
	nsx cli ethtool -K "$IF_CLI" tso off >/dev/null ||
		die "cannot switch TSO off on the client's veth"
	nsx cli tc qdisc replace dev "$IF_CLI" root pfifo limit 1000 ||
		die "cannot give the client's veth a qdisc"
	[[ $SKB_GEN == trafgen ]] && skb_trafgen_cfg >"$TMP/skb.cfg"
	warm_and_run skb_gen "skb generator"
	q=$(nsx cli tc -s qdisc show dev "$IF_CLI" | sed -n \
		's/.*(dropped \([0-9]*\), overlimits [0-9]* requeues \([0-9]*\)).*/qdisc_drops=\1 requeues=\2/p')
	if [[ -n ${BENCH_DEBUG:-} ]]; then
		{
			nsx gw ethtool -S "$IF_LAN" | grep -v ': 0$'
			nsx srv ethtool -S "$IF_SRV" | grep -v ': 0$'
			nsx gw ip -s link show "$IF_WAN"
			nsx cli tc -s qdisc show dev "$IF_CLI"
		} >&2
	fi
	lab_down
	ok=$(kv ok "$out")
	sent=$(kv sent "$out")
	napi=$(kv napi_ns "$out")
	runs=$(kv napi_runs "$out")
	echo "  skb $sys: $out $q$extra" >&2
	if ((ok > 0)); then
		awk -v s="$sys" -v n="$napi" -v o="$ok" -v t="$sent" -v r="$runs" \
			'BEGIN { printf "%s %.1f %.3f %.1f\n", s, n / o, 100 * o / t,
				(r > 0) ? o / r : 0 }'
	else
		echo "$sys inf 0 0"
	fi >>"$TMP/skb"
}


bench_skb() {
	[[ $SKB_GEN == bmbench || $SKB_GEN == trafgen ]] ||
		die "BENCH_SKB_GEN must be bmbench or trafgen"
	echo
	echo "# per packet, skb frames: $RATE pps offered, $FLOWS UDP flows," \
		"64-byte frames from a packet socket in the client ($SKB_GEN)," \
		"$SECS s x $RUNS runs per system"
	: >"$TMP/skb"
	rotated "$RUNS" "skb " "$SYSTEMS" skb_trial
	for sys in $SYSTEMS; do
		median_cols "$TMP/skb" "$sys" SKB_NS=2 SKB_PCT=3 SKB_RUN=4
	done
	echo
	echo "## Gateway CPU per forwarded packet (median of $RUNS; skb frames from the client's stack)"
	# pkts/run: frames per run of the gateway's NAPI thread (each run
	# is a wake-up; the NIC-like generator's batches give 16).
	printf '%-10s %12s %11s %10s %10s %9s\n' system ns/packet delivered% \
		vs-nft vs-xdp pkts/run
	for sys in $SYSTEMS; do
		printf '%-10s %12s %11s %10s %10s %9s\n' "$sys" "${SKB_NS[$sys]}" \
			"${SKB_PCT[$sys]}" \
			"$(ratio "${SKB_NS[$sys]}" "${SKB_NS[nft]:-}")" \
			"$(ratio "${SKB_NS[$sys]}" "${SKB_NS[xdp]:-}")" \
			"${SKB_RUN[$sys]}"
	done
	if [[ -n ${SKB_NS[bpfmasq]:-} ]]; then
		echo "# skb: bpfmasq vs nft $(ratio "${SKB_NS[bpfmasq]}" "${SKB_NS[nft]:-}")x," \
			"vs xdp $(ratio "${SKB_NS[bpfmasq]}" "${SKB_NS[xdp]:-}")x"
	fi
}
