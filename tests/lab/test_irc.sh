#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# IRC DCC ALG: a real IRC server (ngircd) outside, one client
# inside and one outside (tests/lab/ircpeer.py).  DCC SEND and CHAT
# offered from inside name the gateway's address and a port an outside
# peer can connect to; the file arrives byte for byte.  Forged offers and
# "\1DCC" in the middle of a message (CVE-2022-2663) pass unchanged and
# open nothing; several offers may be pending at once; after several
# rewrites of different lengths the session still carries ordinary
# messages intact both ways (sequence adjustment), also a message written
# right behind an offer; an interrupted SEND is resumed (RESUME and ACCEPT
# translated both ways); an inside host on a bridge in the gateway whose
# veth has checksum offload on (partial checksums): its offers, and the
# forged, malformed and CTCP messages left alone, arrive, and so does the
# message behind each; --no-alg irc leaves offers alone.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only irc "LAB_NAT=nft: this test checks bpfmasq's ALG and counters"
if ! command -v ngircd >/dev/null; then
	fail irc_deps "ngircd not installed (scripts/deps.sh)"
	exit 1
fi

HERE=$(cd "$(dirname "$0")" && pwd)
PEER=$HERE/ircpeer.py
IN_DEC=167772418	# 10.0.1.2, cli1
GW_DEC=3221225985	# 192.0.2.1, the gateway

lab_build irc lab_standard

# ngircd on 198.51.100.1:6667 only: no DNS, no ident, no PAM, no flood
# penalties (the test sends quickly), nothing but its own config.
IRCD=$LAB_TMP/ngircd
mkdir -p "$IRCD"
cat > "$IRCD/ngircd.conf" <<EOF
[Global]
	Name = irc.lab.test
	Info = bpfmasq lab
	Listen = $INET
	Ports = 6667
	MotdPhrase = lab
	HelpFile = $IRCD/none
[Limits]
	MaxPenaltyTime = 0
	PingTimeout = 300
	PongTimeout = 60
	MaxConnectionsIP = 0
[Options]
	DNS = no
	Ident = no
	PAM = no
	ScrubCTCP = no
[SSL]
	Ports =
EOF
lab_bg srv "$IRCD/ngircd.log" ngircd -n -f "$IRCD/ngircd.conf"
if ! wait_until 5 listening srv tcp $INET:6667; then
	fail irc_ngircd "ngircd did not start: $(tail -n 5 "$IRCD/ngircd.log" | tr '\n' '|')"
	exit 1
fi

lab_nat_up irc
pass irc_up

# irc_client NS NICK: start a client; its control socket is $LAB_TMP/NICK.sock.
irc_client() {
	lab_bg "$1" "$LAB_TMP/$2.log" "$PY" "$PEER" client "$2" $INET 6667 \
		"$LAB_TMP/$2.sock"
	wait_until 10 grep -qx registered "$LAB_TMP/$2.log"
}
# say NICK TEXT: send TEXT (with its CR LF) on NICK's connection.
say() { "$PY" "$PEER" ctl "$LAB_TMP/$1.sock" send "$2"; }
# heard NICK REGEX [SECONDS]: the next line NICK received matching REGEX.
heard() { "$PY" "$PEER" ctl "$LAB_TMP/$1.sock" wait "$2" "${3:-5}"; }
# ctcp TEXT: TEXT between the CTCP markers.
ctcp() { printf '\001%s\001' "$1"; }

irc_client srv outside ||
	{ fail irc_clients "outside client: $(cat "$LAB_TMP/outside.log")"; exit 1; }
irc_client cli1 inside ||
	{ fail irc_clients "inside client: $(cat "$LAB_TMP/inside.log")"; exit 1; }
pass irc_clients_registered

# offer_fields LINE: "ip port" of the DCC offer in a received PRIVMSG.
offer_fields() {
	sed -n 's/.*\x01DCC [A-Z]* [^ ]* \([0-9]*\) \([0-9]*\).*\x01$/\1 \2/p' <<<"$1"
}
# text_of LINE: what a received PRIVMSG says (after " :").
text_of() { sed 's/^:[^ ]* PRIVMSG [^ ]* ://' <<<"$1"; }


# ---- DCC SEND -------------------------------------------------------------

head -c 200000 /dev/urandom > "$LAB_TMP/file.bin"
size=$(stat -c %s "$LAB_TMP/file.bin")
rw0=$(bm_stat alg_rewritten)
used0=$(bm_stat alg_expectations_used)

