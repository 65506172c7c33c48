#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fragments through the NAT (RFC 4787 REQ-14): a 4000-byte UDP datagram
# (three fragments on a 1500 MTU) both ways, and fragments sent in reverse
# order (the first fragment, the one with the ports, arrives last) both
# ways.  The server must only ever see the gateway's address.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

FRAGSEND=$LAB_REPO/tests/lab/fragsend.py
SIZE=4000

lab_build frag lab_standard srv_udp_echo=7
lab_nat_up frag

# big_echo NS DST PORT SIZE: one datagram of SIZE bytes out, its echo back;
# prints "sent N got M same|differs".
big_echo() {
	nsx "$1" "$PY" - "$2" "$3" "$4" <<'EOF'
import socket, sys
dst, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
msg = bytes((i * 13 + 5) & 0xff for i in range(size))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(3):
    s.sendto(msg, (dst, port))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    print("sent", len(msg), "got", len(data), "same" if data == msg else "differs")
    sys.exit(0 if data == msg else 1)
print("sent", len(msg), "got nothing")
sys.exit(1)
EOF
}

out=$(big_echo cli1 $INET 7 $SIZE)
if [[ $out == "sent $SIZE got $SIZE same" ]]; then
	pass frag_udp_4000_both_ways
else
	fail frag_udp_4000_both_ways "$out"
fi
out=$(big_echo cli2 $INET 7 8000)
if [[ $out == "sent 8000 got 8000 same" ]]; then
	pass frag_udp_8000_both_ways_cli2
else
	fail frag_udp_8000_both_ways_cli2 "$out"
fi

check_counter frag_counted fragments_translated -ge 4
check_counter frag_none_dropped drop_fragment -eq 0

if [[ ! -r $FRAGSEND ]]; then
	skip frag_out_of_order "$FRAGSEND is missing"
	lab_done
fi

# recv_one NS ADDR PORT: print "LEN SRCADDR intact|mangled" of the first
# datagram to ADDR:PORT (5 s).
recv_one() {
	nsx "$1" "$PY" - "$2" "$3" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(5)
try:
    data, peer = s.recvfrom(65535)
except socket.timeout:
    print("nothing")
    sys.exit(1)
want = bytes((i * 7) & 0xff for i in range(len(data)))
print(len(data), peer[0], "intact" if data == want else "mangled", flush=True)
EOF
}

# Outbound, reversed: cli1 sends the last fragment first.  The gateway
# must hold the early ones until the first fragment says where they go.
recv_one srv $INET 9100 > "$LAB_TMP/rev-out" &
rpid=$!
LAB_PIDS+=($rpid)
wait_until 5 listening srv udp "$INET:9100"
nsx cli1 "$PY" "$FRAGSEND" 10.0.1.2 $INET 40100 9100 $SIZE reverse \
	>"$LAB_TMP/fragsend-out.log" 2>&1
wait $rpid
out=$(cat "$LAB_TMP/rev-out")
if [[ $out == "$SIZE $WAN_GW intact" ]]; then
	pass frag_reverse_order_out
else
	fail frag_reverse_order_out "srv got '$out' ($(cat "$LAB_TMP/fragsend-out.log"))"
fi

# Inbound, reversed: cli1 opens a mapping toward srv:9200; srv answers
# with fragments in reverse order to the mapped port.
nsx cli1 "$PY" - $INET <<'EOF' > "$LAB_TMP/rev-in" 2>&1 &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 40200))
s.settimeout(0.3)
end = time.time() + 6
while time.time() < end:
    s.sendto(b"open", (sys.argv[1], 9200))
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        continue
    want = bytes((i * 7) & 0xff for i in range(len(data)))
    print(len(data), peer[0], "intact" if data == want else "mangled", flush=True)
    break
else:
    print("nothing")
EOF
cpid=$!
LAB_PIDS+=($cpid)
nsx srv "$PY" - $INET $WAN_GW "$FRAGSEND" $SIZE <<'EOF' > "$LAB_TMP/rev-in-srv" 2>&1
import socket, subprocess, sys
inet, gw, fragsend, size = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((inet, 9200))
s.settimeout(4)
_, peer = s.recvfrom(2048)
print("mapping", "%s:%d" % peer, flush=True)
subprocess.run(["/usr/bin/python3", fragsend, inet, peer[0], "9200",
                str(peer[1]), size, "reverse"], timeout=5)
EOF
wait $cpid
out=$(cat "$LAB_TMP/rev-in")
if [[ $out == "$SIZE $INET intact" ]]; then
	pass frag_reverse_order_in
else
	fail frag_reverse_order_in "cli1 got '$out' (srv: $(tr '\n' ' ' <"$LAB_TMP/rev-in-srv"))"
fi

check_counter frag_held_counted fragments_held -gt 0

((LAB_FAILS)) && show_ctl_log
lab_done
