# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# cpu: gateway CPU per forwarded packet, NIC-like frames (XDP live
# frames from the generator), each system in turn, median of BENCH_RUNS.

declare -gA NS PCT

# trial SYSTEM: build the lab, warm the flows up, measure once.
# Appends "SYSTEM ns_per_pkt delivered_pct" to $TMP/results.
trial() {
	local sys=$1 out ok sent napi extra=
	lab_up "$sys"
	warm_and_run gen "generator"
	if [[ -n ${BENCH_DEBUG:-} ]]; then
		{
			nsx gw ethtool -S "$IF_LAN" | grep -v ': 0$'
			nsx srv ethtool -S "$IF_SRV" | grep -v ': 0$'
			nsx gw ip -s link show "$IF_WAN"
		} >&2
	fi
	lab_down
	ok=$(kv ok "$out")
	sent=$(kv sent "$out")
	napi=$(kv napi_ns "$out")
	echo "  $sys: $out$extra" >&2
	if ((ok > 0)); then
		awk -v s="$sys" -v n="$napi" -v o="$ok" -v t="$sent" \
			'BEGIN { printf "%s %.1f %.3f\n", s, n / o, 100 * o / t }'
	else
		echo "$sys inf 0"
	fi >>"$TMP/results"
}

bench_cpu() {
	echo "# per packet: $RATE pps offered, $FLOWS UDP flows, 64-byte frames," \
		"$SECS s x $RUNS runs per system"
	: >"$TMP/results"
	rotated "$RUNS" "" "$SYSTEMS" trial

	for sys in $SYSTEMS; do
		median_cols "$TMP/results" "$sys" NS=2 PCT=3
	done
	echo
	echo "## Gateway CPU per forwarded packet (median of $RUNS; NIC-like frames)"
	printf '%-10s %12s %11s %10s %10s\n' system ns/packet delivered% vs-nft vs-xdp
	for sys in $SYSTEMS; do
		printf '%-10s %12s %11s %10s %10s\n' "$sys" "${NS[$sys]}" \
			"${PCT[$sys]}" "$(ratio "${NS[$sys]}" "${NS[nft]:-}")" \
			"$(ratio "${NS[$sys]}" "${NS[xdp]:-}")"
	done
}
