#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `bpfmasq reload wan0 --config FILE` while a slow 4 MiB download and a
# UDP stream cross the NAT: new timeouts, an --internal prefix added, a
# forward removed and another added.  The download arrives byte-exact,
# the UDP stream keeps its mapping and its answers, `conns` keeps both
# flows, status shows the new timeouts, the new prefix is masqueraded.
# Then, across another download and UDP stream, the programs' own
# settings (ports, filter, ftp-ports) and the table's size (max-flows)
# change: new programs are swapped in over migrated tables, every
# connection stays (not one datagram lost), the stream keeps its port of
# the old range and is still answered there, a new mapping gets one of
# the new range, and a packet strict filtering dropped now arrives.  Too
# small a table for the connections is refused in one line and changes
# nothing; a first lan is loaded and attached.  no-hairpin comes and
# goes.  SIGHUP to a --foreground controller under NOTIFY_SOCKET says
# RELOADING=1, then READY=1, and applies the file it was started with,
# a program setting included.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only reload

lab_build reload lab_standard srv_nginx srv_udp_echo=7
lab_bg cli1 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR'

CONF=$LAB_TMP/wan0.conf
cat > "$CONF" <<'CONF'
internal 10.0.1.2/32
ports 62000-62999
timeout-udp 300
forward tcp 8080 10.0.1.2:8080
CONF
lab_nat_up reload --config "$CONF"

# reload_from_conf NAME: reload wan0 from $CONF, what it printed in
# $LAB_TMP/NAME.out (errors NAME.err); PASS NAME when it succeeds.
reload_from_conf() {
	local rc
	bm reload wan0 --config "$CONF" >"$LAB_TMP/$1.out" 2>"$LAB_TMP/$1.err"
	rc=$?
	check "$1" "exit $rc: $(cat "$LAB_TMP/$1.err")" test "$rc" -eq 0
}
status_json() { bm_json status wan0 | jq_py 'd[0] if isinstance(d, list) else d'; }

# A slow download (about 4 s) and a UDP stream (a datagram every 100 ms
# for 6 s from port 40200), both from cli1.
download_start cli1 "$LAB_TMP/slow.bin"
udp_probe_start cli1 40200 6 100 "$LAB_TMP/udpstream.out"
sleep 1.5
before=$(bm conns wan0 2>/dev/null | grep -cE "10\.0\.1\.2:(40200|[0-9]+) .*$INET:(7|80)\b")

cat > "$CONF" <<'CONF'
internal 10.0.1.2/32
internal 10.0.1.3/32    # added: cli2 is masqueraded from now on
ports 62000-62999
timeout-udp 120
timeout-tcp-established 3600
forward udp 5353 10.0.1.3:53
CONF
reload_from_conf reload_runs
want="wan0: timeout-tcp-established 7440 -> 3600
wan0: timeout-udp 300 -> 120
wan0: internal none -> 10.0.1.3/32
wan0: forward tcp 8080 10.0.1.2:8080 -> none
wan0: forward udp 5353 none -> 10.0.1.3:53"
got=$(cat "$LAB_TMP/reload_runs.out")
check reload_lines "printed '$got'" test "$got" == "$want"
after=$(bm conns wan0 2>/dev/null | grep -cE "10\.0\.1\.2:(40200|[0-9]+) .*$INET:(7|80)\b")
note "conns of cli1 to srv:7 and srv:80: $before before the reload, $after after"
check reload_conns_kept "conns matching before $before, after $after" \
	eval '((before >= 2 && after >= before))'

check_download_done reload_download_byte_exact "$LAB_TMP/slow.bin"
check_udp_probe reload_udp_stream "$LAB_TMP/udpstream.out" 1

st=$(status_json | jq_py '[d["ports"], d["timeouts"]["udp"], d["timeouts"]["tcp_established"]]')
check reload_status_new_values "status: $st" test "$st" == '["62000-62999", 120, 3600]'
fl=$(bm forward list wan0)
check reload_forwards "forward list: $fl" \
	eval '[[ $fl == *"udp  FORWARD"*"10.0.1.3:53"* && $fl != *8080* ]]'
