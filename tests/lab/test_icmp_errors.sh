#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# ICMP errors through the NAT (RFC 5508), with a router and a 1280-MTU link
# beyond the gateway: traceroute (UDP, ICMP, TCP) from inside shows the
# router and reaches the server; a DF ping too large gets its frag-needed
# back; bulk TCP both ways over the small link learns the path MTU from the
# router's frag-needed, which only the NAT can bring to the inside client.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

if ! command -v traceroute >/dev/null; then
	skip icmp_errors "traceroute is not installed (scripts/deps.sh installs it)"
	lab_done
fi

lab_build icmperr lab_routed srv_nginx srv_tcp_echo=9000

check icmperr_lab_needs_nat "inside client reached srv without NAT" \
	eval '! fetch cli1 http://$INET/hello.txt --max-time 2'
lab_nat_up icmperr
check icmperr_reachable "cli1 cannot fetch from srv through the NAT" \
	fetch cli1 http://$INET/hello.txt

# counter NAME: a bpfmasq counter, or 0 under LAB_NAT=nft.
counter() { if is_bpfmasq; then bm_stat "$1"; else echo 0; fi; }

# pmtu_of DST: the path MTU cli1 has learnt toward DST (empty if none).
pmtu_of() {
	nsx cli1 ip route get "$1" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'
}

# ---- a DF ping too large for the 1280 link -------------------------------
# To srv's link address, so that the path MTU toward $INET stays unknown
# for the transfers below.
e0=$(counter icmp_errors_translated)
out=$(nsx cli1 timeout 10 ping -n -c 2 -i 0.5 -W 2 -M do -s 1400 $SRV_LINK 2>&1)
if grep -qiE 'frag needed.*mtu = 1280' <<<"$out"; then
	pass icmperr_df_ping_frag_needed
else
	fail icmperr_df_ping_frag_needed "ping -M do -s 1400 got: $(tr '\n' ' ' <<<"$out")"
fi
if grep -q "From $RTR_WAN" <<<"$out"; then
	pass icmperr_df_ping_from_router
else
	fail icmperr_df_ping_from_router "the error did not come from $RTR_WAN: $(tr '\n' ' ' <<<"$out")"
fi
check icmperr_df_ping_pmtu_learned "cli1 has no path MTU 1280 toward $SRV_LINK" \
	eval '[[ $(pmtu_of $SRV_LINK) == 1280 ]]'
check icmperr_small_df_ping "a DF ping that fits 1280 bytes failed" \
	nsx cli1 ping -n -c 2 -i 0.2 -W 2 -M do -s 1200 $SRV_LINK
if is_bpfmasq; then
	e1=$(counter icmp_errors_translated)
	if ((e1 > e0)); then
		pass icmperr_df_ping_counted
	else
		fail icmperr_df_ping_counted "icmp_errors_translated $e0 -> $e1"
	fi
fi

# ---- bulk TCP over the 1280 link: path-MTU discovery through the NAT -----
check icmperr_pmtu_unknown_before "cli1 already has a path MTU toward $INET" \
	eval '[[ -z $(pmtu_of $INET) ]]'
e0=$(counter icmp_errors_translated)
# Upload (echoed back): cli1 sends 1460-byte segments with DF until the
# router's frag-needed reaches it.
check_echo icmperr_tcp_upload_3mib cli1 $INET 9000 3145728 60 20
mtu=$(pmtu_of $INET)
if [[ $mtu == 1280 ]]; then
	pass icmperr_pmtu_learned
else
	fail icmperr_pmtu_learned "cli1's path MTU toward $INET is '$mtu', expected 1280"
fi
if is_bpfmasq; then
	e1=$(counter icmp_errors_translated)
	if ((e1 > e0)); then
		pass icmperr_pmtu_counted
		note "icmp_errors_translated $e0 -> $e1 during the upload"
	else
		fail icmperr_pmtu_counted "icmp_errors_translated $e0 -> $e1 during the upload"
	fi
fi

check_download icmperr_tcp_download_4mib cli1 40

# The path MTU toward $INET is known now: the kernel refuses at once.
out=$(nsx cli1 timeout 10 ping -n -c 1 -W 2 -M do -s 1400 $INET 2>&1)
if grep -qiE 'mtu ?=? ?1280' <<<"$out"; then
	pass icmperr_df_ping_local_error
