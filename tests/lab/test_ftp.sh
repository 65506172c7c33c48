#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# FTP ALG: a real vsftpd outside, real clients inside.  Active
# mode (PORT, EPRT) works through the masquerade because the controller
# rewrites the announced address to the gateway's and installs a one-shot
# expectation; passive mode (EPSV, PASV) keeps working; the server only
# ever sees the gateway.  Also: lftp in active mode, two clients at once,
# loss on the control connection after rewrites (retransmissions and SACK
# translated, checked from a capture), a forged PORT left alone, an FTP
# server behind a port forward (227/229 rewritten), an inside client with
# checksum offload on (partial checksums) whose forged and malformed PORTs
# and the command behind them get their replies, --ftp-ports and
# --no-alg ftp.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ftp "LAB_NAT=nft: this test checks bpfmasq's ALG and counters"
for t in vsftpd lftp curl tcpdump nft; do
	if ! command -v $t >/dev/null; then
		fail ftp_deps "$t not installed (scripts/deps.sh)"
		exit 1
	fi
done

HERE=$(cd "$(dirname "$0")" && pwd)
lab_build ftp lab_standard

# ---- files and servers ---------------------------------------------------

ROOT=$LAB_TMP/ftproot
mkdir -p "$ROOT" "$LAB_TMP/empty" "$LAB_TMP/dl"
head -c 307200 /dev/urandom > "$ROOT/small.bin"
head -c 1048576 /dev/urandom > "$ROOT/mid.bin"
for i in 1 2 3 4; do
	head -c 2097152 /dev/urandom > "$ROOT/big$i.bin"
done
SMALL_SHA=$(sha256sum < "$ROOT/small.bin" | cut -d' ' -f1)

# The distinct client addresses in a vsftpd log.
ftp_clients() { grep -o 'Client "[^"]*"' "$LAB_TMP/$1.log" 2>/dev/null | sort -u | tr -d '"' | sed 's/Client //'; }

# ftp_get NS URL OUT [CURL OPTS...]: download, bounded; curl's stderr
# (with -v: the dialogue) in OUT.err.
ftp_get() {
	local n=$1 url=$2 out=$3
	shift 3
	rm -f "$out"
	nsx "$n" curl -sS --connect-timeout 3 --max-time 30 "$@" -o "$out" \
		"$url" 2>"$out.err"
}

# same FILE DOWNLOADED: byte for byte (sha256).
same() {
	[[ -f $2 ]] && [[ $(sha256sum < "$1") == "$(sha256sum < "$2")" ]]
}

# stat_delta NAME BEFORE: how much counter NAME grew since BEFORE.
stat_delta() { echo $(($(bm_stat "$1") - $2)); }



