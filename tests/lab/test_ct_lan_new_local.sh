#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --lan-new on a container bridge: traffic from a container to the host
# itself (the bridge's address, the WAN's) is delivered, never translated,
# and opens no flow; traffic to the outside still does.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build ct9 lab_containers srv_nginx
lab_nat_up ct9 --lan br0 --lan-new

check ct9_ping_bridge "ct1 cannot ping the bridge address" \
	nsx ct1 ping -n -c 2 -i 0.2 -W 2 10.0.2.1
check ct9_ping_wan "ct1 cannot ping the WAN address" \
	nsx ct1 ping -n -c 2 -i 0.2 -W 2 $WAN_GW
# No listener there: the gateway's stack answers with a RST.
tcp_connects ct1 10.0.2.1 8001
tcp_connects ct1 $WAN_GW 8001
udp_echo ct1 $WAN_GW 53 >/dev/null
check_hello ct9_outside_works ct1

conns=$(bm_json conns wan0)
n=$(jq_py 'len([c for c in d if c["remote"].split(":")[0] in ("10.0.2.1", "192.0.2.1")])' <<<"$conns")
if [[ $n == 0 ]]; then
	pass ct9_no_flow_to_the_gateway
else
	fail ct9_no_flow_to_the_gateway "$n flows to the gateway's own addresses: $(bm conns wan0 | tr '\n' '|')"
fi
n=$(jq_py 'len([c for c in d if c["remote"].split(":")[0] == "198.51.100.1"])' <<<"$conns")
if ((n >= 1)); then
	pass ct9_flow_to_the_outside
else
	fail ct9_flow_to_the_outside "no flow to $INET: $(bm conns wan0 | tr '\n' '|')"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