lab_bg cli1 "$LAB_TMP/sendfile.log" "$PY" "$PEER" sendfile 10.0.1.2 5000 \
	"$LAB_TMP/file.bin"
wait_until 5 listening cli1 tcp 10.0.1.2:5000
say inside "PRIVMSG outside :$(ctcp "DCC SEND file.bin $IN_DEC 5000 $size")"$'\r\n'
line=$(heard outside 'PRIVMSG outside :\x01DCC SEND file\.bin ')
read -r ip port <<<"$(offer_fields "$line")"
if [[ $ip == "$GW_DEC" && $port =~ ^[0-9]+$ ]] && ((port > 0)); then
	pass irc_send_offer_names_gw
else
	fail irc_send_offer_names_gw "outside got: $(cat -v <<<"$line")"
fi
if [[ -n $port ]] &&
   nsx srv timeout 30 "$PY" "$PEER" getfile $WAN_GW "$port" "$size" \
	"$LAB_TMP/got.bin" >"$LAB_TMP/getfile.log" 2>&1 &&
   cmp -s "$LAB_TMP/file.bin" "$LAB_TMP/got.bin"; then
	pass irc_send_file_arrives
else
	fail irc_send_file_arrives "receiver: $(cat "$LAB_TMP/getfile.log") sender: $(cat "$LAB_TMP/sendfile.log")"
fi

# ---- DCC CHAT ---------------------------------------------------------------

# On a port in the NAT range: the ALG keeps the announced port when free.
lab_bg cli1 "$LAB_TMP/chatserve.log" "$PY" "$PEER" chatserve 10.0.1.2 62000 \
	"hello from inside"
wait_until 5 listening cli1 tcp 10.0.1.2:62000
say inside "PRIVMSG outside :$(ctcp "DCC CHAT chat $IN_DEC 62000")"$'\r\n'
line=$(heard outside 'PRIVMSG outside :\x01DCC CHAT chat ')
read -r ip port <<<"$(offer_fields "$line")"
if [[ $ip == "$GW_DEC" && -n $port ]]; then
	pass irc_chat_offer_names_gw
	[[ $port == 62000 ]] || note "announced port 62000 became $port"
else
	fail irc_chat_offer_names_gw "outside got: $(cat -v <<<"$line")"
fi
got=$(nsx srv timeout 10 "$PY" "$PEER" chatconnect $WAN_GW "${port:-1}" \
	"hello from outside" 2>&1)
wait_until 5 eval '! alive ${LAB_PIDS[-1]}'
if [[ $got == "hello from inside" ]] &&
   grep -qx "hello from outside" "$LAB_TMP/chatserve.log"; then
	pass irc_chat_both_ways
else
	fail irc_chat_both_ways "outside got '$got', inside got '$(cat "$LAB_TMP/chatserve.log")'"
fi

n=$(($(bm_stat alg_rewritten) - rw0))
m=$(($(bm_stat alg_expectations_used) - used0))
if ((n >= 2 && m >= 2)); then
	pass irc_counters
else
	fail irc_counters "alg_rewritten grew by $n, alg_expectations_used by $m (want >= 2 each)"
fi

# ---- forged offers ----------------------------------------------------------

# cli1 offers cli2's address (cli2 listens there) and an unused one: the
# messages arrive as sent, no expectation exists, cli2 is unreachable.
lab_bg cli2 "$LAB_TMP/victim.log" socat TCP4-LISTEN:5001,reuseaddr PIPE
wait_until 5 listening cli2 tcp 0.0.0.0:5001
forged0=$(bm_stat alg_forged_left_alone)
rw0=$(bm_stat alg_rewritten)
ok=1
why=
for off in "DCC SEND victim.bin 167772419 5001 100" "DCC CHAT chat 167772515 5001"; do
	say inside "PRIVMSG outside :$(ctcp "$off")"$'\r\n'
	line=$(heard outside "PRIVMSG outside :\\x01${off%% [0-9]*}")
	if [[ $(text_of "$line") != "$(ctcp "$off")" ]]; then
		ok=0
		why+="sent '$off', outside got '$(cat -v <<<"$line")'; "
	fi
done
if ((ok)); then
	pass irc_forged_reaches_peer_unchanged
else
	fail irc_forged_reaches_peer_unchanged "$why"
fi
f=$(($(bm_stat alg_forged_left_alone) - forged0))
r=$(($(bm_stat alg_rewritten) - rw0))
if ((f == 2 && r == 0)) &&
   [[ $(pending_expectations '10\.0\.1\.(3|99):') == 0 ]] &&
   ! tcp_connects srv $WAN_GW 5001; then
	pass irc_forged_opens_nothing
