#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --lan-inbound: replies of established flows go from the WAN's XDP
# straight into the LAN; downloads (nearly all of their packets are
# replies) arrive intact and take that path.  --lan-new: connections open
# in XDP too, past the gateway's forward path.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only laninbound

lab_build laninbound lab_standard
# The switch's port is lan0's veth peer: frames redirected into lan0 need
# its NAPI (bpfmasq's documented requirement for a veth LAN).
napi_on sw p0
srv_nginx || { fail laninbound_nginx "nginx did not start on srv"; exit 1; }
srv_tcp_echo 9000 || { fail laninbound_echo_server "the TCP echo server did not start on srv"; exit 1; }
nat_up --lan lan0 --lan-inbound ||
	{ fail laninbound_up "NAT with --lan lan0 --lan-inbound did not come up"; exit 1; }

if [[ $(bm_json status wan0 | jq_py 'd["lan_inbound"]') == true ]]; then
	pass laninbound_status
else
	fail laninbound_status "status -j does not say lan_inbound"
fi

check_transfers laninbound

check laninbound_ping "cli1 cannot ping $INET" nsx cli1 ping -n -c 3 -i 0.2 -W 2 -w 6 $INET

# The 4 MiB downloads alone are about 6000 replies.
check_counter laninbound_counted wan_fastpath -gt 5000
note "lan_fastpath=$(bm_stat lan_fastpath)"

# --lan-new: connections open in the LAN's XDP as well, so the gateway's
# forward path (here an nft counter of forwarded SYNs) sees no packet of
# them; without it, every SYN passes it.
nsx gw nft -f - <<'NFT'
table ip labfwd {
	chain count_syns {
		type filter hook forward priority filter;
		tcp flags & (syn | ack) == syn counter
	}
}
NFT
syns() {
	nsx gw nft list chain ip labfwd count_syns |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
before=$(syns)
fetch cli1 http://$INET/ --max-time 10 >/dev/null
with_stack=$(($(syns) - before))
bm down wan0 >/dev/null 2>&1
nat_up --lan lan0 --lan-inbound --lan-new ||
	{ fail laninbound_new_up "NAT with --lan-new did not come up"; exit 1; }
check_transfers laninnew
before=$(syns)
fetch cli1 http://$INET/ --max-time 10 >/dev/null
with_xdp=$(($(syns) - before))
if ((with_stack >= 1 && with_xdp == 0)); then
	pass laninbound_new_skips_forward_path
	note "forwarded SYNs: $with_stack without --lan-new, $with_xdp with it"
else
	fail laninbound_new_skips_forward_path \
		"forwarded SYNs: $with_stack without --lan-new, $with_xdp with it"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
