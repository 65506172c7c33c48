#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hairpinning by default (RFC 4787 REQ-9, RFC 5382 REQ-8 are MUSTs): with no
# --lan, `up` finds the inside interfaces itself (routes into --internal,
# or every interface but the WAN), the controller follows interfaces that
# come and go, `status` lists them, --no-hairpin turns it off and `down`
# takes it all away.  Inside hosts on a bridge in the gateway (the
# container-host and home-router shape), checksum and segmentation offload
# on as a veth has them.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only hairpin_auto "LAB_NAT=nft: uses bpfmasq forward"

lab_build hairpin_auto lab_containers
# The containers keep a veth's offloads: partial checksums, TSO/GSO.
for c in ct1 ct2; do
	nsx $c ethtool -K eth0 tx on tso on gso on >/dev/null 2>&1
done

# ct2 (10.0.2.3): TCP 8080 says whom it sees, TCP 9000 echoes, UDP 5353
# says whom it sees.
lab_bg ct2 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR $SOCAT_PEERPORT'
lab_bg ct2 "$LAB_TMP/echosrv.log" "$PY" "$LAB_REPO/tests/lab/tcpecho.py" 0.0.0.0 9000
wait_until 5 listening ct2 tcp 0.0.0.0:8080 &&
	wait_until 5 listening ct2 tcp 0.0.0.0:9000 ||
	{ fail hairpin_auto_servers "inside servers did not start"; exit 1; }

in_nat_range() { (($1 >= 61000 && $1 <= 65535)); }

