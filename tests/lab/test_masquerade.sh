#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Masquerade basics: TCP, UDP and ICMP echo from two inside clients reach
# the "internet", which only ever sees the gateway's address.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build masq lab_standard srv_nginx srv_udp_echo

# Without NAT the server cannot answer: the lab itself is sound.
check masq_lab_needs_nat "inside client reached srv without NAT" \
	eval '! fetch cli1 http://$INET/hello.txt --max-time 2'

if ! nat_up; then
	fail masq_up "bpfmasq up wan0 failed"
	exit 1
fi
pass masq_up

for c in cli1 cli2; do
	check_hello masq_tcp_$c $c
done

if srv_log_only_gw && [[ $(wc -l < "$NGX/access.log") -ge 2 ]]; then
	pass masq_server_sees_only_gw
else
	fail masq_server_sees_only_gw "access log addresses: $(srv_log_addrs | tr '\n' ' ')"
fi

check_udp_echo masq_udp_cli1 cli1 0

check masq_ping_cli1 "ping -n -c 3 $INET from cli1 failed" \
	nsx cli1 ping -n -c 3 -i 0.2 -W 2 -w 6 $INET

if is_bpfmasq; then
	n=$(bm_stat out_translated)
	m=$(bm_stat in_translated)
	if ((n > 0 && m > 0)); then
		pass masq_counters
	else
		fail masq_counters "out_translated=$n in_translated=$m"
	fi
else
	skip masq_counters "LAB_NAT=nft"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
