#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two gateways with keepalived and state sync (--sync-peer over their own
# link): the backup holds the master's connections before they are needed.
# The master fails hard (keepalived and bpfmasq killed, links down,
# addresses gone) in the middle of a 32 MiB download, a UDP stream and an
# idle TCP session: the backup takes over and every one of them carries on
# (the download byte-exact); then the master comes back with a new
# controller, learns what the backup opened meanwhile, and takes over
# again with nothing lost.  Also: a message under another key is refused
# and counted.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_sync
if ! command -v keepalived >/dev/null; then
	fail ha_sync_keepalived "keepalived is not installed (scripts/deps.sh installs it)"
	exit 1
fi
. "$(dirname "$0")/halib.sh"

ha_sync_key
# A third gateway that is not there: its session stays down, nothing
# waits for it, and the pair's sync goes on beside it.
ABSENT=10.255.1.9
SYNC_MORE="--sync-peer $ABSENT"
ha_lab || { fail ha_sync_topology "could not build the two-gateway lab"; exit 1; }
ha_servers || { fail ha_sync_servers "the servers did not start on srv"; exit 1; }

# ---- bad settings are refused before anything is attached -----------------
out=$(ip netns exec "$(ns ha1)" "$BPFMASQ" up wan0 --sync-peer 10.255.0.2 2>&1)
check ha_sync_needs_key "up --sync-peer without a key said: $out" \
	grep -q "needs --sync-key FILE" <<<"$out"
chmod 644 "$KEY"
out=$(ip netns exec "$(ns ha1)" "$BPFMASQ" up wan0 --sync-peer 10.255.0.2 --sync-key "$KEY" 2>&1)
check ha_sync_key_mode "a key readable by others said: $out" \
	grep -q "readable by others (mode 644): chmod 600" <<<"$out"
chmod 600 "$KEY"

for g in 1 2; do
	ha_up $g $(sync_args $g) ||
		{ fail ha_sync_up_ha$g "bpfmasq up on ha$g: $(cat "$LAB_TMP/up-ha$g.out")"; exit 1; }
done
if wait_until 10 sync_up 1 && wait_until 10 sync_up 2; then
	pass ha_sync_sessions_up
else
	fail ha_sync_sessions_up "sync: ha1 $(BM_NS=ha1 bm_json status wan0 | jq_py 'd["sync"]'), ha2 $(BM_NS=ha2 bm_json status wan0 | jq_py 'd["sync"]')"
	show_ctl_log
fi
absent() {	# N KEY: what haN's status says of the absent peer
	BM_NS=ha$1 bm_json status wan0 | jq_py "[p['$2'] for p in d['sync']['peers'] if p['peer'] == '$ABSENT'][0]"
}
check ha_sync_absent_peer_down "ha1's sync: $(BM_NS=ha1 bm status wan0 | grep sync:)" \
	eval '[[ $(BM_NS=ha1 bm status wan0 | grep -c "sync: peer 10.255.0.2:7439 up,") == 1 &&
		$(BM_NS=ha1 bm status wan0 | grep -c "sync: peer $ABSENT:7439 down,") == 1 &&
		$(absent 1 up) == false ]]'
ka_start 1 150 2
ka_start 2 100 1
wait_until 15 master_is 1 || { fail ha_sync_ha1_master "ha1 is not master: $(nsx ha1 ip -4 -br addr)"; exit 1; }
wait_until 5 on_wan 1
pass ha_sync_ha1_master

