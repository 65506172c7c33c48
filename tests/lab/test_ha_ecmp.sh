#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two gateways both active behind an inside host's ECMP route, with
# keepalived as packaging/keepalived/bpfmasq-active.conf ships and state
# sync over a link of their own:
#
#   cli1 10.0.1.2: default route nexthop via 10.0.1.1 nexthop via
#       10.0.1.3, L4 hash (fib_multipath_hash_policy=1)
#   -- lsw -- ha1 lan0 10.0.1.11 (master of 10.0.1.1 and 192.0.2.100)
#             ha2 lan0 10.0.1.12 (master of 10.0.1.3 and 192.0.2.101)
#   ha1/ha2 wan0 192.0.2.11/.12 -- wsw -- srv 192.0.2.2, 198.51.100.1
#   ha1 sync0 10.255.0.1 -- ha2 sync0 10.255.0.2
#
# 32 long TCP connections from cli1 to srv's echo spread over both
# gateways; each leaves and comes back through the gateway its hash chose
# (srv sees it from that gateway's address; the other gateway translates
# none of its packets).  Then ha1 fails hard in the middle of the
# streams: ha2 takes ha1's two addresses, and every connection ha1
# carried goes on through ha2, its stream echoed byte for byte; new
# connections go out as ha2's address.  ha1 comes back (a new controller,
# keepalived takes its group back): the first connections carry on, and
# so do those opened during the outage, which keep ha2's address, leave
# through ha1 when they hash to its next hop and come back through ha2.
# Measured and shown: the split, connections lost, how long until the
# first of ha1's connections got an answer through ha2, the longest gap
# in a stream.
#
# The multipath route is the client's own, not a router's between it and
# the gateways: a router in the lab gets its packets over a veth, which
# keeps the hash the sender's socket put on them, and policy 1 uses a
# hash a packet carries; TCP draws a new one after a retransmission
# timeout or a spurious retransmission, and the connection moves to the
# other next hop (README, "Active/active behind ECMP").  A router fed by a
# NIC hashes the 5-tuple.  The client's own sockets move too, after
# their retransmission timeouts (the outage), which the failback checks
# allow for: only the replies must come back through the owner then.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_ecmp
if ! command -v keepalived >/dev/null; then
	fail ha_ecmp_keepalived "keepalived is not installed (scripts/deps.sh installs it)"
	exit 1
fi
. "$(dirname "$0")/halib.sh"

# Group A is ha1's (halib's LAN_VIP and WAN_VIP, which ha_fail_hard 1
# takes away), group B ha2's.
LAN_VIP_A=$LAN_VIP WAN_VIP_A=$WAN_VIP
LAN_VIP_B=10.0.1.3 WAN_VIP_B=192.0.2.101
CLI=10.0.1.2
KA_ACTIVE=$LAB_REPO/packaging/keepalived/bpfmasq-active.conf
# P(every connection on one gateway) with a fair hash is 2 * 2^-32, about
# 5e-10: the split check fails falsely far less often than 1e-6.
NCONNS=32

# halib's lab, with cli1's default route over both next hops.
ecmp_lab() {
	ha_lab &&
		nsx cli1 sysctl -qw net.ipv4.fib_multipath_hash_policy=1 &&
		nsx cli1 ip route replace default nexthop via $LAN_VIP_A \
			nexthop via $LAN_VIP_B
}

# externals N: haN's --external options, its own address first.
externals() {
	if (($1 == 1)); then
		echo --external $WAN_VIP_A --external $WAN_VIP_B
	else
		echo --external $WAN_VIP_B --external $WAN_VIP_A
	fi
}
ecmp_up() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" up wan0 $(externals $1) \
		--internal 10.0.1.0/24 --log "$LAB_TMP/ctl-ha$1.log" $(sync_args $1) \
		>"$LAB_TMP/up-ha$1.out" 2>&1 && LAB_UP+=("ha$1:wan0")
}

