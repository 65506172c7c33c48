#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A rolling upgrade and restart of both gateways of a synced HA pair, with
# nothing lost.  Each gateway's controller runs as a service would (in the
# foreground, from its own copy of the binary, settings in a config file).
# Through the master: a long download, a UDP stream, idle TCP sessions and
# an FTP control connection whose PORT the ALG rewrote.  Then, one gateway
# after the other, backup first:
#   1. the package upgrade: a newer build put in the binary's place, its
#      `reload` re-executes the controller in place (test_upgrade.sh);
#   2. the plain restart: the controller killed, `up` again adopts the
#      pinned maps (test_restart.sh), and a new connection opened through
#      the master while that gateway's controller is away.
# After each step both sync sessions come back and the peer holds every
# connection, those opened while a controller was away too (bulk resync).
# Then the master fails hard and the backup carries every connection on.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_rolling
if ! command -v keepalived >/dev/null; then
	fail ha_rolling_keepalived "keepalived is not installed (scripts/deps.sh installs it)"
	exit 1
fi
. "$(dirname "$0")/halib.sh"

# The newer build test_upgrade.sh upgrades to (make decides what is stale).
NEW=$(cd "$(dirname "$BPFMASQ")" && pwd)/upgrade-test/new/bpfmasq
make -C "$LAB_REPO" -j2 OUTPUT="$(dirname "$NEW")" \
	BPFMASQ_EXTRA_CFLAGS=-DBPFMASQ_UPGRADE_TEST "$NEW" >"$LAB_TMP/make-new.log" 2>&1 ||
	{ fail ha_rolling_build_new "$(tail -n 5 "$LAB_TMP/make-new.log")"; exit 1; }

ha_sync_key
ha_lab || { fail ha_rolling_topology "could not build the two-gateway lab"; exit 1; }
ha_servers || { fail ha_rolling_servers "the servers did not start on srv"; exit 1; }

# ha_service N: haN's controller as the unit would run it (the adopting
# `up` of a restart is the same command).  OLD: the pid that must be gone.
ha_service() {
	local g=$1 old=${2:-0}
	lab_bg ha$g "$LAB_TMP/fg-ha$g.out" "$LAB_TMP/ha$g/bpfmasq" up wan0 \
		--foreground --config "$LAB_TMP/ha$g/wan0.conf"
	wait_until 10 eval 'p=$(ctl_pid '$g'); [[ $p =~ ^[0-9]+$ && $p != 0 && $p != '$old' ]] && alive $p'
}
for g in 1 2; do
	mkdir -p "$LAB_TMP/ha$g"
	cp "$BPFMASQ" "$LAB_TMP/ha$g/bpfmasq"
	printf '%s\n' "external $WAN_VIP" "internal 10.0.1.0/24" \
		"sync-peer 10.255.0.$((3 - g))" "sync-listen 10.255.0.$g" \
		"sync-key $KEY" >"$LAB_TMP/ha$g/wan0.conf"
	ha_service $g ||
		{ fail ha_rolling_up_ha$g "the controller did not start: $(cat "$LAB_TMP/fg-ha$g.out")"; exit 1; }
	LAB_UP+=("ha$g:wan0")
done
sessions_up || { fail ha_rolling_sessions_up "ha1 $(sync_line 1), ha2 $(sync_line 2)"; exit 1; }
ka_start 1 150 2
ka_start 2 100 1
wait_until 15 master_is 1 && wait_until 5 on_wan 1 ||
	{ fail ha_rolling_ha1_master "ha1 is not master: $(nsx ha1 ip -4 -br addr)"; exit 1; }
pass ha_rolling_ha1_master

# ---- what runs through the master ------------------------------------------
SESSIONS=(before)
echo_open before
check ha_rolling_session_open "no echo: $(cat "$LAB_TMP/echo-before.err" 2>/dev/null)" echo_says before hello 5
nsx cli1 "$PY" "$LAB_REPO/tests/lab/ftpsession.py" $INET 10.0.1.2 \
	"$LAB_TMP/ftp.ready" "$LAB_TMP/ftp.go" >"$LAB_TMP/ftp.out" 2>&1 &
ftp=$!
wait_until 15 test -e "$LAB_TMP/ftp.ready"
check ha_rolling_ftp_before "ftp session: $(cat "$LAB_TMP/ftp.out")" \
	grep -q "^before: LIST" "$LAB_TMP/ftp.out"