fetch cli2 "http://$INET/" >/dev/null
check reload_internal_added "srv saw $(tail -n 1 "$NGX/access.log" | awk '{print $1}') for cli2" \
	eval '[[ $(tail -n 1 "$NGX/access.log" | awk "{print \$1}") == "$WAN_GW" ]]'

# The programs' settings (.rodata) and the table's size, live: new
# programs over the same maps (flows and binds migrated into tables of
# the new size), swapped in while a download and a UDP stream run.
# Before, under filter strict, a packet from another remote to cli1's
# mapping is dropped; after, under cone, it arrives.
other_remote() {	# SPORT: cli1 opens a mapping, srv:9999 sends to it
	nsx cli1 "$PY" - "$INET" "$1" > "$LAB_TMP/cone.out" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.settimeout(3)
s.sendto(b"open", (sys.argv[1], 7))
got = []
end = time.time() + 3
while time.time() < end:
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        break
    got.append(src[1])
print("from-9999" if 9999 in got else "none")
EOF
	local pid=$! port
	wait_until 3 eval "bm conns wan0 2>/dev/null | grep -q 'inside 10.0.1.2:$1 '"
	port=$(bm conns wan0 | awk -v s="10.0.1.2:$1" '$4 == s {split($6, a, ":"); print a[2]; exit}')
	nsx srv "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9999))
s.sendto(b"other", (sys.argv[2], int(sys.argv[3])))' "$INET" "$WAN_GW" "$port"
	wait $pid
	cat "$LAB_TMP/cone.out"
}
filtered0=$(bm_stat drop_filtered_remote)
check reload_strict_before "a packet from srv:9999 to cli1's mapping: $(other_remote 40601)" \
	test "$(cat "$LAB_TMP/cone.out")" == none
check reload_strict_counted "drop_filtered_remote $filtered0 -> $(bm_stat drop_filtered_remote)" \
	eval '(( $(bm_stat drop_filtered_remote) > filtered0 ))'

download_start cli1 "$LAB_TMP/slow2.bin"
udp_probe_start cli1 40210 5 20 "$LAB_TMP/udpstream2.out"
sleep 1.5
# Protocol, inside, outside, remote of every connection.
conns() { bm conns wan0 2>/dev/null | awk '$1 ~ /^(tcp|udp|icmp)$/ {print $1, $4, $6, $8}' | sort; }
conns > "$LAB_TMP/conns.before"
udp_out=$(awk '$2 == "10.0.1.2:40210" {print $3}' "$LAB_TMP/conns.before")
cat > "$CONF" <<'CONF'
internal 10.0.1.2/32
internal 10.0.1.3/32
ports 61000-61999
filter cone
ftp-ports 21,2121
max-flows 4096
timeout-udp 120
timeout-tcp-established 3600
forward udp 5353 10.0.1.3:53
CONF
reload_from_conf reload_rodata_runs
want="wan0: ports 62000-62999 -> 61000-61999
wan0: filter strict -> cone
wan0: ftp-ports 21 -> 21,2121
wan0: max-flows 131072 -> 4096"
got=$(cat "$LAB_TMP/reload_rodata_runs.out")
check reload_rodata_lines "printed '$got'" test "$got" == "$want"
conns > "$LAB_TMP/conns.after"
note "connections before: $(wc -l < "$LAB_TMP/conns.before"), after: $(wc -l < "$LAB_TMP/conns.after")"
check reload_table_migrated "before: $(cat "$LAB_TMP/conns.before"); after: $(cat "$LAB_TMP/conns.after")" \
	eval '[[ -n $udp_out ]] && cmp -s "$LAB_TMP/conns.before" "$LAB_TMP/conns.after"'
