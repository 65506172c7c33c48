#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --external repeated: a pool.  This gateway's own VRRP address VIP first,
# a peer's VIP2 (with a port block of its own) second, as an active/active
# gateway is started.  New connections take the first address on the WAN;
# when VIP leaves and VIP2 arrives (this gateway now holds the peer's
# address only) new connections take VIP2, ports from its block, while
# VIP's connections wait; when VIP is back they carry on, new connections
# take VIP again, and the endpoint mapped on VIP2 keeps it.  A reload that
# takes VIP2 out of the pool flushes its connections, one that changes
# nothing else leaves the rest alone.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only extpool
VIP=192.0.2.100
VIP2=192.0.2.101

lab_build extpool lab_standard srv_udp_echo=7000 srv_tcp_echo=9000

vip() { nsx gw ip addr "$1" "$2/24" dev wan0; }
pool() { bm_json status wan0 | jq_py "d['external_pool']$1"; }
# pool_is 'A on,new B off': each address with its state, in order.
pool_is() {
	[[ $(bm_json status wan0 | jq_py "' '.join('%s %s%s' % (p['address'], 'on' if p['on_wan'] else 'off', ',new' if p['new_connections'] else '') for p in d['external_pool'])") == "$1" ]]
}
conn_out() {	# the outside endpoint of cli1's UDP flow from SPORT
	bm_json conns wan0 | jq_py "([c['outside'] for c in d if c['inside'] == '10.0.1.2:$1'] or ['none'])[0]"
}
conns_on() { bm_json conns wan0 | jq_py "len([c for c in d if c['outside'].startswith('$1:')])"; }

vip add $VIP
if bm_up wan0 --external $VIP --external $VIP2:20000-20099; then
	pass extpool_up
else
	fail extpool_up "up refused: $(cat "$LAB_TMP/up.err")"
	lab_done
fi
check extpool_up_warns "no warning for $VIP2: $(cat "$LAB_TMP/up.err")" \
	grep -q "$VIP2 is not on wan0 now: its connections translate when it is added" "$LAB_TMP/up.err"
check extpool_status "status: $(pool '')" \
	pool_is "$VIP on,new $VIP2 off"
check extpool_status_block "VIP2's ports: $(pool '[1]["ports"]')" \
	test "$(pool '[1]["ports"]')" == 20000-20099
line=$(bm status wan0 | grep "external pool:")
check extpool_status_text "status says: $line" \
	grep -q "external pool: $VIP (on the WAN, new connections), $VIP2:20000-20099 (not on the WAN)" <<<"$line"

prom() { bm stats --prometheus wan0 | awk -v m="$1" '$1 == m {print $2}'; }
on_wan_metric() { prom "bpfmasq_external_address_on_wan{interface=\"wan0\",address=\"$1\"}"; }
check extpool_metric_on_wan "bpfmasq_external_address_on_wan: $VIP $(on_wan_metric $VIP), $VIP2 $(on_wan_metric $VIP2)" \
	eval '[[ $(on_wan_metric $VIP) == 1 && $(on_wan_metric $VIP2) == 0 ]]'

check_udp_echo extpool_udp_first cli1 40001 $INET 7000
check extpool_first_on_vip "cli1:40001 went out as $(conn_out 40001)" \
	eval '[[ $(conn_out 40001) == $VIP:* ]]'
coproc ECHO { nsx cli1 socat -T 600 - TCP4:$INET:9000,connect-timeout=3 2>/dev/null; }
echo on-vip >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check extpool_session "echo session got '$line'" test "$line" == on-vip

# ---- VIP moves to a peer, the peer's VIP2 comes here ---------------------
vip add $VIP2
vip del $VIP
if wait_until 5 pool_is "$VIP off $VIP2 on,new"; then
	pass extpool_follows
else
	fail extpool_follows "status: $(pool '')"
fi
check_udp_echo extpool_udp_second cli1 40002 $INET 7000
out=$(conn_out 40002)
check extpool_second_on_vip2_block "cli1:40002 went out as $out" \
	eval '[[ $out == $VIP2:* ]] && ((${out#*:} >= 20000 && ${out#*:} <= 20099))'
used=$(prom 'bpfmasq_nat_ports_used{interface="wan0",proto="udp"}')
free=$(prom 'bpfmasq_nat_ports_free{interface="wan0",proto="udp"}')
check extpool_metrics_block "UDP ports of the block: $used used, $free free" \
	eval '[[ $used == 1 && $free == 99 ]]'
check extpool_metric_moved "bpfmasq_external_address_on_wan: $VIP $(on_wan_metric $VIP), $VIP2 $(on_wan_metric $VIP2)" \
	eval '[[ $(on_wan_metric $VIP) == 0 && $(on_wan_metric $VIP2) == 1 ]]'
check extpool_vip_kept "connections on $VIP while it is away: $(conns_on $VIP)" \
	test "$(conns_on $VIP)" -ge 2
check extpool_logged "the log does not say $VIP2 arrived" \
	grep -q "$VIP2 (--external) is on wan0: its connections translate here" "$LAB_TMP/ctl-wan0.log"

# ---- VIP comes back ------------------------------------------------------
vip add $VIP
wait_until 5 pool_is "$VIP on,new $VIP2 on"
echo back >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check extpool_session_back "echo session after $VIP came back got '$line'" \
	test "$line" == back
check_udp_echo extpool_udp_third cli1 40003 $INET 7000
check extpool_third_on_vip "cli1:40003 went out as $(conn_out 40003)" \
	eval '[[ $(conn_out 40003) == $VIP:* ]]'
# Both addresses here: replies to VIP2 translate, and its endpoint keeps it.
check_udp_echo extpool_vip2_still cli1 40002 $INET 7000
check extpool_vip2_paired "cli1:40002 now goes out as $(conn_out 40002), was $out" \
	test "$(conn_out 40002)" == "$out"

# ---- reload takes VIP2 out of the pool -----------------------------------
printf 'external %s\n' $VIP >"$LAB_TMP/wan0.conf"
res=$(bm reload wan0 --config "$LAB_TMP/wan0.conf" 2>&1)
check extpool_reload_says "reload said: $res" \
	grep -q "external $VIP, $VIP2:20000-20099 -> $VIP" <<<"$res"
if wait_until 5 eval '[[ $(conns_on $VIP2) == 0 ]]'; then
	pass extpool_reload_flushes_removed
else
	fail extpool_reload_flushes_removed "connections on $VIP2: $(conns_on $VIP2)"
fi
check extpool_reload_logged "the log does not say $VIP2's connections were flushed" \
	grep -q "$VIP2 is no --external address any more: flushed" "$LAB_TMP/ctl-wan0.log"
echo after-reload >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check extpool_reload_keeps_vip "echo session after the reload got '$line'" \
	test "$line" == after-reload
check extpool_status_one "status: $(pool '')" pool_is "$VIP on,new"
kill "$ECHO_PID" 2>/dev/null
((LAB_FAILS)) && show_ctl_log
lab_done