# ka_active_start N PRIORITY_A PRIORITY_B PEER_SUFFIX: keepalived in haN
# with the active/active example, included after the definitions as its
# header says.
ka_active_start() {
	local d=$LAB_TMP/ka$1
	mkdir -p "$d"
	cat >"$d/keepalived.conf" <<EOF
\$PRIORITY_A=$2
\$PRIORITY_B=$3
\$LAN_IF=lan0
\$WAN_IF=wan0
\$LAN_VIP_A=$LAN_VIP_A/24
\$LAN_VIP_B=$LAN_VIP_B/24
\$WAN_VIP_A=$WAN_VIP_A/24
\$WAN_VIP_B=$WAN_VIP_B/24
\$LAN_PEER=10.0.1.1$4
\$WAN_PEER=192.0.2.1$4
\$LAN_VRID_A=51
\$WAN_VRID_A=52
\$LAN_VRID_B=53
\$WAN_VRID_B=54
include $KA_ACTIVE
EOF
	ka_run $1
}

# pool_of N: haN's external addresses as its status has them,
# "ADDR:ON_WAN:NEW_CONNECTIONS" each (True or False).
pool_of() {
	BM_NS=ha$1 bm_json status wan0 |
		jq_py "' '.join('%s:%s:%s' % (p['address'], p['on_wan'], p['new_connections']) for p in d['external_pool'])"
}

# holds N GROUP: haN has GROUP's (A or B) LAN and WAN addresses.
holds() {
	local lan=LAN_VIP_$2 wan=WAN_VIP_$2
	has_addr ha$1 lan0 ${!lan} && has_addr ha$1 wan0 ${!wan}
}
# holds_only N GROUP: and not the other group's.
holds_only() {
	local o=B
	[[ $2 == B ]] && o=A
	local lan=LAN_VIP_$o wan=WAN_VIP_$o
	holds $1 $2 && ! has_addr ha$1 lan0 ${!lan} && ! has_addr ha$1 wan0 ${!wan}
}

# The streams' client: one command a line in, one JSON line out.
flows() {
	local line
	echo "$*" >&"${FLOWS[1]}"
	read -r -t 60 line <&"${FLOWS[0]}" || line='{"error": "no answer"}'
	echo "$line"
}

# outside_of N: "inside-port outside-address:port" of each of haN's
# connections from cli1 to srv's echo.
outside_of() {
	BM_NS=ha$1 bm_json conns wan0 --inside $CLI --remote $INET:9000 |
		jq_py '"\n".join("%s %s" % (c["inside"].split(":")[1], c["outside"]) for c in d)'
}
translated() {	# N: haN's packets translated both ways
	echo $(($(BM_NS=ha$1 bm_stat out_translated) + $(BM_NS=ha$1 bm_stat in_translated)))
}

ha_sync_key
ecmp_lab || { fail ha_ecmp_topology "could not build the ECMP lab"; exit 1; }
srv_tcp_echo 9000 || { fail ha_ecmp_echo_server "tcpecho did not start on srv"; exit 1; }
for g in 1 2; do
	ecmp_up $g ||
		{ fail ha_ecmp_up_ha$g "bpfmasq up on ha$g: $(cat "$LAB_TMP/up-ha$g.out")"; exit 1; }
done
if sessions_up; then
	pass ha_ecmp_sync_up
else
	fail ha_ecmp_sync_up "ha1 $(sync_line 1) / ha2 $(sync_line 2)"
fi
ka_active_start 1 150 100 2
ka_active_start 2 100 150 1
if wait_until 15 eval 'holds_only 1 A && holds_only 2 B'; then
	pass ha_ecmp_each_master_of_its_own
else
	fail ha_ecmp_each_master_of_its_own "ha1: $(nsx ha1 ip -4 -br addr | tr '\n' ' ') ha2: $(nsx ha2 ip -4 -br addr | tr '\n' ' ')"
	cat "$LAB_TMP/ka1/log" "$LAB_TMP/ka2/log" >&2
	exit 1
fi
want1="$WAN_VIP_A:True:True $WAN_VIP_B:False:False"
want2="$WAN_VIP_B:True:True $WAN_VIP_A:False:False"
check ha_ecmp_pools "ha1's pool $(pool_of 1), ha2's $(pool_of 2)" \
	wait_until 5 eval '[[ $(pool_of 1) == "$want1" && $(pool_of 2) == "$want2" ]]'

