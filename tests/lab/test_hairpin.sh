#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8), with --lan: an inside
# client reaches an inside server through the gateway's external address
# and a forwarded port, TCP and UDP, and the server sees it as coming from
# the external address and a NAT port.
. "$(dirname "$0")/lib.sh"
lab_need_forward hairpin

lab_build hairpin lab_standard

# Inside servers on cli2 (10.0.1.3): TCP 8080 says whom it sees, TCP 9000
# echoes, UDP 5353 says whom it sees.
lab_bg cli2 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR $SOCAT_PEERPORT'
lab_bg cli2 "$LAB_TMP/echosrv.log" "$PY" "$LAB_REPO/tests/lab/tcpecho.py" 0.0.0.0 9000
udp_peer_server cli2 " "
wait_until 5 listening cli2 tcp 0.0.0.0:8080 &&
	wait_until 5 listening cli2 tcp 0.0.0.0:9000 &&
	wait_until 5 listening cli2 udp 0.0.0.0:5353 ||
	{ fail hairpin_servers "inside servers did not start"; exit 1; }

lab_nat_up hairpin --lan lan0
bm forward add wan0 tcp 8080 10.0.1.3:8080 >"$LAB_TMP/fa.out" 2>&1 &&
	bm forward add wan0 tcp 9000 10.0.1.3:9000 >>"$LAB_TMP/fa.out" 2>&1 &&
	bm forward add wan0 udp 5300 10.0.1.3:5353 >>"$LAB_TMP/fa.out" 2>&1 ||
	{ fail hairpin_forwards "$(cat "$LAB_TMP/fa.out")"; exit 1; }

# in_nat_range PORT: the default NAT range.
in_nat_range() { (($1 >= 61000 && $1 <= 65535)); }