# seen_via_hairpin NAME: ct1 -> 192.0.2.1:8080 reaches ct2, which sees
# the external address and a NAT port.
seen_via_hairpin() {
	local out word addr port
	out=$(nsx ct1 socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
	read -r word addr port <<<"$out"
	if [[ $word == peer && $addr == "$WAN_GW" ]] && in_nat_range "$port"; then
		pass "$1"
	else
		fail "$1" "ct1 -> $WAN_GW:8080 got '$out', expected 'peer $WAN_GW <61000-65535>'"
		show_ctl_log
	fi
}

# hairpin_ifs: the interfaces `status -j` says carry the hairpin path.
hairpin_ifs() {
	bm_json status wan0 | "$PY" -c 'import json, sys
print(" ".join(json.load(sys.stdin)["hairpin"]))'
}

# tc_ingress_ours IF: a bpfmasq hairpin filter at IF's ingress (the kernel
# keeps 15 bytes of a program name).
tc_ingress_ours() { nsx gw tc filter show dev "$1" ingress 2>/dev/null | grep -q masq_lan_hairpi; }
has_clsact() { nsx gw tc qdisc show dev "$1" | grep -q clsact; }

# ---- with --internal: the interfaces routed into it ------------------------
bm_up wan0 --internal 10.0.2.0/24 ||
	{ fail hairpin_auto_up "bpfmasq up wan0 --internal 10.0.2.0/24 failed"; exit 1; }
bm forward add wan0 tcp 8080 10.0.2.3:8080 >"$LAB_TMP/fa.out" 2>&1 &&
	bm forward add wan0 tcp 9000 10.0.2.3:9000 >>"$LAB_TMP/fa.out" 2>&1 ||
	{ fail hairpin_auto_forwards "$(cat "$LAB_TMP/fa.out")"; exit 1; }

ifs=$(hairpin_ifs)
if [[ $ifs == br0 ]]; then
	pass hairpin_auto_status_lists_br0
else
	fail hairpin_auto_status_lists_br0 "status says hairpin on '$ifs', expected 'br0' (the bridge, not its ports)"
fi
seen_via_hairpin hairpin_auto_tcp_forward

# Bulk TCP through the hairpin, TSO/GSO on at both ends: super-packets
# must be forwarded, not dropped.
check_echo hairpin_auto_tcp_echo_1mib_bridge ct1 $WAN_GW 9000 1048576 ||
	bm stats wan0 2>&1 | grep -v ' 0$' | sed 's/^/  # stats: /'

# A mapping opened by an inside host (STUN-style): ct2 sends from UDP 4000
# to the outside and learns its external port; ct1 sends to that endpoint
# and ct2 must see it (cone filtering lets anyone through a mapping; strict
# would let only the remote ct2 contacted).
bm down wan0 >/dev/null 2>&1
LAB_UP=()
bm_up wan0 --internal 10.0.2.0/24 --filter cone ||
	{ fail hairpin_auto_up_cone "bpfmasq up --filter cone failed"; exit 1; }
srv_udp_echo 7 || fail hairpin_auto_udp_echo "UDP echo on srv did not start"
cat > "$LAB_TMP/stun.py" <<'EOF'
import socket, sys
# ct2: open a mapping from port 4000, then wait for whoever comes through it.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4000))
s.settimeout(5)
s.sendto(b"open", (sys.argv[1], 7))
s.recvfrom(2048)
open(sys.argv[2], "w").write("ready\n")
data, peer = s.recvfrom(2048)
print(data.decode(), peer[0], peer[1], flush=True)
EOF
rm -f "$LAB_TMP/stun.ready"
lab_bg ct2 "$LAB_TMP/stun.out" "$PY" "$LAB_TMP/stun.py" $INET "$LAB_TMP/stun.ready"
wait_until 5 test -s "$LAB_TMP/stun.ready" ||
	fail hairpin_auto_mapping "ct2's mapping did not open: $(cat "$LAB_TMP/stun.out")"
port=$(bm_json conns wan0 | "$PY" -c 'import json, sys
for c in json.load(sys.stdin):
    if c.get("proto") == "udp" and c.get("inside", "").endswith(":4000"):
        print(c["outside"].split(":")[1]); break')
if [[ -n $port ]]; then
	nsx ct1 "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"hello-through-mapping", (sys.argv[1], int(sys.argv[2])))' $WAN_GW "$port"
fi
if wait_until 5 grep -q "hello-through-mapping $WAN_GW" "$LAB_TMP/stun.out"; then
	pass hairpin_auto_udp_mapping
else
	fail hairpin_auto_udp_mapping "ct1 -> $WAN_GW:${port:-?} (ct2's mapping) not seen by ct2 from $WAN_GW: '$(cat "$LAB_TMP/stun.out")'"
fi

# ---- interfaces that come and go -------------------------------------------
# A second inside network appears after `up`: a veth routed into
# --internal gets the hairpin path within a moment; when its route goes,
# so does the path.
bm down wan0 >/dev/null 2>&1
LAB_UP=()
bm_up wan0 --internal 10.0.0.0/16 ||
	{ fail hairpin_auto_up16 "bpfmasq up --internal 10.0.0.0/16 failed"; exit 1; }
nsx gw ip link add hpa0 type veth peer name hpa1
nsx gw ip link set hpa0 up
nsx gw ip link set hpa1 up
nsx gw ip addr add 10.0.9.1/24 dev hpa0
if wait_until 5 tc_ingress_ours hpa0; then
	pass hairpin_auto_follows_new_interface
else
	fail hairpin_auto_follows_new_interface "no hairpin filter on hpa0 (10.0.9.1/24, inside 10.0.0.0/16) after 5 s; status: $(hairpin_ifs)"
	show_ctl_log
fi
if tc_ingress_ours hpa1; then
	fail hairpin_auto_only_inside "hpa1 (no route into --internal) got a hairpin filter"
else
	pass hairpin_auto_only_inside
fi
nsx gw ip addr del 10.0.9.1/24 dev hpa0
if wait_until 5 eval '! tc_ingress_ours hpa0'; then
	pass hairpin_auto_follows_route_removal
else
	fail hairpin_auto_follows_route_removal "hairpin filter still on hpa0 after its route into --internal went"
fi
check hairpin_auto_status_after_changes "status does not list br0 alone: $(hairpin_ifs)" \
	test "$(hairpin_ifs)" == br0

# ---- without --internal: every interface but the WAN -----------------------
bm down wan0 >/dev/null 2>&1
LAB_UP=()
bm_up wan0 || { fail hairpin_auto_up_all "bpfmasq up wan0 failed"; exit 1; }
bm forward add wan0 tcp 8080 10.0.2.3:8080 >/dev/null 2>&1
ifs=$(hairpin_ifs)
if [[ " $ifs " == *" br0 "* && " $ifs " == *" hpa0 "* && " $ifs " != *" wan0 "* &&
      " $ifs " != *" vct1 "* && " $ifs " != *" lo "* ]]; then
	pass hairpin_auto_all_but_wan
else
	fail hairpin_auto_all_but_wan "status says hairpin on '$ifs'; expected br0 and hpa0, not wan0, lo or bridge ports"
fi
seen_via_hairpin hairpin_auto_tcp_forward_no_internal

# ---- down takes it all away -------------------------------------------------
bm down wan0 >/dev/null 2>&1
LAB_UP=()
left=
for i in br0 hpa0 hpa1; do
	tc_ingress_ours $i && left+=" filter on $i"
	has_clsact $i && left+=" clsact on $i"
done
check hairpin_auto_down_removes "down left:$left" test -z "$left"

# ---- --no-hairpin -----------------------------------------------------------
bm_up wan0 --internal 10.0.2.0/24 --no-hairpin ||
	{ fail hairpin_auto_up_off "bpfmasq up --no-hairpin failed"; exit 1; }
bm forward add wan0 tcp 8080 10.0.2.3:8080 >/dev/null 2>&1
out=$(nsx ct1 socat -T 2 - TCP4:$WAN_GW:8080,connect-timeout=2 </dev/null 2>&1)
if [[ $out != peer* ]] && ! tc_ingress_ours br0; then
	pass hairpin_auto_off
else
	fail hairpin_auto_off "with --no-hairpin ct1 -> $WAN_GW:8080 got '$out'"
fi
check hairpin_auto_off_status "status does not say off" \
	eval 'bm status wan0 | grep -q "hairpin: off (--no-hairpin)"'

lab_done