# ---- the split ----------------------------------------------------------
coproc FLOWS { nsx cli1 "$PY" "$LAB_REPO/tests/lab/tcpstreams.py" $INET 9000 2>"$LAB_TMP/flows.err"; }
out=$(flows open $NCONNS)
check ha_ecmp_connections_open "opening $NCONNS connections: $out $(cat "$LAB_TMP/flows.err")" \
	eval '[[ $(jq_py "len(d[\"ports\"])" <<<"$out") == $NCONNS ]]'
out=$(flows echo all 1000)
check ha_ecmp_connections_echo "the first echo on each: $out" \
	eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == $NCONNS ]]'

# Whose is each: the gateway that masquerades it as its own address.
# Both hold both gateways' connections (sync), so the owner is told by
# the address.
own_of() {	# N VIP: haN's connections masqueraded as VIP
	outside_of $1 | awk -v v="$2" '$2 ~ "^"v":"'
}
wait_until 5 eval '(( $(outside_of 2 | wc -l) == NCONNS && $(outside_of 1 | wc -l) == NCONNS ))'
own_of 1 $WAN_VIP_A >"$LAB_TMP/own1"
own_of 2 $WAN_VIP_B >"$LAB_TMP/own2"
n1=$(wc -l <"$LAB_TMP/own1") n2=$(wc -l <"$LAB_TMP/own2")
note "split of $NCONNS connections: ha1 $n1 (as $WAN_VIP_A), ha2 $n2 (as $WAN_VIP_B)"
check ha_ecmp_both_carry "ha1 carries $n1, ha2 $n2 of $NCONNS" \
	eval '(( n1 > 0 && n2 > 0 && n1 + n2 == NCONNS ))'
check ha_ecmp_peer_holds_connections "ha1 holds $(outside_of 1 | wc -l), ha2 $(outside_of 2 | wc -l) of the $NCONNS connections" \
	eval '(( $(outside_of 1 | wc -l) == NCONNS && $(outside_of 2 | wc -l) == NCONNS ))'
# What srv sees: each connection from the address of the gateway that
# masquerades it, on the port that gateway gave it.
nsx srv ss -Htn state established "( sport = :9000 )" |
	awk '{print $4}' | sort >"$LAB_TMP/srv-peers"
awk '{print $2}' "$LAB_TMP/own1" "$LAB_TMP/own2" | sort >"$LAB_TMP/gw-outside"
note "srv sees $(grep -c "^$WAN_VIP_A:" "$LAB_TMP/srv-peers") connections from $WAN_VIP_A, $(grep -c "^$WAN_VIP_B:" "$LAB_TMP/srv-peers") from $WAN_VIP_B"
check ha_ecmp_server_sees_gateway_address "srv's peers $(tr '\n' ' ' <"$LAB_TMP/srv-peers"), the gateways' outside ends $(tr '\n' ' ' <"$LAB_TMP/gw-outside")" \
	cmp -s "$LAB_TMP/srv-peers" "$LAB_TMP/gw-outside"

# own_paths PREFIX [N]: each gateway's connections carry data while the
# other's are quiet: the other gateway translates not one packet (its
# counters stand still), its own at least one each way per connection.
# For haN's (after it failed and came back) only the replies are held to
# that: they come to the owner's address, so through the owner.  The
# inside host may have moved a connection's way out to the other next
# hop (TCP draws a new route hash after its retransmission timeouts
# during the outage), and the other gateway then translates it as the
# owner's address, by sync: counted, and each connection must carry on.
own_paths() {
	local g o ports n mine other other_in out
	for g in 1 2; do
		o=$((3 - g))
		ports=$(awk '{print $1}' "$LAB_TMP/own$g" | paste -sd,)
		n=$(wc -l <"$LAB_TMP/own$g")
		sleep 0.5	# the last delayed ACKs of the previous echo
		mine=$(translated $g) other=$(translated $o)
		other_in=$(BM_NS=ha$o bm_stat in_translated)
		out=$(flows echo "$ports" 4000)
		sleep 0.3
		mine=$(($(translated $g) - mine)) other=$(($(translated $o) - other))
		other_in=$(($(BM_NS=ha$o bm_stat in_translated) - other_in))
		note "echo on ha$g's $n connections: ha$g translated $mine packets, ha$o $other ($other_in of them replies)"
		if [[ $g == "${2:-}" ]]; then
			check $1_ha${g}_replies_only_through_ha$g "ha$g translated $mine packets, ha$o $other ($other_in replies), for $n connections of ha$g: $out" \
				eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == $n ]] && (( mine >= n && other_in == 0 ))'
		else
			check $1_ha${g}_connections_only_through_ha$g "ha$g translated $mine packets, ha$o $other, for $n connections of ha$g: $out" \
				eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == $n ]] && (( mine >= 2 * n && other == 0 ))'
		fi
	done
}
own_paths ha_ecmp

