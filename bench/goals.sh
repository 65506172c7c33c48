# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The goal checks: one "GOAL <name>: <measured> vs <target>: met|missed"
# line per goal (bench/README.md), from what the parts measured.

goal() {	# NAME MEASURED TARGET OK(0/1)
	local verdict=missed
	[[ $4 == 1 ]] && verdict=met
	echo "GOAL $1: $2 vs $3: $verdict"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "-" && a + 0 <= b + 0) }' && echo 1 || echo 0; }
micro() { awk -v k="$1" '$1 == k { print $2 }' <<<"$MICRO_OUT"; }

bench_goals() {
	echo
	if want cpu; then
		r=$(ratio "${NS[bpfmasq]:-nan}" "${NS[nft]:-nan}")
		goal cpu_vs_nftables "${r}x" "<= 0.45x" "$(le "$r" 0.45)"
		r=$(ratio "${NS[bpfmasq]:-nan}" "${NS[xdp]:-nan}")
		goal cpu_vs_xdp_floor "${r}x" "<= 1.25x" "$(le "$r" 1.25)"
	fi
	if [[ -n $MICRO_OUT ]]; then
		m=$(micro fastpath_1M_ns)
		goal fastpath_1M_flows "${m:-?} ns" "<= 60 ns" "$(le "${m:--}" 60)"
		m=$(micro fastpath_1M_over_1k)
		goal fastpath_1k_to_1M "${m:-?}x" "<= 2x" "$(le "${m:--}" 2)"
		m=$(micro bytes_per_flow)
		goal memory_per_flow "${m:-?} B" "<= 256 B" "$(le "${m:--}" 256)"
		m=$(micro max_flows_1M_loaded)
		goal fits_1M_flows "${m:-?} (--max-flows 1048576)" "default or one flag" \
			"$([[ $m == yes ]] && echo 1 || echo 0)"
	fi
	if [[ -n ${CONN_RATIO:-} ]]; then
		goal new_connections "${CONN_RATIO}x" ">= 2x nftables at equal gateway CPU" \
			"$(awk -v a="$CONN_RATIO" 'BEGIN { print (a != "-" && a + 0 >= 2) ? 1 : 0 }')"
	elif want conn; then
		goal new_connections "not measured" ">= 2x nftables at equal gateway CPU" 0
	fi
	if want connrate; then
		if [[ -n $CR_RATIO ]]; then
			goal new_connections_rate "${CR_RATIO}x" \
				">= 2x nftables at equal gateway CPU" \
				"$(awk -v a="$CR_RATIO" 'BEGIN { print (a != "-" && a + 0 >= 2) ? 1 : 0 }')"
		else
			goal new_connections_rate "not measured" \
				">= 2x nftables at equal gateway CPU" 0
		fi
		if [[ -n ${CR_RATIO_NEW:-} ]]; then
			goal new_connections_rate_lan_new "${CR_RATIO_NEW}x" \
				">= 2x nftables at equal gateway CPU" \
				"$(awk -v a="$CR_RATIO_NEW" 'BEGIN { print (a != "-" && a + 0 >= 2) ? 1 : 0 }')"
		fi
		# The mapping log, and a monitor besides, must cost no more
		# than the run-to-run noise: within 10% of the default mode.
		events_goal() {
			[[ -n $2 ]] || return 0
			goal "$1" "${2}x" \
				">= 2x nftables and >= 0.9x the default mode (${CR_RATIO}x)" \
				"$(awk -v a="$2" -v d="$CR_RATIO" 'BEGIN { print (a != "-" && d != "-" && a + 0 >= 2 && a + 0 >= 0.9 * d) ? 1 : 0 }')"
		}
		events_goal new_connections_rate_mapping_log "${CR_RATIO_LOG:-}"
		events_goal new_connections_rate_events "${CR_RATIO_EV:-}"
	fi
	if want container; then
		goal container_bulk_cpu_per_gb "${CT_RATIO:-not measured}x" \
			"<=0.5x nftables" "$(le "${CT_RATIO:--}" 0.5)"
	fi
	if want connmax; then
		ge2() { awk -v a="$1" 'BEGIN { print (a != "" && a != "-" && a + 0 >= 2) ? 1 : 0 }'; }
		goal new_connections_max_rate "${CM_RATIO:-not measured}x" \
			">= 2x nftables, one gateway core each" "$(ge2 "$CM_RATIO")"
		[[ -n $CM_RATIO_NEW ]] &&
			goal new_connections_max_rate_lan_new "${CM_RATIO_NEW}x" \
				">= 2x nftables, one gateway core each" "$(ge2 "$CM_RATIO_NEW")"
	fi
	# A goal not measured is a missed line, not a failed run.
	return 0
}
