#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The config file (bpfmasq.conf(5)): `up wan0 --config FILE` takes ports,
# timeouts, the internal prefix, the filter and a forward from it, and the
# command line overrides the file; status -j, forward list and real
# traffic (a connection through the forward, a host outside the internal
# prefix left alone) show it.  `check` and `up` on a bad file say
# FILE:LINE in one line, exit 1 and attach nothing.  A restarted
# controller's `up` adds the file's forwards that went missing.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only config

lab_build config lab_standard srv_nginx
lab_bg cli1 "$LAB_TMP/tcpsrv.log" socat TCP4-LISTEN:8080,reuseaddr,fork \
	SYSTEM:'echo peer $SOCAT_PEERADDR'
wait_until 5 listening cli1 tcp 0.0.0.0:8080 ||
	{ fail config_server "the inside server did not start"; exit 1; }

CONF=$LAB_TMP/wan0.conf
cat > "$CONF" <<'CONF'
# the lab's gateway
internal 10.0.1.2/32        # cli1 only: cli2 stays untranslated

ports 62000-62099
	filter   cone
timeout-udp 77
timeout-icmp 33
forward tcp 8080 10.0.1.2:8080
CONF
BAD=$LAB_TMP/bad.conf
printf 'ports 62000-62099\n# fine so far\ntimout-udp 77\n' > "$BAD"

# nothing_attached: no XDP, no tc filter, no pins on wan0.
nothing_attached() {
	! nsx gw ip link show wan0 | grep -q 'prog/xdp' &&
		[[ -z $(nsx gw tc filter show dev wan0 egress 2>/dev/null) ]] &&
		! nsx gw test -e /sys/fs/bpf/bpfmasq/wan0
}

# check_bad NAME CMD...: exactly one line "Error: BAD:3: ...", exit 1,
# nothing attached.
check_bad() {
	local name=$1 rc
	shift
	bm "$@" >"$LAB_TMP/bad.out" 2>"$LAB_TMP/bad.err"
	rc=$?
	if ((rc == 1)) && [[ $(wc -l < "$LAB_TMP/bad.err") == 1 ]] &&
	   grep -q "^Error: $BAD:3: unknown key 'timout-udp'" "$LAB_TMP/bad.err" &&
	   [[ ! -s $LAB_TMP/bad.out ]] && nothing_attached; then
		pass "$name"
	else
		fail "$name" "exit $rc, stderr '$(cat "$LAB_TMP/bad.err")', stdout '$(cat "$LAB_TMP/bad.out")'"
	fi
}
check_bad config_check_bad_file check --config "$BAD"
check_bad config_up_bad_file up wan0 --config "$BAD" --log "$LAB_TMP/never.log"

out=$(bm check wan0 --config "$CONF" 2>&1)
check config_check_good "check said '$out'" \
	test "$out" = "$CONF: ok, 5 settings and 1 forward"

nat_up --config "$CONF" --timeout-icmp 44 ||
	{ fail config_up "bpfmasq up wan0 --config failed"; exit 1; }
pass config_up

st=$(bm_json status wan0 | jq_py '(lambda s: [s["ports"], s["timeouts"]["udp"], s["timeouts"]["icmp"], s.get("filter")])(d[0] if isinstance(d, list) else d)')
if [[ $st == '["62000-62099", 77, 44, "cone"]' ]]; then
	pass config_status_shows_file_and_override
else
	fail config_status_shows_file_and_override "status -j: $st (expected ports, udp 77 from the file, icmp 44 from the command line, cone)"
fi

if bm forward list wan0 | grep -q "^tcp  FORWARD     inside 10.0.1.2:8080 .*outside $WAN_GW:8080 "; then
	pass config_forward_listed
else
	fail config_forward_listed "$(bm forward list wan0 2>&1)"
fi

out=$(nsx srv curl -sS --connect-timeout 3 --max-time 5 \
	--interface $INET "telnet://$WAN_GW:8080" </dev/null 2>&1)
if [[ $out == "peer $INET" ]]; then
	pass config_traffic_through_forward
else
	fail config_traffic_through_forward "the inside server answered '$out', expected 'peer $INET'"
fi

check_hello config_internal_host_translated cli1
# cli2 is outside "internal 10.0.1.2/32": it leaves with its own address,
# to which srv has no route, so nothing comes back.
if ! fetch cli2 http://$INET/hello.txt --max-time 3 >/dev/null 2>&1 &&
   ! grep -q '^10.0.1.3 ' "$NGX/access.log"; then
	pass config_other_host_untranslated
else
	fail config_other_host_untranslated "cli2 got through, or srv saw it: $(srv_log_addrs | tr '\n' ' ')"
fi

# A controller restart: the forward deleted meanwhile comes back from the
# file when `up` adopts the running data plane.
pid=$(bm_ctl_pid)
bm forward del wan0 tcp 8080 >/dev/null
kill -9 "$pid" 2>/dev/null
wait_until 5 eval '! alive '"$pid"
if bm_up wan0 --config "$CONF" && grep -q "adopted running data plane" "$LAB_TMP/up.out" &&
   grep -q "^Note: $CONF:8: forward of tcp port 8080 to 10.0.1.2:8080 added" "$LAB_TMP/up.err" &&
   bm forward list wan0 | grep -q 'inside 10.0.1.2:8080 '; then
	pass config_adopt_adds_missing_forward
else
	fail config_adopt_adds_missing_forward "up: $(cat "$LAB_TMP/up.out" "$LAB_TMP/up.err"); forwards: $(bm forward list wan0 2>&1)"
fi
out=$(nsx srv curl -sS --connect-timeout 3 --max-time 5 \
	--interface $INET "telnet://$WAN_GW:8080" </dev/null 2>&1)
check config_traffic_after_adopt "answered '$out'" test "$out" = "peer $INET"
lab_done
