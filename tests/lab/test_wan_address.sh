#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The controller follows the WAN address: a new primary address is used for
# new flows, flows on the removed address are flushed, and idle flows
# expire after their timeout.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only wan_address

lab_build wanaddr lab_standard srv_udp_echo=7000
lab_nat_up wanaddr --timeout-udp 3

external() { bm_json status wan0 | jq_py 'd["external"]'; }
conns_on() { bm_json conns wan0 | jq_py "len([c for c in d if c['outside'].startswith('$1:')])"; }
# For wait_until, which runs a command again and again (not its output).
external_is() { [[ $(external) == "$1" ]]; }
no_conns_on() { [[ $(conns_on "$1") == 0 ]]; }

check wanaddr_echo_before "no UDP echo through 192.0.2.1" \
	udp_echo cli1 $INET 7000 40001
check wanaddr_flow_on_old "no flow on 192.0.2.1" \
	test "$(conns_on 192.0.2.1)" -ge 1

# Promote a second address: when the primary goes, the kernel keeps the
# secondary as the new primary instead of deleting it.
nsx gw sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nsx gw ip addr add 192.0.2.7/24 dev wan0
nsx gw ip addr del $WAN_GW/24 dev wan0
nsx gw ip route replace 198.51.100.0/24 via $WAN_SRV

if wait_until 5 external_is 192.0.2.7; then
	pass wanaddr_followed
else
	fail wanaddr_followed "status says external $(external), expected 192.0.2.7"
fi
check wanaddr_old_flows_flushed "flows on 192.0.2.1 survived its removal" \
	test "$(conns_on 192.0.2.1)" -eq 0
check wanaddr_echo_after "no UDP echo through the new address" \
	udp_echo cli1 $INET 7000 40002
check wanaddr_new_flow_on_new "the new flow does not use 192.0.2.7" \
	test "$(conns_on 192.0.2.7)" -ge 1
if grep -q "external address 192.0.2.1 -> 192.0.2.7" "$LAB_TMP/ctl-wan0.log"; then
	pass wanaddr_logged
else
	fail wanaddr_logged "no address change in the controller log"
fi

# The address goes with nothing in its place (as it does, first, when
# the interface itself is deleted: the kernel reports the address gone
# before the link): the flows wait for it, and carry on when it is back.
check wanaddr_echo_before_removal "no UDP echo through 192.0.2.7" \
	udp_echo cli1 $INET 7000 40003
nsx gw ip addr del 192.0.2.7/24 dev wan0
check_ctl_log wanaddr_removed_kept \
	"keeping the connections on 192.0.2.7 until wan0 has an address again"
nsx gw ip addr add 192.0.2.7/24 dev wan0
nsx gw ip route replace 198.51.100.0/24 via $WAN_SRV
check_ctl_log wanaddr_removed_back "192.0.2.7 is back; its connections carry on"
check wanaddr_removed_not_flushed "the flows of 192.0.2.7 were flushed: $(grep flushed "$LAB_TMP/ctl-wan0.log")" \
	bash -c '! grep -q "flushed [0-9]* connections on 192.0.2.7" "$1"' _ "$LAB_TMP/ctl-wan0.log"

# --timeout-udp 3: the controller looks every 2 s (a quarter of the
# shortest timeout, at least 2 s) and removes the idle flows.
interval=$(bm_json status wan0 | jq_py 'd["expire_interval_ms"]')
check wanaddr_expire_interval "expiry every ${interval} ms, expected 2000" \
	test "$interval" = 2000
if wait_until 10 no_conns_on 192.0.2.7; then
	pass wanaddr_idle_udp_expired
else
	fail wanaddr_idle_udp_expired "an idle UDP flow outlived its 3 s timeout"
fi
lab_done
