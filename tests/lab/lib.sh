# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for the bpfmasq lab tests.  Source it from a tests/lab/test_*.sh.
#
# Every namespace a test makes is named "bm<pid>-<name>" (scripts/nslib.sh,
# shared with the benchmark), so runs never collide; lab_cleanup (on EXIT,
# INT and TERM) takes `bpfmasq down`, kills every process left in those
# namespaces and deletes them.  Traffic only
# ever flows between these namespaces: 10.0.x.x inside, 192.0.2.0/24 on the
# WAN link, 198.51.100.0/24 as "the internet" (TEST-NET ranges).
#
# LAB_NAT=nft runs the same tests with nftables masquerade in the gateway
# instead of bpfmasq (checks of bpfmasq's own output then SKIP): a check of
# the lab itself.  LAB_WAN=tun puts a layer-3 point-to-point WAN under the
# same tests (see lab_wan).  LAB_KEEP=1 keeps the temp directory (logs)
# afterwards.

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BPFMASQ=${BPFMASQ:-$LAB_REPO/build/bpfmasq}
LAB_NAT=${LAB_NAT:-bpfmasq}
LAB_TMP=$(mktemp -d /tmp/bpfmasq-lab.XXXXXX)
NS_PREFIX=bm NS_TMP=$LAB_TMP
. "$LAB_REPO/scripts/nslib.sh"
LAB_PIDS=()
LAB_UP=()
LAB_FAILS=0
LAB_TEST=$(basename "$0" .sh)
LAB_TEST=${LAB_TEST#test_}

# Inside/outside addresses of the standard lab.
WAN_GW=192.0.2.1
WAN_SRV=192.0.2.2
INET=198.51.100.1

# ---- results --------------------------------------------------------------

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: ${*:2}"
	LAB_FAILS=$((LAB_FAILS + 1))
}
skip() { echo "SKIP $1: ${*:2}"; }
note() { echo "  # $*"; }

# check NAME MSG CMD...: PASS when CMD succeeds, else FAIL NAME: MSG.  The
# status says which.
check() {
	local name=$1 msg=$2
	shift 2
	if "$@" >/dev/null 2>&1; then
		pass "$name"
		return 0
	fi
	fail "$name" "$msg"
	return 1
}

# The last line of a test: the exit status says whether anything failed.
lab_done() {
	exit $((LAB_FAILS > 0))
}

# ---- bounded waits --------------------------------------------------------

# wait_until SECONDS CMD...: retry CMD every 0.1 s; false on timeout.
wait_until() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) + limit * 1000000000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(date +%s%N) >= end)) && return 1
		sleep 0.1
	done
}

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# ---- namespaces and links -------------------------------------------------

# (ns, nsx, ns_add, mac_of, bm, bm_json, bm_stat: scripts/nslib.sh)

# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
	ip link add "$2" netns "$(ns "$1")" type veth \
		peer name "$4" netns "$(ns "$3")" || return 1
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

# addr NS IF CIDR
addr() { nsx "$1" ip addr add "$3" dev "$2"; }

# offload_like_nic NS IF: full checksums on transmit (what a real NIC hands
# to XDP; the data plane updates checksums incrementally).
offload_like_nic() { nsx "$1" ethtool -K "$2" tx off >/dev/null; }

# napi_on NS IF: GRO turns on the veth's NAPI ring, without which
# XDP_REDIRECT into its peer is dropped.
napi_on() { nsx "$1" ethtool -K "$2" gro on >/dev/null; }

# lab_bg NS LOG CMD...: start CMD in the background inside NS.
lab_bg() {
	local n=$1 log=$2
	shift 2
	nsx "$n" "$@" </dev/null >"$log" 2>&1 &
	LAB_PIDS+=($!)
}

lab_cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM
	# An entry is IFNAME (in gw) or NS:IFNAME.
	for i in "${LAB_UP[@]}"; do
		bm_down "$i"
	done
	for p in "${LAB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	ns_del_all
	wait 2>/dev/null
	if [[ -n ${LAB_KEEP:-} ]]; then
		echo "  # logs kept in $LAB_TMP" >&2
	else
		rm -rf "$LAB_TMP"
	fi
	exit "$rc"
}
ns_trap lab_cleanup

lab_require_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "FAIL $LAB_TEST: lab tests must run as root"
		exit 1
	fi
}
lab_require_root

# ---- topologies ----------------------------------------------------------

