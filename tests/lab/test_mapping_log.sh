#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The mapping log (--log-mappings, RFC 6888 REQ-12): a MAP line per
# external port handed out, an UNMAP line with the reason when it goes,
# in the documented format and without any destination.  Its ports match
# what the server saw and what `conns -j` says.  The controller killed
# with -9 and adopted again: the mapping the data plane made meanwhile is
# logged with the time it was made, and what could not be logged (a
# `conns delete` while no controller ran) becomes an explicit LOST line
# with its count.  logrotate: a renamed log is followed by a new file,
# within a second by itself and at once on SIGHUP.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only mapping_log

lab_build maplog lab_standard srv_nginx srv_udp_echo=7
LOG=$LAB_TMP/mappings.log
# In the config file, as a service has it: SIGHUP reloads the same file.
cat >"$LAB_TMP/wan0.conf" <<EOF
log-mappings $LOG
timeout-udp 2
timeout-tcp-transitory 2
EOF
nat_up --config "$LAB_TMP/wan0.conf" ||
	{ fail maplog_up "bpfmasq up wan0 failed"; exit 1; }

line_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z wan0 (MAP (tcp|udp|icmp) [0-9.]+:[0-9]+ [0-9.]+:[0-9]+|UNMAP (tcp|udp|icmp) [0-9.]+:[0-9]+ [0-9.]+:[0-9]+ (deleted|address-changed|unused|down)|LOST [0-9]+)$'

# A curl: its MAP line carries the port the server saw.
fetch cli1 "http://$INET/hello.txt" --local-port 45011 >/dev/null ||
	fail maplog_curl "curl through the gateway failed"
srv_port=$(awk '$3 == "\"GET" && $4 == "/hello.txt" {print $2}' "$NGX/access.log" | tail -1)
check_logged maplog_map_server_view "$LOG" \
	" wan0 MAP tcp 10\\.0\\.1\\.2:45011 $WAN_GW:$srv_port\$" 5 \
	"no MAP line with the server's view $WAN_GW:$srv_port"

# A UDP flow: its MAP line is what conns -j lists.
[[ $(udp_echo cli2 $INET 7 5011) == udp-echo-5011 ]] ||
	fail maplog_udp "the UDP echo through the gateway failed"
out_udp=$(bm_json conns wan0 --inside 10.0.1.3:5011 | jq_py 'd[0]["outside"] if d else ""')
if [[ -n $out_udp ]] && wait_until 5 grep -Eq " wan0 MAP udp 10\\.0\\.1\\.3:5011 $out_udp\$" "$LOG"; then
	pass maplog_map_conns
else
	fail maplog_map_conns "no MAP line matching conns -j ($out_udp): $(cat "$LOG")"
fi

# The controller killed; meanwhile the data plane maps a new endpoint,
# and a connection is deleted (its records have nowhere to go).
[[ $(udp_echo cli2 $INET 7 5013) == udp-echo-5013 ]] ||
	fail maplog_udp2 "the second UDP echo failed"
wait_until 5 grep -q 'MAP udp 10.0.1.3:5013 ' "$LOG"
pid=$(bm_ctl_pid)
kill -9 "$pid"
wait_until 5 eval "! alive $pid"
[[ $(udp_echo cli1 $INET 7 5012) == udp-echo-5012 ]] ||
	fail maplog_udp_down "the UDP echo while no controller ran failed"
made_while_down=$(date -u +%s)
sleep 1.2	# (past the grace in which a delete leaves the binding)
bm conns delete wan0 --inside 10.0.1.3:5013 >/dev/null ||
	fail maplog_delete_down "conns delete without a controller failed"
lost=$(bm_stat events_lost)
sleep 1
bm_up wan0 --config "$LAB_TMP/wan0.conf" ||
	fail maplog_readopt "up after kill -9 failed"
if wait_until 5 grep -Eq " wan0 MAP udp 10\\.0\\.1\\.2:5012 $WAN_GW:[0-9]+\$" "$LOG"; then
	pass maplog_no_gap_across_restart
	# Its time is when the data plane made it, not when it was logged.
	t=$(grep ' MAP udp 10.0.1.2:5012 ' "$LOG" | cut -c1-19)
	ts=$(date -u -d "$t" +%s)
	check maplog_restart_time "logged at $t, made at $(date -u -d "@$made_while_down" +%T)" \
		eval "(( $ts <= $made_while_down && $ts >= $made_while_down - 2 ))"
else
	fail maplog_no_gap_across_restart "the mapping made while no controller ran is not in the log: $(cat "$LOG")"
fi
if ((lost >= 2)) && wait_until 5 grep -Eq " wan0 LOST $lost\$" "$LOG"; then
	pass maplog_gap_line
else
	fail maplog_gap_line "events_lost $lost; no 'LOST $lost' line: $(tail -5 "$LOG")"
fi
check maplog_gap_reported "events_lost_reported != events_lost" \
	eval "(( \$(bm_stat events_lost_reported) == \$(bm_stat events_lost) ))"

# An idle UDP mapping goes: its flow after 2 s, the binding at the
# controller's next walk past the 10 s grace.
check_logged maplog_unmap_unused "$LOG" \
	" wan0 UNMAP udp 10\\.0\\.1\\.3:5011 $out_udp unused\$" 30 \
	"no UNMAP line for the idle UDP mapping"

# logrotate, without a signal: renamed away, a new file follows.
mv "$LOG" "$LOG.1"
wait_until 5 test -e "$LOG"
udp_echo cli1 $INET 7 5014 >/dev/null
check maplog_follows_rename "no MAP line for 5014 in the new file: $(cat "$LOG" 2>&1)" \
	wait_until 5 grep -q 'MAP udp 10.0.1.2:5014 ' "$LOG"
# and with SIGHUP, at once.
mv "$LOG" "$LOG.2"
kill -HUP "$(bm_ctl_pid)"
wait_until 5 test -e "$LOG"
udp_echo cli1 $INET 7 5015 >/dev/null
check maplog_reopen_on_sighup "no MAP line for 5015 in the new file: $(cat "$LOG" 2>&1)" \
	wait_until 5 grep -q 'MAP udp 10.0.1.2:5015 ' "$LOG"
check maplog_sighup_reopen_logged "the controller did not log the reopen" \
	grep -q 'mapping log .* reopened' "$LAB_TMP/ctl-wan0.log"

# down releases every mapping, and says so.
bm down wan0 >/dev/null && LAB_UP=() || fail maplog_down "bpfmasq down failed"
check maplog_unmap_down "no UNMAP (down) for the live mapping: $(tail -3 "$LOG")" \
	grep -Eq " wan0 UNMAP udp 10\.0\.1\.2:5015 $WAN_GW:[0-9]+ down\$" "$LOG"

# Every line of every file in the documented format, and no destination.
cat "$LOG.1" "$LOG.2" "$LOG" >"$LAB_TMP/all.log"
if ! grep -Evq "$line_re" "$LAB_TMP/all.log"; then
	pass maplog_format
else
	fail maplog_format "lines not in the format: $(grep -Ev "$line_re" "$LAB_TMP/all.log")"
fi
check maplog_no_destinations "a line names the remote 198.51.100.x" \
	eval "! grep -q '198\\.51\\.100\\.' '$LAB_TMP/all.log'"

lab_done