st=$(status_json | jq_py '[d["ports"], d["filter"], d["alg"]["ftp"]]')
check reload_rodata_status "status: $st" test "$st" == '["61000-61999", "cone", "21,2121"]'
lim=$(bm stats --prometheus wan0 | awk '/^bpfmasq_connections_limit/ {print $2}')
check reload_table_size "connections limit $lim" test "$lim" == 4096
check_download_done reload_rodata_download_byte_exact "$LAB_TMP/slow2.bin"
note "the UDP stream across the swap: outside $udp_out"
check_udp_probe reload_rodata_udp_nothing_lost "$LAB_TMP/udpstream2.out"
# The stream kept its port of the old range, and is still answered
# there; a new mapping takes one of the new range.
out=$(udp_echo cli1 $INET 7 40210)
check reload_old_range_still_served "UDP echo from 40210 ($udp_out) answered '$out'" \
	eval '[[ $out == udp-echo-40210 && $udp_out == *:62??? ]] &&
		bm conns wan0 | grep -q "inside 10.0.1.2:40210 *outside $udp_out "'
udp_echo cli1 $INET 7 40211 >/dev/null
new_out=$(bm conns wan0 | awk '$4 == "10.0.1.2:40211" {print $6}')
check reload_new_range_used "a new mapping: $new_out" eval '[[ $new_out == *:61??? ]]'
check reload_cone_after "a packet from srv:9999 to cli1's mapping: $(other_remote 40602)" \
	test "$(cat "$LAB_TMP/cone.out")" == from-9999

# Too small a table for the connections it holds (20 more UDP flows,
# and room for 16): refused in one line, nothing changed.
nsx cli1 "$PY" -c 'import socket, sys
for p in range(41000, 41020):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", p))
    s.sendto(b"x", (sys.argv[1], 7))' "$INET"
wait_until 3 eval '(( $(bm conns count wan0 -p udp 2>/dev/null | grep -o "[0-9]*" | head -n 1) >= 20 ))'
status_json > "$LAB_TMP/st.before"
bm forward list wan0 > "$LAB_TMP/fw.before"
sed -e 's/^max-flows .*/max-flows 16/' -e 's/^timeout-udp .*/timeout-udp 55/' \
	"$CONF" > "$LAB_TMP/small.conf"
bm reload wan0 --config "$LAB_TMP/small.conf" >"$LAB_TMP/ref.out" 2>"$LAB_TMP/ref.err"
rc=$?
if ((rc == 1)) && [[ $(wc -l < "$LAB_TMP/ref.err") == 1 && ! -s $LAB_TMP/ref.out ]] &&
   grep -q "wan0: the new 'flows' (32 entries) cannot take the [0-9]* entries of the running one; nothing changed" "$LAB_TMP/ref.err"; then
	note "$(cat "$LAB_TMP/ref.err")"
	pass reload_small_table_refused
else
	fail reload_small_table_refused "exit $rc, stderr '$(cat "$LAB_TMP/ref.err")', stdout '$(cat "$LAB_TMP/ref.out")'"
