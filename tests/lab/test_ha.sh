#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two gateways, keepalived (VRRP) and bpfmasq --external, with the example
# config packaging/keepalived/bpfmasq-pair.conf as it ships.
#
#   cli1 10.0.1.2 -- lsw (bridge) -- ha1 lan0 10.0.1.11 / ha2 lan0 10.0.1.12
#                                    LAN VIP 10.0.1.1 (cli1's gateway)
#   ha1 wan0 192.0.2.11 / ha2 wan0 192.0.2.12 -- wsw (bridge) -- srv up0
#   192.0.2.2, "the internet" 198.51.100.1 on srv's lo
#                                    WAN VIP 192.0.2.100 (--external)
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
lab_need_bpfmasq
if ! is_bpfmasq; then
	skip ha "needs bpfmasq (LAB_NAT=nft)"
	exit 0
fi
if ! command -v keepalived >/dev/null; then
	fail ha_keepalived "keepalived is not installed (scripts/deps.sh installs it)"
	exit 1
fi
LAN_VIP=10.0.1.1
WAN_VIP=192.0.2.100
KA_CONF=$LAB_REPO/packaging/keepalived/bpfmasq-pair.conf

ha_lab() {
	local g
	ns_add cli1 ha1 ha2 srv lsw wsw || return 1
	for s in lsw wsw; do
		nsx $s ip link add br0 type bridge stp_state 0 &&
			nsx $s ip link set br0 up || return 1
	done
	veth cli1 eth0 lsw hc1 && veth ha1 lan0 lsw hl1 && veth ha2 lan0 lsw hl2 &&
		veth ha1 wan0 wsw hw1 && veth ha2 wan0 wsw hw2 &&
		veth srv up0 wsw hs0 || return 1
	for p in hc1 hl1 hl2; do nsx lsw ip link set $p master br0; done
	for p in hw1 hw2 hs0; do nsx wsw ip link set $p master br0; done
	addr cli1 eth0 10.0.1.2/24 && nsx cli1 ip route add default via $LAN_VIP
	addr srv up0 192.0.2.2/24 && addr srv lo $INET/24
	for g in 1 2; do
		addr ha$g lan0 10.0.1.1$g/24 && addr ha$g wan0 192.0.2.1$g/24 &&
			nsx ha$g sysctl -qw net.ipv4.ip_forward=1 &&
			nsx ha$g ip route add 198.51.100.0/24 via 192.0.2.2 ||
			return 1
	done
}

# ha_up N: bpfmasq on haN's wan0, masquerading as the WAN VIP.
ha_up() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" up wan0 --external $WAN_VIP \
		--internal 10.0.1.0/24 --log "$LAB_TMP/ctl-ha$1.log" \
		>"$LAB_TMP/up-ha$1.out" 2>&1 && LAB_UP+=("ha$1:wan0")
}

# ka_start N PRIORITY PEER_SUFFIX: keepalived in haN with the example
# config, included as README says after the per-gateway definitions.
ka_start() {
	local g=$1 d=$LAB_TMP/ka$1
	mkdir -p "$d"
	cat >"$d/keepalived.conf" <<EOF
\$PRIORITY=$2
\$LAN_IF=lan0
\$WAN_IF=wan0
\$LAN_VIP=$LAN_VIP/24
\$WAN_VIP=$WAN_VIP/24
\$LAN_PEER=10.0.1.1$3
\$WAN_PEER=192.0.2.1$3
\$LAN_VRID=51
\$WAN_VRID=52
include $KA_CONF
EOF
	lab_bg ha$g "$d/log" keepalived -n -l -D -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid"
}
ka_kill() {
	local d=$LAB_TMP/ka$1 p
	for p in $(cat "$d/keepalived.pid" "$d/vrrp.pid" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
}

has_addr() { nsx "$1" ip -4 addr show dev "$2" | grep -q "inet $3/"; }
master_is() { has_addr ha$1 lan0 $LAN_VIP && has_addr ha$1 wan0 $WAN_VIP; }
on_wan() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" -j status wan0 2>/dev/null |
		jq_py 'd["external_on_wan"]' | grep -q true
}
conns_of() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" -j conns wan0 2>/dev/null |
		jq_py "len([c for c in d if c['outside'].startswith('$WAN_VIP:')])"
}

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
coproc ECHO { nsx cli1 socat -T 120 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
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
t0=$(date +%s%N)
# As a box that crashed: keepalived gone without a goodbye, links down,
# and no virtual address left for the reboot to find.
ka_kill 1
nsx ha1 ip link set lan0 down
nsx ha1 ip link set wan0 down
nsx ha1 ip addr del $LAN_VIP/24 dev lan0
nsx ha1 ip addr del $WAN_VIP/24 dev wan0
if wait_until 15 master_is 2; then
	pass ha_failover_ha2_master
	note "ha2 has both addresses $((($(date +%s%N) - t0) / 1000000)) ms after ha1 failed"
else
	fail ha_failover_ha2_master "ha2 has not both addresses: $(nsx ha2 ip -4 -br addr)"
	cat "$LAB_TMP/ka2/log" >&2
fi
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
nsx ha1 ip link set lan0 up
nsx ha1 ip link set wan0 up
nsx ha1 ip route replace 198.51.100.0/24 via 192.0.2.2
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
