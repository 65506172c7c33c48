#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Static port forwards (bpfmasq forward add|del|list): an outside client
# reaches an inside server through the gateway's address, TCP and UDP, and
# the inside server sees the real outside client address.  A deleted
# forward lets nothing in any more.
. "$(dirname "$0")/lib.sh"
lab_need_forward forward

lab_build fwd lab_standard

# Inside servers on cli1: TCP 8080 and UDP 5353 answer with the address
# they see the client at.
lab_bg cli1 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR'
udp_peer_server cli1 :
wait_until 5 listening cli1 tcp 0.0.0.0:8080 &&
	wait_until 5 listening cli1 udp 0.0.0.0:5353 ||
	{ fail fwd_servers "inside servers did not start"; exit 1; }

lab_nat_up fwd

# tcp_peer: what the inside server saw, asked from srv as INET (2 s).
tcp_peer() {
	nsx srv socat -T 2 - TCP4:$WAN_GW:$1,bind=$INET,connect-timeout=2 \
		</dev/null 2>/dev/null
}
# udp_peer PORT: the same over UDP, from INET:5400; prints the answer and
# where it came from.
udp_peer() { udp_ask srv $WAN_GW "$1" : $INET 5400; }

check fwd_tcp_closed_before "srv reached the inside TCP server before any forward" \
	eval '[[ -z $(tcp_peer 8080) ]]'

if bm forward add wan0 tcp 8080 10.0.1.2:8080 >"$LAB_TMP/fa.out" 2>&1 &&
   bm forward add wan0 udp 5300 10.0.1.2:5353 >>"$LAB_TMP/fa.out" 2>&1; then
	pass fwd_add
else
	fail fwd_add "$(cat "$LAB_TMP/fa.out")"
fi

out=$(tcp_peer 8080)
if [[ $out == "peer $INET" ]]; then
	pass fwd_tcp_sees_outside_client
else
	fail fwd_tcp_sees_outside_client "inside server answered '$out', expected 'peer $INET'"
fi
out=$(udp_peer 5300)
if [[ $out == "peer $INET:5400 from $WAN_GW:5300" ]]; then
	pass fwd_udp_sees_outside_client
else
	fail fwd_udp_sees_outside_client "got '$out', expected 'peer $INET:5400 from $WAN_GW:5300'"
fi

# A forward opens the port to everyone, whatever the filtering mode: a
# second outside address gets in too.
out=$(nsx srv socat -T 2 - TCP4:$WAN_GW:8080,bind=$WAN_SRV,connect-timeout=2 \
	</dev/null 2>/dev/null)
if [[ $out == "peer $WAN_SRV" ]]; then
	pass fwd_tcp_second_client
else
	fail fwd_tcp_second_client "from $WAN_SRV got '$out'"
fi

bm forward list wan0 >"$LAB_TMP/fl.out" 2>&1
if grep -q 8080 "$LAB_TMP/fl.out" && grep -q '10.0.1.2:5353' "$LAB_TMP/fl.out"; then
	pass fwd_list
else
	fail fwd_list "forward list: $(tr '\n' '|' <"$LAB_TMP/fl.out")"
fi
if bm_json forward list wan0 | jq_py 'len(d) if isinstance(d, list) else len(d.get("forwards", []))' |
	grep -qx 2; then
	pass fwd_list_json
else
	fail fwd_list_json "forward list -j: $(cat "$LAB_TMP/json.out" "$LAB_TMP/json.err")"
fi

# Only the forwarded port is open: a neighbour port still is not.
check fwd_other_port_closed "srv reached 10.0.1.2 through an unforwarded port" \
	eval '[[ -z $(tcp_peer 8081) ]]'

check fwd_add_twice_refused "a second forward of tcp 8080 was accepted" \
	eval '! bm forward add wan0 tcp 8080 10.0.1.3:8080'

# Forwards live in the pinned state: a controller killed and adopted by a
# new `up` keeps them.
pid=$(bm_ctl_pid)
if [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) && alive "$pid"; then
	kill -9 "$pid"
	wait_until 5 eval "! alive $pid"
	if bm_up wan0; then
		out=$(tcp_peer 8080)
		if [[ $out == "peer $INET" ]] &&
		   bm forward list wan0 | grep -q '10.0.1.2:8080'; then
			pass fwd_survives_controller_restart
		else
			fail fwd_survives_controller_restart "after the restart: '$out', list: $(bm forward list wan0 | tr '\n' '|')"
		fi
	else
		fail fwd_survives_controller_restart "up after kill -9: $(cat "$LAB_TMP/up.err")"
	fi
else
	fail fwd_survives_controller_restart "status -j gave controller_pid '$pid'"
fi

if bm forward del wan0 tcp 8080 >"$LAB_TMP/fd.out" 2>&1 &&
   bm forward del wan0 udp 5300 >>"$LAB_TMP/fd.out" 2>&1; then
	pass fwd_del
else
	fail fwd_del "$(cat "$LAB_TMP/fd.out")"
fi
# Connections through it may linger as flows; a new one must not open.
check fwd_tcp_closed_after_del "srv still reaches the inside server after del" \
	eval '[[ -z $(tcp_peer 8080) ]]'
check fwd_list_empty "forward list still shows a forward after del" \
	eval '! bm forward list wan0 | grep -q 10.0.1.2'

# A forward leads to an inside host, never to the gateway's own address.
if bm forward add wan0 tcp 8081 $WAN_GW:80 >"$LAB_TMP/out" 2>"$LAB_TMP/err"; then
	fail fwd_target_external_refused "forward to $WAN_GW was added"
elif (($(grep -c . "$LAB_TMP/err") == 1)) && grep -q 'external address' "$LAB_TMP/err"; then
	pass fwd_target_external_refused
else
	fail fwd_target_external_refused "stderr '$(tr '\n' '|' <"$LAB_TMP/err")'"
fi

# With --internal, a forward may only lead to a host bpfmasq masquerades:
# replies of any other host would leave from its private address.
bm down wan0 >/dev/null 2>&1
if nat_up --internal 10.0.1.2/32; then
	bm forward add wan0 tcp 8080 10.0.1.3:8080 >"$LAB_TMP/out" 2>"$LAB_TMP/err"
	rc=$?
	if ((rc != 0)) && (($(grep -c . "$LAB_TMP/err") == 1)) &&
	   grep -q -- '--internal' "$LAB_TMP/err" &&
	   ! bm forward list wan0 | grep -q 10.0.1.3; then
		pass fwd_target_outside_internal_refused
		note "$(cat "$LAB_TMP/err")"
	else
		fail fwd_target_outside_internal_refused "status $rc, stderr '$(tr '\n' '|' <"$LAB_TMP/err")'"
	fi
	if bm forward add wan0 tcp 8080 10.0.1.2:8080 >"$LAB_TMP/fa.out" 2>&1 &&
	   [[ $(tcp_peer 8080) == "peer $INET" ]]; then
		pass fwd_target_inside_internal_works
	else
		fail fwd_target_inside_internal_works "$(cat "$LAB_TMP/fa.out")"
	fi
else
	fail fwd_internal_up "up wan0 --internal 10.0.1.2/32 failed: $(cat "$LAB_TMP/up.err")"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
