#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bpfmasq conns as an operator uses conntrack -L/-C/-D/-F: with real flows
# from two inside hosts (held TCP connections, a curl keep-alive
# connection, UDP, ping) and a forward, the filters select exactly the
# flows opened, count agrees, the output is sorted, delete removes both
# directions (checked in the map itself) and frees the binding, a deleted
# UDP flow re-opens on its next packet, a TCP segment of a deleted
# connection is dropped and counted (drop_tcp_new_without_syn), and flush
# leaves nothing but the forward.  Bad filters get one line naming them.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only conns

lab_build conns lab_standard srv_nginx srv_udp_echo=7 srv_tcp_echo=9000
lab_nat_up conns
bm forward add wan0 tcp 8080 10.0.1.3:8080 >/dev/null ||
	fail conns_forward_add "forward add failed"

# hold NS SPORT TAG: a TCP connection to the echo server from SPORT that
# stays open.  Once $LAB_TMP/go-TAG exists it sends once more and writes
# "echo" or "no echo" (within 3 s) to $LAB_TMP/held-TAG.
cat > "$LAB_TMP/hold.py" <<'PYEOF'
import os, socket, sys, time
dst, sport, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
res = os.path.join(sys.argv[4], "held-" + tag)
go = os.path.join(sys.argv[4], "go-" + tag)
s = socket.create_connection((dst, 9000), timeout=3,
                             source_address=("0.0.0.0", sport))
s.sendall(b"one")
open(res, "w").write("open %s\n" % s.recv(16).decode())
while not os.path.exists(go):
    time.sleep(0.05)
s.sendall(b"two")
try:
    s.settimeout(3)
    got = s.recv(16)
    open(res, "a").write("echo\n" if got == b"two" else "no echo\n")
except OSError:
    open(res, "a").write("no echo\n")
time.sleep(60)
PYEOF
hold() {
	lab_bg "$1" "$LAB_TMP/hold-$3.log" "$PY" "$LAB_TMP/hold.py" $INET "$2" \
		"$3" "$LAB_TMP"
	wait_until 5 grep -q "open one" "$LAB_TMP/held-$3"
}
hold cli1 40001 a && hold cli2 40002 b ||
	fail conns_held "held TCP connections did not open"
