#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Port exhaustion is answered (RFC 5508 REQ-8): with a two-port range,
# three UDP flows from three inside sockets give two working flows, and the
# third sender gets ICMP destination unreachable, code 13 (communication
# administratively prohibited), from the gateway, besides the drop being
# counted.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only exhaustion "LAB_NAT=nft: nftables masquerade has no two-port range answer"

lab_build exh lab_standard srv_udp_echo=7
lab_nat_up exh --ports 61000-61001

# Three sockets, one after the other, each alive to the end (the mappings
# of the first two must hold their ports).  Each line: SPORT, then "echo"
# with the external port srv saw, or "icmp TYPE CODE from ADDR", or
# "nothing".  IP_RECVERR puts ICMP errors for an unconnected UDP socket on
# its error queue.
nsx cli1 "$PY" - $INET 7 >"$LAB_TMP/exh.out" 2>&1 <<'EOF'
import select, socket, struct, sys, time
IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2
dst = (sys.argv[1], int(sys.argv[2]))
socks = []
for sport in (40000, 40001, 40002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    s.bind(("0.0.0.0", sport))
    socks.append(s)
    result = "nothing"
    end = time.time() + 3
    while time.time() < end and result == "nothing":
        s.sendto(b"exh-%d" % sport, dst)
        r, _, x = select.select([s], [], [s], 0.3)
        if not r and not x:
            continue
        try:
            msg, anc, _, _ = s.recvmsg(2048, 512, socket.MSG_ERRQUEUE |
                                       socket.MSG_DONTWAIT)
            for level, typ, data in anc:
                if level == socket.SOL_IP and typ == IP_RECVERR:
                    errno_, origin, etype, ecode = struct.unpack_from("=IBBB", data)
                    off = socket.inet_ntoa(data[20:24]) if len(data) >= 24 else "?"
                    if origin == SO_EE_ORIGIN_ICMP:
                        result = "icmp %d %d from %s" % (etype, ecode, off)
            continue
        except BlockingIOError:
            pass
        try:
            data, peer = s.recvfrom(2048, socket.MSG_DONTWAIT)
            if data == b"exh-%d" % sport:
                result = "echo"
        except (BlockingIOError, OSError):
            pass
    print(sport, result, flush=True)
EOF
sed 's/^/  # /' "$LAB_TMP/exh.out"

check exh_first_flow_works "first flow: $(grep '^40000 ' "$LAB_TMP/exh.out")" \
	grep -qx '40000 echo' "$LAB_TMP/exh.out"
check exh_second_flow_works "second flow: $(grep '^40001 ' "$LAB_TMP/exh.out")" \
	grep -qx '40001 echo' "$LAB_TMP/exh.out"
check exh_third_gets_icmp_3_13 "third flow: $(grep '^40002 ' "$LAB_TMP/exh.out"), expected icmp 3 13" \
	grep -qE '^40002 icmp 3 13 from ' "$LAB_TMP/exh.out"

check_counter exh_counted drop_ports_exhausted -gt 0
check exh_logged "the controller log says nothing about the exhaustion" \
	grep -q 'no external port left' "$LAB_TMP/ctl-wan0.log"

# The third socket got no flow (its packet was dropped, not sent on).
bm conns wan0 >"$LAB_TMP/conns.out" 2>&1
if ! grep -q '40002' "$LAB_TMP/conns.out"; then
	pass exh_no_flow_for_third
else
	fail exh_no_flow_for_third "conns shows the third socket: $(grep 40002 "$LAB_TMP/conns.out")"
fi

# A full flows table takes no ports: a second instance on dpwan3 (names
# of their own, see test_hairpin.sh) with --max-flows 16.  One socket
# fills the table with 16 flows on one binding (16 remote ports), then 10
# new sockets each send once: their packets are dropped, and the bindings
# they made must go with them at once, not wait for the controller's walk
# (before, the binds map grew from 2 to 22 entries).
# binds_count IFNAME: entries of the binds map of IFNAME's XDP program.
binds_count() {
	local prog
	prog=$(nsx gw ip -j -d link show "$1" | "$PY" -c 'import json, sys
print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])') || return 1
	bpftool -j prog show id "$prog" | "$PY" -c 'import json, subprocess, sys
for m in json.load(sys.stdin)["map_ids"]:
    info = json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "id", str(m)]))
    if info.get("name") == "binds":
        dump = json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "id", str(m)]))
        print(len(dump))
        break'
}
if veth gw dpwan3 srv dpu3 && addr gw dpwan3 203.0.113.33/28 &&
	addr srv dpu3 203.0.113.34/28 &&
	bm_up dpwan3 --max-flows 16; then
	nsx cli1 "$PY" - 203.0.113.34 <<'EOF2'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 41999))
for port in range(1000, 1016):
    s.sendto(b"fill", (sys.argv[1], port))
    time.sleep(0.005)
socks = []
for i in range(10):
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.bind(("0.0.0.0", 42000 + i))
    t.sendto(b"more", (sys.argv[1], 9))
    socks.append(t)
    time.sleep(0.005)
EOF2
	flows=$(bm_stat new_flows dpwan3)
	full=$(bm_stat drop_table_full dpwan3)
	nb=$(binds_count dpwan3)
	note "new_flows=$flows drop_table_full=$full binds=$nb"
	check exh_table_full_counted "new_flows=$flows drop_table_full=$full, expected 16 and 10" \
		test "$flows" -eq 16 -a "$full" -eq 10
	check exh_table_full_no_port_leak "binds=$nb, expected 2 (one endpoint, both halves)" \
		test "$nb" -eq 2
else
	fail exh_table_full_up "bpfmasq up dpwan3 --max-flows 16 failed"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