# lossy NS PCT MATCH...: drop PCT% of the TCP segments that enter NS and
# match MATCH (nft), SYNs excepted (loss there only costs seconds of
# connect timeout, not what is tested).  netem is not in this kernel.
# Every (100/PCT)th segment, not a random PCT%: random loss now and then
# drops one segment and its retransmissions five or six times in a row,
# and TCP's backoff (0.2 s, doubling) then outwaits the test (seen once in
# CI at 20%).
lossy() {
	local n=$1 pct=$2
	shift 2
	nsx "$n" nft -f - <<EOF
table ip bmloss {
	chain pre {
		type filter hook prerouting priority raw;
		$* tcp flags & syn == 0 numgen inc mod $((100 / pct)) == 0 counter drop
	}
}
EOF
}
lossless() { nsx "$1" nft delete table ip bmloss 2>/dev/null; }
loss_drops() {
	nsx "$1" nft list table ip bmloss 2>/dev/null |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

ftp_server srv main $INET pasv_address=$INET ||
	{ fail ftp_vsftpd "vsftpd did not start on srv"; exit 1; }

check ftp_lab_needs_nat "an inside client fetched from srv without NAT" \
	eval '! ftp_get cli1 ftp://$INET/small.bin $LAB_TMP/dl/nonat --max-time 3'

lab_nat_up ftp
pass ftp_up

# ---- active and passive with curl ----------------------------------------

rw0=$(bm_stat alg_rewritten)
used0=$(bm_stat alg_expectations_used)

# NAME;CURL OPTIONS;WHAT CURL MUST HAVE SENT (its own view, before NAT)
while IFS=';' read -r name opts seen; do
	out=$LAB_TMP/dl/$name.bin
	# shellcheck disable=SC2086
	if ftp_get cli1 ftp://$INET/small.bin "$out" -v $opts &&
	   same "$ROOT/small.bin" "$out" &&
	   grep -qF "$seen" "$out.err"; then
		pass ftp_curl_$name
	else
		fail ftp_curl_$name "curl $opts: $(grep -E '^[<>] |curl:' "$out.err" | tail -n 6 | tr '\n' '|')"
	fi
done <<'EOF'
port;-P - --disable-eprt;> PORT 10,0,1,2,
eprt;-P -;> EPRT |1|10.0.1.2|
epsv;--ftp-pasv;> EPSV
pasv;--ftp-pasv --disable-epsv;> PASV
EOF

n=$(stat_delta alg_rewritten "$rw0")
m=$(stat_delta alg_expectations_used "$used0")
if ((n >= 2 && m >= 2)); then
	pass ftp_counters_active
else
	fail ftp_counters_active "alg_rewritten grew by $n, alg_expectations_used by $m (want >= 2 each)"
fi

# ---- lftp, active mode ---------------------------------------------------

# lftp_get NS DEBUG-LOG OUTDIR FILE...: active-mode download of FILEs over
# one control connection, lftp's debug log in DEBUG-LOG.
lftp_get() {
	local n=$1 dbg=$2 dir=$3
	shift 3
	rm -f "$dbg"
	mkdir -p "$dir"
	nsx "$n" timeout 90 lftp -c "set ftp:passive-mode off
set net:timeout 15
set net:max-retries 1
set net:reconnect-interval-base 1
set xfer:clobber on
set cmd:fail-exit yes
debug -o $dbg -t 9
open ftp://$INET
lcd $dir
get $*
bye" >"$dbg.out" 2>&1
}

if lftp_get cli1 "$LAB_TMP/lftp.debug" "$LAB_TMP/dl/lftp" small.bin &&
   same "$ROOT/small.bin" "$LAB_TMP/dl/lftp/small.bin"; then
	pass ftp_lftp_active
else
	fail ftp_lftp_active "lftp: $(tail -n 3 "$LAB_TMP/lftp.debug.out" | tr '\n' '|') debug: $(grep -E -- '--->|<---' "$LAB_TMP/lftp.debug" | tail -n 6 | tr '\n' '|')"
fi
if grep -qE -- '---> (PORT|EPRT) ' "$LAB_TMP/lftp.debug" &&
   ! grep -qE -- '---> (PASV|EPSV)' "$LAB_TMP/lftp.debug"; then
	pass ftp_lftp_no_passive_fallback
else
	fail ftp_lftp_no_passive_fallback "lftp sent: $(grep -oE -- '---> (PORT|EPRT|PASV|EPSV)' "$LAB_TMP/lftp.debug" | sort | uniq -c | tr '\n' ' ')"
fi

# ---- two inside clients in active mode at once --------------------------

# Rate-limited so the two transfers overlap (~2 s each).
for c in cli1 cli2; do
	ftp_get $c ftp://$INET/mid.bin "$LAB_TMP/dl/two-$c.bin" -v -P - \
		--limit-rate 512k &
	eval "pid_$c=$!"
done
ok=1
for c in cli1 cli2; do
	eval "wait \$pid_$c" || ok=0
	same "$ROOT/mid.bin" "$LAB_TMP/dl/two-$c.bin" || ok=0
done
if ((ok)); then
	pass ftp_two_clients_active
else
	fail ftp_two_clients_active "cli1: $(grep -E '^< 5|curl:' "$LAB_TMP/dl/two-cli1.bin.err" | tr '\n' '|') cli2: $(grep -E '^< 5|curl:' "$LAB_TMP/dl/two-cli2.bin.err" | tr '\n' '|')"
fi

# ---- what the server saw -------------------------------------------------

if [[ $(ftp_clients main) == "$WAN_GW" ]] &&
   grep -q '"PORT 192,0,2,1,' "$LAB_TMP/main.log" &&
   grep -qF '"EPRT |1|192.0.2.1|' "$LAB_TMP/main.log" &&
   ! grep -qE 'PORT 10,|EPRT \|1\|10\.' "$LAB_TMP/main.log"; then
	pass ftp_server_sees_only_gw
else
	fail ftp_server_sees_only_gw "clients in vsftpd's log: $(ftp_clients main | tr '\n' ' '); announced: $(grep -oE '"(PORT|EPRT) [^"]*"' "$LAB_TMP/main.log" | sort -u | head -n 4 | tr '\n' ' ')"
fi

# ---- a forged PORT is left alone ------------------------------------------

# cli1 announces cli2's address (a host that listens on that port): the
# command must reach the server as sent, and nothing may be opened.
lab_bg cli2 "$LAB_TMP/victim.log" socat TCP4-LISTEN:5001,reuseaddr PIPE
wait_until 5 listening cli2 tcp 0.0.0.0:5001
forged0=$(bm_stat alg_forged_left_alone)
rw0=$(bm_stat alg_rewritten)
nsx cli1 timeout 20 "$PY" "$HERE/ftpctl.py" forged $INET \
	"PORT 10,0,1,3,19,137" "EPRT |1|10.0.1.99|5002|" >"$LAB_TMP/forged.out" 2>&1
f=$(stat_delta alg_forged_left_alone "$forged0")
r=$(stat_delta alg_rewritten "$rw0")
if grep -q '"PORT 10,0,1,3,19,137"' "$LAB_TMP/main.log" &&
   grep -q '"EPRT |1|10.0.1.99|5002|"' "$LAB_TMP/main.log" &&
   grep -q '^PORT 10,0,1,3,19,137 -> 500 ' "$LAB_TMP/forged.out" &&
   grep -q '^NOOP -> 200' "$LAB_TMP/forged.out"; then
	pass ftp_forged_reaches_server_unchanged
else
	fail ftp_forged_reaches_server_unchanged "client: $(tr '\n' '|' <"$LAB_TMP/forged.out") server: $(grep -oE '"(PORT|EPRT) [^"]*"' "$LAB_TMP/main.log" | tail -n 2 | tr '\n' ' ')"
fi
if ((f >= 2 && r == 0)) && [[ $(pending_expectations '10\.0\.1\.(3|99):') == 0 ]] &&
   ! tcp_connects srv $WAN_GW 5001; then
	pass ftp_forged_opens_nothing
else
	fail ftp_forged_opens_nothing "alg_forged_left_alone grew by $f (want 2), alg_rewritten by $r (want 0), conns: $(bm conns wan0 | grep EXPECT | tr '\n' '|') $(alg_stats)"
fi

# ---- commands pipelined behind a PORT --------------------------------------

# No loss: PORT (or EPRT), RETR and NOOPs sent back to back, each in its
# own segment, as a pipelining client does.  The segments behind the one
# being rewritten must reach the server after it and shifted by its length
# change (Linux's helper, inline, passes this).  Not tried: lftp with
# ftp:sync-mode off, which writes "...\r\nPORT ...\r\nRETR ...\r\n" in one
# segment: a PORT that does not start its segment is not inspected, by
# Linux's helper either (reference semantics).
# No autocorking at cli1: it would merge the writes into one segment
# whenever the previous one is still queued, and hide what is tested.
nsx cli1 sysctl -qw net.ipv4.tcp_autocorking=0
if nsx cli1 timeout 60 "$PY" "$HERE/ftpctl.py" stress pipelined $INET \
	10.0.1.2 small.bin "$SMALL_SHA" 4 >"$LAB_TMP/pipelined.out" 2>&1; then
	pass ftp_pipelined_after_port
else
	fail ftp_pipelined_after_port "$(grep -v 'sha ok, replies 200 150 226' "$LAB_TMP/pipelined.out" | head -n 2 | tr '\n' '|') server got: $(grep -aoE 'FTP command: Client "[^"]*", "[^"]*"' "$LAB_TMP/main.log" | sed 's/.*", //' | tail -n 4 | tr '\n' ' ')"
fi

# ---- loss on the control connection after rewrites ------------------------

# 1. A control connection losing 20% of its segments both ways, 16
# rewrites of different lengths, each PORT/EPRT followed (once answered)
# by pipelined RETR and NOOPs: every reply in order, every file intact,
# and a capture at the client proves that each ACK and SACK the server
# sent came back in the client's sequence space.
lossy srv 20 ip saddr $WAN_GW tcp dport 21
lossy cli1 20 tcp sport 21
pcap=$LAB_TMP/ctl.pcap
# Not lab_bg: SIGINT must reach tcpdump itself (it flushes and exits).
ip netns exec "$(ns cli1)" tcpdump -i eth0 -nn -U -s 200 -w "$pcap" \
	tcp port 21 </dev/null >"$LAB_TMP/tcpdump.log" 2>&1 &
tcpdump_pid=$!
LAB_PIDS+=("$tcpdump_pid")
wait_until 5 grep -q listening "$LAB_TMP/tcpdump.log"
rw0=$(bm_stat alg_rewritten)
t0=$(date +%s)
if nsx cli1 timeout 120 "$PY" "$HERE/ftpctl.py" stress sync $INET 10.0.1.2 \
	small.bin "$SMALL_SHA" 16 >"$LAB_TMP/stress.out" 2>&1; then
	pass ftp_loss_control_pipelined
else
	fail ftp_loss_control_pipelined "$(grep -v 'sha ok, replies 200 150 226' "$LAB_TMP/stress.out" | head -n 4 | tr '\n' '|')"
fi
note "16 rounds in $(($(date +%s) - t0)) s; dropped: to srv $(loss_drops srv), to cli1 $(loss_drops cli1); rewrites $(stat_delta alg_rewritten "$rw0")"
sleep 0.5
kill -INT $tcpdump_pid 2>/dev/null
wait_until 5 eval '! alive $tcpdump_pid'
sc=$("$PY" "$HERE/seqcheck.py" "$pcap" 10.0.1.2 21)
note "capture at cli1: $sc"
read -r retrans sacks bad < <(sed -n '1s/.*retransmitted \([0-9]*\).*sack_blocks \([0-9]*\) bad \([0-9]*\).*/\1 \2 \3/p' <<<"$sc")
if [[ $bad == 0 ]] && ((retrans > 0 && sacks > 0)); then
	pass ftp_loss_ack_sack_adjusted
elif [[ $bad == 0 ]]; then
	fail ftp_loss_ack_sack_adjusted "no retransmission or no SACK on the control connection: the loss did not test anything ($sc)"
else
	fail ftp_loss_ack_sack_adjusted "$sc"
fi
lossless srv
lossless cli1

# 2. Several MB in four files over one active-mode control connection,
# 5% loss on everything both ways (control and data).
lossy srv 5 ip saddr $WAN_GW
lossy cli1 5 ip saddr $INET
t0=$(date +%s)
if lftp_get cli1 "$LAB_TMP/lftp-big.debug" "$LAB_TMP/dl/big" \
	big1.bin big2.bin big3.bin big4.bin &&
   same "$ROOT/big1.bin" "$LAB_TMP/dl/big/big1.bin" &&
   same "$ROOT/big2.bin" "$LAB_TMP/dl/big/big2.bin" &&
   same "$ROOT/big3.bin" "$LAB_TMP/dl/big/big3.bin" &&
   same "$ROOT/big4.bin" "$LAB_TMP/dl/big/big4.bin" &&
   [[ $(grep -c -- '---> RETR' "$LAB_TMP/lftp-big.debug") == 4 ]] &&
   [[ $(grep -c -- '---- Connecting to' "$LAB_TMP/lftp-big.debug") == 1 ]] &&
   ! grep -qE -- '---> (PASV|EPSV)' "$LAB_TMP/lftp-big.debug"; then
	pass ftp_loss_8mb_active_one_control
else
	fail ftp_loss_8mb_active_one_control "lftp: $(tail -n 3 "$LAB_TMP/lftp-big.debug.out" | tr '\n' '|') RETRs $(grep -c -- '---> RETR' "$LAB_TMP/lftp-big.debug"), connects $(grep -c -- '---- Connecting to' "$LAB_TMP/lftp-big.debug")"
fi
note "8 MiB in $(($(date +%s) - t0)) s; dropped: to srv $(loss_drops srv), to cli1 $(loss_drops cli1)"
lossless srv
lossless cli1

# ---- an FTP server behind a port forward: 227 and 229 rewritten ---------

# vsftpd on cli2 announces its own private address in 227 (no
# pasv_address) and ports 40000-40009; a client outside sees the gateway's
# address and an expectation takes its data connection in.
ftp_server cli2 inside 10.0.1.3 pasv_min_port=40000 pasv_max_port=40009 ||
	{ fail ftp_forward_vsftpd "vsftpd did not start on cli2"; }
if bm forward add wan0 tcp 21 10.0.1.3:21 >"$LAB_TMP/fwd.out" 2>&1; then
	while IFS=';' read -r name opts seen; do
		out=$LAB_TMP/dl/fwd-$name.bin
		# --no-ftp-skip-pasv-ip: curl connects to what the 227 says.
		# shellcheck disable=SC2086
		if ftp_get srv ftp://$WAN_GW/small.bin "$out" -v --ftp-pasv \
			--no-ftp-skip-pasv-ip $opts &&
		   same "$ROOT/small.bin" "$out" &&
		   grep -qE "$seen" "$out.err"; then
			pass ftp_forward_$name
		else
			fail ftp_forward_$name "curl $opts: $(grep -E '^[<>] |curl:|Connecting' "$out.err" | tail -n 6 | tr '\n' '|')"
		fi
	done <<-'EOF'
	pasv;--disable-epsv;^< 227 .*\(192,0,2,1,
	epsv;--epsv;^< 229 .*\(\|\|\|[0-9]+\|\)
	EOF
	if [[ $(ftp_clients inside) == "$WAN_SRV" ]]; then
		pass ftp_forward_server_sees_client
	else
		fail ftp_forward_server_sees_client "inside vsftpd saw: $(ftp_clients inside | tr '\n' ' ')"
	fi
	bm forward del wan0 tcp 21 >/dev/null 2>&1
else
	fail ftp_forward_add "$(cat "$LAB_TMP/fwd.out")"
fi

# ---- an inside client whose segments carry a partial checksum -------------

# acftp sits on a bridge in the gateway with its veth's checksum offload on
# (a container): its segments reach tc egress with only the pseudo-header
# sum in the TCP checksum field.  A genuine PORT (rewritten), then forged
# and malformed ones that the controller sends on unchanged: each must get
# its reply, and so must the NOOP behind them (a segment sent on with the
# partial sum is never acknowledged and the session is dead from there).
if alg_offload_host acftp 10.0.3.2; then
	forged0=$(bm_stat alg_forged_left_alone)
	bad0=$(bm_stat alg_malformed_left_alone)
	nsx acftp timeout 20 "$PY" "$HERE/ftpctl.py" forged $INET \
		"PORT 10,0,3,2,19,140" "PORT 10,0,1,3,19,137" \
		"PORT 10,0,3,2,300,1" "EPRT |1|10.0.1.99|5002|" \
		>"$LAB_TMP/acftp.out" 2>&1
	f=$(stat_delta alg_forged_left_alone "$forged0")
	m=$(stat_delta alg_malformed_left_alone "$bad0")
	if grep -q '^PORT 10,0,3,2,19,140 -> 200 ' "$LAB_TMP/acftp.out" &&
	   grep -q '^PORT 10,0,1,3,19,137 -> 500 ' "$LAB_TMP/acftp.out" &&
	   grep -q '^PORT 10,0,3,2,300,1 -> [0-9]' "$LAB_TMP/acftp.out" &&
	   grep -q '^EPRT |1|10.0.1.99|5002| -> [0-9]' "$LAB_TMP/acftp.out" &&
	   grep -q '^NOOP -> 200' "$LAB_TMP/acftp.out" &&
	   grep -q '"PORT 10,0,1,3,19,137"' "$LAB_TMP/main.log" &&
	   ((f == 2 && m == 1)); then
		pass ftp_offload_left_alone_and_next_arrive
	else
		fail ftp_offload_left_alone_and_next_arrive "client: $(tr '\n' '|' <"$LAB_TMP/acftp.out") alg_forged_left_alone grew by $f (want 2), alg_malformed_left_alone by $m (want 1)"
	fi
else
	fail ftp_offload_host "no inside host with checksum offload on a bridge"
fi

# ---- --ftp-ports ----------------------------------------------------------

ftp_server srv alt $INET pasv_address=$INET listen_port=2121 ||
	fail ftp_ports_vsftpd "vsftpd did not start on port 2121"
bm down wan0 >/dev/null 2>&1
LAB_UP=()
if bm_up wan0 --ftp-ports 2121; then
	if ftp_get cli1 ftp://$INET:2121/small.bin "$LAB_TMP/dl/alt.bin" -P - &&
	   same "$ROOT/small.bin" "$LAB_TMP/dl/alt.bin"; then
		pass ftp_ports_2121_active
	else
		fail ftp_ports_2121_active "$(tail -n 2 "$LAB_TMP/dl/alt.bin.err" | tr '\n' '|')"
	fi
	# Port 21 is no longer a control port: its PORT goes out untouched.
	if ! ftp_get cli1 ftp://$INET/small.bin "$LAB_TMP/dl/not21.bin" -P - \
		--disable-eprt; then
		pass ftp_ports_21_not_inspected
	else
		fail ftp_ports_21_not_inspected "active mode on port 21 worked with --ftp-ports 2121"
	fi
else
	fail ftp_ports_up "bpfmasq up wan0 --ftp-ports 2121 failed"
fi

# ---- --no-alg ftp ---------------------------------------------------------

bm down wan0 >/dev/null 2>&1
LAB_UP=()
if bm_up wan0 --no-alg ftp; then
	ftp_get cli1 ftp://$INET/small.bin "$LAB_TMP/dl/noalg-port.bin" -v -P - \
		--disable-eprt
	if ! same "$ROOT/small.bin" "$LAB_TMP/dl/noalg-port.bin" &&
	   grep -q '^< 500 Illegal PORT command' "$LAB_TMP/dl/noalg-port.bin.err"; then
		pass ftp_noalg_active_refused
	else
		fail ftp_noalg_active_refused "curl -P - said: $(grep -E '^< [245]|curl:' "$LAB_TMP/dl/noalg-port.bin.err" | tail -n 3 | tr '\n' '|')"
	fi
	if ftp_get cli1 ftp://$INET/small.bin "$LAB_TMP/dl/noalg-pasv.bin" --ftp-pasv &&
	   same "$ROOT/small.bin" "$LAB_TMP/dl/noalg-pasv.bin"; then
		pass ftp_noalg_passive_works
	else
		fail ftp_noalg_passive_works "$(tail -n 2 "$LAB_TMP/dl/noalg-pasv.bin.err" | tr '\n' '|')"
	fi
	check_counter ftp_noalg_nothing_to_controller \
		alg_segments_to_controller -eq 0
else
	fail ftp_noalg_up "bpfmasq up wan0 --no-alg ftp failed"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
