# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# ndr: the highest rate with little loss, gateway on one core.

declare -gA RATE_OK GENLIM

# Binary search on one lab per system: 1 s trials; a rate passes when at
# most NDR_LOSS per mille of the frames fail to arrive correct.  Not zero:
# on this shared VM the veth rings drop a few hundred frames at random even
# far below saturation (seen at 250 kpps), which makes a strict zero-loss
# search land anywhere.  The generator and the sink share CPU 0, so rates
# near their own limit (a few Mpps) are not the gateway's.

bench_ndr() {
	[[ $NDR == 1 ]] || return 0
	echo
	echo "## Highest rate with <= ${NDR_LOSS} per mille loss, gateway on one core (binary search, ${NDR_STEPS} steps of 1 s, up to $NDR_MAX pps)"
	printf '%-10s %12s %10s\n' system kpps vs-nft
	for sys in $SYSTEMS; do
		lab_up "$sys"
		gen 20000 $((FLOWS * 4)) >/dev/null || die "warm-up failed"
		lo=0 hi=$NDR_MAX
		for step in $(seq "$NDR_STEPS"); do
			r=$(((lo + hi) / 2))
			pass=0
			# A second try before calling a rate lossy: on a shared
			# machine one trial can lose to someone else's burst.
			for try in 1 2; do
				out=$(gen "$r" "$r" --napi "$GW_NAPI") ||
					die "generator failed"
				ok=$(kv ok "$out")
				sent=$(kv sent "$out")
				gen_ns=$(kv gen_ns "$out")
				echo "  ndr $sys $r pps: $out" >&2
				# The generator could not hold the rate (it
				# shares CPU 0 with the sink): not a verdict
				# on the gateway; search lower and say so.
				if ((sent * 1000000000 < r * gen_ns * 98 / 100)); then
					GENLIM[$sys]=$((sent * 1000000 / gen_ns))
					break
				fi
				if ((ok * 1000 >= sent * (1000 - NDR_LOSS))); then
					pass=1
					break
				fi
			done
			if ((pass)); then lo=$r; else hi=$r; fi
		done
		lab_down
		RATE_OK[$sys]=$lo
	done
	for sys in $SYSTEMS; do
		note=
		[[ -n ${GENLIM[$sys]:-} ]] &&
			note="(the generator could not hold a higher rate: ${GENLIM[$sys]} kpps)"
		printf '%-10s %12s %10s %s\n' "$sys" "$((RATE_OK[$sys] / 1000))" \
			"$(ratio "${RATE_OK[$sys]}" "${RATE_OK[nft]:-}")" "$note"
	done
}