fi
status_json > "$LAB_TMP/st.after"
bm forward list wan0 > "$LAB_TMP/fw.after"
# flows and route_gen move with traffic and routes: the settings must not.
same=$(cat "$LAB_TMP/st.before" "$LAB_TMP/st.after" | "$PY" -c '
import json, sys
a, b = [json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()]
for k in ("flows", "route_gen", "hairpin"):
    a.pop(k, None); b.pop(k, None)
print(a == b)')
check reload_refused_changes_nothing "status before/after differ: $(diff "$LAB_TMP/st.before" "$LAB_TMP/st.after")" \
	test "$same" == True
check reload_refused_forwards_kept "forwards differ" cmp -s "$LAB_TMP/fw.before" "$LAB_TMP/fw.after"

# A first lan on an instance started without one: its LAN program is
# loaded then (new programs swapped in), and the controller attaches it.
lan_xdp() { nsx gw ip link show dev lan0 | grep -c prog/xdp; }
sed 's/^ports .*/&\nlan lan0/' "$CONF" > "$LAB_TMP/lan.conf"
bm reload wan0 --config "$LAB_TMP/lan.conf" >"$LAB_TMP/lan.out" 2>"$LAB_TMP/lan.err"
check reload_first_lan "printed '$(cat "$LAB_TMP/lan.out" "$LAB_TMP/lan.err")'" \
	grep -qx "wan0: lan none -> lan0" "$LAB_TMP/lan.out"
check reload_first_lan_attached "lan0 has $(lan_xdp) XDP programs" \
	wait_until 5 eval '(( $(lan_xdp) == 1 ))'
bm reload wan0 --config "$CONF" >"$LAB_TMP/lan.out" 2>&1
check reload_first_lan_gone "lan0 still has $(lan_xdp) XDP programs; reload: $(cat "$LAB_TMP/lan.out")" \
	wait_until 5 eval '(( $(lan_xdp) == 0 ))'

# no-hairpin on, then off again: the controller follows the flag.
hairpin() { status_json | jq_py '[d["no_hairpin"], d["hairpin"]]'; }
check reload_hairpin_before "hairpin: $(hairpin)" \
	wait_until 5 eval '[[ $(hairpin) == "[false, [\"lan0\"]]" ]]'
echo no-hairpin >> "$CONF"
bm reload wan0 --config "$CONF" > "$LAB_TMP/hp.out" 2>&1
check reload_no_hairpin_line "printed '$(cat "$LAB_TMP/hp.out")'" \
	grep -qx "wan0: no-hairpin off -> on" "$LAB_TMP/hp.out"
check reload_no_hairpin_applied "hairpin: $(hairpin)" \
	wait_until 5 eval '[[ $(hairpin) == "[true, []]" ]]'
sed -i '/^no-hairpin$/d' "$CONF"
bm reload wan0 --config "$CONF" > "$LAB_TMP/hp.out" 2>&1
check reload_hairpin_back "hairpin: $(hairpin)" \
	wait_until 5 eval '[[ $(hairpin) == "[false, [\"lan0\"]]" ]]'

# -j: an object; the same file again changes nothing.
sed -i 's/^timeout-udp .*/timeout-udp 121/' "$CONF"
js=$(bm_json reload wan0 --config "$CONF" | jq_py '[d["ifname"], d["changes"]]')
check reload_json "reload -j: $js" \
	test "$js" == '["wan0", [{"setting": "timeout-udp", "old": "120", "new": "121"}]]'
js=$(bm_json reload wan0 --config "$CONF" | jq_py 'd["changes"]')
check reload_json_no_change "reload -j of the same file: $js" test "$js" == '[]'
sed -i 's/^timeout-udp .*/timeout-udp 120/' "$CONF"
bm reload wan0 --config "$CONF" >/dev/null

# A bad line: FILE:LINE, as check says it.
printf 'timeout-udp 60\ntimout-icmp 5\n' > "$LAB_TMP/bad.conf"
bm reload wan0 --config "$LAB_TMP/bad.conf" >/dev/null 2>"$LAB_TMP/bad.err"
check reload_bad_line "stderr '$(cat "$LAB_TMP/bad.err")'" \
	grep -q "^Error: $LAB_TMP/bad.conf:2: unknown key 'timout-icmp'" "$LAB_TMP/bad.err"

# SIGHUP to a foreground controller, as systemd's ExecReload would have
# it, with the notification socket systemd listens on.
bm down wan0 >/dev/null
LAB_UP=()
echo "lan lan0" >> "$CONF"
cat > "$LAB_TMP/notify.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a", buffering=1)
while True:
    out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
EOF
lab_bg gw "$LAB_TMP/notify.log" "$PY" "$LAB_TMP/notify.py" \
	"$LAB_TMP/notify.sock" "$LAB_TMP/notify.out"