# ---- ha1 fails hard in the middle of the streams ---------------------------
out=$(flows stream 50 1024)
sleep 2
pid1=$(ctl_pid 1)
# A crash: the links go first, so ha1's keepalived says no goodbye
# (priority 0) as it is killed, and ha2 waits out VRRP's timeout.  What
# the streams send from then on can only come back through ha2.
for l in lan0 wan0 sync0; do nsx ha1 ip link set $l down; done
t0=$(date +%s%N)
flows mark "$t0" >/dev/null
ha_fail_hard 1 2>/dev/null
[[ $pid1 =~ ^[0-9]+$ && $pid1 != 0 ]] && kill -9 "$pid1"
if wait_until 15 eval 'holds 2 A && holds 2 B'; then
	pass ha_ecmp_ha2_takes_both_groups
	note "ha2 holds ha1's addresses $((($(date +%s%N) - t0) / 1000000)) ms after ha1 failed"
else
	fail ha_ecmp_ha2_takes_both_groups "ha2: $(nsx ha2 ip -4 -br addr | tr '\n' ' ')"
	cat "$LAB_TMP/ka2/log" >&2
fi
sleep 1
out=$(flows stop 20)
echo "$out" >"$LAB_TMP/streams.json"
summary() {	# FILE: what the streams of the connections of FILE did
	jq_py "$(cat <<EOF
(lambda own: (lambda cs: {
	"conns": len(cs),
	"lost": sum(1 for c in cs if not c["ok"]),
	"bytes": sum(c["echoed"] for c in cs),
	"first_answer_s": min([c["answer_after_mark_s"] for c in cs if c["answer_after_mark_s"] is not None] or [None]),
	"last_answer_s": max([c["answer_after_mark_s"] for c in cs if c["answer_after_mark_s"] is not None] or [None]),
	"longest_gap_s": max([c["longest_gap_s"] for c in cs] or [None]),
	"errors": sorted(set(c["error"] for c in cs if c["error"])),
})([c for c in d["conns"] if c["port"] in own]))(
	{int(l.split()[0]) for l in open("$1")})
EOF
)" <"$LAB_TMP/streams.json"
}
s1=$(summary "$LAB_TMP/own1")
s2=$(summary "$LAB_TMP/own2")
note "ha1's connections over its failure: $s1"
note "ha2's connections meanwhile: $s2"
field() { jq_py "d['$2']" <<<"$1"; }
check ha_ecmp_failover_none_lost "of ha1's $n1 connections $(field "$s1" lost) lost: $s1" \
	eval '[[ $(field "$s1" conns) == $n1 && $(field "$s1" lost) == 0 &&
		$(field "$s1" last_answer_s) != None ]]'
check ha_ecmp_ha2_connections_carry_on "ha2's own connections: $s2" \
	eval '[[ $(field "$s2" conns) == $n2 && $(field "$s2" lost) == 0 ]]'
note "ha2 dropped for want of a flow: drop_tcp_new_without_syn $(BM_NS=ha2 bm_stat drop_tcp_new_without_syn), drop_unsolicited_no_mapping $(BM_NS=ha2 bm_stat drop_unsolicited_no_mapping)"

want2="$WAN_VIP_B:True:True $WAN_VIP_A:True:False"
check ha_ecmp_ha2_pool_after_failover "ha2's pool $(pool_of 2), not $want2" \
	test "$(pool_of 2)" == "$want2"