# An idle session through ha1: ha2 has its connection within moments.
coproc ECHO { nsx cli1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
echo before-failover >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check ha_sync_idle_session_open "echo session got '$line'" test "$line" == before-failover
synced_echo() { [[ $(conns_to 2 9000) -ge 1 ]]; }
if wait_until 5 synced_echo; then
	pass ha_sync_backup_holds_connection
else
	fail ha_sync_backup_holds_connection "ha2's conns: $(BM_NS=ha2 bm conns wan0 2>&1)"
fi
note "ha2 status: $(BM_NS=ha2 bm status wan0 | grep sync:)"

# A forward added by hand on the master is on the backup at once (the
# CLI tells the controller), with its port's mark: after the failover
# it answers through ha2.
lab_bg cli1 "$LAB_TMP/fwdecho.log" "$PY" "$LAB_REPO/tests/lab/tcpecho.py" 10.0.1.2 8080
wait_until 5 listening cli1 tcp "10.0.1.2:8080"
fwd_on() { BM_NS=ha$1 bm forward list wan0 | grep -q "inside 10.0.1.2:8080 *outside $WAN_VIP:8080"; }
BM_NS=ha1 bm forward add wan0 tcp 8080 10.0.1.2:8080 >"$LAB_TMP/fwd.out" 2>&1 ||
	fail ha_sync_forward_add "forward add on ha1: $(cat "$LAB_TMP/fwd.out")"
check ha_sync_forward_reaches_backup "ha2's forwards: $(BM_NS=ha2 bm forward list wan0 2>&1)" \
	wait_until 2 fwd_on 2
fwd_answers() { [[ $(nsx srv socat -T 3 - TCP4:$WAN_VIP:8080,connect-timeout=3 <<<"$1" 2>/dev/null) == "$1" ]]; }

# An FTP control connection whose PORT ha1's ALG rewrites (the address
# grows from 10,0,1,2 to 192,0,2,100): its sequence adjustment must reach
# ha2 too.
ftp_session_start ha_sync
sleep 0.5	# the adjustment's record: the next sync tick

# ---- failover in the middle of everything --------------------------------
want=$(sha256sum <"$NGX/www/huge.bin")
nsx cli1 timeout 60 curl -sS --max-time 50 --limit-rate 3M \
	http://$INET/huge.bin 2>"$LAB_TMP/bulk.err" | sha256sum >"$LAB_TMP/bulk.sum" &
bulk=$!
nsx cli1 "$PY" "$LAB_REPO/tests/lab/udpprobe.py" probe $INET 7000 14 20 \
	>"$LAB_TMP/probe.json" 2>&1 &
probe=$!
sleep 3
vip_watch 2
ha_take_over ha_sync_failover_ha2_master kill
echo after-failover >&"${ECHO[1]}"
read -r -t 15 line <&"${ECHO[0]}"
check ha_sync_idle_session_survives_failover "the idle session through ha2 got '$line'" \
	test "$line" == after-failover
wait $probe
p=$(cat "$LAB_TMP/probe.json")
note "UDP stream over the failover (a datagram every 20 ms): $p"
ms=$(switch_ms 2 "$p")
note "the first answer through ha2 came $ms ms after it held $WAN_VIP"
check ha_sync_translates_at_once "first answer $ms ms after the switch" \
	eval '[[ $ms =~ ^-?[0-9]+$ ]] && ((ms < 1000))'
resumed() { [[ $(jq_py 'd["gap_to_s"] is not None and d["gap_to_s"] < 13.5 and d["answered"] > d["sent"] // 2' <<<"$1") == true ]]; }
check ha_sync_udp_resumes "the UDP stream did not come back through ha2: $p" resumed "$p"
wait $bulk
check ha_sync_download_survives_failover "32 MiB through the failover: sha256 $(cat "$LAB_TMP/bulk.sum") $(cat "$LAB_TMP/bulk.err"), want $want" \
	test "$(cat "$LAB_TMP/bulk.sum")" == "$want"
note "ha2 dropped for want of a flow: drop_tcp_new_without_syn $(BM_NS=ha2 bm_stat drop_tcp_new_without_syn), drop_unsolicited_no_mapping $(BM_NS=ha2 bm_stat drop_unsolicited_no_mapping)"

check ha_sync_forward_answers_through_backup "srv -> $WAN_VIP:8080 got no echo through ha2" \
	fwd_answers through-ha2
touch "$LAB_TMP/ftp.go"
wait $FTP
check ha_sync_ftp_control_survives_failover "ftp session: $(tr '\n' ' ' <"$LAB_TMP/ftp.out")" \
	grep -q "^ok" "$LAB_TMP/ftp.out"

# A connection ha2 opens while ha1 is away, kept open over the failback.
# (bash warns of a second coprocess; both work)
{ coproc ECHO2 { nsx cli1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }; } 2>/dev/null
echo opened-on-ha2 >&"${ECHO2[1]}"
read -r -t 5 line <&"${ECHO2[0]}"
check ha_sync_session_opened_on_backup "a session through ha2 got '$line'" test "$line" == opened-on-ha2

# ---- failback: ha1 comes back with a new controller ------------------------
ha_links_back 1
ha_up 1 $(sync_args 1) || fail ha_sync_readopt "up on ha1 again: $(cat "$LAB_TMP/up-ha1.out")"
check ha_sync_adopted "up on ha1 said: $(cat "$LAB_TMP/up-ha1.out")" \
	grep -q "adopted" "$LAB_TMP/up-ha1.out"
if wait_until 10 sync_up 1 && wait_until 10 sync_up 2; then
	pass ha_sync_sessions_back
else
	fail ha_sync_sessions_back "ha1 $(BM_NS=ha1 bm status wan0 | grep sync:), ha2 $(BM_NS=ha2 bm status wan0 | grep sync:)"
fi
# And a forward deleted by hand goes from the peer as quickly.
BM_NS=ha1 bm forward del wan0 tcp 8080 >"$LAB_TMP/fwd.out" 2>&1 ||
	fail ha_sync_forward_del "forward del on ha1: $(cat "$LAB_TMP/fwd.out")"
check ha_sync_forward_removal_reaches_peer "ha2's forwards: $(BM_NS=ha2 bm forward list wan0 2>&1)" \
	wait_until 2 eval '! fwd_on 2'
has_both() { [[ $(conns_to 1 9000) -ge 2 ]]; }
check ha_sync_master_learns_backups_connections "ha1's conns to :9000: $(conns_to 1 9000)" \
	wait_until 5 has_both
ka_start 1 150 2
wait_until 15 master_is 1 && wait_until 5 on_wan 1
check ha_sync_failback_ha1_master "ha1 addresses: $(nsx ha1 ip -4 -br addr)" master_is 1
for s in ECHO ECHO2; do
	declare -n io=$s
	echo "after-failback-$s" >&"${io[1]}"
	read -r -t 15 line <&"${io[0]}"
	check ha_sync_${s,,}_survives_failback "$s after failback got '$line'" \
		test "$line" == "after-failback-$s"
done
# A rolling restart: the backup's controller goes and comes back; the
# sessions resync and nothing is lost.  A forward deleted on it while no
# controller runs there still goes from the peer: the next controller
# starts from what the last one told the peer, not from the maps.
fwd2_on() { BM_NS=ha$1 bm forward list wan0 | grep -q "inside 10.0.1.2:5353 *outside $WAN_VIP:5353"; }
BM_NS=ha2 bm forward add wan0 udp 5353 10.0.1.2:5353 >"$LAB_TMP/fwd.out" 2>&1 ||
	fail ha_sync_forward2_add "forward add on ha2: $(cat "$LAB_TMP/fwd.out")"
check ha_sync_forward2_reaches_peer "ha1's forwards: $(BM_NS=ha1 bm forward list wan0 2>&1)" \
	wait_until 2 fwd2_on 1
kill -9 "$(ctl_pid 2)"
BM_NS=ha2 bm forward del wan0 udp 5353 >"$LAB_TMP/fwd.out" 2>&1 ||
	fail ha_sync_forward2_del "forward del on ha2 without its controller: $(cat "$LAB_TMP/fwd.out")"
ha_up 2 $(sync_args 2) || fail ha_sync_backup_restart "up on ha2 again: $(cat "$LAB_TMP/up-ha2.out")"
if wait_until 10 sync_up 1 && wait_until 10 sync_up 2; then
	pass ha_sync_backup_restarted_resynced
else
	fail ha_sync_backup_restarted_resynced "ha1 $(BM_NS=ha1 bm status wan0 | grep sync:), ha2 $(BM_NS=ha2 bm status wan0 | grep sync:)"
fi
check ha_sync_forward_del_while_dead_reaches_peer "ha1's forwards: $(BM_NS=ha1 bm forward list wan0 2>&1)" \
	wait_until 3 eval '! fwd2_on 1'
echo after-restart >&"${ECHO[1]}"
read -r -t 10 line <&"${ECHO[0]}"
check ha_sync_session_survives_backup_restart "the session after ha2's restart got '$line'" \
	test "$line" == after-restart
out=$(fetch cli1 http://$INET/hello.txt)
check ha_sync_new_connection_after_failback "curl through ha1 got '$out'" test "$out" == "hello from srv"
note "ha1 status: $(BM_NS=ha1 bm status wan0 | grep sync:)"
note "ha2 status: $(BM_NS=ha2 bm status wan0 | grep sync:)"
# Nothing was queued for the absent peer through all of it: a peer away
# costs no memory.
check ha_sync_absent_peer_holds_nothing "ha1 and ha2 sent $(absent 1 records_sent) and $(absent 2 records_sent) records to $ABSENT, which never had a session" \
	eval '[[ $(absent 1 records_sent) == 0 && $(absent 2 records_sent) == 0 &&
		$(absent 1 sessions) == 0 && $(absent 1 up) == false ]]'
