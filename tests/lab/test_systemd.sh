#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The systemd unit, without systemd as PID 1 (this machine has none):
# systemd-analyze verify finds nothing to say about it (its man pages
# are found), and its ExecStart and ExecStop lines, run in the lab as
# systemd would run them (the instance name for %i, NOTIFY_SOCKET a
# datagram socket the test reads, JOURNAL_STREAM set), say READY=1 once
# traffic is translated, log with syslog priorities, ExecReload applies
# IFNAME.conf to the running NAT, and STOPPING=1 when the NAT is taken
# down.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only systemd "LAB_NAT=nft: tests bpfmasq's unit"

UNIT_IN=$LAB_REPO/packaging/bpfmasq@.service.in
# The unit as `make install` would write it, naming this build's binary;
# BPFMASQ_UNIT names another (tests/lab/test_deb.sh: the Debian package's).
if [[ -n ${BPFMASQ_UNIT:-} ]]; then
	cp "$BPFMASQ_UNIT" "$LAB_TMP/bpfmasq@.service"
else
	sed "s|@SBINDIR@|$(dirname "$BPFMASQ")|g" "$UNIT_IN" > "$LAB_TMP/bpfmasq@.service"
fi

# Its Documentation= man pages, found where man looks (MANPATH): this
# build's, as `make install` would put them, or BPFMASQ_MANPATH's.
man=${BPFMASQ_MANPATH:-$LAB_TMP/man}
if [[ -z ${BPFMASQ_MANPATH:-} ]]; then
	mkdir -p "$man/man8" "$man/man5"
	cp "$LAB_REPO/build/bpfmasq.8" "$man/man8/"
	cp "$LAB_REPO/build/bpfmasq.conf.5" "$man/man5/"
fi
out=$(cd "$LAB_TMP" && MANPATH=$man systemd-analyze verify ./bpfmasq@wan0.service 2>&1)
rc=$?
check systemd_unit_verifies "systemd-analyze verify: rc $rc, '$out'" \
	test "$rc" -eq 0 -a -z "$out"

# unit_line KEY: the unit's KEY= command for instance wan0.
unit_line() {
	sed -n "s/^$1=//p" "$LAB_TMP/bpfmasq@.service" | sed 's/%i/wan0/g'
}
start=$(unit_line ExecStart)
stop=$(unit_line ExecStop)
reload=$(unit_line ExecReload)
check systemd_unit_reload "ExecReload is '$reload'" \
	eval '[[ $reload == *" reload wan0" ]]'
check systemd_unit_foreground "ExecStart is '$start'" \
	eval '[[ $start == *" up wan0 --foreground" ]]'

lab_build systemd lab_standard srv_nginx srv_udp_echo=7

# The notification socket systemd would listen on: every datagram, with
# the time it came, one line each.
cat > "$LAB_TMP/notify.py" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    msg = s.recv(4096).decode()
    out.write(msg.replace("\n", " ") + "\n")
EOF
lab_bg gw "$LAB_TMP/notify.log" "$PY" "$LAB_TMP/notify.py" \
	"$LAB_TMP/notify.sock" "$LAB_TMP/notify.out"
wait_until 5 test -S "$LAB_TMP/notify.sock" ||
	{ fail systemd_notify_socket "the notification socket did not appear"; exit 1; }

# ExecStart as systemd runs it: the main process, in the foreground.
NOTIFY_SOCKET=$LAB_TMP/notify.sock JOURNAL_STREAM=8:1 \
	lab_bg gw "$LAB_TMP/journal.log" $start
main=$!
LAB_UP+=(wan0)
if wait_until 10 grep -q READY=1 "$LAB_TMP/notify.out"; then
	pass systemd_ready
else
	fail systemd_ready "no READY=1: $(cat "$LAB_TMP/notify.out" "$LAB_TMP/journal.log")"
	exit 1
fi
# Ready means translating: the first datagram after it comes back.
check_udp_echo systemd_translating_when_ready cli1 40100
check systemd_status_line "no STATUS= with READY=1: $(cat "$LAB_TMP/notify.out")" \
	grep -q "STATUS=masquerading on wan0" "$LAB_TMP/notify.out"
check systemd_journal_priorities "the log has no <6> priority lines: $(head -n 3 "$LAB_TMP/journal.log")" \
	grep -q '^<6>wan0: controller running' "$LAB_TMP/journal.log"

# ExecReload: the config directory's wan0.conf (here the lab's own
# directory, as BPFMASQ_CONF_DIR names it) applied to the running NAT.
# A download and a datagram every 20 ms across it: the download arrives
# whole, and no datagram goes unanswered.
mkdir -p "$LAB_TMP/etc"
echo "timeout-udp 99" > "$LAB_TMP/etc/wan0.conf"
download_start cli1 "$LAB_TMP/reload.bin"
udp_probe_start cli1 40101 3 20 "$LAB_TMP/reloadprobe.json"
sleep 1
BPFMASQ_CONF_DIR=$LAB_TMP/etc \
	eval "ip netns exec $(ns gw) $reload" >"$LAB_TMP/reload.out" 2>&1
rc=$?
check systemd_reload_runs "ExecReload: rc $rc, $(cat "$LAB_TMP/reload.out")" \
	eval '((rc == 0)) && grep -q "wan0: timeout-udp [0-9]* -> 99" "$LAB_TMP/reload.out"'
check_udp_echo systemd_reload_keeps_flow cli1 40100
check_udp_probe systemd_reload_nothing_lost "$LAB_TMP/reloadprobe.json"
check_download_done systemd_reload_download_whole "$LAB_TMP/reload.bin"

# ExecStop takes the NAT down; the main process says STOPPING=1 and ends.
eval "ip netns exec $(ns gw) $stop" >"$LAB_TMP/stop.out" 2>&1
rc=$?
check systemd_stop_runs "ExecStop: rc $rc, $(cat "$LAB_TMP/stop.out")" test "$rc" -eq 0
check systemd_stopping "no STOPPING=1: $(cat "$LAB_TMP/notify.out")" \
	wait_until 5 grep -q STOPPING=1 "$LAB_TMP/notify.out"
left=$(nsx gw ip -d link show dev wan0 | grep -c prog/xdp)
check systemd_stop_detaches "programs left on wan0 after ExecStop" test "$left" -eq 0
LAB_UP=()

lab_done