# The WAN side shared by both topologies: gw's wan0 192.0.2.1/24 to srv's
# up0 192.0.2.2/24; srv owns 198.51.100.1 ("the internet") and has no route
# back to any inside network, so only masquerade brings replies home.
#
# LAB_WAN=tun makes wan0 and up0 a layer-3 point-to-point link instead
# (link/none: no Ethernet header, no MAC, no ARP; the shape of ppp0, wg0 or
# a TUN VPN): a TUN device at each end, carried over UDP by socat across a
# veth "carrier" (car0 - car1).  The addresses stay the same, so a test
# runs unchanged over either.
LAB_WAN=${LAB_WAN:-veth}
CAR_GW=203.0.113.249
CAR_SRV=203.0.113.250
lab_wan() {
	lab_wan_link || return 1
	# No dummy driver on every kernel: lo holds the "internet" address.
	addr srv lo $INET/24
	nsx gw sysctl -qw net.ipv4.ip_forward=1
	nsx gw ip route add 198.51.100.0/24 via $WAN_SRV
}

# lab_wan_link: wan0 and up0 with their addresses, of the kind LAB_WAN says.
lab_wan_link() {
	if [[ $LAB_WAN == tun ]]; then
		veth gw car0 srv car1 || return 1
		addr gw car0 $CAR_GW/30
		addr srv car1 $CAR_SRV/30
		lab_tun_end srv up0 $CAR_SRV $CAR_GW $WAN_SRV/24 || return 1
		lab_tun_end gw wan0 $CAR_GW $CAR_SRV $WAN_GW/24 || return 1
	else
		veth gw wan0 srv up0 || return 1
		addr gw wan0 $WAN_GW/24
		addr srv up0 $WAN_SRV/24
		offload_like_nic srv up0
		napi_on srv up0
	fi
}

# lab_tun_end NS IF LOCAL REMOTE CIDR: a TUN device IF in NS whose packets
# socat carries in UDP from LOCAL to REMOTE (port 5555); it lives as long
# as that socat.
lab_tun_end() {
	local n=$1 i=$2
	lab_bg "$n" "$LAB_TMP/tun-$n.log" socat \
		UDP4-DATAGRAM:"$4":5555,bind="$3":5555,reuseaddr \
		TUN,tun-name="$i",tun-type=tun,iff-no-pi,iff-up
	wait_until 5 nsx "$n" ip link show dev "$i" || return 1
	addr "$n" "$i" "$5"
}

# lab_tun_kill NS IF: the socat that carries IF goes, and IF with it.
lab_tun_kill() {
	local p pids=
	for p in $(ip netns pids "$(ns "$1")"); do
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null |
			grep -q "tun-name=$2," && pids+=" $p"
	done
	[[ -n $pids ]] && kill $pids
	wait_until 5 eval "! nsx $1 ip link show dev $2" &&
		wait_until 5 eval "! kill -0 $pids 2>/dev/null"
}

# lab_tun_recreate: gw's end of a LAB_WAN=tun link goes away and comes back
# as a new interface of the same name (a PPP reconnect, a VPN restarted),
# with its address and route, as pppd's ip-up would restore them.
lab_tun_recreate() {
	lab_tun_kill gw wan0 || return 1
	lab_tun_end gw wan0 $CAR_GW $CAR_SRV $WAN_GW/24 || return 1
	nsx gw ip route add 198.51.100.0/24 via $WAN_SRV
}

# lan_hosts NET NS...: the hosts of a /24 LAN whose gateway is NET.1: the
# i-th NS gets NET.(i+1)/24 on its eth0, the default route via NET.1 and
# a NIC's offloads (offload_like_nic).
lan_hosts() {
	local net=$1 host=2 ns
	shift
	for ns in "$@"; do
		addr "$ns" eth0 "$net.$host/24"
		nsx "$ns" ip route add default via "$net.1"
		offload_like_nic "$ns" eth0
		host=$((host + 1))
	done
}

# Standard lab: cli1 (10.0.1.2) and cli2 (10.0.1.3) on a switch (bridge in
# namespace sw) with gw's lan0 10.0.1.1/24; WAN as in lab_wan.
lab_standard() {
	ns_add cli1 cli2 gw srv sw || return 1
	nsx sw ip link add br0 type bridge stp_state 0
	nsx sw ip link set br0 up
	veth cli1 eth0 sw p1 && veth cli2 eth0 sw p2 && veth gw lan0 sw p0 ||
		return 1
	for p in p0 p1 p2; do
		nsx sw ip link set "$p" master br0
	done
	addr gw lan0 10.0.1.1/24
	lan_hosts 10.0.1 cli1 cli2
	lab_wan
}

