#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Beside a container runtime's own masquerade (netavark's and Docker's
# default): netfilter translates the containers' connections first, here
# into bpfmasq's port range on purpose, and bpfmasq must leave their
# replies to conntrack instead of dropping them as unsolicited.  `up`
# and `status` say that two NATs run on the WAN.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

lab_build ct9 lab_containers srv_nginx srv_udp_echo
nsx gw nft -f - <<'NFT' || { fail ct9_nft "nft rules refused"; exit 1; }
table ip ct9_runtime {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "wan0" meta l4proto { tcp, udp } masquerade to :61000-65535
		oifname "wan0" masquerade
	}
}
NFT
lab_nat_up ct9

n=$(grep -c '^Warning: netfilter also masquerades on wan0' "$LAB_TMP/up.err")
if [[ $n == 1 ]]; then
	pass ct9_up_warns_once
else
	fail ct9_up_warns_once "up printed $n netfilter warnings: $(cat "$LAB_TMP/up.err")"
fi
if bm status wan0 | grep -q '^    netfilter: also masquerades here (table ip ct9_runtime, chain post: oifname "wan0" meta l4proto { tcp, udp } masquerade to :61000-65535)'; then
	pass ct9_status_shows_it
else
	fail ct9_status_shows_it "status: $(bm status wan0 | tr '\n' '|')"
fi

drops0=$(bm_stat drop_unsolicited_no_mapping)
ok=0 tries=0
for c in ct1 ct2; do
	for i in 1 2 3 4; do
		tries=$((tries + 1))
		body=$(fetch $c http://$INET/hello.txt)
		[[ $body == "hello from srv" ]] && ok=$((ok + 1))
		tries=$((tries + 1))
		out=$(udp_echo $c $INET 7 $((40000 + i)))
		[[ $out == udp-echo-$((40000 + i)) ]] && ok=$((ok + 1))
	done
done
if ((ok == tries)); then
	pass ct9_all_connections_work
else
	fail ct9_all_connections_work "$ok of $tries connections answered"
fi
ports=$(nsx gw cat /proc/net/nf_conntrack 2>/dev/null |
	grep -o 'dst=192.0.2.1 sport=[0-9]* dport=6[0-9]*' | wc -l)
note "conntrack entries with a reply to a port of bpfmasq's range: $ports"
drops1=$(bm_stat drop_unsolicited_no_mapping)
if ((drops1 == drops0)); then
	pass ct9_no_drops
else
	fail ct9_no_drops "drop_unsolicited_no_mapping went from $drops0 to $drops1"
fi
n=$(bm_json conns wan0 | jq_py 'len(d)')
if [[ $n == 0 ]]; then
	pass ct9_bpfmasq_translated_nothing
else
	fail ct9_bpfmasq_translated_nothing "conns shows $n flows"
fi

# Unsolicited traffic to the range is still dropped.
before=$(bm_stat drop_unsolicited_no_mapping)
nsx srv "$PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("192.0.2.1", 61999))' 
wait_until 3 test "$(bm_stat drop_unsolicited_no_mapping)" -gt "$before"
if (($(bm_stat drop_unsolicited_no_mapping) > before)); then
	pass ct9_unsolicited_still_dropped
else
	fail ct9_unsolicited_still_dropped "no drop counted"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
