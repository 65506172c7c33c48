# SPDX-License-Identifier: GPL-2.0
# The two-gateway lab of the HA tests (sourced after lib.sh):
#
#   cli1 10.0.1.2 -- lsw (bridge) -- ha1 lan0 10.0.1.11 / ha2 lan0 10.0.1.12
#                                    LAN VIP 10.0.1.1 (cli1's gateway)
#   ha1 wan0 192.0.2.11 / ha2 wan0 192.0.2.12 -- wsw (bridge) -- srv up0
#   192.0.2.2, "the internet" 198.51.100.1 on srv's lo
#                                    WAN VIP 192.0.2.100 (--external)
#   ha1 sync0 10.255.0.1 -- ha2 sync0 10.255.0.2: the link for state sync
#
# keepalived runs with the example packaging/keepalived/bpfmasq-pair.conf
# as it ships.
LAN_VIP=10.0.1.1
WAN_VIP=192.0.2.100
KA_CONF=$LAB_REPO/packaging/keepalived/bpfmasq-pair.conf

ha_lab() {
	local g
	ns_add cli1 ha1 ha2 srv lsw wsw || return 1
	for s in lsw wsw; do
		nsx $s ip link add br0 type bridge stp_state 0 &&
			nsx $s ip link set br0 up || return 1
	done
	veth cli1 eth0 lsw hc1 && veth ha1 lan0 lsw hl1 && veth ha2 lan0 lsw hl2 &&
		veth ha1 wan0 wsw hw1 && veth ha2 wan0 wsw hw2 &&
		veth srv up0 wsw hs0 && veth ha1 sync0 ha2 sync0 || return 1
	addr ha1 sync0 10.255.0.1/30 && addr ha2 sync0 10.255.0.2/30 || return 1
	for p in hc1 hl1 hl2; do nsx lsw ip link set $p master br0; done
	for p in hw1 hw2 hs0; do nsx wsw ip link set $p master br0; done
	addr cli1 eth0 10.0.1.2/24 && nsx cli1 ip route add default via $LAN_VIP
	addr srv up0 192.0.2.2/24 && addr srv lo $INET/24
	for g in 1 2; do
		addr ha$g lan0 10.0.1.1$g/24 && addr ha$g wan0 192.0.2.1$g/24 &&
			nsx ha$g sysctl -qw net.ipv4.ip_forward=1 &&
			nsx ha$g ip route add 198.51.100.0/24 via 192.0.2.2 ||
			return 1
	done
}

# ha_up N [ARGS...]: bpfmasq on haN's wan0, masquerading as the WAN VIP.
ha_up() {
	local g=$1
	shift
	ip netns exec "$(ns ha$g)" "$BPFMASQ" up wan0 --external $WAN_VIP \
		--internal 10.0.1.0/24 --log "$LAB_TMP/ctl-ha$g.log" "$@" \
		>"$LAB_TMP/up-ha$g.out" 2>&1 && LAB_UP+=("ha$g:wan0")
}

