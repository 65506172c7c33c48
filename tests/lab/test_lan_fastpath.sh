#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --lan: established flows leave through XDP on the LAN interface straight
# to the WAN; a bulk transfer both ways arrives intact.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build lanfast lab_standard srv_nginx srv_tcp_echo=9000
lab_nat_up lanfast --lan lan0

# Downloads: replies through the stack; uploads: most data packets go LAN
# -> WAN, i.e. through the fast path.
check_transfers lanfast

check lanfast_ping "cli1 cannot ping $INET" nsx cli1 ping -n -c 3 -i 0.2 -W 2 -w 6 $INET
if srv_log_only_gw; then
	pass lanfast_server_sees_only_gw
else
	fail lanfast_server_sees_only_gw "access log: $(srv_log_addrs | tr '\n' ' ')"
fi

check_counter lanfast_counted lan_fastpath -gt 0

# The fast path caches each flow's next hop: it must follow a neighbour
# change at once.  One ping flow (one echo id) across the change: replies
# before it, none while srv's MAC on gw is wrong, replies again after.
if is_bpfmasq; then
	gen0=$(bm_json status wan0 | jq_py 'd["route_gen"]')
	srv_mac=$(nsx srv cat /sys/class/net/up0/address)
	nsx cli1 ping -n -i 0.05 -c 100 -W 1 $INET >"$LAB_TMP/ping.out" 2>&1 &
	ping_pid=$!
	sleep 1
	nsx gw ip neigh replace $WAN_SRV lladdr 02:00:00:00:de:ad dev wan0 nud permanent
	sleep 2
	nsx gw ip neigh replace $WAN_SRV lladdr "$srv_mac" dev wan0 nud reachable
	wait $ping_pid
	got=$(sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' "$LAB_TMP/ping.out")
	before=$(awk '$1 <= 15' <<<"$got" | wc -l)
	during=$(awk '$1 >= 30 && $1 <= 50' <<<"$got" | wc -l)
	after=$(awk '$1 >= 75' <<<"$got" | wc -l)
	if ((before >= 14 && during == 0 && after >= 24)); then
		pass lanfast_follows_neighbour_change
	else
		fail lanfast_follows_neighbour_change \
			"replies before/during/after the change: $before/$during/$after"
	fi
	gen1=$(bm_json status wan0 | jq_py 'd["route_gen"]')
	if [[ $gen0 =~ ^[0-9]+$ && $gen1 =~ ^[0-9]+$ ]] && ((gen1 > gen0)); then
		pass lanfast_route_gen_bumped
		note "route_gen $gen0 -> $gen1"
	else
		fail lanfast_route_gen_bumped "route_gen $gen0 -> $gen1"
	fi
else
	skip lanfast_follows_neighbour_change "LAB_NAT=nft"
	skip lanfast_route_gen_bumped "LAB_NAT=nft"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