# New connections now (8 source ports: both next hops bar a 1 in 128
# chance): through ha2 whichever next hop cli1 picks, as ha2's own
# address, the first of its list on its WAN.
for sport in $(seq 40001 40008); do
	out=$(nsx cli1 socat -T 3 - TCP4:$INET:9000,connect-timeout=3,sourceport=$sport <<<"new-$sport" 2>&1)
	check ha_ecmp_new_connection_${sport}_after_failover "a new connection from port $sport got '$out'; ha2 has it as $(outside_of 2 | awk -v p=$sport '$1 == p')" \
		eval '[[ $out == new-$sport && $(outside_of 2 | awk -v p=$sport '"'"'$1 == p {print $2}'"'"') == $WAN_VIP_B:* ]]'
done

# ---- ha1 comes back: failback ------------------------------------------
# Long connections opened while ha2 holds both groups, all as ha2's own
# address; about half of them on ha1's next hop.
first=$(jq_py '",".join(str(p) for p in d["ports"])' <<<"$(flows open 0)")
late=$(jq_py '",".join(str(p) for p in d["ports"][-16:])' <<<"$(flows open 16)")
out=$(flows echo "$late" 1000)
check ha_ecmp_connections_during_outage "16 connections opened through ha2 alone: $out" \
	eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == 16 ]]'
ha_links_back 1
ecmp_up 1 || fail ha_ecmp_failback_up "bpfmasq up on ha1 again: $(cat "$LAB_TMP/up-ha1.out")"
check ha_ecmp_failback_sync_up "ha1 $(sync_line 1) / ha2 $(sync_line 2)" sessions_up
ka_active_start 1 150 100 2
t0=$(date +%s%N)
if wait_until 15 eval 'holds_only 1 A && holds_only 2 B'; then
	pass ha_ecmp_failback_groups_back
	note "ha1 holds its addresses again $((($(date +%s%N) - t0) / 1000000)) ms after its keepalived started"
else
	fail ha_ecmp_failback_groups_back "ha1: $(nsx ha1 ip -4 -br addr | tr '\n' ' ') ha2: $(nsx ha2 ip -4 -br addr | tr '\n' ' ')"
fi
wait_until 5 eval '[[ $(pool_of 1) == "$want1" ]]'
out=$(flows echo "$first" 1000)
check ha_ecmp_failback_connections_carry_on "the first $NCONNS connections after failback: $out" \
	eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == $NCONNS ]]'
# And each one's replies are back on its own gateway.
own_paths ha_ecmp_failback 1
# Those that hash to ha1's next hop leave through ha1 as ha2's address
# (their flow says so, ha1 has it by sync), and their replies come back
# to that address, through ha2: asymmetric, and they carry on.
sleep 0.5
o1=$(BM_NS=ha1 bm_stat out_translated) i1=$(BM_NS=ha1 bm_stat in_translated)
i2=$(BM_NS=ha2 bm_stat in_translated)
out=$(flows echo "$late" 1000)
sleep 0.3
o1=$(($(BM_NS=ha1 bm_stat out_translated) - o1)) i1=$(($(BM_NS=ha1 bm_stat in_translated) - i1))
i2=$(($(BM_NS=ha2 bm_stat in_translated) - i2))
note "echo on the 16 connections opened during the outage, after failback: ha1 translated $o1 out and $i1 in, ha2 $i2 in"
check ha_ecmp_failback_outage_connections_carry_on "the 16 connections opened during the outage, after failback: $out" \
	eval '[[ $(jq_py "len(d[\"ok\"])" <<<"$out") == 16 ]] && (( i1 == 0 && i2 >= 16 ))'
kill "$FLOWS_PID" 2>/dev/null

for g in 1 2; do ka_kill $g; done
if ((LAB_FAILS)); then
	for g in 1 2; do
		echo "  # ha$g controller:"; tail -n 30 "$LAB_TMP/ctl-ha$g.log" | sed 's/^/  #   /'
		echo "  # ha$g keepalived:"; tail -n 20 "$LAB_TMP/ka$g/log" | sed 's/^/  #   /'
	done
fi
lab_done