# ka_start N PRIORITY PEER_SUFFIX: keepalived in haN with the example
# config, included as README says after the per-gateway definitions.
ka_start() {
	local g=$1 d=$LAB_TMP/ka$1
	mkdir -p "$d"
	cat >"$d/keepalived.conf" <<EOF
\$PRIORITY=$2
\$LAN_IF=lan0
\$WAN_IF=wan0
\$LAN_VIP=$LAN_VIP/24
\$WAN_VIP=$WAN_VIP/24
\$LAN_PEER=10.0.1.1$3
\$WAN_PEER=192.0.2.1$3
\$LAN_VRID=51
\$WAN_VRID=52
include $KA_CONF
EOF
	ka_run $g
}
# ka_run N: keepalived in haN with the config $LAB_TMP/kaN/keepalived.conf,
# its log and pid files beside it.
ka_run() {
	local d=$LAB_TMP/ka$1
	lab_bg ha$1 "$d/log" keepalived -n -l -D -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid"
}
ka_kill() {
	local d=$LAB_TMP/ka$1 p
	for p in $(cat "$d/keepalived.pid" "$d/vrrp.pid" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
}

# ha_fail_hard N: haN as a box that crashed: keepalived gone without a
# goodbye, every link down, and no virtual address left for the reboot to
# find.  (bpfmasq's controller is the caller's to kill or keep.)
ha_fail_hard() {
	local l
	ka_kill "$1"
	for l in lan0 wan0 sync0; do nsx ha$1 ip link set $l down; done
	nsx ha$1 ip addr del $LAN_VIP/24 dev lan0
	nsx ha$1 ip addr del $WAN_VIP/24 dev wan0
}

# ha_links_back N: haN's links up again, with the route they took along.
ha_links_back() {
	local l
	for l in lan0 wan0 sync0; do nsx ha$1 ip link set $l up; done
	nsx ha$1 ip route replace 198.51.100.0/24 via 192.0.2.2
}

# ha_take_over NAME [kill]: ha1 fails hard (with kill, its controller is
# killed -9 too, as a crash would), and ha2 must hold both addresses within
# 15 s: PASS or FAIL NAME, and a note of how long it took.
ha_take_over() {
	local pid1= t0
	[[ ${2:-} == kill ]] && pid1=$(ctl_pid 1)
	t0=$(date +%s%N)
	ha_fail_hard 1
	[[ $pid1 =~ ^[0-9]+$ && $pid1 != 0 ]] && kill -9 "$pid1"
	if wait_until 15 master_is 2; then
		pass "$1"
		note "ha2 has both addresses $((($(date +%s%N) - t0) / 1000000)) ms after ha1 failed"
	else
		fail "$1" "ha2 has not both addresses: $(nsx ha2 ip -4 -br addr)"
		cat "$LAB_TMP/ka2/log" >&2
	fi
}
# vip_watch N: from now on, when addresses come to haN's wan0 (ip -ts
# monitor); switch_ms N PROBE_JSON: milliseconds from the WAN VIP's
# arrival there to a udpprobe.py probe's first answer after its longest
# gap: the time to the first translated packet after the switch.
vip_watch() {
	lab_bg ha$1 "$LAB_TMP/vipmon-ha$1.log" ip -ts monitor address dev wan0
}
switch_ms() {
	"$PY" - "$LAB_TMP/vipmon-ha$1.log" "$WAN_VIP" "$2" <<'EOF'
import datetime, json, re, sys
log, vip, probe = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for line in open(log):
    m = re.match(r"\[(\S+)\].*inet %s/" % re.escape(vip), line)
    if m and "Deleted" not in line:
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        print(round((probe["gap_to_epoch"] - t) * 1000))
        break
else:
    print("none")
EOF
}
# ftp_session_start NAME: an active-mode FTP control connection from cli1
# to srv (ftpsession.py: its PORT is rewritten by the ALG), held open
# until $LAB_TMP/ftp.go appears; FTP is its pid; check NAME_ftp_before.
ftp_session_start() {
	nsx cli1 "$PY" "$LAB_REPO/tests/lab/ftpsession.py" $INET 10.0.1.2 \
		"$LAB_TMP/ftp.ready" "$LAB_TMP/ftp.go" >"$LAB_TMP/ftp.out" 2>&1 &
	FTP=$!
	wait_until 15 test -e "$LAB_TMP/ftp.ready"
	check "$1_ftp_before" "ftp session: $(cat "$LAB_TMP/ftp.out")" \
		grep -q "^before: LIST" "$LAB_TMP/ftp.out"
}
has_addr() { nsx "$1" ip -4 addr show dev "$2" | grep -q "inet $3/"; }
master_is() { has_addr ha$1 lan0 $LAN_VIP && has_addr ha$1 wan0 $WAN_VIP; }
on_wan() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" -j status wan0 2>/dev/null |
		jq_py 'd["external_on_wan"]' | grep -q true
}
conns_of() {
	ip netns exec "$(ns ha$1)" "$BPFMASQ" -j conns wan0 2>/dev/null |
		jq_py "len([c for c in d if c['outside'].startswith('$WAN_VIP:')])"
}