# Container host: gw has bridge br0 10.0.2.1/24 with "containers" ct1
# (10.0.2.2) and ct2 (10.0.2.3) on veths; WAN as in lab_wan.
lab_containers() {
	ns_add ct1 ct2 gw srv || return 1
	nsx gw ip link add br0 type bridge stp_state 0
	addr gw br0 10.0.2.1/24
	nsx gw ip link set br0 up
	veth ct1 eth0 gw vct1 && veth ct2 eth0 gw vct2 || return 1
	nsx gw ip link set vct1 master br0
	nsx gw ip link set vct2 master br0
	lan_hosts 10.0.2 ct1 ct2
	lab_wan
}

# Routed lab (ICMP errors, path MTU): cli1 10.0.1.2 -- gw lan0 10.0.1.1;
# gw wan0 192.0.2.1 -- rtr up0 192.0.2.2; rtr dn0 203.0.113.1 -- srv up0
# 203.0.113.2 over a link of MTU 1280; srv owns 198.51.100.1 on lo.  srv
# advertises an MSS of 1460 toward the WAN (advmss), so full-size segments
# from the inside only fit once the router's frag-needed, translated by
# the NAT, has taught cli1 the path MTU.  ICMP is not rate limited on rtr
# and srv: every probe of a traceroute gets its answer.
RTR_WAN=192.0.2.2
RTR_SRV=203.0.113.1
SRV_LINK=203.0.113.2
lab_routed() {
	local n
	ns_add cli1 gw rtr srv || return 1
	veth cli1 eth0 gw lan0 && veth gw wan0 rtr up0 &&
		veth rtr dn0 srv up0 || return 1
	addr cli1 eth0 10.0.1.2/24
	addr gw lan0 10.0.1.1/24
	addr gw wan0 $WAN_GW/24
	addr rtr up0 $RTR_WAN/24
	nsx rtr ip link set dn0 mtu 1280
	nsx srv ip link set up0 mtu 1280
	addr rtr dn0 $RTR_SRV/24
	addr srv up0 $SRV_LINK/24
	addr srv lo $INET/24
	nsx cli1 ip route add default via 10.0.1.1
	for n in gw rtr; do
		nsx $n sysctl -qw net.ipv4.ip_forward=1
	done
	for n in rtr srv; do
		nsx $n sysctl -qw net.ipv4.icmp_ratelimit=0
	done
	nsx gw ip route add 198.51.100.0/24 via $RTR_WAN
	nsx gw ip route add 203.0.113.0/24 via $RTR_WAN
	nsx rtr ip route add 198.51.100.0/24 via $SRV_LINK
	nsx srv ip route add 192.0.2.0/24 via $RTR_SRV advmss 1460
	offload_like_nic cli1 eth0
	offload_like_nic rtr up0
	offload_like_nic srv up0
	napi_on rtr up0
}

# ---- servers on srv ------------------------------------------------------

# srv_nginx: nginx on 198.51.100.1:80 serving hello.txt, slow.bin (256 KiB)
# and big.bin (4 MiB); access log is $NGX/access.log, "$remote_addr ...".
srv_nginx() {
	NGX=$LAB_TMP/nginx
	mkdir -p "$NGX/www" "$NGX/tmp"
	echo "hello from srv" > "$NGX/www/hello.txt"
	head -c 262144 /dev/urandom > "$NGX/www/slow.bin"
	head -c 4194304 /dev/urandom > "$NGX/www/big.bin"
	cat > "$NGX/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 128; }
http {
	log_format lab '\$remote_addr \$remote_port "\$request" \$status \$body_bytes_sent';
	access_log $NGX/access.log lab;
	client_body_temp_path $NGX/tmp;
	sendfile on;
	server {
		listen $INET:80;
		root $NGX/www;
	}
}
EOF
	lab_bg srv "$NGX/stdout.log" nginx -c "$NGX/nginx.conf" -p "$NGX" \
		-e "$NGX/error.log" -g 'daemon off;'
	if ! wait_until 5 listening srv tcp "$INET:80"; then
		echo "nginx did not start: $(cat "$NGX/error.log" "$NGX/stdout.log" 2>/dev/null)" >&2
		return 1
	fi
}

# The distinct client addresses in nginx's access log, one a line.
srv_log_addrs() { awk '{print $1}' "$NGX/access.log" 2>/dev/null | sort -u; }

# srv_log_only_gw: the log has entries and every one is from the gateway.
srv_log_only_gw() { [[ $(srv_log_addrs) == "$WAN_GW" ]]; }