wait_until 5 test -S "$LAB_TMP/notify.sock" ||
	{ fail reload_notify_socket "the notification socket did not appear"; exit 1; }
NOTIFY_SOCKET=$LAB_TMP/notify.sock \
	lab_bg gw "$LAB_TMP/fg.log" "$BPFMASQ" up wan0 --foreground --config "$CONF"
LAB_UP+=(wan0)
wait_until 10 grep -q READY=1 "$LAB_TMP/notify.out" ||
	{ fail reload_sighup_ready "no READY=1: $(cat "$LAB_TMP/notify.out" "$LAB_TMP/fg.log")"; exit 1; }
check reload_lan_attached "lan0 has $(lan_xdp) XDP programs" \
	wait_until 5 eval '(( $(lan_xdp) == 1 ))'
# A setting of the programs too: the controller swaps them itself.
sed -i -e 's/^timeout-udp .*/timeout-udp 45/' -e '/^lan lan0$/d' \
	-e 's/^filter cone$/filter strict/' "$CONF"
kill -HUP "$(bm_ctl_pid)"
if wait_until 10 eval '[[ $(grep -c READY=1 "$LAB_TMP/notify.out") -ge 2 ]]' &&
   [[ $(grep -n RELOADING=1 "$LAB_TMP/notify.out" | cut -d: -f1) -lt \
      $(grep -n READY=1 "$LAB_TMP/notify.out" | tail -n 1 | cut -d: -f1) ]]; then
	pass reload_sighup_notify
else
	fail reload_sighup_notify "notifications: $(cat "$LAB_TMP/notify.out")"
fi
st=$(status_json | jq_py 'd["timeouts"]["udp"]')
check reload_sighup_applied "timeout udp $st; log: $(tail -n 3 "$LAB_TMP/fg.log")" test "$st" == 45
check reload_sighup_logged "log: $(cat "$LAB_TMP/fg.log")" \
	grep -q "wan0: timeout-udp 120 -> 45" "$LAB_TMP/fg.log"
st=$(status_json | jq_py 'd["filter"]')
check reload_sighup_programs "filter $st; log: $(tail -n 5 "$LAB_TMP/fg.log")" \
	eval '[[ $st == strict ]] && grep -q "wan0: filter cone -> strict" "$LAB_TMP/fg.log"'
check reload_sighup_controller_alive "controller gone" \
	eval '(( $(bm_ctl_pid) > 0 ))'
check reload_lan_removed "lan0 still has $(lan_xdp) XDP programs" \
	wait_until 5 eval '(( $(lan_xdp) == 0 ))'
echo "lan lan0" >> "$CONF"
bm reload wan0 --config "$CONF" > "$LAB_TMP/lan.out" 2>&1
check reload_lan_line "printed '$(cat "$LAB_TMP/lan.out")'" \
	grep -qx "wan0: lan none -> lan0" "$LAB_TMP/lan.out"
check reload_lan_back "lan0 has $(lan_xdp) XDP programs; log: $(tail -n 3 "$LAB_TMP/fg.log")" \
	wait_until 5 eval '(( $(lan_xdp) == 1 ))'
check_udp_echo reload_lan_translates cli1 40300

# lan-new: the other LAN program, swapped in on lan0 in the place of the
# first (an XDP replace naming it), and it opens connections itself.
lan_prog() { nsx gw ip -d link show dev lan0 | grep -o 'name [a-z_]*' | head -n 1; }
echo "lan-new" >> "$CONF"
bm reload wan0 --config "$CONF" > "$LAB_TMP/lannew.out" 2>&1
check reload_lan_new_line "printed '$(cat "$LAB_TMP/lannew.out")'" \
	grep -qx "wan0: lan-new off -> on" "$LAB_TMP/lannew.out"
check reload_lan_new_swapped "lan0 runs '$(lan_prog)'" \
	test "$(lan_prog)" == "name masq_lan_open"
check_udp_echo reload_lan_new_translates cli1 40301

lab_done
