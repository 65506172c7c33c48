#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Bad input: one line on stderr, a non-zero exit, and nothing left attached.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq
if ! is_bpfmasq; then
	skip badcli "needs bpfmasq (LAB_NAT=nft)"
	exit 0
fi

lab_standard || { fail badcli_topology "could not build the lab"; exit 1; }
srv_nginx || { fail badcli_nginx "nginx did not start on srv"; exit 1; }
# An interface with no IPv4 address.
nsx gw ip link add noip0 type veth peer name noip1
nsx gw ip link set noip0 up
nsx gw ip link set noip1 up
# A LAN with no native XDP (a bridge): it cannot take redirected frames.
nsx gw ip link add brx0 type bridge
nsx gw ip link set brx0 up

attached() {
	local i
	for i in wan0 lan0 noip0 brx0; do
		nsx gw ip -d link show dev $i | grep -q 'prog/xdp' && echo "xdp on $i"
		[[ -n $(nsx gw tc filter show dev $i egress) ]] && echo "tc egress filter on $i"
		nsx gw tc qdisc show dev $i | grep -q clsact && echo "clsact on $i"
	done
	for i in $(ip netns pids "$(ns gw)"); do
		[[ $(cat /proc/$i/comm 2>/dev/null) == bpfmasq ]] && echo "bpfmasq process $i"
	done
}

# good NAME ERE ARGS...: bpfmasq ARGS must exit 0, say nothing on stderr and
# print ERE on stdout (help, which changes nothing).
good() {
	local name=$1 says=$2 rc
	shift 2
	bm "$@" >"$LAB_TMP/out" 2>"$LAB_TMP/err"
	rc=$?
	if ((rc != 0)); then
		fail badcli_$name "'bpfmasq $*' exited $rc: $(head -c 300 "$LAB_TMP/err" | tr '\n' '|')"
	elif [[ -s $LAB_TMP/err ]]; then
		fail badcli_$name "'bpfmasq $*' wrote to stderr: $(head -c 300 "$LAB_TMP/err" | tr '\n' '|')"
	elif ! grep -qE -- "$says" "$LAB_TMP/out"; then
		fail badcli_$name "'bpfmasq $*' printed '$(head -c 300 "$LAB_TMP/out" | tr '\n' '|')', expected /$says/"
	else
		pass badcli_$name
	fi
}

# [SAYS=ERE] bad NAME ARGS...: bpfmasq ARGS must refuse with exactly one
# stderr line (matching ERE) and leave the gateway as it was.
bad() {
	local name=$1 rc lines left
	shift
	bm "$@" >"$LAB_TMP/out" 2>"$LAB_TMP/err"
	rc=$?
	lines=$(grep -c . "$LAB_TMP/err")
	left=$(attached | tr '\n' ',')
	if ((rc == 0)); then
		fail badcli_$name "'bpfmasq $*' exited 0"
	elif ((rc >= 124)); then
		fail badcli_$name "'bpfmasq $*' timed out or crashed (status $rc)"
	elif ((lines != 1)); then
		fail badcli_$name "'bpfmasq $*' wrote $lines stderr lines: $(head -c 300 "$LAB_TMP/err" | tr '\n' '|')"
	elif [[ -n $left ]]; then
		fail badcli_$name "'bpfmasq $*' left: $left"
	elif [[ -n ${SAYS:-} ]] && ! grep -qE -- "$SAYS" "$LAB_TMP/err"; then
		fail badcli_$name "'bpfmasq $*' said '$(cat "$LAB_TMP/err")', expected /$SAYS/"
	else
		pass badcli_$name
		note "$(cat "$LAB_TMP/err")"
	fi
}