# listening NS tcp|udp ADDR:PORT
listening() {
	local opt=-Hltn
	[[ $2 == udp ]] && opt=-Hlun
	nsx "$1" ss $opt "src $3" | grep -q .
}

# srv_udp_echo [PORT]: UDP echo on 198.51.100.1 (default port 7).
srv_udp_echo() {
	local port=${1:-7}
	lab_bg srv "$LAB_TMP/udpecho$port.log" socat -T 3 \
		UDP4-RECVFROM:"$port",bind=$INET,fork EXEC:cat
	wait_until 5 listening srv udp "$INET:$port"
}

# ftp_server NS NAME ADDR [CONFIG LINE...]: vsftpd on ADDR:21 (or the
# listen_port given) serving $LAB_TMP/ftproot anonymously, passive mode on
# unless a line says pasv_enable=NO; its protocol log is $LAB_TMP/NAME.log.
ftp_server() {
	local n=$1 name=$2 a=$3 conf=$LAB_TMP/$2.conf port=21 l
	mkdir -p "$LAB_TMP/ftproot" "$LAB_TMP/empty"
	shift 3
	cat > "$conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$a
anonymous_enable=YES
anon_root=$LAB_TMP/ftproot
no_anon_password=YES
local_enable=NO
write_enable=NO
port_enable=YES
connect_from_port_20=NO
secure_chroot_dir=$LAB_TMP/empty
vsftpd_log_file=$LAB_TMP/$name.log
xferlog_enable=YES
dual_log_enable=YES
log_ftp_protocol=YES
seccomp_sandbox=NO
run_as_launching_user=YES
EOF
	[[ " $* " == *" pasv_enable=NO "* ]] || echo pasv_enable=YES >> "$conf"
	for l; do
		echo "$l" >> "$conf"
		[[ $l == listen_port=* ]] && port=${l#listen_port=}
	done
	lab_bg "$n" "$LAB_TMP/$name.out" vsftpd "$conf"
	if ! wait_until 5 listening "$n" tcp "$a:$port"; then
		echo "  # vsftpd $name did not start: $(cat "$LAB_TMP/$name.out")" >&2
		return 1
	fi
}

# srv_tcp_echo [PORT]: TCP echo (tcpecho.py) on 198.51.100.1 (default port
# 9000).
srv_tcp_echo() {
	local port=${1:-9000}
	lab_bg srv "$LAB_TMP/tcpecho$port.log" "$PY" "$LAB_REPO/tests/lab/tcpecho.py" \
		$INET "$port"
	wait_until 5 listening srv tcp "$INET:$port"
}

# check_transfers PREFIX: the 4 MiB file downloaded by each client and 2 MiB
# echoed for cli1 by srv arrive intact (needs srv_nginx, srv_tcp_echo 9000).
check_transfers() {
	local c
	for c in cli1 cli2; do
		check_download "${1}_download_$c" $c
	done
	check_echo "${1}_echo_2mib" cli1 $INET 9000 2097152 120 || echo_diagnostics
}

# check_hello NAME NS [CURL_ARG...]: PASS NAME when NS fetches srv's
# hello.txt (srv_nginx) as it is.
check_hello() {
	local name=$1 ns=$2 body
	shift 2
	body=$(fetch "$ns" http://$INET/hello.txt "$@")
	check "$name" "curl${*:+ $*} from $ns got '$body'" \
		test "$body" == "hello from srv"
}

# check_udp_echo NAME NS SPORT [DST [PORT]]: PASS NAME when the UDP echo
# at DST:PORT ($INET:7, srv_udp_echo) answers NS's datagram from SPORT.
check_udp_echo() {
	local out
	out=$(udp_echo "$2" "${4:-$INET}" "${5:-7}" "$3")
	check "$1" "UDP echo from $2 port $3 answered '$out'" \
		test "$out" == "udp-echo-$3"
}

# download_start NS OUT: in the background, NS downloads srv's 4 MiB
# big.bin (srv_nginx) at 1 MiB/s, about 4 s, into OUT (curl's errors in
# OUT.err).  curl_pid is the download.
download_start() {
	nsx "$1" curl -sS --limit-rate 1M --max-time 30 -o "$2" \
		"http://$INET/big.bin" 2>"$2.err" &
	curl_pid=$!
}

# check_download_done NAME OUT: wait for download_start's download; PASS
# NAME when OUT is big.bin byte for byte.
check_download_done() {
	wait "$curl_pid"
	check "$1" "$(stat -c %s "$2" 2>&1) bytes of $(stat -c %s "$NGX/www/big.bin"), $(cat "$2.err")" \
		cmp -s "$2" "$NGX/www/big.bin"
}

# udp_probe_start NS SPORT SECONDS INTERVAL_MS OUT: in the background, NS
# sends a numbered datagram from SPORT to srv's UDP echo ($INET:7, which
# srv_udp_echo starts) every INTERVAL_MS for SECONDS (udpprobe.py probe);
# its JSON result goes to OUT.  udp_pid is the probe.
udp_probe_start() {
	nsx "$1" "$PY" "$LAB_REPO/tests/lab/udpprobe.py" probe $INET 7 "$3" "$4" \
		--sport "$2" > "$5" &
	udp_pid=$!
}

# check_udp_probe NAME OUT [LOST]: wait for udp_probe_start's probe; PASS
# NAME when it sent and at most LOST (0) of its datagrams went unanswered.
check_udp_probe() {
	local r sent answered
	wait "$udp_pid"
	r=$(jq_py '"%d %d" % (d["sent"], d["answered"])' < "$2" 2>/dev/null)
	read -r sent answered <<<"$r"
	note "UDP probe: ${sent:-?} sent, ${answered:-?} answered"
	[[ $sent =~ ^[0-9]+$ && $answered =~ ^[0-9]+$ ]] || sent=0
	check "$1" "the probe says: $(cat "$2")" \
		test "$sent" -gt 0 -a $((sent - ${answered:-0})) -le "${3:-0}"
}

# transfers_start SPORT: cli1's slow download (about 4 s, download_start)
# and a UDP datagram every 20 ms for 6 s from SPORT (udp_probe_start),
# each numbered, with a list of cli1's connections to srv once they run;
# transfers_check PREFIX: the same connections after, on the same
# external ports, the download byte-exact, no datagram lost.  What an
# upgrade or a failover must carry through.
transfers_start() {
	download_start cli1 "$LAB_TMP/slow.bin"
	udp_probe_start cli1 "$1" 6 20 "$LAB_TMP/udpstream.out"
	sleep 1.5
	transfer_conns > "$LAB_TMP/conns.before"
}
# Protocol, inside, outside and remote of cli1's connections to srv.
transfer_conns() {
	bm conns wan0 2>/dev/null | grep -E "10\.0\.1\.2:[0-9]+ .*$INET:(7|80)\b" |
		awk '{print $1, $4, $6, $8}' | sort
}
transfers_check() {
	transfer_conns > "$LAB_TMP/conns.after"
	check "$1_conns_kept" "before: $(cat "$LAB_TMP/conns.before"); after: $(cat "$LAB_TMP/conns.after")" \
		eval '[[ $(wc -l < "$LAB_TMP/conns.before") -ge 2 ]] && cmp -s "$LAB_TMP/conns.before" "$LAB_TMP/conns.after"'
	check_download_done "$1_download_byte_exact" "$LAB_TMP/slow.bin"
	check_udp_probe "$1_udp_nothing_lost" "$LAB_TMP/udpstream.out"
}

# check_download NAME NS [SECONDS]: PASS NAME when NS downloads srv's 4 MiB
# big.bin (srv_nginx) byte for byte within SECONDS (30).
check_download() {
	local got want
	want=$(sha256sum < "$NGX/www/big.bin")
	got=$(fetch "$2" http://$INET/big.bin --max-time "${3:-30}" | sha256sum)
	check "$1" "4 MiB download from $2 differs" test "$got" == "$want"
}

# check_echo NAME NS ADDR PORT BYTES [SECONDS [IDLE]]: PASS NAME when BYTES
# random bytes sent from NS to the TCP echo server at ADDR:PORT come back
# the same within SECONDS (30), none of its moments idle longer than IDLE
# (10) seconds.  On failure its status is 1 and the message says how much
# came back, socat's status and where the bytes first differ.
check_echo() {
	local name=$1 in=$LAB_TMP/$1.in out=$LAB_TMP/$1.out err=$LAB_TMP/$1.err
	local idle=${7:-10} rc
	head -c "$5" /dev/urandom > "$in"
	nsx "$2" timeout "${6:-30}" socat -T "$idle" -t "$idle" STDIO \
		TCP4:"$3":"$4",connect-timeout=3,shut-down \
		< "$in" > "$out" 2> "$err"
	rc=$?
	check "$name" "$5 bytes echoed by $3:$4 differ: $(stat -c %s "$out") bytes back, socat status $rc, first difference at $(cmp "$in" "$out" 2>&1 | head -n 1) $(cat "$err")" \
		cmp -s "$in" "$out"
}

# check_logged NAME FILE ERE [SECONDS [WHY]]: PASS NAME when a line of
# FILE matches the extended regular expression ERE within SECONDS (5);
# else FAIL NAME with WHY (no line matching ERE) and FILE's last lines.
check_logged() {
	if wait_until "${4:-5}" grep -Eq -- "$3" "$2"; then
		pass "$1"
		return 0
	fi
	fail "$1" "${5:-no line matching '$3'} in $(basename "$2"), which ends: $(tail -n 20 "$2" 2>&1 | tr '\n' '|')"
	return 1
}

# check_ctl_log NAME ERE [SECONDS]: check_logged on wan0's controller log.
check_ctl_log() {
	check_logged "$1" "$LAB_TMP/ctl-wan0.log" "$2" "${3:-5}"
}

# check_counter NAME COUNTER OP N: PASS NAME when bpfmasq's COUNTER (of
# wan0) satisfies `test COUNTER OP N` (-gt, -ge, -eq, -le), noting its
# value; SKIP under LAB_NAT=nft.  The status says whether it held.
check_counter() {
	local -A says=([-gt]="more than " [-ge]="at least " [-le]="at most ")
	local n
	if ! is_bpfmasq; then
		skip "$1" "LAB_NAT=nft"
		return 0
	fi
	n=$(bm_stat "$2")
	check "$1" "$2=$n, expected ${says[$3]:-}$4" test "$n" "$3" "$4" &&
		note "$2=$n"
}

# echo_diagnostics: what a stalled echo left behind (bpfmasq's non-zero
# counters, the server's sockets, the veths' packet and drop counters).
echo_diagnostics() {
	local n
	is_bpfmasq && bm stats wan0 2>&1 | grep -v ' 0$' | sed 's/^/  # stats: /'
	nsx srv ss -tni "( sport = :9000 )" 2>&1 | sed 's/^/  # srv: /'
	for n in gw sw; do
		nsx $n ip -s link 2>&1 | grep -A7 -E '^[0-9]+: (lan0|wan0|p[0-9])' |
			sed "s/^/  # $n: /"
	done
}

# ---- clients -------------------------------------------------------------

# fetch NS URL [CURL OPTS...]: body on stdout, bounded.
fetch() {
	local n=$1 url=$2
	shift 2
	nsx "$n" curl -sS --connect-timeout 3 --max-time 20 "$@" "$url"
}

# udp_echo NS DST PORT [SPORT]: send one datagram, print the answer (2 s).
udp_echo() {
	nsx "$1" "$PY" - "$2" "$3" "${4:-0}" <<'EOF'
import socket, sys
dst, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", sport))
s.settimeout(2)
msg = b"udp-echo-%d" % sport
for _ in range(3):
    s.sendto(msg, (dst, port))
    try:
        data, _ = s.recvfrom(2048)
    except socket.timeout:
        continue
    sys.stdout.write(data.decode())
    sys.exit(0 if data == msg else 1)
sys.exit(1)
EOF
}

# tcp_connects NS DST PORT: true when a TCP connection opens within 2 s.
tcp_connects() {
	nsx "$1" "$PY" - "$2" "$3" <<'EOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
EOF
}

# ---- bpfmasq -------------------------------------------------------------

# bm_up IFNAME [ARGS...]: `bpfmasq up` with its log in the lab's temp dir;
# output goes to files (a controller that kept our stdout open must not
# hang a $(...)); prints the CLI's stderr on failure.
bm_up() {
	local ifname=$1 rc
	shift
	bm up "$ifname" --log "$LAB_TMP/ctl-$ifname.log" "$@" \
		>"$LAB_TMP/up.out" 2>"$LAB_TMP/up.err"
	rc=$?
	if ((rc == 0)); then
		LAB_UP+=("$ifname")
	else
		echo "  # bpfmasq up $ifname $* failed ($rc): $(cat "$LAB_TMP/up.err")" >&2
	fi
	return $rc
}

# jq_py EXPR: evaluate a Python expression on the JSON on stdin (as `d`).
jq_py() {
	"$PY" -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list, bool)) or r is None else r)' "$1"
}

