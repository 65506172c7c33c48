#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Container host: "containers" on a Linux bridge in the gateway namespace,
# masqueraded with the default internal set (everything but the WAN address).
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build ct lab_containers srv_nginx srv_udp_echo
lab_nat_up ct

for c in ct1 ct2; do
	check_hello ct_tcp_$c $c
	check_udp_echo ct_udp_$c $c 5353
done
check ct_ping_ct2 "ct2 cannot ping $INET" nsx ct2 ping -n -c 2 -i 0.2 -W 2 -w 5 $INET

if srv_log_only_gw && [[ $(wc -l < "$NGX/access.log") -ge 2 ]]; then
	pass ct_server_sees_only_gw
else
	fail ct_server_sees_only_gw "access log addresses: $(srv_log_addrs | tr '\n' ' ')"
fi

# Containers still talk to each other and to the host directly, untranslated.
check ct_container_to_container "ct1 cannot ping ct2" \
	nsx ct1 ping -n -c 1 -W 2 10.0.2.3
check ct_container_to_host "ct1 cannot ping the bridge address" \
	nsx ct1 ping -n -c 1 -W 2 10.0.2.1

if is_bpfmasq; then
	n=$(bm_json conns wan0 | jq_py 'len({c["inside"].split(":")[0] for c in d})')
	if [[ $n == 2 ]]; then
		pass ct_conns_both_containers
	else
		fail ct_conns_both_containers "conns -j shows $n inside addresses"
	fi
else
	skip ct_conns_both_containers "LAB_NAT=nft"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
