#!/usr/bin/env bash
# Three gateways in a full mesh of state sync (each names the other two
# with --sync-peer, over a link of their own): a connection through ha1
# is held by ha2 and ha3 at once; ha1 fails hard and ha3 takes its
# addresses (by hand here: the pair's keepalived example is for two), the
# connection carries on through ha3, and what ha3 opens then reaches ha2.
#
#   cli1 -- lsw -- ha1/ha2/ha3 lan0 (LAN VIP 10.0.1.1 on the master)
#   ha1/ha2/ha3 wan0 -- wsw -- srv (WAN VIP 192.0.2.100, --external)
#   ha1/ha2/ha3 sync0 10.255.2.N/24 -- ssw
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_mesh
. "$(dirname "$0")/halib.sh"

GWS="1 2 3"

mesh_lab() {
	local g s
	ns_add cli1 ha1 ha2 ha3 srv lsw wsw ssw || return 1
	for s in lsw wsw ssw; do
		nsx $s ip link add br0 type bridge stp_state 0 &&
			nsx $s ip link set br0 up || return 1
	done
	veth cli1 eth0 lsw hc1 && nsx lsw ip link set hc1 master br0 &&
		veth srv up0 wsw hs0 && nsx wsw ip link set hs0 master br0 ||
		return 1
	for g in $GWS; do
		veth ha$g lan0 lsw hl$g && veth ha$g wan0 wsw hw$g &&
			veth ha$g sync0 ssw hy$g &&
			nsx lsw ip link set hl$g master br0 &&
			nsx wsw ip link set hw$g master br0 &&
			nsx ssw ip link set hy$g master br0 &&
			addr ha$g lan0 10.0.1.1$g/24 && addr ha$g wan0 192.0.2.1$g/24 &&
			addr ha$g sync0 10.255.2.$g/24 &&
			nsx ha$g sysctl -qw net.ipv4.ip_forward=1 &&
			nsx ha$g ip route add 198.51.100.0/24 via 192.0.2.2 ||
			return 1
	done
	addr cli1 eth0 10.0.1.2/24 && nsx cli1 ip route add default via $LAN_VIP &&
		addr srv up0 192.0.2.2/24 && addr srv lo $INET/24
}

mesh_args() {	# N: haN's sync options, its peers the other two
	local g
	echo --sync-listen 10.255.2.$1 --sync-key "$KEY"
	for g in $GWS; do
		[[ $g != "$1" ]] && echo --sync-peer 10.255.2.$g
	done
}
# mesh_up N: haN's status says both its peers are up.
mesh_up() {
	[[ $(BM_NS=ha$1 bm_json status wan0 |
		jq_py "sum(1 for p in d['sync']['peers'] if p['up'])") == 2 ]]
}
# vips_to N: the LAN and WAN VIPs on haN, told to the neighbours as
# keepalived's gratuitous ARP would.
vips_to() {
	nsx ha$1 ip addr add $LAN_VIP/24 dev lan0 &&
		nsx ha$1 ip addr add $WAN_VIP/24 dev wan0 || return 1
	nsx cli1 ip neigh flush dev eth0
	nsx srv ip neigh flush dev up0
}

ha_sync_key
mesh_lab || { fail ha_mesh_topology "could not build the three-gateway lab"; exit 1; }
srv_tcp_echo 9000 || { fail ha_mesh_echo_server "tcpecho did not start on srv"; exit 1; }
for g in $GWS; do
	ha_up $g $(mesh_args $g) ||
		{ fail ha_mesh_up_ha$g "bpfmasq up on ha$g: $(cat "$LAB_TMP/up-ha$g.out")"; exit 1; }
done
if wait_until 15 eval 'mesh_up 1 && mesh_up 2 && mesh_up 3'; then
	pass ha_mesh_sessions_up
else
	fail ha_mesh_sessions_up "ha1 $(sync_line 1) / ha2 $(sync_line 2) / ha3 $(sync_line 3)"
	exit 1
fi
vips_to 1 || { fail ha_mesh_vips "cannot put the VIPs on ha1"; exit 1; }
wait_until 5 on_wan 1

echo_open first
check ha_mesh_session_open "no echo through ha1: $(cat "$LAB_TMP/echo-first.err" 2>/dev/null)" \
	echo_says first hello 5
for g in 2 3; do
	check ha_mesh_ha${g}_holds_it "ha$g's connections to srv:9000: $(conns_to $g 9000)" \
		wait_until 5 eval "(( \$(conns_to $g 9000) == 1 ))"
done

# ha1 dies; ha3, not its "pair", takes the addresses.
pid1=$(ctl_pid 1)
ha_fail_hard 1
[[ $pid1 =~ ^[0-9]+$ && $pid1 != 0 ]] && kill -9 "$pid1"
vips_to 3 || { fail ha_mesh_vips_ha3 "cannot put the VIPs on ha3"; exit 1; }
wait_until 5 on_wan 3
check ha_mesh_session_survives "the session through ha3: $(tail -n 2 "$LAB_TMP/echo-first.out" | tr '\n' '|')" \
	echo_says first after-failover 15

# What ha3 opens now reaches ha2, which ha1's absence does not hold up.
echo_open second
check ha_mesh_new_session_through_ha3 "no echo through ha3: $(cat "$LAB_TMP/echo-second.err" 2>/dev/null)" \
	echo_says second hello 5
check ha_mesh_ha2_holds_ha3s "ha2's connections to srv:9000: $(conns_to 2 9000)" \
	wait_until 5 eval '(( $(conns_to 2 9000) == 2 ))'
lab_done