want=$(sha256sum <"$NGX/www/huge.bin")
# About 22 s: longer than the four steps and the failover (10 s here).
nsx cli1 timeout 120 curl -sS --max-time 110 --limit-rate 1500K \
	http://$INET/huge.bin 2>"$LAB_TMP/bulk.err" | sha256sum >"$LAB_TMP/bulk.sum" &
bulk=$!
nsx cli1 "$PY" "$LAB_REPO/tests/lab/udpprobe.py" probe $INET 7000 100 20 \
	"$LAB_TMP/rolling.done" >"$LAB_TMP/probe-rolling.json" 2>&1 &
probe=$!

# step_done NAME N: after haN's step, both sessions are new and up, and
# the other gateway holds every connection so far.
# (the totals of the stats map: a controller's per-peer counts start anew
# with it)
sessions_of() { BM_NS=ha$1 bm_json status wan0 | jq_py 'd["sync"]["sessions"]'; }
newer_session() { (($(sessions_of $1) > $2)) && sync_up $1; }
step_done() {
	local name=$1 g=$2 o=$((3 - $2)) want
	if wait_until 15 newer_session $g "${S0[$g]}" &&
	   wait_until 15 newer_session $o "${S0[$o]}"; then
		pass ha_rolling_${name}_sessions_back
	else
		fail ha_rolling_${name}_sessions_back "ha1 $(sync_line 1), ha2 $(sync_line 2)"
	fi
	want=${#SESSIONS[@]}
	check ha_rolling_${name}_peer_has_every_connection \
		"ha$o has $(conns_to $o 9000) connections to the echo, there are $want; ha1 $(sync_line 1), ha2 $(sync_line 2)" \
		wait_until 5 eval '(($(conns_to '$o' 9000) >= '$want' && $(conns_to '$o' 21) >= 1 && $(conns_to '$o' 80) >= 1))'
	check ha_rolling_${name}_sessions_carry_on "an idle session did not answer" \
		echo_says before "after-$name"
}
mark_sessions() { S0=([1]=$(sessions_of 1) [2]=$(sessions_of 2)); }

# ---- 1. the package upgrade, backup then master ------------------------------
upgrade() {
	local g=$1 pid rc
	pid=$(ctl_pid $g)
	mark_sessions
	cp "$NEW" "$LAB_TMP/ha$g/bpfmasq.new"
	mv -f "$LAB_TMP/ha$g/bpfmasq.new" "$LAB_TMP/ha$g/bpfmasq"
	ip netns exec "$(ns ha$g)" "$LAB_TMP/ha$g/bpfmasq" reload wan0 \
		--config "$LAB_TMP/ha$g/wan0.conf" >"$LAB_TMP/reload-ha$g.out" 2>&1
	rc=$?
	check ha_rolling_upgrade_ha${g}_reload "exit $rc: $(cat "$LAB_TMP/reload-ha$g.out")" \
		eval '((rc == 0)) && grep -q "^wan0: build " "$LAB_TMP/reload-ha'$g'.out"'
	check ha_rolling_upgrade_ha${g}_same_controller "controller $pid runs $(readlink /proc/$pid/exe), status: $(ctl_pid $g)" \
		wait_until 10 eval '[[ $(readlink /proc/'$pid'/exe) == "$LAB_TMP/ha'$g'/bpfmasq" && $(ctl_pid '$g') == '$pid' ]]'
	step_done upgrade_ha$g $g
}
upgrade 2
upgrade 1
check ha_rolling_both_upgraded "ha1 $(BM_NS=ha1 bm_json status wan0 | jq_py 'd["build"]["object"]'), the new build $(ip netns exec "$(ns ha1)" "$NEW" -j status wan0 | jq_py 'd["build"]["this_build"]')" \
	eval '[[ $(ip netns exec "$(ns ha1)" "$NEW" -j status wan0 | jq_py "d[\"build\"][\"this_build\"]") == true &&
		$(ip netns exec "$(ns ha2)" "$NEW" -j status wan0 | jq_py "d[\"build\"][\"this_build\"]") == true ]]'