else
	fail icmperr_df_ping_local_error "ping -M do -s 1400 $INET got: $(tr '\n' ' ' <<<"$out")"
fi

# ---- path MTU for an inside server behind a port forward ----------------
# srv downloads from cli1 through a forward, from its link address (whose
# path MTU cli1 has not learnt yet): cli1's 1460-byte segments bring a
# frag-needed about 192.0.2.1:8080, which must reach cli1.
if lab_has_forward; then
	head -c 2097152 /dev/urandom > "$LAB_TMP/served.bin"
	lab_bg cli1 "$LAB_TMP/fwdsrv.log" socat -U \
		TCP4-LISTEN:8080,reuseaddr,fork OPEN:"$LAB_TMP/served.bin"
	wait_until 5 listening cli1 tcp 0.0.0.0:8080 ||
		fail icmperr_fwd_server "socat did not listen on cli1"
	nsx cli1 ip route flush cache
	e0=$(counter icmp_errors_translated)
	if bm forward add wan0 tcp 8080 10.0.1.2:8080 >"$LAB_TMP/fa.out" 2>&1; then
		want=$(sha256sum < "$LAB_TMP/served.bin")
		got=$(nsx srv timeout 30 socat -u -T 10 \
			TCP4:$WAN_GW:8080,bind=$SRV_LINK,connect-timeout=3 STDOUT \
			2>"$LAB_TMP/fwd.err" | sha256sum)
		if [[ $got == "$want" ]]; then
			pass icmperr_fwd_download_2mib
		else
			fail icmperr_fwd_download_2mib "2 MiB from the forwarded server differs: $(cat "$LAB_TMP/fwd.err")"
		fi
		e1=$(counter icmp_errors_translated)
		mtu=$(pmtu_of $SRV_LINK)
		if [[ $mtu == 1280 ]] && ((e1 > e0)); then
			pass icmperr_fwd_pmtu
		else
			fail icmperr_fwd_pmtu "cli1's path MTU toward $SRV_LINK '$mtu', icmp_errors_translated $e0 -> $e1"
		fi
	else
		fail icmperr_fwd_add "$(cat "$LAB_TMP/fa.out")"
	fi
else
	skip icmperr_fwd_pmtu "no 'bpfmasq forward' (or LAB_NAT=nft)"
fi

# ---- traceroute -----------------------------------------------------------
# tr_check NAME OPTS...: hop 1 the gateway, hop 2 the router, and the last
# hop the server.
tr_check() {
	local name=$1 out hop2 last
	shift
	out=$(nsx cli1 timeout 40 traceroute -n -q 1 -w 2 -m 6 "$@" $INET 2>&1)
	hop2=$(awk '$1 == 2 { print $2 }' <<<"$out")
	last=$(tail -n 1 <<<"$out" | awk '{ print $2 }')
	if [[ $hop2 == "$RTR_WAN" && $last == "$INET" ]]; then
		pass "$name"
	else
		fail "$name" "traceroute $* shows hop 2 '$hop2', last '$last': $(tr '\n' '|' <<<"$out")"
	fi
}
tr_check icmperr_traceroute_udp
tr_check icmperr_traceroute_icmp -I
tr_check icmperr_traceroute_tcp -T -p 80

# ---- counters -------------------------------------------------------------
if is_bpfmasq; then
	bm_json stats wan0 > "$LAB_TMP/stats.json" ||
		fail icmperr_stats_json "bpfmasq -j stats wan0 failed: $(cat "$LAB_TMP/json.err")"
	for c in icmp_errors_translated out_translated in_translated; do
		check_counter icmperr_stats_$c $c -gt 0
	done
	for c in drop_icmp_bad_checksum drop_malformed_ip drop_malformed_l4; do
		check_counter icmperr_stats_$c $c -eq 0
	done
	note "icmp_errors_translated=$(bm_stat icmp_errors_translated)" \
		"drop_icmp_error_without_flow=$(bm_stat drop_icmp_error_without_flow)"
else
	skip icmperr_stats "LAB_NAT=nft"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
