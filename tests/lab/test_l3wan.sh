#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A WAN without Ethernet: wan0 is a TUN device (link/none, no MAC, no ARP;
# the shape pppd and WireGuard make), carried over UDP by socat, with the
# inside hosts on a bridge in the gateway.  Masquerade, replies, ICMP
# errors (traceroute), a forward from outside, an unsolicited packet
# dropped; the interface deleted and created again mid-test (a PPP
# reconnect): connections kept, new ones work without a manual `up`.
# tests/run.sh also runs the ordinary suite with LAB_WAN=tun.
LAB_WAN=tun
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only l3wan "LAB_NAT=nft: checks bpfmasq's status and counters"

lab_build l3wan lab_containers srv_nginx srv_udp_echo=7 srv_tcp_echo=9000

# An inside network without Ethernet too: a VPN host (namespace vpn,
# 10.0.5.2) behind the gateway's TUN vpn0 (10.0.5.1), carried like wan0.
ns_add vpn && veth gw vcar0 vpn vcar1 &&
	addr gw vcar0 203.0.113.245/30 && addr vpn vcar1 203.0.113.246/30 &&
	lab_tun_end vpn vpn1 203.0.113.246 203.0.113.245 10.0.5.2/24 &&
	lab_tun_end gw vpn0 203.0.113.245 203.0.113.246 10.0.5.1/24 &&
	nsx vpn ip route add default via 10.0.5.1 ||
	{ fail l3wan_vpn_topology "could not build the inside VPN"; exit 1; }

check l3wan_is_link_none "wan0 is not a link/none interface" \
	eval 'nsx gw ip link show dev wan0 | grep -q link/none'

# Refused: the XDP fast path cannot send into a layer-3 link.
bm up wan0 --lan br0 >"$LAB_TMP/lan.out" 2>"$LAB_TMP/lan.err"
rc=$?
if ((rc != 0)) && [[ $(grep -c . "$LAB_TMP/lan.err") == 1 ]] &&
	grep -q "layer-3 link (link/none)" "$LAB_TMP/lan.err" &&
	! nsx gw tc qdisc show dev wan0 | grep -q clsact; then
	pass l3wan_lan_refused
else
	fail l3wan_lan_refused "up wan0 --lan br0: rc $rc, '$(cat "$LAB_TMP/lan.err")'"
fi

bm up lo >"$LAB_TMP/lo.out" 2>"$LAB_TMP/lo.err"
rc=$?
if ((rc != 0)) && [[ $(grep -c . "$LAB_TMP/lo.err") == 1 ]] &&
	grep -q "link/loopback" "$LAB_TMP/lo.err"; then
	pass l3wan_unknown_link_refused
else
	fail l3wan_unknown_link_refused "up lo: rc $rc, '$(cat "$LAB_TMP/lo.err")'"
fi

bm_up wan0 --internal 10.0.2.0/24 --internal 10.0.5.0/24 ||
	{ fail l3wan_up "bpfmasq up wan0 failed: $(cat "$LAB_TMP/up.err")"; exit 1; }
st=$(bm_json status wan0)
if [[ $(jq_py 'd["wan_l3"] and not d["lan"]' <<<"$st") == true ]] &&
	! nsx gw ip -d link show dev wan0 | grep -q prog/xdp; then
	pass l3wan_status_says_layer3
else
	fail l3wan_status_says_layer3 "status: $st"
fi

# Another instance, without --internal (every interface but its WAN is
# inside), must know wan0 for a bpfmasq WAN although it has no XDP, and
# hairpin nothing there.
if bm_up car0; then
	filters=$(nsx gw tc filter show dev wan0 ingress | grep -c "masq_lan_hairpi\|masq_hairpin_l3")
	check l3wan_other_instance_spares_wan "a second instance hairpins on the layer-3 WAN wan0 ($filters filters)" \
		test "$filters" -eq 0
	bm down car0 >/dev/null 2>&1
	LAB_UP=(wan0)
else
	fail l3wan_other_instance_spares_wan "bpfmasq up car0 failed: $(cat "$LAB_TMP/up.err")"
fi

check_hello l3wan_http ct1
check l3wan_server_sees_only_gw "nginx saw $(srv_log_addrs | tr '\n' ' ')" srv_log_only_gw
check_download l3wan_download_4mib ct2 || show_ctl_log
check_udp_echo l3wan_udp ct1 40001
check l3wan_ping "ping from ct1 failed" nsx ct1 ping -n -c 2 -W 2 $INET

# traceroute: the outside's port unreachable comes back through the
# layer-3 path's ICMP error translation.
if nsx ct1 traceroute -n -U -q 1 -w 2 -m 4 $INET 2>&1 | tail -n 1 | grep -q "$INET"; then
	pass l3wan_traceroute
else
	fail l3wan_traceroute "traceroute from ct1 did not reach $INET"
fi

