# SPDX-License-Identifier: GPL-2.0
# The two-gateway lab of the HA tests (sourced after lib.sh):
#
#   cli1 10.0.1.2 -- lsw (bridge) -- ha1 lan0 10.0.1.11 / ha2 lan0 10.0.1.12
#                                    LAN VIP 10.0.1.1 (cli1's gateway)
#   ha1 wan0 192.0.2.11 / ha2 wan0 192.0.2.12 -- wsw (bridge) -- srv up0
#   192.0.2.2, "the internet" 198.51.100.1 on srv's lo
#                                    WAN VIP 192.0.2.100 (--external)
#   ha1 sync0 10.255.0.1 -- ha2 sync0 10.255.0.2: the link for state sync
#
# keepalived runs with the example packaging/keepalived/bpfmasq-pair.conf
# as it ships.
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
		veth srv up0 wsw hs0 && veth ha1 sync0 ha2 sync0 || return 1
	addr ha1 sync0 10.255.0.1/30 && addr ha2 sync0 10.255.0.2/30 || return 1
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

# ha_up N [ARGS...]: bpfmasq on haN's wan0, masquerading as the WAN VIP.
ha_up() {
	local g=$1
	shift
	ip netns exec "$(ns ha$g)" "$BPFMASQ" up wan0 --external $WAN_VIP \
		--internal 10.0.1.0/24 --log "$LAB_TMP/ctl-ha$g.log" "$@" \
		>"$LAB_TMP/up-ha$g.out" 2>&1 && LAB_UP+=("ha$g:wan0")
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

# ha_fail_hard N: haN as a box that crashed: keepalived gone without a
# goodbye, every link down, and no virtual address left for the reboot to
# find.  (bpfmasq's controller is the caller's to kill or keep.)
ha_fail_hard() {
	local l
	ka_kill "$1"
	for l in lan0 wan0 sync0; do nsx ha$1 ip link set $l down; done
	nsx ha$1 ip addr del $LAN_VIP/24 dev lan0
	nsx ha$1 ip addr del $WAN_VIP/24 dev wan0
}

# ha_links_back N: haN's links up again, with the route they took along.
ha_links_back() {
	local l
	for l in lan0 wan0 sync0; do nsx ha$1 ip link set $l up; done
	nsx ha$1 ip route replace 198.51.100.0/24 via 192.0.2.2
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

