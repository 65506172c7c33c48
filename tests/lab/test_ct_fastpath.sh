#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The outbound fast path for containers (lan_tc_fastpath): "containers" cf1
# and cf2 on a bridge of the gateway (cfbr0, 10.0.7.1/24), their veths with
# the offloads a veth has (checksum and segmentation on: partial checksums,
# GSO super-packets), bpfmasq without --lan.  Bulk TCP down and up arrives
# intact, the bridge's tc program carries most of the outbound packets and
# the WAN's tc most replies (the stack forwards only a handful); no drop
# counter moves; the server sees only the gateway.  A WAN with a
# smaller MTU: the first too-long segments take the stack, which answers
# frag-needed, and the connection goes on.  An FTP control connection is
# never fast-pathed: its PORT is still rewritten.  --lan-new: the first
# datagram of a flow takes the fast path too; without it, the slow path.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ct_fastpath "LAB_NAT=nft: this test checks bpfmasq's counters"
for t in vsftpd curl socat ethtool; do
	if ! command -v $t >/dev/null; then
		fail ctfp_deps "$t not installed (scripts/deps.sh)"
		exit 1
	fi
done

ns_add cf1 cf2 gw srv || { fail ctfp_topology "no namespaces"; exit 1; }
nsx gw ip link add cfbr0 type bridge stp_state 0 &&
	addr gw cfbr0 10.0.7.1/24 && nsx gw ip link set cfbr0 up ||
	{ fail ctfp_topology "no bridge"; exit 1; }
veth cf1 eth0 gw vcf1 && veth cf2 eth0 gw vcf2 ||
	{ fail ctfp_topology "no veths"; exit 1; }
nsx gw ip link set vcf1 master cfbr0
nsx gw ip link set vcf2 master cfbr0
addr cf1 eth0 10.0.7.2/24
addr cf2 eth0 10.0.7.3/24
for c in cf1 cf2; do
	nsx $c ip route add default via 10.0.7.1
done
lab_wan || { fail ctfp_topology "no WAN"; exit 1; }

# The offloads a container has: without them this tests nothing new.
offloads() {
	nsx "$1" ethtool -k eth0 | grep -qE '^\s*tx-checksum-ip-generic: on' &&
		nsx "$1" ethtool -k eth0 | grep -qE '^tcp-segmentation-offload: on'
}
check ctfp_offloads_on "cf1's veth has checksum or segmentation offload off" \
	offloads cf1

srv_nginx || { fail ctfp_nginx "nginx did not start on srv"; exit 1; }
srv_udp_echo || { fail ctfp_udp_server "socat did not start on srv"; exit 1; }

# sink PORT FILE: one TCP connection's bytes on srv's $INET:PORT into FILE.
sink() {
	rm -f "$2"
	lab_bg srv "$LAB_TMP/sink$1.log" socat -u \
		TCP4-LISTEN:"$1",bind=$INET,reuseaddr OPEN:"$2",creat,trunc
	wait_until 5 listening srv tcp "$INET:$1"
}

# upload NS PORT FILE: FILE to srv's sink on PORT; true when it arrived
# whole (sha256).
upload() {
	local got=$LAB_TMP/recv$2.bin
	sink "$2" "$got" || return 1
	nsx "$1" socat -u -T 20 OPEN:"$3" \
		TCP4:$INET:"$2",connect-timeout=3 2>"$LAB_TMP/upload$2.err" ||
		return 1
	wait_until 10 eval "! listening srv tcp $INET:$2" || return 1
	[[ $(sha256sum < "$3") == "$(sha256sum < "$got")" ]]
}

# forwarded: datagrams the gateway's stack forwarded (either way).
forwarded() {
	nsx gw awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp
}

# drops: the sum of every drop_* counter.
drops() {
	stats_named drop_ | tr ' ' '\n' | awk -F= '{ s += $2 } END { print s + 0 }'
}