bad no_such_if up nosuchif
bad if_without_ipv4 up noip0
bad internal_prefix_33 up wan0 --internal 10.0.0.0/33
bad internal_banana up wan0 --internal banana
bad external_prefix up wan0 --external 192.0.2.0/24
bad external_zero up wan0 --external 0.0.0.0
bad ports_above_65535 up wan0 --ports 70000-80000
bad ports_reversed up wan0 --ports 5000-4000
bad filter_wrong up wan0 --filter wrong
# (A --lan that does not exist yet is accepted: test_ct_lan_follow.sh.)
bad lan_name_too_long up wan0 --lan ctbr9-name-too-long
bad lan_inbound_without_lan up wan0 --lan-inbound
bad lan_new_without_lan up wan0 --lan-new
bad lan_inbound_generic_xdp up wan0 --lan lan0 --lan brx0 --lan-inbound
bad down_not_up down wan0
bad down_no_such_if down nosuchif
bad status_not_up status wan0
bad unknown_command frobnicate
bad unknown_option up wan0 --frobnicate
# As bpftool: no command is an error in one line, not the help with status 0.
SAYS='usage: bpfmasq' bad no_command
SAYS="'--internal' needs a value" bad internal_missing_value up wan0 --internal
bad internal_empty_length up wan0 --internal 10.0.0.0/
bad irc_ports_trailing_comma up wan0 --irc-ports 6667,
bad ftp_ports_empty_item up wan0 --ftp-ports 21,,2121
bad irc_ports_leading_space up wan0 --irc-ports " 6667"
bad timeout_leading_space up wan0 --timeout-udp " 30"
bad max_flows_plus_sign up wan0 --max-flows +1000
SAYS='auto .* 536 to 65495' bad mss_clamp_too_small up wan0 --mss-clamp 500
SAYS='auto .* 536 to 65495' bad mss_clamp_word up wan0 --mss-clamp max
SAYS="--filter 'wrong': use strict .* or cone" bad filter_names_values up wan0 --filter wrong
SAYS="--no-alg 'sip': use ftp or irc" bad no_alg_wrong up wan0 --no-alg sip
SAYS="--lan-inbound takes no value" bad flag_with_value up wan0 --lan-inbound=yes
SAYS="--ports '5000-4000'" bad ports_names_option up wan0 --ports 5000-4000
# Commands: unique prefixes, an ambiguous one names the candidates.
SAYS="'sta' is ambiguous: status, stats" bad ambiguous_prefix sta wan0
# -j: the error is a JSON object on stdout.
if bm -j s >"$LAB_TMP/out" 2>"$LAB_TMP/err"; then
	fail badcli_ambiguous_prefix_json "'bpfmasq -j s' exited 0"
elif grep -qE '^\{"error": ?"command .s. is ambiguous: status, stats' "$LAB_TMP/out" &&
     [[ ! -s $LAB_TMP/err ]]; then
	pass badcli_ambiguous_prefix_json
else
	fail badcli_ambiguous_prefix_json "stdout '$(cat "$LAB_TMP/out")', stderr '$(cat "$LAB_TMP/err")'"
fi
SAYS="usage: bpfmasq forward del " bad forward_d_is_del forward d wan0 tcp
SAYS="see 'bpfmasq forward help'" bad forward_no_command forward
SAYS="unknown command 'frob' for bpfmasq forward" bad forward_unknown forward frob wan0
SAYS="wan0 is not up" bad forward_l_is_list forward l wan0
# Help at every level: the grammar on stdout, status 0.
good help_top '^  forward add IFNAME tcp\|udp PORT IP:PORT' help
good help_prefix '^  up IFNAME \[OPTIONS\]' he
good help_forward '^  forward del IFNAME tcp\|udp PORT' forward help
good help_forward_prefix '^  forward list IFNAME' forward h
good help_forward_dashes '^  forward add ' forward --help
good help_up '^    --timeout-udp S +.*default: 300' up --help
good help_up_word '^    --filter strict\|cone' up help
good help_status '^  status \[IFNAME\]' status -h
good help_down '^  down IFNAME' down --help
good help_forward_add '^  forward add ' forward add wan0 --help
# 10.0.0.0 alone surely meant a /8 or /24, not one host.  (Last: an up
# that wrongly succeeded would spoil the cases after it.)
SAYS='/32' bad internal_bare_address up wan0 --internal 10.0.0.0

# up twice: the second refuses ("already up") and the first keeps working.
if ! bm_up wan0; then
	fail badcli_first_up "up wan0 failed: $(cat "$LAB_TMP/up.err")"
else
	pid=$(bm_ctl_pid)
	bm up wan0 >"$LAB_TMP/out" 2>"$LAB_TMP/err"
	rc=$?
	if ((rc != 0)) && (($(grep -c . "$LAB_TMP/err") == 1)) &&
	   grep -qi 'already' "$LAB_TMP/err"; then
		pass badcli_up_twice
		note "$(cat "$LAB_TMP/err")"
	else
		fail badcli_up_twice "second up: status $rc, stderr '$(tr '\n' '|' <"$LAB_TMP/err")'"
	fi
	check badcli_first_keeps_controller "controller $pid gone after the second up" \
		alive "$pid"
	# Default timeouts (shortest: ICMP 60 s): every 15 s, not every 2.
	interval=$(bm_json status wan0 | jq_py 'd["expire_interval_ms"]')
	check badcli_default_expire_interval "expiry every ${interval} ms, expected 15000" \
		test "$interval" = 15000
	check badcli_first_keeps_working "no traffic after the second up" \
		fetch cli1 http://$INET/hello.txt
	if srv_log_only_gw; then
		pass badcli_first_still_masquerades
	else
		fail badcli_first_still_masquerades "access log: $(srv_log_addrs | tr '\n' ' ')"
	fi
fi

((LAB_FAILS)) && show_ctl_log
lab_done
