#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --mss-clamp.  Over a layer-3 WAN of MTU 1400 (the TUN pair of
# LAB_WAN=tun), `--mss-clamp auto` makes the SYN the outside sees carry
# MSS 1360 and the SYN-ACK the inside sees too (srv advertises 1460 on
# purpose), and a 4 MiB download and a 1 MiB upload pass without the
# gateway fragmenting or asking for smaller packets.  Then over a veth WAN
# a fixed `--mss-clamp 1300` does the same both ways (XDP inbound there).
LAB_WAN=tun
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only mss

lab_build mss lab_standard srv_nginx srv_tcp_echo=9000

# srv's own MSS would be 1360 already (its up0 is 1400 too): advertise a
# full 1460, so that only the clamp keeps cli1 from sending 1500 bytes.
wan_mtu() {
	nsx gw ip link set wan0 mtu "$1" && nsx srv ip link set up0 mtu "$1" &&
		nsx srv ip route replace 192.0.2.0/24 dev up0 advmss 1460
}

# capture NAME NS IF FILTER: the first packet matching FILTER on IF, in
# the background into $LAB_TMP/NAME.cap; true once tcpdump listens.
capture() {
	lab_bg "$2" "$LAB_TMP/$1.cap" timeout 15 tcpdump -n -l -c1 -i "$3" "$4"
	wait_until 5 grep -q 'listening on' "$LAB_TMP/$1.cap"
}

# seen NAME WANT: the captured packet carries WANT ("mss 1360").
seen() {
	local name=$1 want=$2 line
	if wait_until 5 grep -q "Flags \[S" "$LAB_TMP/$name.cap" &&
		grep -q "$want" "$LAB_TMP/$name.cap"; then
		pass mss_$name
	else
		line=$(grep 'Flags' "$LAB_TMP/$name.cap")
		fail mss_$name "expected '$want', captured: ${line:-nothing}"
	fi
}

SYN='tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0'
SYNACK='tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)'

# gw_stat NAME: an IP/ICMP counter of the gateway (nstat, absolute).
gw_stat() { nsx gw nstat -asz "$1" | awk -v k="$1" '$1 == k {print $2}'; }

# ---- TUN WAN, MTU 1400, auto ----

wan_mtu 1400 || { fail mss_tun_mtu "could not set MTU 1400 on the TUN pair"; exit 1; }
if ! bm_up wan0 --mss-clamp auto; then
	fail mss_up_auto "bpfmasq up wan0 --mss-clamp auto failed"
	exit 1
fi
pass mss_up_auto
check mss_status_auto "status -j does not say mss_clamp auto" \
	eval 'bm_json status wan0 | grep -q "\"mss_clamp\": *\"auto\""'

capture tun_syn_outside srv up0 "$SYN" &&
	capture tun_synack_inside cli1 eth0 "$SYNACK" ||
	fail mss_tun_capture "tcpdump did not start"
frags=$(gw_stat IpFragCreates)
unreach=$(gw_stat IcmpOutDestUnreachs)
fetch cli1 http://$INET/hello.txt >/dev/null
seen tun_syn_outside "mss 1360"
seen tun_synack_inside "mss 1360"

check_download mss_tun_download_4mib cli1
check_echo mss_tun_upload_1mib cli1 $INET 9000 1048576 120
f=$(gw_stat IpFragCreates)
u=$(gw_stat IcmpOutDestUnreachs)
if ((f == frags && u == unreach)); then
	pass mss_tun_no_fragments
else
	fail mss_tun_no_fragments "gateway made $((f - frags)) fragments, sent $((u - unreach)) unreachables"
fi
# A SYN and a SYN-ACK of each of 2+ connections.
check_counter mss_tun_counter mss_clamped -ge 4
((LAB_FAILS)) && show_ctl_log

# ---- veth WAN, --mss-clamp 1300 ----

bm down wan0 >/dev/null 2>&1
LAB_UP=()
lab_tun_kill gw wan0 && lab_tun_kill srv up0 ||
	{ fail mss_veth_topology "the TUN pair did not go away"; exit 1; }
nsx gw ip link del car0
LAB_WAN=veth
lab_wan_link || { fail mss_veth_topology "no veth WAN"; exit 1; }
nsx gw ip route add 198.51.100.0/24 via $WAN_SRV

if ! bm_up wan0 --mss-clamp 1300; then
	fail mss_up_1300 "bpfmasq up wan0 --mss-clamp 1300 failed"
	exit 1
fi
pass mss_up_1300
capture veth_syn_outside srv up0 "$SYN" &&
	capture veth_synack_inside cli1 eth0 "$SYNACK" ||
	fail mss_veth_capture "tcpdump did not start"
body=$(fetch cli1 http://$INET/hello.txt)
[[ $body == "hello from srv" ]] || fail mss_veth_fetch "curl got '$body'"
seen veth_syn_outside "mss 1300"
seen veth_synack_inside "mss 1300"
check_counter mss_veth_counter mss_clamped -ge 2	# a SYN and a SYN-ACK

((LAB_FAILS)) && show_ctl_log
lab_done