# bm_ctl_pid [IFNAME]: controller_pid from `bpfmasq status -j`.
bm_ctl_pid() {
	bm_json status "${1:-wan0}" | jq_py '(d[0] if isinstance(d, list) else d).get("controller_pid", 0)'
}

# nat_up [ARGS...]: masquerade on gw's wan0: bpfmasq, or nftables when
# LAB_NAT=nft (with the forward filter a masquerading router has).
nat_up() {
	if [[ $LAB_NAT == nft ]]; then
		nsx gw nft -f - <<'EOF'
table ip bmlab {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
	chain lab_forward {
		type filter hook forward priority filter;
		iifname "wan0" ct state new drop
	}
}
EOF
		return
	fi
	bm_up wan0 "$@"
}

# ---- the ALGs (FTP and IRC tests) ----

# stats_named PREFIX [IFNAME [nonzero]]: "name=value" of every counter of
# IFNAME (wan0) whose name starts with PREFIX; with "nonzero", only those
# that moved.  For a failure's context.
stats_named() {
	bm_json stats "${2:-wan0}" | "$PY" -c 'import json, sys
prefix, nonzero = sys.argv[1], sys.argv[2] == "nonzero"
def walk(d):
    if isinstance(d, dict):
        for k, v in d.items():
            if k.startswith(prefix) and isinstance(v, int):
                if v or not nonzero:
                    yield "%s=%d" % (k, v)
            else:
                yield from walk(v)
    elif isinstance(d, list):
        for v in d:
            yield from walk(v)
print(" ".join(walk(json.load(sys.stdin))))' "$1" "${3:-}"
}

