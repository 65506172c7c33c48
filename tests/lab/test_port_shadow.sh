#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Port shadowing, after the kernel's nft_nat.sh test_port_shadow: an inside
# client sends from the port of a service the gateway itself runs; an
# outside host then talks to the gateway's service from the port the
# client sent to.  Only the gateway may answer: a NAT mapping must never
# take over the gateway's own port.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build shadow lab_standard
lab_nat_up shadow

# The client's "fake entry": from the service port to the outside host.
echo fake-entry | nsx cli1 timeout 2 socat -u STDIN \
	UDP4:$WAN_SRV:41404,sourceport=1405 || true

echo ROUTER | nsx gw timeout 5 socat -T 3 -u STDIN UDP4-LISTEN:1405 2>/dev/null &
LAB_PIDS+=($!)
echo CLIENT | nsx cli1 timeout 5 socat -T 3 -u STDIN UDP4-LISTEN:1405,reuseport 2>/dev/null &
LAB_PIDS+=($!)
wait_until 3 listening gw udp :1405
wait_until 3 listening cli1 udp :1405

got=$(echo data | nsx srv timeout 2 socat -T 2 - UDP4:$WAN_GW:1405,sourceport=41404 2>/dev/null)
if [[ $got == ROUTER ]]; then
	pass shadow_gateway_service_answers
elif ! is_bpfmasq; then
	# What nft_nat.sh documents for Linux's default masquerade.
	skip shadow_gateway_service_answers "nftables masquerade lets the client shadow gw:1405 (got '$got')"
else
	fail shadow_gateway_service_answers "got '$got' from gw:1405, not ROUTER"
fi

# And with a NAT range that includes the service port, so the client's
# port would be kept if nothing owned it.
if is_bpfmasq; then
	bm down wan0 >/dev/null
	LAB_UP=()
	echo ROUTER | nsx gw timeout 6 socat -T 4 -u STDIN UDP4-LISTEN:1406 2>/dev/null &
	LAB_PIDS+=($!)
	wait_until 3 listening gw udp :1406
	bm_up wan0 --ports 1024-65535 ||
		{ fail shadow_up_wide "bpfmasq up --ports 1024-65535 failed"; lab_done; }
	echo fake-entry | nsx cli1 timeout 2 socat -u STDIN \
		UDP4:$WAN_SRV:41405,sourceport=1406 || true
	outside=$(bm_json conns wan0 | jq_py "[c['outside'] for c in d if c['inside'].endswith(':1406')]")
	if [[ $outside == *'"'$WAN_GW:1406'"'* || $outside == '[]' ]]; then
		fail shadow_port_not_taken "the client got the gateway's port: $outside"
	else
		pass shadow_port_not_taken
	fi
	got=$(echo data | nsx srv timeout 2 socat -T 2 - UDP4:$WAN_GW:1406,sourceport=41405 2>/dev/null)
	check shadow_wide_gateway_answers "got '$got', not ROUTER" test "$got" = ROUTER
fi
lab_done
