#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bpfmasq monitor against real traffic, as `conntrack -E` is used: two
# monitors at once (text with the default events, -j with -e
# new,destroy,map,unmap); a curl's connection appears as [NEW] with the
# inside, outside and remote endpoints the server saw, and as [DESTROY]
# (closed) when it expires; an unsolicited packet as [DROP] with its
# reason, only where -e asks for drops; a UDP flow removed with `conns
# delete` as [DESTROY] (deleted), its mapping as unmap (deleted); -j lines
# parse as JSON, with sequence numbers that only grow; and a monitor with
# no controller says so in one line.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only monitor

lab_build monitor lab_standard srv_nginx srv_udp_echo=7
# Short timeouts: closed TCP connections go within a few seconds.
nat_up --timeout-tcp-transitory 2 --timeout-udp 30 ||
	{ fail monitor_up "bpfmasq up wan0 failed"; exit 1; }

# Two monitors at once.
MT=$LAB_TMP/mon-text.out
MJ=$LAB_TMP/mon-json.out
lab_bg gw "$MT" "$BPFMASQ" monitor wan0
lab_bg gw "$MJ" "$BPFMASQ" -j monitor wan0 -e new,destroy,map,unmap
# Both connected: the controller's socket has two peers besides itself.
subscribers() {
	(($(nsx gw ss -xH | grep -c '@bpfmasq/wan0.events') >= 2))
}
wait_until 5 subscribers ||
	fail monitor_subscribed "the monitors did not connect: $(cat "$MT" "$MJ")"

# A curl from a known port: the server logs the port it saw.
fetch cli1 "http://$INET/hello.txt" --local-port 45001 >/dev/null ||
	fail monitor_curl "curl through the gateway failed"
wait_until 5 grep -q ' 45001 \|"GET /hello.txt' "$NGX/access.log"
srv_port=$(awk '$3 == "\"GET" && $4 == "/hello.txt" {print $2}' "$NGX/access.log" | tail -1)
[[ $srv_port =~ ^[0-9]+$ ]] || fail monitor_server_port "no client port in nginx's log: $(cat "$NGX/access.log")"

new_re="\\[NEW\\] tcp  SYN_SENT +inside 10\\.0\\.1\\.2:45001 outside $WAN_GW:$srv_port remote $INET:80\$"
check_logged monitor_new_endpoints "$MT" "$new_re" 5 \
	"no [NEW] line with the server's view ($WAN_GW:$srv_port)"
# Closed (FIN seen), then idle past 2 s: expired as closed.
destroy_re="\\[DESTROY\\] tcp  (FIN_WAIT|CLOSE) +inside 10\\.0\\.1\\.2:45001 outside $WAN_GW:$srv_port remote $INET:80 \\(closed\\)\$"
check_logged monitor_destroy_closed "$MT" "$destroy_re" 15 \
	"no [DESTROY] (closed) line"
# It went by the expiry queue: looked at by the kernel program, with no
# walk of the table beyond the controller's first (nothing was lost).
check monitor_expired_by_queue "expiry: $(bm stats wan0 | grep -E 'expir')" \
	eval '(( $(bm_stat conns_expired) >= 1 && $(bm_stat expiry_checked) >= 1 &&
		 $(bm_stat expiry_walks) == 1 ))'
check monitor_timestamp_format "a line does not start with [seconds.micros]" \
	eval "grep -E '45001' '$MT' | grep -Evq '^\\[[0-9]{10}\\.[0-9]{6}\\] '; (( \$? == 1 ))"

# An unsolicited datagram to a NAT port nobody holds: a [DROP] line in the
# default monitor, none in the one whose -e leaves drops out.
nsx srv "$PY" -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$INET', 5353)); s.sendto(b'x', ('$WAN_GW', 61234))"
drop_re="\\[DROP\\] udp  outside $WAN_GW:61234 remote $INET:5353 \\(unsolicited_no_mapping\\)\$"
check_logged monitor_drop "$MT" "$drop_re" 5 \
	"no [DROP] line for the unsolicited datagram"

# A UDP flow, then conns delete: [DESTROY] (deleted) and its mapping gone.
[[ $(udp_echo cli2 $INET 7 5005) == udp-echo-5005 ]] ||
	fail monitor_udp "the UDP echo through the gateway failed"
out_udp=$(bm_json conns wan0 --inside 10.0.1.3:5005 | jq_py 'd[0]["outside"] if d else ""')
wait_until 5 grep -Eq "\\[NEW\\] udp  UNREPLIED +inside 10\\.0\\.1\\.3:5005 outside $out_udp remote $INET:7\$" "$MT" ||
	fail monitor_new_udp "no [NEW] line for the UDP flow ($out_udp): $(cat "$MT")"
