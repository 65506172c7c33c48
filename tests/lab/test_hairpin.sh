#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8), with --lan: an inside
# client reaches an inside server through the gateway's external address
# and a forwarded port, TCP and UDP, and the server sees it as coming from
# the external address and a NAT port.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

if ! is_bpfmasq; then
	skip hairpin "LAB_NAT=nft: uses bpfmasq forward"
	lab_done
fi
if ! "$BPFMASQ" help 2>&1 | grep -q 'forward add'; then
	skip hairpin "this bpfmasq has no 'forward' command yet"
	lab_done
fi

lab_standard || { fail hairpin_topology "could not build the lab"; exit 1; }

# Inside servers on cli2 (10.0.1.3): TCP 8080 says whom it sees, TCP 9000
# echoes, UDP 5353 says whom it sees.
lab_bg cli2 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR $SOCAT_PEERPORT'
lab_bg cli2 "$LAB_TMP/echosrv.log" "$PY" "$LAB_REPO/tests/lab/tcpecho.py" 0.0.0.0 9000
cat > "$LAB_TMP/udpsrv.py" <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"peer %s %d" % (peer[0].encode(), peer[1]), peer)
EOF
lab_bg cli2 "$LAB_TMP/udpsrv.log" "$PY" "$LAB_TMP/udpsrv.py"
wait_until 5 listening cli2 tcp 0.0.0.0:8080 &&
	wait_until 5 listening cli2 tcp 0.0.0.0:9000 &&
	wait_until 5 listening cli2 udp 0.0.0.0:5353 ||
	{ fail hairpin_servers "inside servers did not start"; exit 1; }

nat_up --lan lan0 || { fail hairpin_up "bpfmasq up wan0 --lan lan0 failed"; exit 1; }
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

head -c 1048576 /dev/urandom > "$LAB_TMP/hp.bin"
want=$(sha256sum < "$LAB_TMP/hp.bin")
got=$(nsx cli1 timeout 30 socat -T 10 -t 10 STDIO \
	TCP4:$WAN_GW:9000,connect-timeout=3,shut-down \
	< "$LAB_TMP/hp.bin" 2>"$LAB_TMP/hp.err" | sha256sum)
if [[ $got == "$want" ]]; then
	pass hairpin_tcp_echo_1mib
else
	fail hairpin_tcp_echo_1mib "1 MiB echoed through the hairpin differs: $(cat "$LAB_TMP/hp.err")"
fi

# UDP: the answer must come back from the external address and the
# forwarded port, as the client addressed it.
out=$(nsx cli1 "$PY" - $WAN_GW 5300 <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(3):
    s.sendto(b"who", (sys.argv[1], int(sys.argv[2])))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    print(data.decode(), "from %s %d" % peer)
    sys.exit(0)
sys.exit(1)
EOF
)
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

n=$(bm_stat hairpinned)
if ((n > 0)); then
	pass hairpin_counted
	note "hairpinned=$n"
else
	fail hairpin_counted "hairpinned=$n"
fi

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

lab_done
