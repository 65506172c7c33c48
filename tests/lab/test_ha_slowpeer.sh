#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The slow-peer bound of state sync: a peer that takes the session and
# then reads nothing (syncpeer.py in ha2, where a controller would be)
# must not cost the gateway more than the bound.  Tens of thousands of
# new flows through ha1 pile up records for it: ha1 drops the session
# once 4096 messages (or 4 MiB) wait, counts it (sync_peer_too_slow, and
# in the peer's status line), stays small, and connects again; that next
# session starts with a bulk resync, every message of it authenticated
# under the key and in order, which the peer acknowledges.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_slowpeer
. "$(dirname "$0")/halib.sh"

ha_sync_key
ha_lab || { fail ha_slowpeer_topology "could not build the two-gateway lab"; exit 1; }
# ha1 is the gateway, with both addresses; ha2 only carries the fake peer.
addr ha1 lan0 $LAN_VIP/24 && addr ha1 wan0 $WAN_VIP/24 ||
	{ fail ha_slowpeer_addresses "cannot add the addresses to ha1"; exit 1; }
lab_bg ha2 "$LAB_TMP/syncpeer.out" "$PY" "$LAB_REPO/tests/lab/syncpeer.py" \
	10.255.0.2 7439 "$KEY"
wait_until 5 listening ha2 tcp 10.255.0.2:7439 ||
	{ fail ha_slowpeer_fake_peer "syncpeer.py did not start: $(cat "$LAB_TMP/syncpeer.out")"; exit 1; }
ha_up 1 $(sync_args 1) --max-flows 262144 ||
	{ fail ha_slowpeer_up "bpfmasq up on ha1: $(cat "$LAB_TMP/up-ha1.out")"; exit 1; }
check ha_slowpeer_session_up "ha1 $(sync_line 1)" wait_until 10 sync_up 1
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$(ctl_pid 1)/status")

# 48000 new flows (UDP to as many ports, from two sockets), paced at
# about 8000 a second so that the event ring keeps up: about 96000
# records, more than 4096 messages of 21.
nsx cli1 "$PY" - "$INET" <<'EOF' &
import socket, sys, time
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
start = time.monotonic()
for i in range(48000):
    socks[i % 2].sendto(b"x", (sys.argv[1], 1024 + i // 2))
    if i % 400 == 399:
        time.sleep(max(0.0, start + (i + 1) / 8000 - time.monotonic()))
EOF
gen=$!
too_slow() { (($(BM_NS=ha1 bm_stat sync_peer_too_slow) >= 1)); }
if wait_until 30 too_slow; then
	pass ha_slowpeer_session_dropped
else
	fail ha_slowpeer_session_dropped "sync_peer_too_slow $(BM_NS=ha1 bm_stat sync_peer_too_slow), ha1 $(sync_line 1), $(BM_NS=ha1 bm conns count wan0 2>&1) connections"
fi
rss=$(awk '/VmRSS/ {print $2}' "/proc/$(ctl_pid 1)/status")
note "ha1's controller with $(BM_NS=ha1 bm conns count wan0 2>&1) connections and a peer that does not read: VmRSS $rss kB ($rss0 kB before)"
wait $gen
check ha_slowpeer_logged "ha1's log does not say the peer was too slow" \
	grep -q "sync to 10.255.0.2:7439 lost: the peer does not keep up; the next session resyncs" "$LAB_TMP/ctl-ha1.log"
check ha_slowpeer_counted_for_the_peer "ha1's status: $(BM_NS=ha1 bm_json status wan0 | jq_py 'd["sync"]["peers"]')" \
	eval '(($(peer_status 1 too_slow) >= 1))'
# Small: the bound's 4 MiB at most, and the refresh's dump of the flows.
check ha_slowpeer_memory_small "VmRSS $rss0 kB -> $rss kB" \
	test "$((${rss:-999999} - ${rss0:-0}))" -lt 32768

# The next session: a bulk resync of everything, authenticated.
bulk_read() { grep -q '"bulk_end": true' "$LAB_TMP/syncpeer.out"; }
check ha_slowpeer_next_session_resyncs "syncpeer.py said: $(tail -n 3 "$LAB_TMP/syncpeer.out")" \
	wait_until 60 bulk_read
note "the next session: $(grep '^{' "$LAB_TMP/syncpeer.out")"
check ha_slowpeer_bulk_carries_the_flows "$(grep '^{' "$LAB_TMP/syncpeer.out")" \
	eval '(($(grep "^{" "$LAB_TMP/syncpeer.out" | jq_py "d[\"records\"]") > 48000))'
check ha_slowpeer_session_back "ha1 $(sync_line 1)" \
	eval 'sync_up 1 && (($(peer_status 1 sessions) >= 2 && $(peer_status 1 bulk_resyncs) >= 2))'
((LAB_FAILS)) && show_ctl_log
lab_done