# curl keep-alive: two requests over one connection, which then closes.
[[ $(fetch cli2 http://$INET/hello.txt -o /dev/null -w '%{num_connects}' \
	http://$INET/hello.txt -o /dev/null) == 10 ]] ||
	note "curl did not reuse its connection"
for sp in 5001 5002; do
	udp_echo cli1 $INET 7 $sp >/dev/null ||
		fail conns_udp "udp echo from 10.0.1.2:$sp failed"
done
udp_echo cli2 $INET 7 5003 >/dev/null ||
	fail conns_udp "udp echo from 10.0.1.3:5003 failed"
nsx cli1 ping -c 1 -W 2 $INET >/dev/null || fail conns_ping "ping failed"

# rows [FILTERS]: "proto state inside remote" of every row conns -j
# lists, one a line, in its order.
rows() {
	bm_json conns wan0 "$@" | jq_py '"\n".join("%s %s %s %s" % (r["proto"], r["state"], r["inside"], r["remote"]) for r in d)'
}
# inside [FILTERS]: the inside endpoints of the rows selected, sorted,
# space separated (ICMP ids and curl's port are random: "addr:*").
inside() {
	rows "$@" | awk '$1 == "icmp" || $4 ~ /:80$/ { sub(/:.*/, ":*", $3) } { print $3 }' |
		sort | tr '\n' ' ' | sed 's/ $//'
}
# sel NAME WANT FILTERS...: the filters select exactly WANT, and count agrees.
sel() {
	local name=$1 want=$2 got n
	shift 2
	got=$(inside "$@")
	n=$(bm conns count wan0 "$@")
	if [[ $got != "$want" ]]; then
		fail conns_filter_$name "conns $* listed '$got', expected '$want'"
	elif [[ $n != $(wc -w <<<"$want") ]]; then
		fail conns_filter_$name "conns count $* said '$n', expected $(wc -w <<<"$want")"
	else
		pass conns_filter_$name
	fi
}

sel all "10.0.1.2:* 10.0.1.2:40001 10.0.1.2:5001 10.0.1.2:5002 10.0.1.3:* 10.0.1.3:40002 10.0.1.3:5003 10.0.1.3:8080"
sel proto_udp "10.0.1.2:5001 10.0.1.2:5002 10.0.1.3:5003" -p udp
sel proto_icmp "10.0.1.2:*" -p icmp
sel inside_host_tcp "10.0.1.2:40001" -p tcp --inside 10.0.1.2
sel inside_port "10.0.1.2:5002" --inside 10.0.1.2:5002
sel inside_prefix_port "10.0.1.3:40002" --inside=10.0.1.0/24:40002
sel remote_port "10.0.1.2:5001 10.0.1.2:5002 10.0.1.3:5003" --remote $INET:7
sel remote_prefix_icmp "10.0.1.2:*" --remote 198.51.100.0/24 -p icmp
sel remote_http "10.0.1.3:*" --remote $INET:80
sel state_established "10.0.1.2:40001 10.0.1.3:40002" --state ESTABLISHED
sel state_closed_curl "10.0.1.3:*" --state fin_wait,CLOSE -p tcp
sel state_replied_udp "10.0.1.2:5001 10.0.1.2:5002 10.0.1.3:5003" --state REPLIED -p udp
sel state_forward "10.0.1.3:8080" --state FORWARD
sel outside_range "10.0.1.2:* 10.0.1.2:40001 10.0.1.2:5001 10.0.1.2:5002 10.0.1.3:* 10.0.1.3:40002 10.0.1.3:5003" \
	--outside-port 61000-65535
op=$(bm_json conns wan0 -p udp --inside 10.0.1.2:5001 | jq_py 'd[0]["outside"].split(":")[1]')
sel outside_port "10.0.1.2:5001" -p udp --outside-port "$op"
sel nothing "" -p udp --inside 10.0.1.9
out=$(bm conns count)
[[ $out == "wan0: 8" ]] && pass conns_count_all_interfaces ||
	fail conns_count_all_interfaces "conns count without IFNAME said '$out'"

# Sorted by protocol, inside address and port, remote; plain and -j alike.
bm_json conns wan0 >"$LAB_TMP/all.json"
if "$PY" - "$LAB_TMP/all.json" <<'PYEOF'
import ipaddress, json, sys
rows = json.load(open(sys.argv[1]))
def ep(s):
    if s == "*":
        return (0, 0, 0)
    a, _, p = s.partition(":")
    return (1, int(ipaddress.ip_address(a)), int(p or 0))
keys = [(r["proto"], ep(r["inside"])[1:], ep(r["remote"]),
         int(r["outside"].split(":")[1])) for r in rows]
sys.exit(keys != sorted(keys))
PYEOF
then
	pass conns_sorted
else
	fail conns_sorted "conns -j is not sorted: $(rows | tr '\n' '|')"
fi
plain=$(bm conns wan0 | awk '{print $1, $2, $4, $8}')
[[ $plain == "$(rows)" ]] && pass conns_plain_same_order ||
	fail conns_plain_same_order "plain: $(tr '\n' '|' <<<"$plain") json: $(rows | tr '\n' '|')"

# ---- bad filters: one line, non-zero, naming the filter and the form ----
badf() {
	local name=$1 says=$2 rc lines
	shift 2
	bm "$@" >"$LAB_TMP/bad.out" 2>"$LAB_TMP/bad.err"
	rc=$?
	lines=$(grep -c . "$LAB_TMP/bad.err")
	if ((rc == 0 || rc >= 124)); then
		fail conns_bad_$name "'bpfmasq $*' exited $rc"
	elif ((lines != 1)) || ! grep -qE -- "$says" "$LAB_TMP/bad.err"; then
		fail conns_bad_$name "'bpfmasq $*' said '$(tr '\n' '|' <"$LAB_TMP/bad.err")', expected one line /$says/"
	else
		pass conns_bad_$name
		note "$(cat "$LAB_TMP/bad.err")"
	fi
}
badf proto "bad -p 'sctp': expected tcp, udp or icmp" conns wan0 -p sctp
badf inside "bad --inside '10.0.1.300'.*ADDR\[/LEN\]\[:PORT\]" conns wan0 --inside 10.0.1.300
badf inside_len "bad --inside '10.0.1.0/33'" conns count wan0 --inside 10.0.1.0/33
badf remote_port "bad --remote '198.51.100.1:http'" conns wan0 --remote 198.51.100.1:http
badf outside_port "bad --outside-port '70000'.*LO-HI" conns wan0 --outside-port 70000
badf outside_range "bad --outside-port '9-1'" conns wan0 --outside-port 9-1
badf state "bad --state 'OPEN'.*ESTABLISHED" conns wan0 --state OPEN
badf unknown "unknown filter '--src'.*--inside" conns wan0 --src 10.0.1.2
badf no_value "filter '--remote' needs a value" conns wan0 --remote
badf twice "filter '--inside' given twice" conns wan0 --inside 10.0.1.2 --inside 10.0.1.3
badf delete_unfiltered "conns delete needs a filter.*conns flush" conns delete wan0
badf delete_forward "forward del" conns delete wan0 --state FORWARD
badf flush_filtered "conns flush takes no filter" conns flush wan0 -p udp
badf not_up "no interface 'wan9'" conns delete wan9 -p udp
# In JSON mode the error is an object on stdout, as bpftool's.
out=$(bm -j conns wan0 -p sctp 2>/dev/null)
[[ $(jq_py 'd["error"]' <<<"$out") == "bad -p 'sctp': expected tcp, udp or icmp" ]] &&
	pass conns_bad_json_error || fail conns_bad_json_error "-j said '$out'"
[[ $(rows | wc -l) == 8 ]] && pass conns_bad_changed_nothing ||
	fail conns_bad_changed_nothing "rows after bad commands: $(rows | tr '\n' '|')"

# ---- delete ----
ctl=$(bm_ctl_pid)
FLOWS=/proc/$ctl/root/sys/fs/bpf/bpfmasq/wan0/flows
# flow_keys: "dir proto saddr:sport daddr:dport" of every entry of the
# flows map itself (bpftool, through the controller's bpffs).
flow_keys() {
	nsx gw bpftool -j map dump pinned "$FLOWS" | "$PY" -c 'import json, socket, struct, sys
for e in json.load(sys.stdin):
    k = e["formatted"]["key"] if "formatted" in e else e["key"]
    a = lambda v: socket.inet_ntoa(struct.pack("=I", v))
    p = lambda v: socket.ntohs(v)
    print(k["dir"], k["proto"], "%s:%d" % (a(k["saddr"]), p(k["sport"])),
          "%s:%d" % (a(k["daddr"]), p(k["dport"])))'
}
flow_keys >"$LAB_TMP/keys.before"
del0=$(bm_stat conns_deleted)
ext=$WAN_GW:$op
if [[ $(grep -c -e " 10.0.1.2:5001 $INET:7\$" -e " $INET:7 $ext\$" "$LAB_TMP/keys.before") != 2 ]]; then
	fail conns_map_has_both "the flows map lacks a direction of 10.0.1.2:5001: $(tr '\n' '|' <"$LAB_TMP/keys.before")"
fi
out=$(bm conns delete wan0 -p udp --inside 10.0.1.2:5001 2>&1)
[[ $out == "wan0: 1 connection deleted" ]] && pass conns_delete_says ||
	fail conns_delete_says "delete said '$out'"
flow_keys >"$LAB_TMP/keys.after"
if grep -q -e " 10.0.1.2:5001 " -e " $ext\$" "$LAB_TMP/keys.after"; then
	fail conns_delete_both_directions "left in the map: $(grep -e " 10.0.1.2:5001 " -e " $ext\$" "$LAB_TMP/keys.after" | tr '\n' '|')"
elif (($(wc -l <"$LAB_TMP/keys.after") != $(wc -l <"$LAB_TMP/keys.before") - 2)); then
	fail conns_delete_both_directions "$(wc -l <"$LAB_TMP/keys.before") entries before, $(wc -l <"$LAB_TMP/keys.after") after: other flows went too"
else
	pass conns_delete_both_directions
fi
check conns_delete_counted "conns_deleted did not grow by 1" \
	eval "(( \$(bm_stat conns_deleted) == $del0 + 1 ))"
# The binding goes with it once its last flow is older than the second
# of grace (BIND_DELETE_GRACE_NS): on a quick run the checks since the
# echo may take less, so wait out the grace first.
sleep 1.1
out=$(bm_json conns delete wan0 --inside 10.0.1.2:5002)
if [[ $(jq_py '[d["deleted"], d["bindings_freed"]]' <<<"$out") == "[1, 1]" ]]; then
	pass conns_delete_json_frees_binding
else
	fail conns_delete_json_frees_binding "-j conns delete said $out"
fi
sel after_delete "10.0.1.2:* 10.0.1.2:40001 10.0.1.3:* 10.0.1.3:40002 10.0.1.3:5003 10.0.1.3:8080"

# UDP: the next datagram opens the connection again.
nf=$(bm_stat new_flows)
if [[ $(udp_echo cli1 $INET 7 5001) == udp-echo-5001 ]] &&
   [[ $(inside -p udp --inside 10.0.1.2:5001) == 10.0.1.2:5001 ]] &&
   (($(bm_stat new_flows) == nf + 1)); then
	pass conns_udp_reopens
else
	fail conns_udp_reopens "after delete: $(rows -p udp | tr '\n' '|'), new_flows $nf -> $(bm_stat new_flows)"
fi

# TCP: a segment of a deleted connection is no SYN: dropped and counted.
nosyn=$(bm_stat drop_tcp_new_without_syn)
out=$(bm conns delete wan0 -p tcp --inside 10.0.1.2:40001)
[[ $out == "wan0: 1 connection deleted" ]] ||
	fail conns_delete_tcp "delete said '$out'"
touch "$LAB_TMP/go-a" "$LAB_TMP/go-b"
wait_until 6 grep -q echo "$LAB_TMP/held-a"
wait_until 6 grep -q echo "$LAB_TMP/held-b"
if grep -q "no echo" "$LAB_TMP/held-a" &&
   (($(bm_stat drop_tcp_new_without_syn) > nosyn)) &&
   [[ -z $(inside --inside 10.0.1.2:40001) ]]; then
	pass conns_tcp_after_delete_dropped
else
	fail conns_tcp_after_delete_dropped "held-a: $(tr '\n' '|' <"$LAB_TMP/held-a"), drop_tcp_new_without_syn $nosyn -> $(bm_stat drop_tcp_new_without_syn), rows $(rows --inside 10.0.1.2:40001)"
fi
check conns_other_tcp_untouched "the connection from 10.0.1.3:40002 stopped echoing" \
	grep -q "^echo" "$LAB_TMP/held-b"

# ---- flush: everything but the forward ----
n=$(rows --state SYN_SENT,ESTABLISHED,FIN_WAIT,CLOSE,REPLIED,UNREPLIED | grep -c .)
del0=$(bm_stat conns_deleted)
out=$(bm conns flush wan0)
[[ $out == "wan0: $n connections deleted" ]] && pass conns_flush_says ||
	fail conns_flush_says "flush said '$out', expected $n connections"
left=$(rows)
[[ $left == "tcp FORWARD 10.0.1.3:8080 *" ]] && pass conns_flush_keeps_forward ||
	fail conns_flush_keeps_forward "left after flush: $(tr '\n' '|' <<<"$left")"
check conns_flush_map_empty "flows map not empty after flush: $(flow_keys | tr '\n' '|')" \
	eval '[[ -z $(flow_keys) ]]'
check conns_flush_counted "conns_deleted did not grow by $n" \
	eval "(( \$(bm_stat conns_deleted) == $del0 + $n ))"
# Bindings: only the forward's, at once or (used in the last second) once
# the controller walks them.
only_forward_bound() {
	bm stats --prometheus wan0 >"$LAB_TMP/prom" &&
		grep -qx 'bpfmasq_bindings{interface="wan0",type="dynamic"} 0' "$LAB_TMP/prom" &&
		grep -qx 'bpfmasq_bindings{interface="wan0",type="forward"} 1' "$LAB_TMP/prom"
}
: >"$LAB_TMP/prom"
check conns_flush_frees_bindings "bindings left: $(grep '^bpfmasq_bindings' "$LAB_TMP/prom" | tr '\n' '|')" \
	wait_until 25 only_forward_bound
out=$(bm forward list wan0 | tr -s ' ')
[[ $out == "tcp FORWARD inside 10.0.1.3:8080 outside $WAN_GW:8080 remote *" ]] &&
	pass conns_forward_list_same_rows ||
	fail conns_forward_list_same_rows "forward list said '$out'"
out=$(bm_json conns flush)
[[ $(jq_py 'd[0]["deleted"]' <<<"$out") == 0 ]] && pass conns_flush_all_interfaces_json ||
	fail conns_flush_all_interfaces_json "-j conns flush said $out"

lab_done