note "ha1's controller: $(grep VmRSS /proc/$(ctl_pid 1)/status)"

# ---- nothing on the link can inject state ---------------------------------
before=$(BM_NS=ha2 bm_stat sync_auth_failed)
nflows=$(conns_to 2 4444)
nsx ha1 "$PY" - <<'EOF'
import socket, struct, os
s = socket.create_connection(("10.255.0.2", 7439), timeout=3,
                             source_address=("10.255.0.1", 0))
hello = s.recv(56)
# One flow record (inside 10.0.1.66:4444 -> 198.51.100.1:4444) under a
# key that is not the gateways'.
rec = struct.pack("<BxxxI", 1, 0) + socket.inet_aton("10.0.1.66") + \
      socket.inet_aton("198.51.100.1") + struct.pack("!HH", 4444, 4444) + \
      bytes([6, 0, 0, 0]) + socket.inet_aton("192.0.2.100") + \
      struct.pack("!H", 61234) + bytes(34)
hdr = struct.pack("<IHHIIQ", 0x424d5331, 1, 2, len(rec), 0, 1)
s.sendall(hdr + rec + os.urandom(32))
s.settimeout(2)
try:
    s.recv(64)
except OSError:
    pass
EOF
after=$(BM_NS=ha2 bm_stat sync_auth_failed)
check ha_sync_forged_message_counted "sync_auth_failed $before -> $after" test "$after" -gt "$before"
check ha_sync_forged_flow_not_installed "ha2 has $(conns_to 2 4444) connections to :4444 (had $nflows)" \
	test "$(conns_to 2 4444)" == "$nflows"
