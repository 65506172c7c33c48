#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bpfmasq stats --prometheus after real traffic: promtool finds no problem
# in it, its counters are those of stats -j (translated both ways, a drop
# reason provoked on purpose, every drop reason), and its gauges agree with
# conns (connections, NAT ports used per protocol, forwards) and with the
# settings (--max-flows, --ports).
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only metrics
if ! command -v promtool >/dev/null; then
	fail metrics_promtool "promtool not installed (run scripts/deps.sh)"
	lab_done
fi

lab_build metrics lab_standard srv_nginx srv_udp_echo=7
nat_up --ports 61000-61099 --max-flows 1000 --metrics-file "$LAB_TMP/wan0.prom" ||
	{ fail metrics_up "bpfmasq up wan0 failed"; exit 1; }
bm forward add wan0 udp 61090 10.0.1.3:5353 >/dev/null ||
	fail metrics_forward_add "forward add failed"

for i in 1 2 3; do
	fetch cli1 http://$INET/hello.txt >/dev/null || fail metrics_traffic "fetch $i failed"
done
fetch cli2 http://$INET/hello.txt >/dev/null || fail metrics_traffic "fetch from cli2 failed"
udp_echo cli1 $INET 7 5001 >/dev/null && udp_echo cli2 $INET 7 5002 >/dev/null ||
	fail metrics_traffic "udp echo failed"
