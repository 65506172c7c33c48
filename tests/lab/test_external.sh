#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --external ADDR: masquerade as an address that comes and goes, as a VRRP
# address does between two gateways.  Started before the address is there
# (a backup), the instance translates nothing and lets nothing out
# untranslated; it starts the moment the address is added, keeps its
# flows and forwards while the address is away (on a peer), and they
# carry on when it comes back (failback).  The WAN's primary address
# changing does not touch them; reload moves to another address.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only external
VIP=192.0.2.100
VIP2=192.0.2.101

lab_build ext lab_standard srv_udp_echo=7000 srv_tcp_echo=9000

status_key() { bm_json status wan0 | jq_py "d['$1']"; }
on_wan_is() { [[ $(status_key external_on_wan) == "$1" ]]; }
conns_on() { bm_json conns wan0 | jq_py "len([c for c in d if c['outside'].startswith('$1:')])"; }
vip() { nsx gw ip addr "$1" "$2/24" dev wan0; }

# ---- up as a backup: the address is elsewhere ------------------------------
if bm_up wan0 --external $VIP; then
	pass ext_up_without_address
else
	fail ext_up_without_address "up --external $VIP refused: $(cat "$LAB_TMP/up.err")"
	lab_done
fi
check ext_up_warns "no warning that $VIP is not on wan0: $(cat "$LAB_TMP/up.err")" \
	grep -q "is not on wan0 now: translation starts when it is added" "$LAB_TMP/up.err"
check ext_status_waiting "status: external $(status_key external), on wan $(status_key external_on_wan)" \
	bash -c '[[ $1 == '$VIP' && $2 == false ]]' _ "$(status_key external)" "$(status_key external_on_wan)"
before=$(bm_stat drop_no_external_address)
nsx srv timeout 4 tcpdump -ni up0 -c 1 "udp port 7000" >"$LAB_TMP/leak.txt" 2>&1 &
leak=$!
sleep 0.5
no_udp_echo() { ! udp_echo "$@"; }
check ext_nothing_without_address "a UDP echo got through with $VIP absent" \
	no_udp_echo cli1 $INET 7000 40001
wait $leak
check ext_nothing_leaks_untranslated "srv saw: $(cat "$LAB_TMP/leak.txt")" \
	bash -c 'grep -q "listening on" "$1" && ! grep -q "10.0.1.2" "$1"' _ "$LAB_TMP/leak.txt"
check ext_drops_counted "drop_no_external_address $before -> $(bm_stat drop_no_external_address)" \
	test "$(bm_stat drop_no_external_address)" -gt "$before"

# A forward added meanwhile belongs to the address to come.
lab_bg cli1 "$LAB_TMP/fwd-server.log" socat \
	TCP4-LISTEN:8080,bind=10.0.1.2,reuseaddr,fork SYSTEM:'echo fwd-ok'
out=$(bm forward add wan0 tcp 8080 10.0.1.2:8080 2>&1)
check ext_forward_while_away "forward add with $VIP away said: $out" \
	grep -q "$VIP" <<<"$out"

# ---- the address arrives (this gateway becomes master) ---------------------
vip add $VIP
if wait_until 5 on_wan_is true; then
	pass ext_follows_arrival
else
	fail ext_follows_arrival "status: external_on_wan $(status_key external_on_wan)"
	show_ctl_log
fi
check ext_udp_through_vip "no UDP echo through $VIP" udp_echo cli1 $INET 7000 40002
check ext_flow_on_vip "no flow with outside $VIP" test "$(conns_on $VIP)" -ge 1
check ext_primary_unused "a flow on the primary 192.0.2.1" test "$(conns_on $WAN_GW)" -eq 0
out=$(nsx srv timeout 5 socat -T 3 - TCP4:$VIP:8080,connect-timeout=3 </dev/null 2>&1)
check ext_forward_after_arrival "srv -> $VIP:8080 got '$out'" test "$out" == fwd-ok

coproc ECHO { nsx cli1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
echo before-failover >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check ext_session_before "echo session got '$line'" test "$line" == before-failover

# ---- the address leaves (moved to a peer) and comes back -------------------
vip del $VIP
if wait_until 5 on_wan_is false; then
	pass ext_follows_departure
else
	fail ext_follows_departure "status: external_on_wan $(status_key external_on_wan)"
fi
check ext_flows_kept_while_away "flows on $VIP: $(conns_on $VIP)" test "$(conns_on $VIP)" -ge 2
check ext_departure_logged "the log does not say the flows are kept" \
	grep -q "$VIP has left wan0 (moved to a peer?): keeping its connections" "$LAB_TMP/ctl-wan0.log"
vip add $VIP
wait_until 5 on_wan_is true
echo after-failback >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check ext_session_survives_failback "echo session after the address came back got '$line'" \
	test "$line" == after-failback
check ext_return_logged "the log does not say the flows carry on" \
	grep -q "$VIP is back; its connections carry on" "$LAB_TMP/ctl-wan0.log"

# ---- the primary address changes: nothing of --external moves --------------
nsx gw sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nsx gw ip addr add 192.0.2.7/24 dev wan0
nsx gw ip addr del $WAN_GW/24 dev wan0
nsx gw ip route replace 198.51.100.0/24 via $WAN_SRV
sleep 0.5
echo after-primary-change >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check ext_session_survives_primary_change "echo session got '$line'" \
	test "$line" == after-primary-change
check ext_still_vip "status external $(status_key external)" \
	test "$(status_key external)" == $VIP

# ---- reload to another address --------------------------------------------
printf 'external %s\n' $VIP2 >"$LAB_TMP/wan0.conf"
vip add $VIP2
out=$(bm reload wan0 --config "$LAB_TMP/wan0.conf" 2>&1)
check ext_reload_lists_change "reload said: $out" \
	grep -q "external $VIP -> $VIP2" <<<"$out"
ext_is() { [[ $(status_key external) == "$1" && $(status_key external_on_wan) == true ]]; }
if wait_until 5 ext_is $VIP2; then
	pass ext_reload_moves
else
	fail ext_reload_moves "status: external $(status_key external), on wan $(status_key external_on_wan)"
fi
check ext_udp_through_new "no UDP echo through $VIP2" udp_echo cli1 $INET 7000 40003
check ext_flow_on_new "no flow with outside $VIP2" test "$(conns_on $VIP2)" -ge 1
check ext_old_flushed "flows left on $VIP: $(conns_on $VIP)" test "$(conns_on $VIP)" -eq 0
kill "$ECHO_PID" 2>/dev/null
((LAB_FAILS)) && show_ctl_log
lab_done