# alg_stats: every alg_* counter, for a failure's context.
alg_stats() { stats_named alg_; }

# alg_offload_host NS ADDR: an inside host NS (ADDR/24 on its eth0) on a
# bridge in gw (acbr0, 10.0.3.1/24; its port is "ac" NS), as a container on
# a host.  Its veth keeps the checksum offload a veth has (tx on), so its
# TCP segments reach the gateway CHECKSUM_PARTIAL: the checksum field holds
# only the pseudo-header sum.  False when the offload is not on after all.
# The gateway's names start with "ac": other lab runs on the machine use
# br0 and the like, and bpfmasq keeps state under /run/bpfmasq/IFNAME.
alg_offload_host() {
	local n=$1 a=$2
	if ! nsx gw ip link show acbr0 >/dev/null 2>&1; then
		nsx gw ip link add acbr0 type bridge stp_state 0 || return 1
		addr gw acbr0 10.0.3.1/24
		nsx gw ip link set acbr0 up
	fi
	ns_add "$n" || return 1
	veth "$n" eth0 gw "ac$n" || return 1
	nsx gw ip link set "ac$n" master acbr0
	addr "$n" eth0 "$a/24"
	nsx "$n" ip route add default via 10.0.3.1
	nsx "$n" ethtool -k eth0 | grep -q '^tx-checksumming: on'
}