# (A binding that opened a flow in the last second is left to the
# controller's walk: wait that second, so that the delete frees it.)
sleep 1.2
bm conns delete wan0 --inside 10.0.1.3:5005 >/dev/null ||
	fail monitor_conns_delete "conns delete failed"
check_logged monitor_destroy_deleted "$MT" \
	"\\[DESTROY\\] udp  REPLIED +inside 10\\.0\\.1\\.3:5005 outside $out_udp remote $INET:7 \\(deleted\\)\$" \
	5 "no [DESTROY] (deleted) line"

# The JSON monitor: every line an object; the events -e asked for, no
# drop; sequence numbers that only grow; the curl's connection and its
# mapping with the same endpoints as the text monitor's.
wait_until 5 grep -q '"unmap"' "$MJ"
"$PY" - "$MJ" "$WAN_GW:$srv_port" "$out_udp" >"$LAB_TMP/json-check.out" 2>&1 <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
curl_out, udp_out = sys.argv[2], sys.argv[3]
kinds = {e["event"] for e in evs}
assert "drop" not in kinds, "a drop event despite -e new,destroy,map,unmap"
seqs = [e["seq"] for e in evs]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "sequence numbers not increasing: %s" % seqs
def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in evs)
assert has(event="new", proto="tcp", inside="10.0.1.2:45001", outside=curl_out,
           remote="198.51.100.1:80", state="SYN_SENT", opened="out"), "no new event for the curl"
assert has(event="destroy", proto="tcp", inside="10.0.1.2:45001", outside=curl_out,
           reason="closed"), "no destroy event for the curl"
assert has(event="map", proto="tcp", inside="10.0.1.2:45001", outside=curl_out), "no map event for the curl"
assert has(event="destroy", proto="udp", inside="10.0.1.3:5005", outside=udp_out,
           reason="deleted"), "no destroy (deleted) for the UDP flow"
assert has(event="unmap", proto="udp", inside="10.0.1.3:5005", outside=udp_out,
           reason="deleted"), "no unmap (deleted) for the UDP flow"
assert all("remote" not in e for e in evs if e["event"] in ("map", "unmap")), "a mapping event names a destination"
print("%d events" % len(evs))
EOF
if (($? == 0)); then
	pass monitor_json
else
	fail monitor_json "$(cat "$LAB_TMP/json-check.out"); $(cat "$MJ")"
fi
check monitor_text_no_mappings "the default monitor printed [MAP] lines" \
	eval "! grep -q '\\[MAP\\]' '$MT'"

# Filters are conns': only the inside host asked for.
MF=$LAB_TMP/mon-filter.out
lab_bg gw "$MF" "$BPFMASQ" monitor wan0 --inside 10.0.1.3 -p udp
wait_until 5 eval "(( \$(nsx gw ss -xH | grep -c '@bpfmasq/wan0.events') >= 3 ))"
udp_echo cli1 $INET 7 5006 >/dev/null
udp_echo cli2 $INET 7 5007 >/dev/null
if wait_until 5 grep -q 'inside 10.0.1.3:5007' "$MF" && ! grep -q '10.0.1.2' "$MF"; then
	pass monitor_filter
else
	fail monitor_filter "the --inside 10.0.1.3 monitor printed: $(cat "$MF")"
fi

check monitor_bad_events "a bad -e was accepted" \
	eval "bm monitor wan0 -e new,bogus 2>&1 | grep -q \"^Error: bad -e 'new,bogus': expected one or more of\""

# Without a controller: one line saying so, non-zero.
pid=$(bm_ctl_pid)
kill -9 "$pid"
wait_until 5 eval "! alive $pid"
out=$(bm monitor wan0 2>&1)
rc=$?
if ((rc != 0)) && [[ $(wc -l <<<"$out") == 1 && $out == "Error: no controller runs on wan0"* ]]; then
	pass monitor_no_controller
else
	fail monitor_no_controller "exit $rc: $out"
fi
# The running monitors wait for a controller and carry on with it.
bm_up wan0 || fail monitor_readopt "up after kill -9 failed"
wait_until 5 subscribers
udp_echo cli2 $INET 7 5008 >/dev/null
check monitor_after_restart "a monitor did not carry on after the controller came back: $(tail -3 "$MT")" \
	wait_until 5 grep -q 'inside 10.0.1.3:5008' "$MT"

lab_done
