#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two gateways, keepalived (VRRP) and bpfmasq --external, with the example
# config packaging/keepalived/bpfmasq-pair.conf as it ships, in the lab
# of halib.sh, without state sync.
#
# ha1 (priority 150) is master: the server sees 192.0.2.100. ha1 fails hard
# (keepalived killed, links down): ha2 takes both addresses and translates
# at once, new connections and a UDP stream carry on through it (measured:
# datagrams lost, longest gap). ha1 comes back and takes over again
# (failback): a TCP connection opened through it before the failover, and
# idle meanwhile, carries on, because ha1 kept its flows while the address
# was away.  Without state sync ha2 knows none of ha1's flows: what that
# costs (connections lost over the failover) is measured and shown, not
# asserted.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha
if ! command -v keepalived >/dev/null; then
	fail ha_keepalived "keepalived is not installed (scripts/deps.sh installs it)"
	exit 1
fi
. "$(dirname "$0")/halib.sh"

ha_lab || { fail ha_topology "could not build the two-gateway lab"; exit 1; }
srv_nginx || { fail ha_nginx "nginx did not start on srv"; exit 1; }
srv_tcp_echo 9000 || { fail ha_tcp_server "tcpecho did not start on srv"; exit 1; }
lab_bg srv "$LAB_TMP/udpecho.log" "$PY" "$LAB_REPO/tests/lab/udpprobe.py" echo $INET 7000
wait_until 5 listening srv udp "$INET:7000" || { fail ha_udp_server "udp echo did not start"; exit 1; }

for g in 1 2; do
	ha_up $g || { fail ha_up_ha$g "bpfmasq up on ha$g: $(cat "$LAB_TMP/up-ha$g.out")"; exit 1; }
done
pass ha_both_up_before_vrrp
ka_start 1 150 2
ka_start 2 100 1
if wait_until 15 master_is 1; then
	pass ha_ha1_master
else
	fail ha_ha1_master "ha1 has not both addresses: $(nsx ha1 ip -4 -br addr)"
	cat "$LAB_TMP/ka1/log" >&2
	exit 1
fi
check ha_ha2_backup "ha2 holds a VIP: $(nsx ha2 ip -4 -br addr)" \
	bash -c '! ip netns exec "$1" ip -4 addr | grep -q "'$WAN_VIP'\|'$LAN_VIP'/"' _ "$(ns ha2)"
wait_until 5 on_wan 1
check ha_ha1_translates "ha1's status: not on the WAN" on_wan 1
check ha_ha2_waits "ha2's status says the address is on its WAN" bash -c '! "$@"' _ on_wan 2

# srv's nginx logs who asked: the VIP, never a gateway's own address.
out=$(fetch cli1 http://$INET/hello.txt)
check ha_http_via_master "curl through the VIP got '$out'" test "$out" == "hello from srv"
check ha_server_sees_vip "nginx log: $(tail -1 "$LAB_TMP"/nginx/access.log 2>/dev/null)" \
	bash -c 'tail -1 "$1"/nginx/access.log | grep -q "^'$WAN_VIP' "' _ "$LAB_TMP"

# A connection through ha1 that stays idle over failover and failback.
coproc ECHO { nsx cli1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
echo before-failover >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check ha_idle_session_open "echo session got '$line'" test "$line" == before-failover

# ---- failover: ha1 fails hard ------------------------------------------------
nsx cli1 "$PY" "$LAB_REPO/tests/lab/udpprobe.py" probe $INET 7000 14 20 \
	>"$LAB_TMP/probe-failover.json" 2>&1 &
probe=$!
# A long transfer through ha1 across the switch: without state sync ha2
# does not know its flow.
nsx cli1 timeout 45 curl -sS --max-time 40 --limit-rate 500K -o /dev/null \
	-w '%{size_download}' http://$INET/big.bin >"$LAB_TMP/bulk-failover.out" \
	2>"$LAB_TMP/bulk-failover.err" &
bulk=$!
sleep 2
ha_take_over ha_failover_ha2_master
wait_until 5 on_wan 2
check ha_failover_ha2_translates "ha2's status: not on the WAN" on_wan 2
out=$(fetch cli1 http://$INET/hello.txt)
check ha_failover_new_connection "curl through ha2 got '$out'" test "$out" == "hello from srv"
check ha_failover_server_sees_vip "nginx log: $(tail -1 "$LAB_TMP"/nginx/access.log 2>/dev/null)" \
	bash -c 'tail -1 "$1"/nginx/access.log | grep -q "^'$WAN_VIP' "' _ "$LAB_TMP"
wait $probe
p=$(cat "$LAB_TMP/probe-failover.json")
note "UDP stream over the failover (a datagram every 20 ms): $p"
# It came back: answers after the longest gap, most datagrams answered.
resumed() { [[ $(jq_py 'd["gap_to_s"] is not None and d["gap_to_s"] < 13.5 and d["answered"] > d["sent"] // 2' <<<"$1") == true ]]; }
check ha_failover_udp_resumes "the UDP stream did not come back through ha2: $p" resumed "$p"
note "packets of ha1's connections ha2 met and could not translate (it has no state sync): drop_tcp_new_without_syn $(BM_NS=ha2 bm_stat drop_tcp_new_without_syn)"

# ---- failback: ha1 comes back and takes over again ---------------------------
ha_links_back 1
ka_start 1 150 2
if wait_until 15 master_is 1; then
	pass ha_failback_ha1_master
else
	fail ha_failback_ha1_master "ha1 has not both addresses: $(nsx ha1 ip -4 -br addr)"
fi
wait_until 5 on_wan 1
check ha_failback_ha2_stops "ha2 still translates" bash -c '! "$@"' _ on_wan 2
# Its segments may have met ha2 (dropped there: ha2 has no flow for it)
# and wait for TCP's retransmission, which backs off up to seconds.
echo after-failback >&"${ECHO[1]}"
read -r -t 15 line <&"${ECHO[0]}"
check ha_failback_idle_session_carries_on "the idle session after failback got '$line'" \
	test "$line" == after-failback
check ha_failback_flows_kept_logged "ha1's log does not say it kept its flows" \
	grep -q "$WAN_VIP has left wan0 (moved to a peer?): keeping its connections" "$LAB_TMP/ctl-ha1.log"
note "flows on $WAN_VIP: ha1 $(conns_of 1), ha2 $(conns_of 2)"
# The download stalled when ha1 failed, could not go on through ha2, and
# resumes through ha1 after failback if TCP did not give up meanwhile.
wait $bulk
note "a 500 kB/s download (4 MiB) through ha1 over failover and failback: $(cat "$LAB_TMP/bulk-failover.out") bytes $(tr '\n' ' ' <"$LAB_TMP/bulk-failover.err")"
kill "$ECHO_PID" 2>/dev/null
for g in 1 2; do ka_kill $g; done
if ((LAB_FAILS)); then
	for g in 1 2; do
		echo "  # ha$g controller:"; sed 's/^/  #   /' "$LAB_TMP/ctl-ha$g.log"
		echo "  # ha$g keepalived:"; tail -20 "$LAB_TMP/ka$g/log" | sed 's/^/  #   /'
	done
fi
lab_done
