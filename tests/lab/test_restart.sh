#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kill -9 of the controller loses nothing: the data plane keeps translating
# and a new `up` adopts the attached programs and their flows.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only restart

lab_build restart lab_standard srv_nginx srv_tcp_echo=9000
lab_nat_up restart --lan lan0

# A long-lived TCP connection: cli1's socat reads lines from a fifo that
# this script holds open, and writes the echoes to a file.
mkfifo "$LAB_TMP/c2s"
exec 7<>"$LAB_TMP/c2s"
nsx cli1 socat -T 60 STDIO TCP4:$INET:9000,connect-timeout=3 \
	<"$LAB_TMP/c2s" >"$LAB_TMP/s2c" 2>"$LAB_TMP/socat.err" &
LAB_PIDS+=($!)
echoed() { grep -qx "$1" "$LAB_TMP/s2c"; }

echo before >&7
if wait_until 5 echoed before; then
	pass restart_conn_open
else
	fail restart_conn_open "no echo before the restart: $(cat "$LAB_TMP/socat.err")"
	exit 1
fi

pid=$(bm_ctl_pid)
if [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) && alive "$pid"; then
	pass restart_controller_pid
else
	fail restart_controller_pid "status -j gave controller_pid '$pid'"
	exit 1
fi
# Every map and program is pinned (masq_lan_open is not loaded without
# --lan-new, masq_hairpin_l3 without a layer-3 inside interface), and
# again by the controller that adopts them.
check_pins restart_pins_after_up "$pid" "$LAB_TMP/pins.before" masq_lan_open \
	masq_hairpin_l3
kill -9 "$pid"
wait_until 5 eval "! alive $pid"

# Without a controller the data plane still translates.
echo orphan >&7
if wait_until 5 echoed orphan; then
	pass restart_flows_without_controller
else
	fail restart_flows_without_controller "no echo while the controller was dead"
fi

# A setting given to an adopting up is not applied, and up says so,
# whichever option comes last.
if bm up wan0 --filter cone --log "$LAB_TMP/ctl-wan0.log" \
	>"$LAB_TMP/up.out" 2>"$LAB_TMP/up.err"; then
	pass restart_up_again
else
	fail restart_up_again "second up after kill -9: $(cat "$LAB_TMP/up.err")"
fi
check restart_up_notes_settings "no note that wan0 keeps its settings: '$(cat "$LAB_TMP/up.err")'" \
	grep -q 'keeps its running settings' "$LAB_TMP/up.err"
newpid=$(bm_ctl_pid)
if [[ $newpid =~ ^[0-9]+$ ]] && ((newpid > 1)) && ((newpid != pid)) &&
   alive "$newpid"; then
	pass restart_new_controller
else
	fail restart_new_controller "controller_pid after restart: '$newpid' (old $pid)"
fi

if [[ $newpid =~ ^[0-9]+$ ]] &&
   check_pins restart_pins_after_adopt "$newpid" "$LAB_TMP/pins.after" masq_lan_open \
	masq_hairpin_l3; then
	# The same objects: adopted, not loaded again.
	check restart_pins_same_objects \
		"pins differ: $(diff "$LAB_TMP/pins.before" "$LAB_TMP/pins.after" | tr '\n' ' ')" \
		cmp "$LAB_TMP/pins.before" "$LAB_TMP/pins.after"
fi

echo after >&7
if wait_until 5 echoed after; then
	pass restart_old_conn_survives
else
	fail restart_old_conn_survives "no echo after the restart: $(cat "$LAB_TMP/socat.err")"
fi

# The adopted table still knows the old connection.
if bm_json conns wan0 | jq_py 'any(c["remote"] == "198.51.100.1:9000" for c in d)' |
   grep -qx true; then
	pass restart_conn_listed
else
	fail restart_conn_listed "conns -j after restart: $(head -c 400 "$LAB_TMP/json.out")"
fi

check_hello restart_new_conn cli2
if srv_log_only_gw; then
	pass restart_server_sees_only_gw
else
	fail restart_server_sees_only_gw "access log: $(srv_log_addrs | tr '\n' ' ')"
fi
exec 7>&-

((LAB_FAILS)) && show_ctl_log
lab_done