check ha_sync_auth_logged "ha2's log does not say a message failed authentication" \
	grep -q "failed authentication: is the key file the same on both gateways" "$LAB_TMP/ctl-ha2.log"

# Taking the backup's bpfmasq down ends its part, not the connections:
# the master keeps the ones it synced to it, idle ones too.
sleep 3	# idle past the grace a peer's removal is refused within
before=$(conns_to 1 9000)
BM_NS=ha2 bm down wan0 >"$LAB_TMP/down-ha2.out" 2>&1 ||
	fail ha_sync_backup_down "down on ha2: $(cat "$LAB_TMP/down-ha2.out")"
sleep 1
check ha_sync_backup_down_keeps_masters_connections "ha1's connections to :9000: $before before ha2's down, $(conns_to 1 9000) after" \
	test "$(conns_to 1 9000)" -ge 2
echo after-backup-down >&"${ECHO[1]}"
read -r -t 10 line <&"${ECHO[0]}"
check ha_sync_session_survives_backup_down "the session after ha2's down got '$line'" \
	test "$line" == after-backup-down

kill "$ECHO_PID" "$ECHO2_PID" 2>/dev/null
for g in 1 2; do ka_kill $g; done
if ((LAB_FAILS)); then
	for g in 1 2; do
		echo "  # ha$g controller:"; sed 's/^/  #   /' "$LAB_TMP/ctl-ha$g.log"
	done
fi
lab_done
