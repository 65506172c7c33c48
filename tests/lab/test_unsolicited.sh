#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The outside cannot reach inside hosts: not by routing at their private
# addresses through the gateway, and not by guessing a NAT port that has no
# mapping.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build unsol lab_standard
# Listeners on the inside hosts: a connection that got through would open.
for c in cli1 cli2; do
	lab_bg $c "$LAB_TMP/$c-listen.log" socat -u \
		TCP4-LISTEN:8000,reuseaddr,fork OPEN:"$LAB_TMP/$c-hits",creat,append
	lab_bg $c "$LAB_TMP/$c-listen62.log" socat -u \
		TCP4-LISTEN:62000,reuseaddr,fork OPEN:"$LAB_TMP/$c-hits",creat,append
done
for c in cli1 cli2; do
	wait_until 5 listening $c tcp 0.0.0.0:8000 &&
		wait_until 5 listening $c tcp 0.0.0.0:62000 ||
		{ fail unsol_listeners "socat did not listen on $c"; exit 1; }
done

# The server routes the inside network at the gateway, as an attacker next
# to it could.  Without NAT that reaches the inside: the test means something.
nsx srv ip route add 10.0.1.0/24 via $WAN_GW
if nsx srv ping -n -c 1 -W 2 10.0.1.2 >/dev/null && tcp_connects srv 10.0.1.2 8000; then
	pass unsol_reachable_without_nat
else
	fail unsol_reachable_without_nat "lab broken: srv cannot reach 10.0.1.2 with a route"
fi
rm -f "$LAB_TMP"/cli?-hits

lab_nat_up unsol
# Outbound still works with the attacker's route in place.
check unsol_outbound_ping "cli1 cannot ping $INET" \
	nsx cli1 ping -n -c 1 -W 2 $INET

check unsol_ping_inside "srv pinged 10.0.1.2 through the gateway" \
	eval '! nsx srv ping -n -c 2 -i 0.2 -W 1 10.0.1.2'
check unsol_tcp_inside "srv opened a TCP connection to 10.0.1.2:8000" \
	eval '! tcp_connects srv 10.0.1.2 8000'
check_counter unsol_counted drop_unsolicited_to_inside -gt 0

# A SYN to the gateway on a NAT port nobody holds reaches no inside host.
check unsol_nat_port_unmapped "srv connected through 192.0.2.1:62000" \
	eval '! tcp_connects srv $WAN_GW 62000'
nsx srv socat -u - TCP4:$WAN_GW:62000,connect-timeout=2 <<<"probe" >/dev/null 2>&1
sleep 0.5
if [[ ! -s $LAB_TMP/cli1-hits && ! -s $LAB_TMP/cli2-hits ]]; then
	pass unsol_nothing_arrived_inside
else
	fail unsol_nothing_arrived_inside "an inside listener got: $(cat "$LAB_TMP"/cli?-hits)"
fi

# Port shadowing: cli1 holds a UDP mapping toward srv:7777.  Only that
# remote may answer (address-and-port-dependent filtering); the same host
# from another port must not get through.
nsx cli1 "$PY" - $INET >"$LAB_TMP/shadow-cli1" 2>&1 <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 62000))
s.settimeout(0.2)
end = time.time() + 4
while time.time() < end:
    s.sendto(b"out", (sys.argv[1], 7777))
    try:
        data, peer = s.recvfrom(2048)
        print(data.decode(), "%s:%d" % peer, flush=True)
    except socket.timeout:
        pass
PYEOF
shadow=$!
LAB_PIDS+=($shadow)
nsx srv "$PY" - $INET >"$LAB_TMP/shadow-srv" 2>&1 <<'PYEOF'
import socket, sys
legit = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
legit.bind((sys.argv[1], 7777))
legit.settimeout(3)
_, mapped = legit.recvfrom(2048)
print("mapped", "%s:%d" % mapped, flush=True)
intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
intruder.bind((sys.argv[1], 5555))
for _ in range(3):
    intruder.sendto(b"intruder", mapped)
legit.sendto(b"legit", mapped)
PYEOF
wait $shadow
if grep -q '^legit ' "$LAB_TMP/shadow-cli1"; then
	pass unsol_mapped_remote_answers
else
	fail unsol_mapped_remote_answers "cli1 got no answer from srv:7777 ($(tr '\n' ' ' <"$LAB_TMP/shadow-srv"))"
fi
if ! grep -q '^intruder ' "$LAB_TMP/shadow-cli1"; then
	pass unsol_other_remote_port_filtered
else
	fail unsol_other_remote_port_filtered "srv:5555 reached cli1 through the mapping of srv:7777"
fi
check_counter unsol_filtered_counted drop_filtered_remote -gt 0

((LAB_FAILS)) && show_ctl_log
lab_done