nsx cli1 ping -c 2 -i 0.2 -W 2 $INET >/dev/null || fail metrics_traffic "ping failed"
# Provoke one drop reason: datagrams from outside to a port of the NAT
# range that no mapping holds (unsolicited_no_mapping).  The port is one
# no connection took: with 100 ports, a fixed one is taken now and then
# (and a knock on it is filtered_remote instead).
free=$(bm_json conns wan0 | "$PY" -c 'import json, sys
used = {int(c["outside"].rsplit(":", 1)[1]) for c in json.load(sys.stdin)
        if ":" in c.get("outside", "")}
print(next(p for p in range(61000, 61090) if p not in used))')
nsx srv "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(b"knock", (sys.argv[1], int(sys.argv[2])))' $WAN_GW "$free"
sleep 0.5

bm stats --prometheus wan0 >"$LAB_TMP/metrics.prom" 2>"$LAB_TMP/metrics.err" ||
	fail metrics_print "stats --prometheus failed: $(cat "$LAB_TMP/metrics.err")"
bm_json stats wan0 >"$LAB_TMP/stats.json"
bm_json conns wan0 >"$LAB_TMP/conns.json"

if promtool check metrics <"$LAB_TMP/metrics.prom" >"$LAB_TMP/promtool.out" 2>&1 &&
   [[ ! -s $LAB_TMP/promtool.out ]]; then
	pass metrics_promtool_clean
else
	fail metrics_promtool_clean "promtool check metrics: $(tr '\n' '|' <"$LAB_TMP/promtool.out")"
fi

# metric NAME LABELS: the value of the sample NAME{interface="wan0",LABELS}.
metric() {
	local sel="$1{interface=\"wan0\"${2:+,$2}}"
	awk -v s="$sel" '$1 == s { print $2 }' "$LAB_TMP/metrics.prom"
}
# stat NAME: counter NAME of the stats -j read right after the metrics.
stat() { jq_py "d[\"$1\"]" <"$LAB_TMP/stats.json"; }

# eq NAME GOT WANT [WHAT]
eq() {
	if [[ -n $2 && $2 == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "${4:-value} is '$2', expected '$3'"
	fi
}

eq metrics_translated_out "$(metric bpfmasq_packets_translated_total 'direction="out"')" \
	"$(stat out_translated)" "bpfmasq_packets_translated_total{direction=out}"
eq metrics_translated_in "$(metric bpfmasq_packets_translated_total 'direction="in"')" \
	"$(stat in_translated)" "bpfmasq_packets_translated_total{direction=in}"
check metrics_traffic_counted "out_translated is $(stat out_translated)" \
	eval "(( $(stat out_translated) >= 10 ))"
got=$(metric bpfmasq_packets_dropped_total 'reason="unsolicited_no_mapping"')
if [[ $got == "$(stat drop_unsolicited_no_mapping)" ]] && ((got >= 3)); then
	pass metrics_drop_reason_provoked
else
	fail metrics_drop_reason_provoked "reason=unsolicited_no_mapping is '$got', stats -j says $(stat drop_unsolicited_no_mapping), 3 sent"
fi
# Every drop_* counter of stats -j is a reason of the one drop counter.
bad=
for k in $(jq_py '" ".join(k for k in d if k.startswith("drop_"))' <"$LAB_TMP/stats.json"); do
	[[ $(metric bpfmasq_packets_dropped_total "reason=\"${k#drop_}\"") == "$(stat "$k")" ]] ||
		bad+=" $k"
done
eq metrics_every_drop_reason "${bad:-none}" none "drop reasons missing or different:"
eq metrics_connections_opened "$(metric bpfmasq_connections_opened_total)" \
	"$(stat new_flows)" "bpfmasq_connections_opened_total"
eq metrics_one_family_per_drop "$(grep -c '^# TYPE bpfmasq_packets_dropped_total counter$' "$LAB_TMP/metrics.prom")" 1

# Gauges against conns -j (read right after) and the settings.
nconn=$(jq_py 'len([r for r in d if r["state"] not in ("FORWARD", "EXPECT")])' <"$LAB_TMP/conns.json")
eq metrics_connections "$(metric bpfmasq_connections)" "$nconn" "bpfmasq_connections (conns lists $nconn)"
eq metrics_connections_limit "$(metric bpfmasq_connections_limit)" 1000
eq metrics_bindings_forward "$(metric bpfmasq_bindings 'type="forward"')" 1
for p in tcp udp icmp; do
	# Outside ports conns shows for this protocol, inside the NAT range.
	want=$(jq_py "len({r['outside'] for r in d if r['proto'] == '$p' and 61000 <= int(r['outside'].split(':')[1]) <= 61099})" <"$LAB_TMP/conns.json")
	used=$(metric bpfmasq_nat_ports_used "proto=\"$p\"")
	free=$(metric bpfmasq_nat_ports_free "proto=\"$p\"")
	if [[ $used == "$want" && $((used + free)) == 100 ]] && ((used > 0)); then
		pass metrics_ports_$p
		note "$p: $used ports used, $free free (conns shows $want)"
	else
		fail metrics_ports_$p "used $used, free $free; conns shows $want external $p ports in 61000-61099"
	fi
done
eq metrics_controller_running "$(metric bpfmasq_controller_running)" 1

# conns delete is counted in both.
out=$(bm conns delete wan0 -p udp --inside 10.0.1.2)
bm stats --prometheus >"$LAB_TMP/metrics.prom"
eq metrics_connections_deleted "$(metric bpfmasq_connections_deleted_total)" \
	"$(bm_stat conns_deleted)" "bpfmasq_connections_deleted_total after '$out'"
check metrics_all_interfaces_promtool "stats --prometheus without IFNAME fails promtool" \
	eval "promtool check metrics <'$LAB_TMP/metrics.prom'"

# --metrics-file: the controller writes the same every 5 s, whole (a
# temporary file renamed over it), for node_exporter's textfile collector.
if wait_until 12 grep -q 'bpfmasq_connections_deleted_total{interface="wan0"} [1-9]' "$LAB_TMP/wan0.prom"; then
	pass metrics_file_written
else
	fail metrics_file_written "no current $LAB_TMP/wan0.prom: $(head -c 300 "$LAB_TMP/wan0.prom" 2>&1)"
fi
check metrics_file_promtool "the metrics file fails promtool" \
	eval "promtool check metrics <'$LAB_TMP/wan0.prom'"
left=$(ls "$LAB_TMP" | grep -c 'wan0.prom.tmp')
check metrics_file_no_temporary "temporary files left: $left" test "$left" -eq 0

out=$(bm -j stats --prometheus wan0 2>/dev/null)
[[ $out == *'"error":"--prometheus prints the Prometheus text format: leave out -j"'* ]] &&
	pass metrics_refuses_json || fail metrics_refuses_json "-j stats --prometheus said '$out'"

lab_done