# ha_servers: what the HA tests carry through the gateways, on srv: nginx
# (with huge.bin, 32 MiB), a TCP echo on 9000, a UDP echo on 7000 that
# keeps up with a probe every few ms, and vsftpd for active-mode FTP
# (PORT only, so that the ALG rewrites the control connection).
ha_servers() {
	srv_nginx || return 1
	head -c 33554432 /dev/urandom >"$NGX/www/huge.bin"
	srv_tcp_echo 9000 || { echo "tcpecho did not start on srv" >&2; return 1; }
	lab_bg srv "$LAB_TMP/udpecho.log" "$PY" "$LAB_REPO/tests/lab/udpprobe.py" echo $INET 7000
	wait_until 5 listening srv udp "$INET:7000" ||
		{ echo "the UDP echo did not start on srv" >&2; return 1; }
	ftp_server srv vsftpd $INET pasv_enable=NO || return 1
	echo "a file to list" >"$LAB_TMP/ftproot/hello.txt"
}

# ---- state sync ----------------------------------------------------------

# ha_sync_key: the key both gateways share, $KEY.
ha_sync_key() {
	KEY=$LAB_TMP/sync.key
	head -c 32 /dev/urandom >"$KEY"
	chmod 600 "$KEY"
}
sync_args() {	# N: haN's sync options, its peer the other one (and SYNC_MORE)
	echo --sync-peer 10.255.0.$((3 - $1)) --sync-listen 10.255.0.$1 --sync-key "$KEY" $SYNC_MORE
}
# peer_status N KEY: what haN's status says of its session with the other.
peer_status() {
	BM_NS=ha$1 bm_json status wan0 |
		jq_py "[p['$2'] for p in d['sync']['peers'] if p['peer'] == '10.255.0.$((3 - $1))'][0]"
}
sync_up() { [[ $(peer_status $1 up) == true ]]; }
sync_line() { BM_NS=ha$1 bm status wan0 2>&1 | grep sync:; }
# sessions_up: both directions of both gateways' sync are up.
sessions_up() { wait_until 10 sync_up 1 && wait_until 10 sync_up 2; }
# conns_to N PORT: haN's connections to srv's PORT.
conns_to() {
	BM_NS=ha$1 bm_json conns wan0 |
		jq_py "len([c for c in d if c['remote'].endswith(':$2')])"
}
ctl_pid() { BM_NS=ha$1 bm_json status wan0 | jq_py 'd["controller_pid"]'; }

# ---- idle TCP sessions ----------------------------------------------------

# echo_open NAME: a TCP session from cli1 to srv's echo on 9000 that stays
# open: echo_says writes a line into it, the echoes land in a file.
declare -A ECHO_FD
echo_open() {
	local fd
	mkfifo "$LAB_TMP/echo-$1.in"
	exec {fd}<>"$LAB_TMP/echo-$1.in"
	ECHO_FD[$1]=$fd
	nsx cli1 socat -T 600 STDIO TCP4:$INET:9000,connect-timeout=3 \
		<"$LAB_TMP/echo-$1.in" >"$LAB_TMP/echo-$1.out" 2>"$LAB_TMP/echo-$1.err" &
	LAB_PIDS+=($!)
}
# echo_says NAME TEXT [SECONDS]: TEXT, sent on NAME, comes back in time.
echo_says() {
	echo "$2" >&"${ECHO_FD[$1]}"
	wait_until "${3:-10}" grep -qx "$2" "$LAB_TMP/echo-$1.out"
}