# pending_expectations [ERE]: EXPECT rows of `bpfmasq conns` (to inside
# endpoints matching ERE).
pending_expectations() {
	bm conns wan0 2>/dev/null | grep EXPECT | grep -cE "inside ${1:-.}"
}

# is_bpfmasq: checks of bpfmasq's own interface only make sense with it.
is_bpfmasq() { [[ $LAB_NAT != nft ]]; }

# lab_need_bpfmasq: FAIL early (not hang) when the binary is not built.
lab_need_bpfmasq() {
	if is_bpfmasq && [[ ! -x $BPFMASQ ]]; then
		fail "$LAB_TEST" "$BPFMASQ not built (run make)"
		exit 1
	fi
}

# lab_bpfmasq_only NAME [WHY]: a test of bpfmasq itself: lab_need_bpfmasq,
# and SKIP test NAME (ending it) when LAB_NAT=nft runs the lab.
lab_bpfmasq_only() {
	lab_need_bpfmasq
	if ! is_bpfmasq; then
		skip "$1" "${2:-needs bpfmasq (LAB_NAT=nft)}"
		lab_done
	fi
}

# lab_build PREFIX TOPOLOGY [SERVER...]: build the lab TOPOLOGY
# (lab_standard, lab_containers, lab_routed) and start each SERVER on srv:
# srv_nginx, srv_udp_echo[=PORT], srv_tcp_echo[=PORT].  A failure is FAIL
# PREFIX_topology, PREFIX_nginx, PREFIX_udp_echo or PREFIX_tcp_echo and
# ends the test.
lab_build() {
	local prefix=$1 server start port
	"$2" || { fail "${prefix}_topology" "could not build the lab"; exit 1; }
	shift 2
	for server in "$@"; do
		start=${server%%=*}
		port=
		[[ $server == *=* ]] && port=${server#*=}
		case $start in
		srv_nginx|srv_udp_echo|srv_tcp_echo) ;;
		*)
			fail "${prefix}_topology" "lab_build: no server '$server'"
			exit 1
			;;
		esac
		# shellcheck disable=SC2086 # no port: the server's default
		$start $port || {
			fail "${prefix}_${start#srv_}" "${start#srv_} did not start on srv"
			exit 1
		}
	done
}