# ---- 2. the plain restart, backup then master --------------------------------
# While haN's controller is away a connection opens through the master:
# it reaches the peer only by the bulk resync of the next session.
restart() {
	local g=$1 pid
	pid=$(ctl_pid $g)
	mark_sessions
	kill -9 "$pid"
	wait_until 5 eval "! alive $pid"
	SESSIONS+=(away-ha$g)
	echo_open away-ha$g
	check ha_rolling_restart_ha${g}_session_opens "no echo: $(cat "$LAB_TMP/echo-away-ha$g.err" 2>/dev/null)" \
		echo_says away-ha$g hello 5
	ha_service $g "$pid" ||
		fail ha_rolling_restart_ha${g}_up "the controller did not start: $(cat "$LAB_TMP/fg-ha$g.out")"
	check ha_rolling_restart_ha${g}_adopted "up said: $(head -n 3 "$LAB_TMP/fg-ha$g.out")" \
		grep -q "wan0 keeps its running settings" "$LAB_TMP/fg-ha$g.out"
	step_done restart_ha$g $g
}
restart 2
restart 1
touch "$LAB_TMP/rolling.done"
wait $probe
p=$(cat "$LAB_TMP/probe-rolling.json")
note "UDP stream over the rolling upgrade and restart (a datagram every 20 ms): $p"
check ha_rolling_no_datagram_lost "the UDP stream lost datagrams: $p" \
	eval '[[ $(jq_py "d[\"lost\"]" <<<"$p") == 0 && $(jq_py "d[\"sent\"]" <<<"$p") -gt 100 ]]'

# ---- failover: the backup knows every connection -------------------------------
check ha_rolling_download_spans_failover "the download ended before the failover: $(cat "$LAB_TMP/bulk.err")" \
	alive "$bulk"
nsx cli1 "$PY" "$LAB_REPO/tests/lab/udpprobe.py" probe $INET 7000 12 20 \
	>"$LAB_TMP/probe-failover.json" 2>&1 &
probe=$!
sleep 1
pid1=$(ctl_pid 1)
t0=$(date +%s%N)
ha_fail_hard 1
kill -9 "$pid1"
if wait_until 15 master_is 2; then
	pass ha_rolling_failover_ha2_master
	note "ha2 has both addresses $((($(date +%s%N) - t0) / 1000000)) ms after ha1 failed"
else
	fail ha_rolling_failover_ha2_master "ha2 has not both addresses: $(nsx ha2 ip -4 -br addr)"
fi
lost=0
for s in "${SESSIONS[@]}"; do
	if echo_says "$s" after-failover 15; then
		pass ha_rolling_session_${s}_survives_failover
	else
		fail ha_rolling_session_${s}_survives_failover "no echo through ha2"
		lost=$((lost + 1))
	fi
done
touch "$LAB_TMP/ftp.go"
wait $ftp
if grep -q "^ok" "$LAB_TMP/ftp.out"; then
	pass ha_rolling_ftp_control_survives_failover
else
	fail ha_rolling_ftp_control_survives_failover "ftp session: $(tr '\n' ' ' <"$LAB_TMP/ftp.out")"
	lost=$((lost + 1))
fi
wait $bulk
if [[ $(cat "$LAB_TMP/bulk.sum") == "$want" ]]; then
	pass ha_rolling_download_survives_failover
else
	fail ha_rolling_download_survives_failover "sha256 $(cat "$LAB_TMP/bulk.sum") $(cat "$LAB_TMP/bulk.err"), want $want"
	lost=$((lost + 1))
fi
wait $probe
p=$(cat "$LAB_TMP/probe-failover.json")
note "UDP stream over the failover: $p"
check ha_rolling_udp_resumes "the UDP stream did not come back through ha2: $p" \
	eval '[[ $(jq_py "d[\"gap_to_s\"] is not None and d[\"answered\"] > d[\"sent\"] // 2" <<<"$p") == true ]]'
note "connections lost: $lost of $((${#SESSIONS[@]} + 2)) (${#SESSIONS[@]} idle sessions, the FTP control connection, the download)"
note "ha2 dropped for want of a flow: drop_tcp_new_without_syn $(BM_NS=ha2 bm_stat drop_tcp_new_without_syn)"

for g in 1 2; do ka_kill $g; done
if ((LAB_FAILS)); then
	for g in 1 2; do
		echo "  # ha$g controller:"; sed 's/^/  #   /' "$LAB_TMP/fg-ha$g.out" | tail -n 40
	done
fi
lab_done