# A forward from outside to ct2.
lab_bg ct2 "$LAB_TMP/fwd.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo hello-forward'
wait_until 5 listening ct2 tcp 0.0.0.0:8080
bm forward add wan0 tcp 8080 10.0.2.3:8080 >/dev/null 2>&1
out=$(nsx srv socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
check l3wan_forward "srv -> $WAN_GW:8080 got '$out'" test "$out" == hello-forward

# The VPN host: out through the layer-3 WAN, and hairpinned both ways
# between the layer-3 inside interface and the bridge.
check_hello l3wan_vpn_http vpn
hp=$(bm_json status wan0 | jq_py '" ".join(d["hairpin"])')
check l3wan_vpn_hairpin_listed "status says hairpin on '$hp'" \
	eval '[[ " $hp " == *" vpn0 "* && " $hp " == *" br0 "* ]]'
out=$(nsx vpn socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
check l3wan_hairpin_from_l3 "VPN host -> $WAN_GW:8080 (ct2) got '$out'" \
	test "$out" == hello-forward
lab_bg vpn "$LAB_TMP/vpnsrv.log" socat TCP4-LISTEN:8081,reuseaddr,fork \
	SYSTEM:'echo hello-vpn'
wait_until 5 listening vpn tcp 0.0.0.0:8081
bm forward add wan0 tcp 8081 10.0.5.2:8081 >/dev/null 2>&1
out=$(nsx ct1 socat -T 2 - TCP4:$WAN_GW:8081,connect-timeout=2 </dev/null 2>&1)
check l3wan_hairpin_to_l3 "ct1 -> $WAN_GW:8081 (the VPN host) got '$out'" \
	test "$out" == hello-vpn

# Unsolicited: dropped, counted, nothing arrives inside.
before=$(bm_stat drop_unsolicited_no_mapping)
nsx srv "$PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"x", ("192.0.2.1", 62001))'
wait_until 3 test "$(bm_stat drop_unsolicited_no_mapping)" -ge $((before + 3))
after=$(bm_stat drop_unsolicited_no_mapping)
check l3wan_unsolicited_dropped "drop_unsolicited_no_mapping $before -> $after, expected +3" \
	test "$after" -ge $((before + 3))

# ---- the WAN goes away and comes back (a PPP reconnect) --------------------
# A connection open across the reconnect: an echo session on the TCP echo
# server keeps working afterwards, with the same address.  (socat's -T is
# its idle limit: the checks in between may take over a minute on a
# loaded machine.)
coproc ECHO { nsx ct1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
echo before-reconnect >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check l3wan_conn_before "echo before the reconnect got '$line'" test "$line" == before-reconnect

wan_ifindex() { bm_json status wan0 | jq_py 'd["ifindex"]'; }
old_if=$(wan_ifindex)
lab_tun_recreate || fail l3wan_recreate "could not re-create wan0"
new_if=$(nsx gw cat /sys/class/net/wan0/ifindex 2>/dev/null)
if wait_until 5 eval '[[ $(wan_ifindex) == "$new_if" ]]'; then
	pass l3wan_status_follows_new_ifindex
	note "wan0 ifindex $old_if -> $new_if"
else
	fail l3wan_status_follows_new_ifindex "status ifindex $(wan_ifindex), interface $new_if (was $old_if)"
	show_ctl_log
fi
check_hello l3wan_http_after_reconnect ct1
check_download l3wan_download_after_reconnect ct2 || show_ctl_log
echo after-reconnect >&"${ECHO[1]}"
read -r -t 15 line <&"${ECHO[0]}"
check l3wan_conn_survives_reconnect "the echo session opened before the reconnect got '$line'; its connection: $(bm conns wan0 2>&1 | grep ':9000 ' | tr -s ' '); drops: $(stats_named drop_ wan0 nonzero)" \
	test "$line" == after-reconnect
[[ $line == after-reconnect ]] || show_ctl_log
kill "$ECHO_PID" 2>/dev/null
check l3wan_reconnect_logged "the controller's log does not say it re-attached" \
	grep -q "back as ifindex $new_if" "$LAB_TMP/ctl-wan0.log"

# Back with another address: the connections of the old one cannot work
# any more and are flushed; new ones leave as the new address.
lab_tun_kill gw wan0 && lab_tun_end gw wan0 $CAR_GW $CAR_SRV 192.0.2.5/24 &&
	nsx gw ip route add 198.51.100.0/24 via $WAN_SRV ||
	fail l3wan_recreate_new_addr "could not re-create wan0 as 192.0.2.5"
check_ctl_log l3wan_new_addr_flushes_old "flushed [0-9]* connections on 192.0.2.1"
: > "$NGX/access.log"
out=$(fetch ct1 http://$INET/hello.txt)
if [[ $out == "hello from srv" && $(srv_log_addrs) == 192.0.2.5 ]]; then
	pass l3wan_new_addr_used
else
	fail l3wan_new_addr_used "curl got '$out', nginx saw $(srv_log_addrs | tr '\n' ' ')"
fi

# Gone for good: `down` still finds the instance waiting for it.
lab_tun_kill gw wan0 || fail l3wan_gone "wan0 did not go away"
if bm down wan0 >"$LAB_TMP/down.out" 2>&1 &&
	wait_until 5 eval '[[ -z $(for p in $(ip netns pids "$(ns gw)"); do [[ $(cat /proc/$p/comm 2>/dev/null) == bpfmasq ]] && echo $p; done) ]]'; then
	pass l3wan_down_while_gone
	LAB_UP=()
else
	fail l3wan_down_while_gone "down wan0 with wan0 gone: $(cat "$LAB_TMP/down.out")"
fi
left=$(nsx gw tc filter show dev br0 ingress 2>/dev/null)
check l3wan_down_took_hairpin "hairpin filter left on br0: $left" test -z "$left"

lab_done