# TCP: cli1 -> 192.0.2.1:8080 -> cli2, seen from 192.0.2.1:NAT port.
out=$(nsx cli1 socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
read -r word addr port <<<"$out"
if [[ $word == peer && $addr == "$WAN_GW" ]] && in_nat_range "$port"; then
	pass hairpin_tcp_seen_as_external
else
	fail hairpin_tcp_seen_as_external "cli1 -> $WAN_GW:8080 got '$out', expected 'peer $WAN_GW <61000-65535>'"
fi

check_echo hairpin_tcp_echo_1mib cli1 $WAN_GW 9000 1048576

# UDP: the answer must come back from the external address and the
# forwarded port, as the client addressed it.
out=$(udp_ask cli1 $WAN_GW 5300 " ")
read -r word addr port from raddr rport <<<"$out"
if [[ $word == peer && $addr == "$WAN_GW" && $raddr == "$WAN_GW" &&
      $rport == 5300 ]] && in_nat_range "$port"; then
	pass hairpin_udp_seen_as_external
else
	fail hairpin_udp_seen_as_external "cli1 -> $WAN_GW:5300 got '$out', expected 'peer $WAN_GW <nat port> from $WAN_GW 5300'"
fi

# The server reaching its own forward through the external address.
out=$(nsx cli2 socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
read -r word addr port <<<"$out"
if [[ $word == peer && $addr == "$WAN_GW" ]]; then
	pass hairpin_tcp_to_itself
else
	fail hairpin_tcp_to_itself "cli2 -> $WAN_GW:8080 got '$out'"
fi

check_counter hairpin_counted hairpinned -gt 0

((LAB_FAILS)) && show_ctl_log
# RFC 5508 REQ-7: an ICMP error about a hairpinned packet reaches the
# sender.  A forward to a UDP port nobody listens on: cli2 answers port
# unreachable to 192.0.2.1, which must come back to cli1 as a refusal.
bm forward add wan0 udp 5301 10.0.1.3:5399 >"$LAB_TMP/fa2.out" 2>&1 ||
	fail hairpin_icmp_forward "$(cat "$LAB_TMP/fa2.out")"
err0=$(bm_stat icmp_errors_translated)
cat > "$LAB_TMP/refused.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(3):
    s.send(b"anyone?")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        print("refused")
        sys.exit(0)
    except socket.timeout:
        continue
print("no answer")
sys.exit(1)
EOF
out=$(nsx cli1 "$PY" "$LAB_TMP/refused.py" $WAN_GW 5301 2>&1)
if [[ $out == refused ]]; then
	pass hairpin_icmp_error_reaches_sender
else
	fail hairpin_icmp_error_reaches_sender "cli1 got '$out' instead of a port unreachable"
fi
check hairpin_icmp_error_counted "icmp_errors_translated did not grow" \
	test "$(bm_stat icmp_errors_translated)" -gt "$err0"

# ---- Bulk TCP through the hairpin, segmentation offloads left on ----
# What local senders hand a veth or a bridge (GSO), and what GRO makes of
# a veth's segments, are super-packets longer than the MTU: they must be
# forwarded whole, never dropped.  No offload_like_nic here.  Two more
# instances in gw, on interfaces of their own (prefix dp: other runs on
# this machine keep logs per interface name):
#   direct: dpc1 (10.0.11.2) on dpl1 and dpc2 (10.0.12.2) on dpl2, both
#           --lan, WAN dpwan1 203.0.113.1;
#   bridge: dpb1 (10.0.13.2) and dpb2 (10.0.13.3) on gw's bridge dpbr0,
#           --lan dpbr0, WAN dpwan2 203.0.113.17.
# dpc2 and dpb2 run the echo server behind a forward of port 9000.
dp_host() {	# NS GWIF HOSTADDR/LEN GW
	veth "$1" eth0 gw "$2" && addr "$1" eth0 "$3" &&
		nsx "$1" ip route add default via "$4"
}
dp_lab() {
	ns_add dpc1 dpc2 dpb1 dpb2 || return 1
	veth gw dpwan1 srv dpu1 && veth gw dpwan2 srv dpu2 || return 1
	addr gw dpwan1 203.0.113.1/28 && addr srv dpu1 203.0.113.2/28 &&
		addr gw dpwan2 203.0.113.17/28 &&
		addr srv dpu2 203.0.113.18/28 || return 1
	dp_host dpc1 dpl1 10.0.11.2/24 10.0.11.1 &&
		dp_host dpc2 dpl2 10.0.12.2/24 10.0.12.1 &&
		addr gw dpl1 10.0.11.1/24 && addr gw dpl2 10.0.12.1/24 ||
		return 1
	nsx gw ip link add dpbr0 type bridge stp_state 0 &&
		nsx gw ip link set dpbr0 up && addr gw dpbr0 10.0.13.1/24 &&
		dp_host dpb1 dpv1 10.0.13.2/24 10.0.13.1 &&
		dp_host dpb2 dpv2 10.0.13.3/24 10.0.13.1 &&
		nsx gw ip link set dpv1 master dpbr0 &&
		nsx gw ip link set dpv2 master dpbr0
}

# dp_drops IFNAME: the instance's non-zero drop counters ("" if none).
dp_drops() { stats_named drop_ "$1" nonzero; }

# dp_bulk NAME WAN CLIENT SERVER SERVERADDR EXT: 1 MiB echoed by SERVER
# for CLIENT through EXT:9000, both directions hairpinned.
dp_bulk() {
	local name=$1 wan=$2 cli=$3 srvns=$4 srvaddr=$5 ext=$6 want got drops
	lab_bg "$srvns" "$LAB_TMP/$name-echo.log" "$PY" \
		"$LAB_REPO/tests/lab/tcpecho.py" 0.0.0.0 9000
	wait_until 5 listening "$srvns" tcp 0.0.0.0:9000 ||
		{ fail ${name}_server "echo server did not start"; return; }
	bm forward add "$wan" tcp 9000 "$srvaddr:9000" \
		>"$LAB_TMP/$name-fa.out" 2>&1 ||
		{ fail ${name}_forward "$(cat "$LAB_TMP/$name-fa.out")"; return; }
	note "$name: $cli eth0 $(nsx "$cli" ethtool -k eth0 |
		grep -E '^(tcp-segmentation|generic-segmentation)-offload' |
		tr -s ' \n' ' ')"
	check_echo "${name}_bulk_1mib_offloads_on" "$cli" "$ext" 9000 1048576 ||
		note "drops: $(dp_drops "$wan")"
	drops=$(dp_drops "$wan")
	check ${name}_no_drops "drops: $drops" test -z "$drops"
	check ${name}_hairpinned "hairpinned=$(bm_stat hairpinned "$wan")" \
		test "$(bm_stat hairpinned "$wan")" -gt 0
}

if dp_lab; then
	if bm_up dpwan1 --lan dpl1 --lan dpl2; then
		dp_bulk hairpin_direct dpwan1 dpc1 dpc2 10.0.12.2 203.0.113.1
	else
		fail hairpin_direct_up "bpfmasq up dpwan1 --lan dpl1 --lan dpl2 failed"
	fi
	if bm_up dpwan2 --lan dpbr0; then
		dp_bulk hairpin_bridge dpwan2 dpb1 dpb2 10.0.13.3 203.0.113.17
	else
		fail hairpin_bridge_up "bpfmasq up dpwan2 --lan dpbr0 failed"
	fi
	# The other instances' controllers hairpin on dpwan2 whenever it is
	# not a WAN, and take their filter and clsact qdisc off as it becomes
	# one: `up` must win that race every time.
	up_fail=0
	for i in 1 2 3 4 5 6; do
		bm down dpwan2 >/dev/null 2>&1
		bm_up dpwan2 --lan dpbr0 || { up_fail=$i; break; }
	done
	check hairpin_wan_up_down_beside_other_instances \
		"up dpwan2 failed in round $up_fail" test "$up_fail" = 0
	filters=$(nsx gw tc filter show dev dpwan2 ingress
		  nsx gw tc filter show dev dpwan2 egress)
	check hairpin_wan_filters_after_rounds "$filters" bash -c \
		'[[ $1 == *masq_wan_in_tc* && $1 == *masq_wan_out* ]]' _ "$filters"
else
	fail hairpin_bulk_topology "could not build the direct and bridge labs"
fi
((LAB_FAILS)) && show_ctl_log

lab_done
