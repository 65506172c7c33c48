#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Two inside hosts on the same source port toward the same server at once:
# both work, each on its own outside port (never overload a port).
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build sameport lab_standard srv_nginx srv_udp_echo
lab_nat_up sameport

# Both downloads take ~2 s (256 KiB at 128 KiB/s), so they overlap.
for c in cli1 cli2; do
	fetch $c http://$INET/slow.bin --local-port 40000 --limit-rate 128k \
		-o "$LAB_TMP/$c.bin" >"$LAB_TMP/$c.curl" 2>&1 &
	LAB_PIDS+=($!)
	eval "pid_$c=$!"
done

# While both run, the mapping table holds both, on different outside ports.
conns_ok() {
	bm_json conns wan0 | jq_py '
[c for c in d if c["proto"].lower() == "tcp"
   and c["inside"] in ("10.0.1.2:40000", "10.0.1.3:40000")
   and c["remote"] == "198.51.100.1:80"]' > "$LAB_TMP/tcp.json" &&
	"$PY" -c 'import json, sys
c = json.load(open(sys.argv[1]))
ins = {x["inside"] for x in c}
outs = {x["outside"] for x in c}
sys.exit(0 if len(ins) == 2 and len(outs) == 2 else 1)' "$LAB_TMP/tcp.json"
}
if is_bpfmasq; then
	if wait_until 3 conns_ok; then
		pass sameport_tcp_distinct_outside_ports
	else
		fail sameport_tcp_distinct_outside_ports \
			"conns -j: $(cat "$LAB_TMP/json.out" 2>/dev/null | head -c 600)"
	fi
else
	skip sameport_tcp_distinct_outside_ports "LAB_NAT=nft"
fi

for c in cli1 cli2; do
	eval "p=\$pid_$c"
	if wait "$p" && cmp -s "$LAB_TMP/$c.bin" "$NGX/www/slow.bin"; then
		pass sameport_tcp_$c
	else
		fail sameport_tcp_$c "download from $c: $(cat "$LAB_TMP/$c.curl")"
	fi
done

# The server saw two different source ports, both from the gateway.
ports=$(awk '$3 == "\"GET" {print $1 ":" $2}' "$NGX/access.log" | sort -u)
if srv_log_only_gw && [[ $(wc -l <<<"$ports") -eq 2 ]]; then
	pass sameport_server_sees_two_ports
else
	fail sameport_server_sees_two_ports "server saw: $(tr '\n' ' ' <<<"$ports")"
fi

# UDP: both from source port 40000, at once.
udp_echo cli1 $INET 7 40000 >"$LAB_TMP/u1" 2>&1 & u1=$!
udp_echo cli2 $INET 7 40000 >"$LAB_TMP/u2" 2>&1 & u2=$!
if wait $u1; then pass sameport_udp_cli1; else fail sameport_udp_cli1 "no echo: $(cat "$LAB_TMP/u1")"; fi
if wait $u2; then pass sameport_udp_cli2; else fail sameport_udp_cli2 "no echo: $(cat "$LAB_TMP/u2")"; fi

if is_bpfmasq; then
	outs=$(bm_json conns wan0 | jq_py '
"\n".join(sorted({c["outside"] for c in d if c["proto"].lower() == "udp"
   and c["inside"] in ("10.0.1.2:40000", "10.0.1.3:40000")}))')
	if [[ $(wc -l <<<"$outs") -eq 2 && -n $outs ]]; then
		pass sameport_udp_distinct_outside_ports
	else
		fail sameport_udp_distinct_outside_ports "outside ports: $(tr '\n' ' ' <<<"$outs")"
	fi
else
	skip sameport_udp_distinct_outside_ports "LAB_NAT=nft"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
