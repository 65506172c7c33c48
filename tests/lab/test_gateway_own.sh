#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The gateway's own services and its own outbound traffic keep working
# while it masquerades: NAT mappings never shadow its sockets.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build gwown lab_standard srv_nginx
lab_bg gw "$LAB_TMP/gw-listen.log" socat \
	TCP4-LISTEN:8080,bind=$WAN_GW,reuseaddr,fork SYSTEM:'echo gw-service'
wait_until 5 listening gw tcp $WAN_GW:8080 ||
	{ fail gwown_listener "socat did not listen on the gateway"; exit 1; }
lab_nat_up gwown

# Inside traffic first, so that the NAT has mappings in its table.
check gwown_inside_works "cli1 cannot fetch from srv" \
	fetch cli1 http://$INET/hello.txt

out=$(nsx srv socat -T 3 - TCP4:$WAN_GW:8080,connect-timeout=3 </dev/null 2>&1)
if [[ $out == gw-service ]]; then
	pass gwown_service_reachable
else
	fail gwown_service_reachable "srv -> $WAN_GW:8080 got '$out'"
fi

check_hello gwown_gateway_fetches gw

# The gateway's own socket on a port inside the NAT range.
check_hello gwown_gateway_port_in_nat_range gw --local-port 62001

check gwown_gateway_ping "the gateway cannot ping $INET" \
	nsx gw ping -n -c 3 -i 0.2 -W 2 -w 6 $INET
check gwown_srv_pings_gateway "srv cannot ping the gateway" \
	nsx srv ping -n -c 2 -i 0.2 -W 2 -w 5 $WAN_GW

((LAB_FAILS)) && show_ctl_log
lab_done