# lab_nat_up PREFIX [ARGS...]: nat_up ARGS; a failure is FAIL PREFIX_up and
# ends the test.
lab_nat_up() {
	local prefix=$1
	shift
	nat_up "$@" || {
		fail "${prefix}_up" "the NAT did not come up ($LAB_NAT up wan0${*:+ $*})"
		exit 1
	}
}

# lab_has_forward: bpfmasq, with its forward command, runs the gateway.
lab_has_forward() { is_bpfmasq && "$BPFMASQ" help 2>&1 | grep -q 'forward add'; }

# lab_need_forward NAME: SKIP test NAME (and end it) unless lab_has_forward;
# FAIL it early when bpfmasq is not built (lab_need_bpfmasq).
lab_need_forward() {
	lab_bpfmasq_only "$1" "LAB_NAT=nft: uses bpfmasq forward"
	if ! lab_has_forward; then
		skip "$1" "this bpfmasq has no 'forward' command yet"
		lab_done
	fi
}

# udp_peer_server NS SEP: a UDP server on 0.0.0.0:5353 in NS that answers
# every datagram with whom it came from, "peer ADDR<SEP>PORT".
udp_peer_server() {
	cat >"$LAB_TMP/udppeer.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
sep = sys.argv[1].encode()
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"peer " + peer[0].encode() + sep + b"%d" % peer[1], peer)
EOF
	lab_bg "$1" "$LAB_TMP/udppeer-$1.log" "$PY" "$LAB_TMP/udppeer.py" "$2"
}

# udp_ask NS DST PORT SEP [SRC SPORT]: from NS (bound to SRC:SPORT when
# given) ask DST:PORT "who" over UDP, up to 3 times 1 s apart; prints the
# answer and "from ADDR<SEP>PORT", where it came from.  False when none.
udp_ask() {
	nsx "$1" "$PY" - "$2" "$3" "$4" "${5:-}" "${6:-0}" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[4]:
    s.bind((sys.argv[4], int(sys.argv[5])))
s.settimeout(1)
for _ in range(3):
    s.sendto(b"who", (sys.argv[1], int(sys.argv[2])))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    print(data.decode(), "from " + peer[0] + sys.argv[3] + "%d" % peer[1])
    sys.exit(0)
sys.exit(1)
EOF
}

# show_ctl_log: the controller's log, for a failure's context.
show_ctl_log() {
	local f
	for f in "$LAB_TMP"/ctl-*.log; do
		[[ -s $f ]] && sed 's/^/  # ctl: /' "$f" | tail -n 20
	done
	return 0
}

# skel_objects: "map NAME" and "prog NAME" for every map and program of the
# BPF skeleton (what `up` loads and pins).
skel_objects() {
	sed -n -e 's/^\t\tstruct bpf_map \*\([a-z_0-9]*\);$/map \1/p' \
		-e 's/^\t\tstruct bpf_program \*\([a-z_0-9]*\);$/prog \1/p' \
		"$LAB_REPO/build/bpfmasq.skel.h"
}

# check_pins NAME PID FILE [PROG...]: every map and program of the
# skeleton but the PROGs named (not loaded in this configuration) is
# pinned under /sys/fs/bpf/bpfmasq/wan0 of controller PID's mount
# namespace (`ip netns exec` gives each command its own bpffs), as itself;
# FILE gets "name:id" of each pin, for a later comparison.
check_pins() {
	local name=$1 pid=$2 file=$3 kind obj dir bad= got
	shift 3
	: >"$file"
	dir=/proc/$pid/root/sys/fs/bpf/bpfmasq/wan0
	while read -r kind obj; do
		[[ " $* " == *" $obj "* ]] && continue
		if [[ ! -e $dir/$obj ]]; then
			bad+=" $obj"
			continue
		fi
		got=$(bpftool -j "$kind" show pinned "$dir/$obj" 2>/dev/null |
			jq_py '"%s:%s" % (d["name"], d["id"])')
		# Names may be cut to 15 characters; .rodata gets a prefix.
		if [[ ${got%%:*} != "$obj" && ${got%%:*} != "${obj:0:15}" &&
		      ${got%%:*} != *."$obj" ]]; then
			bad+=" $obj(is ${got%%:*})"
			continue
		fi
		echo "$obj:${got#*:}" >>"$file"
	done < <(skel_objects)
	if [[ -n $bad ]]; then
		fail "$name" "not pinned (or pinned as something else) in $dir:$bad"
		return 1
	fi
	pass "$name"
}