lab_nat_up ctfp
if wait_until 5 eval 'bm status wan0 | grep -q "^    hairpin: .*cfbr0"'; then
	pass ctfp_bridge_has_the_program
else
	fail ctfp_bridge_has_the_program "status: $(bm status wan0 | grep hairpin)"
fi
if bm status wan0 | grep -q '^    tc fast path: established connections$'; then
	pass ctfp_status
else
	fail ctfp_status "status: $(bm status wan0 | grep 'tc fast path')"
fi

# ---- bulk down and up ----------------------------------------------------

head -c 8388608 /dev/urandom > "$LAB_TMP/up.bin"
fast0=$(bm_stat lan_tc_fastpath)
back0=$(bm_stat wan_tc_fastpath)
out0=$(bm_stat out_translated)
fwd0=$(forwarded)
drop0=$(drops)
check_download ctfp_download_4mib cf1
if upload cf2 9100 "$LAB_TMP/up.bin"; then
	pass ctfp_upload_8mib
else
	fail ctfp_upload_8mib "8 MiB upload from cf2 differs: $(cat "$LAB_TMP/upload9100.err")"
fi
fast=$(($(bm_stat lan_tc_fastpath) - fast0))
back=$(($(bm_stat wan_tc_fastpath) - back0))
out=$(($(bm_stat out_translated) - out0))
fwd=$(($(forwarded) - fwd0))
# The slow path takes each connection's SYN (no flow yet) and little else.
if ((fast > 0 && fast * 10 >= out * 9)); then
	pass ctfp_fast_path_carried_most
	note "lan_tc_fastpath +$fast of out_translated +$out"
else
	fail ctfp_fast_path_carried_most "lan_tc_fastpath +$fast of out_translated +$out"
fi
# The way back: the replies (the download's data, the upload's ACKs), as
# GRO made them, and only a handful (first packets) forwarded by the stack.
if ((back > 0 && fwd * 10 < fast + back)); then
	pass ctfp_replies_fast_too
	note "wan_tc_fastpath +$back, stack forwarded $fwd"
else
	fail ctfp_replies_fast_too "wan_tc_fastpath +$back, lan_tc_fastpath +$fast, stack forwarded $fwd"
fi
d=$(($(drops) - drop0))
if ((d == 0)); then
	pass ctfp_no_drops
else
	fail ctfp_no_drops "drop counters moved by $d: $(stats_named drop_ wan0 nonzero)"
fi
if srv_log_only_gw; then
	pass ctfp_server_sees_only_gw
else
	fail ctfp_server_sees_only_gw "access log addresses: $(srv_log_addrs | tr '\n' ' ')"
fi
c=$(bm_json conns wan0 | jq_py 'sorted({c["inside"].split(":")[0] for c in d})')
if [[ $c == '["10.0.7.2", "10.0.7.3"]' ]]; then
	pass ctfp_conns_both_containers
else
	fail ctfp_conns_both_containers "conns -j inside addresses: $c"
fi

# ---- a WAN of a smaller MTU ----------------------------------------------

# srv still announces an MSS of 1460, so cf1 starts with segments that do
# not fit: the stack answers frag-needed, cf1 learns the path MTU.
nsx gw ip link set wan0 mtu 1400
nsx srv ip link set up0 mtu 1400
nsx srv ip route replace 192.0.2.0/24 dev up0 src $WAN_SRV advmss 1460
head -c 4194304 /dev/urandom > "$LAB_TMP/up2.bin"
fast0=$(bm_stat lan_tc_fastpath)
if upload cf1 9101 "$LAB_TMP/up2.bin"; then
	pass ctfp_small_wan_mtu_upload
else
	fail ctfp_small_wan_mtu_upload "4 MiB upload over a WAN of MTU 1400 differs: $(cat "$LAB_TMP/upload9101.err")"