else
	fail irc_forged_opens_nothing "alg_forged_left_alone grew by $f (want 2), alg_rewritten by $r (want 0), conns: $(bm conns wan0 | grep EXPECT | tr '\n' '|') $(alg_stats)"
fi

# ---- "\1DCC" not at the start of the text (CVE-2022-2663) ------------------

rw0=$(bm_stat alg_rewritten)
forged0=$(bm_stat alg_forged_left_alone)
ok=1
why=
for text in "hello $(ctcp "DCC SEND f $IN_DEC 5002 1")" \
	    "x$(ctcp "DCC CHAT chat $IN_DEC 5002")"; do
	say inside "PRIVMSG outside :$text"$'\r\n'
	line=$(heard outside "PRIVMSG outside :(hello|x)")
	if [[ $(text_of "$line") != "$text" ]]; then
		ok=0
		why+="sent '$(cat -v <<<"$text")', outside got '$(cat -v <<<"$line")'; "
	fi
done
# And not in a NOTICE either (the ALG handles PRIVMSG only).
text=$(ctcp "DCC SEND f $IN_DEC 5002 1")
say inside "NOTICE outside :$text"$'\r\n'
line=$(heard outside "NOTICE outside :")
[[ ${line#*NOTICE outside :} == "$text" ]] || {
	ok=0
	why+="NOTICE arrived as '$(cat -v <<<"$line")'; "
}
r=$(($(bm_stat alg_rewritten) - rw0))
f=$(($(bm_stat alg_forged_left_alone) - forged0))
if ((ok && r == 0 && f == 0)) &&
   [[ $(pending_expectations '10\.0\.1\.2:5002') == 0 ]]; then
	pass irc_dcc_mid_message_unchanged
else
	fail irc_dcc_mid_message_unchanged "${why}alg_rewritten grew by $r, alg_forged_left_alone by $f (want 0 each)"
fi

# ---- several offers in one segment; offers pending together ----------------

# Two messages in one write (one segment): each offer is rewritten.
rw0=$(bm_stat alg_rewritten)
say inside "PRIVMSG outside :$(ctcp "DCC SEND a.bin $IN_DEC 5003 10")"$'\r\n'"PRIVMSG outside :$(ctcp "DCC SEND bb.bin $IN_DEC 5004 20")"$'\r\n'
l1=$(heard outside 'PRIVMSG outside :\x01DCC SEND a\.bin ')
l2=$(heard outside 'PRIVMSG outside :\x01DCC SEND bb\.bin ')
read -r ip1 port1 <<<"$(offer_fields "$l1")"
read -r ip2 port2 <<<"$(offer_fields "$l2")"
if [[ $ip1 == "$GW_DEC" && $ip2 == "$GW_DEC" && -n $port1 && -n $port2 &&
      $port1 != "$port2" ]] &&
   [[ $(pending_expectations '10\.0\.1\.2:500[34]') == 2 ]]; then
	pass irc_two_offers_one_segment
else
	fail irc_two_offers_one_segment "outside got '$(cat -v <<<"$l1")' and '$(cat -v <<<"$l2")'; conns: $(bm conns wan0 | grep EXPECT | tr '\n' '|') $(alg_stats)"
fi

# Two offers in two messages, both accepted afterwards (up to 8 may be
# pending per connection): the second offer must not cancel the first.
for p in 5005 5006; do
	head -c 3000 /dev/urandom > "$LAB_TMP/f$p.bin"
	lab_bg cli1 "$LAB_TMP/sendfile$p.log" "$PY" "$PEER" sendfile 10.0.1.2 $p \
		"$LAB_TMP/f$p.bin"
	wait_until 5 listening cli1 tcp 10.0.1.2:$p
	say inside "PRIVMSG outside :$(ctcp "DCC SEND f$p.bin $IN_DEC $p 3000")"$'\r\n'
	line=$(heard outside "PRIVMSG outside :\\x01DCC SEND f$p\\.bin ")
	read -r ip port <<<"$(offer_fields "$line")"
	eval "port$p=\$port"
done
ok=1
why=
for p in 5005 5006; do
	eval "port=\$port$p"
	if ! nsx srv timeout 30 "$PY" "$PEER" getfile $WAN_GW "${port:-1}" 3000 \
		"$LAB_TMP/got$p.bin" >"$LAB_TMP/getfile$p.log" 2>&1 ||
	   ! cmp -s "$LAB_TMP/f$p.bin" "$LAB_TMP/got$p.bin"; then
		ok=0
		why+="offer of port $p (outside port '$port'): $(cat "$LAB_TMP/getfile$p.log"); "
	fi
done
if ((ok)); then
	pass irc_two_pending_offers
else
	fail irc_two_pending_offers "$why"
fi

# ---- the session after many rewrites (sequence adjustment) -----------------

# message_ok FROM TO I PAD: message I from FROM, padded with PAD bytes,
# reaches TO as it was sent; else ok=0 and why says how it arrived.
message_ok() {
	local msg line
	msg="message $3 from $1 $(head -c "$4" /dev/zero | tr '\0' "${1:0:1}")"
	say "$1" "PRIVMSG $2 :$msg"$'\r\n'
	line=$(heard "$2" "PRIVMSG $2 :message $3 from $1")
	[[ $(text_of "$line") == "$msg" ]] || {
		ok=0
		why+="$1 message $3 arrived as '$line'; "
	}
}

# Offers of different lengths (the port's digits, the file name) change
# the segment length by different amounts; ordinary messages both ways
# interleaved and afterwards must arrive intact and in order.
rw0=$(bm_stat alg_rewritten)
ok=1
why=
i=0
for p in 7 80 443 5010 12345 60999 61001 65535; do
	i=$((i + 1))
	name=$(head -c $((i * 3)) /dev/zero | tr '\0' 'n').bin
	say inside "PRIVMSG outside :$(ctcp "DCC SEND $name $IN_DEC $p $((i * 1000))")"$'\r\n'
	line=$(heard outside "PRIVMSG outside :\\x01DCC SEND $name ")
	read -r ip port <<<"$(offer_fields "$line")"
	[[ $ip == "$GW_DEC" ]] || {
		ok=0
		why+="offer $i arrived as '$(cat -v <<<"$line")'; "
	}
	message_ok inside outside $i $((i * 37))
	message_ok outside inside $i $((i * 41))
done
r=$(($(bm_stat alg_rewritten) - rw0))
if ((ok && r >= 8)); then
	pass irc_session_intact_after_rewrites
else
	fail irc_session_intact_after_rewrites "${why}alg_rewritten grew by $r (want 8)"
fi
# A burst afterwards, each message in a segment of its own.
for i in $(seq 20); do
	say inside "PRIVMSG outside :burst $i"$'\r\n'
done
ok=1
for i in $(seq 20); do
	line=$(heard outside "PRIVMSG outside :burst $i\$")
	[[ -n $line ]] || { ok=0; break; }
done
if ((ok)); then
	pass irc_burst_after_rewrites
else
	fail irc_burst_after_rewrites "burst message $i did not arrive"
fi

# ---- messages right behind a rewritten one ---------------------------------

# An offer and an ordinary message written back to back, each in its own
# segment: the second is on the wire while the first is being rewritten;
# both must arrive, intact and in order.
# (No autocorking at cli1: it would merge the writes into one segment
# whenever the first is still queued, and hide what is tested.)
say_each() { "$PY" "$PEER" ctl "$LAB_TMP/$1.sock" sendeach "$2"; }
nsx cli1 sysctl -qw net.ipv4.tcp_autocorking=0
say_each inside "PRIVMSG outside :$(ctcp "DCC SEND behind.bin $IN_DEC 5030 1")"$'\r\n'"PRIVMSG outside :right behind the offer"$'\r\n'"PRIVMSG outside :and another"$'\r\n'
l1=$(heard outside 'PRIVMSG outside :\x01DCC SEND behind\.bin ')
l2=$(heard outside 'PRIVMSG outside :right behind the offer$')
l3=$(heard outside 'PRIVMSG outside :and another$')
read -r ip port <<<"$(offer_fields "$l1")"
if [[ $ip == "$GW_DEC" && -n $l2 && -n $l3 ]]; then
	pass irc_message_right_behind_offer
else
	fail irc_message_right_behind_offer "outside got: '$(cat -v <<<"$l1")' '$l2' '$l3'; the server told inside: $(grep -E '^<- :[^ ]* 4[0-9][0-9] ' "$LAB_TMP/inside.log" | tail -n 2 | tr '\n' '|')"
fi

# ---- DCC RESUME / ACCEPT ---------------------------------------------------

# An interrupted SEND resumed (mIRC protocol): the outside receiver got
# half the file; the inside sender offers it again; the receiver answers
# RESUME naming the port it was offered (the external one), which the
# inside sender must see as its own; the sender's ACCEPT names its own
# port, which the receiver must see as the external one; the rest
# arrives and the file is whole.
head -c 300000 /dev/urandom > "$LAB_TMP/resume.bin"
size=300000
half=120000
lab_bg cli1 "$LAB_TMP/resume1.log" "$PY" "$PEER" sendfile 10.0.1.2 5020 \
	"$LAB_TMP/resume.bin"
resume1=${LAB_PIDS[-1]}
wait_until 5 listening cli1 tcp 10.0.1.2:5020
say inside "PRIVMSG outside :$(ctcp "DCC SEND resume.bin $IN_DEC 5020 $size")"$'\r\n'
read -r ip q1 <<<"$(offer_fields "$(heard outside 'PRIVMSG outside :\x01DCC SEND resume\.bin ')")"
nsx srv timeout 30 "$PY" "$PEER" getfile $WAN_GW "${q1:-1}" $half \
	"$LAB_TMP/resumed.bin" >"$LAB_TMP/resume-get1.log" 2>&1
wait_until 10 eval '! alive $resume1'
if [[ $(stat -c %s "$LAB_TMP/resumed.bin" 2>/dev/null) == "$half" ]]; then
	# Offered again; the receiver asks to resume at $half.
	say inside "PRIVMSG outside :$(ctcp "DCC SEND resume.bin $IN_DEC 5020 $size")"$'\r\n'
	read -r ip q2 <<<"$(offer_fields "$(heard outside 'PRIVMSG outside :\x01DCC SEND resume\.bin ')")"
	say outside "PRIVMSG inside :$(ctcp "DCC RESUME resume.bin ${q2:-1} $half")"$'\r\n'
	line=$(heard inside 'PRIVMSG inside :\x01DCC RESUME resume\.bin ')
	if [[ $(text_of "$line") == "$(ctcp "DCC RESUME resume.bin 5020 $half")" ]]; then
		pass irc_resume_names_inside_port
	else
		fail irc_resume_names_inside_port "outside sent RESUME for port $q2, inside got '$(cat -v <<<"$line")'"
	fi
	lab_bg cli1 "$LAB_TMP/resume2.log" "$PY" "$PEER" sendfile 10.0.1.2 5020 \
		"$LAB_TMP/resume.bin" $half
	wait_until 5 listening cli1 tcp 10.0.1.2:5020
	say inside "PRIVMSG outside :$(ctcp "DCC ACCEPT resume.bin 5020 $half")"$'\r\n'
	line=$(heard outside 'PRIVMSG outside :\x01DCC ACCEPT resume\.bin ')
	if [[ -n $q2 && $(text_of "$line") == "$(ctcp "DCC ACCEPT resume.bin $q2 $half")" ]]; then
		pass irc_accept_names_outside_port
	else
		fail irc_accept_names_outside_port "offer was for port $q2, outside got '$(cat -v <<<"$line")'"
	fi
	if nsx srv timeout 30 "$PY" "$PEER" getfile $WAN_GW "${q2:-1}" $size \
		"$LAB_TMP/resumed.bin" $half >"$LAB_TMP/resume-get2.log" 2>&1 &&
	   cmp -s "$LAB_TMP/resume.bin" "$LAB_TMP/resumed.bin"; then
		pass irc_resume_completes
	else
		fail irc_resume_completes "receiver: $(cat "$LAB_TMP/resume-get2.log"), sender: $(cat "$LAB_TMP/resume2.log")"
	fi
	# The inside client's stream after the inbound rewrite: intact.
	say outside "PRIVMSG inside :after the resume"$'\r\n'
	if [[ $(heard inside 'PRIVMSG inside :after') == *":after the resume" ]]; then
		pass irc_session_intact_after_resume
	else
		fail irc_session_intact_after_resume "the message after the RESUME did not arrive intact"
	fi
else
	fail irc_resume_interrupted "the first, interrupted transfer: $(cat "$LAB_TMP/resume-get1.log")"
fi

# ---- an inside host whose segments carry a partial checksum ---------------

# acin sits on a bridge in the gateway with its veth's checksum offload on
# (a container): its segments reach tc egress with only the pseudo-header
# sum in the TCP checksum field.  After two genuine offers (rewritten), an
# offer naming another inside host, a malformed one and a CTCP that is no
# offer go to the controller and are sent on unchanged: each must arrive,
# and so must the ordinary message behind it (a segment sent on with the
# partial sum is never acknowledged and the session is dead from there).
# Then the other way: a RESUME of acin's offer, and a message behind it.
AC_DEC=167772930	# 10.0.3.2, acin
if alg_offload_host acin 10.0.3.2 && irc_client acin acin; then
	ok=1
	why=
	for p in 5050 5051; do
		say acin "PRIVMSG outside :$(ctcp "DCC SEND ac$p.bin $AC_DEC $p 10")"$'\r\n'
		line=$(heard outside "PRIVMSG outside :\\x01DCC SEND ac$p\\.bin ")
		read -r ip port <<<"$(offer_fields "$line")"
		eval "acport$p=\$port"
		[[ $ip == "$GW_DEC" ]] || {
			ok=0
			why+="offer of port $p arrived as '$(cat -v <<<"$line")'; "
		}
	done
	if ((ok)); then
		pass irc_offload_offers_rewritten
	else
		fail irc_offload_offers_rewritten "$why"
	fi
	forged0=$(bm_stat alg_forged_left_alone)
	bad0=$(bm_stat alg_malformed_left_alone)
	ok=1
	why=
	i=0
	for off in "DCC SEND acvictim.bin 167772419 5001 100" \
		   "DCC SEND acbad.bin $AC_DEC 99999 1" "ACTION waves"; do
		i=$((i + 1))
		say acin "PRIVMSG outside :$(ctcp "$off")"$'\r\n'
		line=$(heard outside "PRIVMSG outside :\\x01${off%% *} ${off#* }" 3)
		[[ $(text_of "$line") == "$(ctcp "$off")" ]] || {
			ok=0
			why+="sent '$off', outside got '$(cat -v <<<"$line")'; "
		}
		say acin "PRIVMSG outside :acin goes on $i"$'\r\n'
		line=$(heard outside "PRIVMSG outside :acin goes on $i\$" 3)
		[[ -n $line ]] || {
			ok=0
			why+="the message after '$off' did not arrive; "
		}
	done
	f=$(($(bm_stat alg_forged_left_alone) - forged0))
	m=$(($(bm_stat alg_malformed_left_alone) - bad0))
	if ((ok && f == 1 && m == 1)); then
		pass irc_offload_left_alone_and_next_arrive
	else
		fail irc_offload_left_alone_and_next_arrive "${why}alg_forged_left_alone grew by $f, alg_malformed_left_alone by $m (want 1 each)"
	fi
	say outside "PRIVMSG acin :$(ctcp "DCC RESUME ac5050.bin ${acport5050:-1} 5")"$'\r\n'
	line=$(heard acin 'PRIVMSG acin :\x01DCC RESUME ac5050\.bin ' 3)
	say outside "PRIVMSG acin :after the resume"$'\r\n'
	if [[ $(text_of "$line") == "$(ctcp "DCC RESUME ac5050.bin 5050 5")" ]] &&
	   [[ -n $(heard acin 'PRIVMSG acin :after the resume$' 3) ]]; then
		pass irc_offload_resume_and_next_arrive
	else
		fail irc_offload_resume_and_next_arrive "acin got '$(cat -v <<<"$line")' for a RESUME of port $acport5050"
	fi
else
	fail irc_offload_host "no inside host with checksum offload on a bridge: $(cat "$LAB_TMP/acin.log" 2>/dev/null)"
fi

# ---- --no-alg irc -----------------------------------------------------------

# The inside client's connection does not survive `down`: a new one after
# `up --no-alg irc`.  Its offer reaches the peer untouched (the private
# address) and nothing goes to the controller.
bm down wan0 >/dev/null 2>&1
LAB_UP=()
if bm_up wan0 --no-alg irc && irc_client cli1 inside2; then
	text=$(ctcp "DCC SEND plain.bin $IN_DEC 5040 1")
	say inside2 "PRIVMSG outside :$text"$'\r\n'
	line=$(heard outside 'PRIVMSG outside :\x01DCC SEND plain\.bin ')
	n=$(bm_stat alg_segments_to_controller)
	if [[ $(text_of "$line") == "$text" && $n == 0 ]]; then
		pass irc_noalg_offer_untouched
	else
		fail irc_noalg_offer_untouched "outside got '$(cat -v <<<"$line")', alg_segments_to_controller=$n"
	fi
else
	fail irc_noalg_up "bpfmasq up wan0 --no-alg irc, or the new client, failed: $(cat "$LAB_TMP/inside2.log")"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
