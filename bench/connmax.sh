# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# connmax: the highest new-connection rate each system completes
# (connrate's trials).

declare -gA CM_RATE=()
CM_RATIO= CM_RATIO_NEW=

# connmax_passed: did the last trial in $CR_FILE complete >= CR_DONE_PCT %?
connmax_passed() {
	tail -n 1 "$CR_FILE" |
		awk -v m="$CR_DONE_PCT" '{ exit !($3 + 0 >= m) }'
}

# connmax_search SYSTEM: the highest offered rate (conn/s) of which SYSTEM
# completes >= CR_DONE_PCT %, with the gateway on its one core: the offered
# rate doubles from CM_START until a trial falls short (or CM_MAX would be
# passed), then CM_STEPS bisections.  Sets CM_OK (0: none passed) and
# CM_BAD (the lowest failed rate, or -).
connmax_search() {
	local sys=$1 rate=$CM_START i
	CM_OK=0 CM_BAD=-
	CR_FILE=$TMP/connmax.$sys
	while :; do
		connrate_trial "$sys" "$rate"
		if ! connmax_passed; then
			CM_BAD=$rate
			break
		fi
		CM_OK=$rate
		((rate * 2 > CM_MAX)) && break
		rate=$((rate * 2))
	done
	if [[ $CM_BAD != - ]]; then
		for i in $(seq "$CM_STEPS"); do
			rate=$(((CM_OK + CM_BAD) / 2))
			connrate_trial "$sys" "$rate"
			if connmax_passed; then
				CM_OK=$rate
			else
				CM_BAD=$rate
			fi
		done
	fi
	CR_FILE=$TMP/connrate
}


# connmax_systems: the highest rate of each system, in $TMP/connmax.
connmax_systems() {
	local sys
	for sys in $CM_SYSTEMS; do
		echo "# connmax $sys" >&2
		connmax_search "$sys"
		CM_RATE[$sys]=$CM_OK
		echo "$sys $CM_OK $CM_BAD" >>"$TMP/connmax"
	done
}

bench_connmax() {
	echo
	echo "## Highest new-connection rate, gateway on one core (>= $CR_DONE_PCT%" \
		"of connections completed; $CR_SECS s per trial, doubling from" \
		"$CM_START conn/s, then $CM_STEPS bisections)"
	off_gw_cpu connmax_systems
	printf '%-12s %10s %13s %7s\n' system max-conn/s first-failed vs-nft
	while read -r sys r f; do
		printf '%-12s %10s %13s %7s\n' "$sys" "$r" "$f" \
			"$(ratio "$r" "${CM_RATE[nft]:-}")"
	done <"$TMP/connmax"
	[[ -n ${CM_RATE[nft]:-} && -n ${CM_RATE[bpfmasq]:-} ]] &&
		CM_RATIO=$(ratio "${CM_RATE[bpfmasq]}" "${CM_RATE[nft]}")
	[[ -n ${CM_RATE[nft]:-} && -n ${CM_RATE[bpfmasq-new]:-} ]] &&
		CM_RATIO_NEW=$(ratio "${CM_RATE[bpfmasq-new]}" "${CM_RATE[nft]}")
	echo "first-failed - : the search stopped at $CM_MAX, not the gateway" \
		"(each trial's stderr line has the generator's late slots)"
}