fi
pmtu=$(nsx cf1 ip route get $INET | grep -o 'mtu [0-9]*')
fast=$(($(bm_stat lan_tc_fastpath) - fast0))
if [[ $pmtu == "mtu 1400" ]] && ((fast > 0)); then
	pass ctfp_small_wan_mtu_learnt_then_fast
	note "cf1's route cache: $pmtu; lan_tc_fastpath +$fast"
else
	fail ctfp_small_wan_mtu_learnt_then_fast "cf1's route: '$pmtu', lan_tc_fastpath +$fast"
fi
nsx gw ip link set wan0 mtu 1500
nsx srv ip link set up0 mtu 1500

# ---- FTP: the ALG still sees the control connection ----------------------

ROOT=$LAB_TMP/ftproot
mkdir -p "$ROOT" "$LAB_TMP/empty"
head -c 307200 /dev/urandom > "$ROOT/small.bin"
if ftp_server srv vsftpd $INET; then
	rw0=$(bm_stat alg_rewritten)
	punt0=$(bm_stat alg_segments_to_controller)
	nsx cf1 curl -sS --connect-timeout 3 --max-time 30 -P - --disable-eprt \
		-o "$LAB_TMP/ftp.bin" ftp://$INET/small.bin 2>"$LAB_TMP/ftp.err"
	rw=$(($(bm_stat alg_rewritten) - rw0))
	punt=$(($(bm_stat alg_segments_to_controller) - punt0))
	if [[ -f $LAB_TMP/ftp.bin ]] &&
	   [[ $(sha256sum < "$ROOT/small.bin") == "$(sha256sum < "$LAB_TMP/ftp.bin")" ]] &&
	   ((rw >= 1 && punt >= 1)); then
		pass ctfp_ftp_port_rewritten
	else
		fail ctfp_ftp_port_rewritten "active FTP from cf1: alg_rewritten +$rw, to controller +$punt: $(tail -n 3 "$LAB_TMP/ftp.err" | tr '\n' '|')"
	fi
else
	fail ctfp_ftp_port_rewritten "vsftpd did not start: $(cat "$LAB_TMP/vsftpd.out")"
fi

# ---- --lan-new: the first packet -----------------------------------------

# first_datagram NS SPORT: "fast new" deltas of one UDP echo from a fresh
# source port (lan_tc_fastpath and new_flows).
first_datagram() {
	local f0 n0 out
	f0=$(bm_stat lan_tc_fastpath)
	n0=$(bm_stat new_flows)
	out=$(udp_echo "$1" $INET 7 "$2")
	[[ $out == udp-echo-$2 ]] || { echo "no-echo"; return; }
	echo "$(($(bm_stat lan_tc_fastpath) - f0)) $(($(bm_stat new_flows) - n0))"
}
r=$(first_datagram cf2 5301)
if [[ $r == "0 1" ]]; then
	pass ctfp_first_packet_slow_without_lan_new
else
	fail ctfp_first_packet_slow_without_lan_new "lan_tc_fastpath, new_flows moved by: $r"
fi
bm down wan0 >/dev/null 2>&1
nat_up --lan-new || { fail ctfp_lan_new_up "bpfmasq up wan0 --lan-new failed"; lab_done; }
wait_until 5 eval 'bm status wan0 | grep -q "^    hairpin: .*cfbr0"'
if bm status wan0 | grep -q '^    tc fast path: established and new connections$'; then
	pass ctfp_lan_new_status
else
	fail ctfp_lan_new_status "status: $(bm status wan0 | grep 'tc fast path')"
fi
r=$(first_datagram cf2 5302)
if [[ $r == "1 1" ]]; then
	pass ctfp_first_packet_fast_with_lan_new
else
	fail ctfp_first_packet_fast_with_lan_new "lan_tc_fastpath, new_flows moved by: $r"
fi
check_download ctfp_lan_new_download cf1

((LAB_FAILS)) && show_ctl_log
lab_done
