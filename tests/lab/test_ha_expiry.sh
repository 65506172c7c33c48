#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A connection a gateway knows only from its peer's state sync expires
# there by its own expiry queue: the master that opened it dies without
# telling anyone it went idle, and the backup, which never saw a packet of
# it, removes it after its timeout all the same, without walking its
# table.  (No keepalived: the addresses are put on ha1 by hand.)
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only ha_expiry
. "$(dirname "$0")/halib.sh"

ha_sync_key
ha_lab || { fail ha_expiry_topology "could not build the two-gateway lab"; exit 1; }
srv_udp_echo 7 || { fail ha_expiry_udp_echo "the UDP echo did not start on srv"; exit 1; }
for g in 1 2; do
	ha_up $g $(sync_args $g) --timeout-udp 3 ||
		{ fail ha_expiry_up_ha$g "bpfmasq up on ha$g: $(cat "$LAB_TMP/up-ha$g.out")"; exit 1; }
done
sessions_up || { fail ha_expiry_sessions_up "sync: $(sync_line 1) / $(sync_line 2)"; exit 1; }
nsx ha1 ip addr add $LAN_VIP/24 dev lan0 && nsx ha1 ip addr add $WAN_VIP/24 dev wan0 ||
	{ fail ha_expiry_vips "cannot put the VIPs on ha1"; exit 1; }
wait_until 5 on_wan 1 || { fail ha_expiry_external "ha1 does not see $WAN_VIP on its WAN"; exit 1; }

[[ $(udp_echo cli1 $INET 7 5005) == udp-echo-5005 ]] ||
	fail ha_expiry_echo "the UDP echo through ha1 failed"
if wait_until 5 eval '(( $(conns_to 2 7) == 1 ))'; then
	pass ha_expiry_synced
else
	fail ha_expiry_synced "ha2 does not hold ha1's UDP flow: $(BM_NS=ha2 bm conns wan0)"
fi
walks=$(BM_NS=ha2 bm_stat expiry_walks)

# ha1's controller dies: nobody will tell ha2 that the flow went idle.
kill -9 "$(ctl_pid 1)"
if wait_until 10 eval '(( $(conns_to 2 7) == 0 ))'; then
	pass ha_expiry_synced_flow_expires
else
	fail ha_expiry_synced_flow_expires "ha2 still holds it 10 s after a 3 s timeout: $(BM_NS=ha2 bm conns wan0)"
fi
check ha_expiry_by_queue "ha2: $(BM_NS=ha2 bm stats wan0 | grep -E 'expir')" \
	eval '(( $(BM_NS=ha2 bm_stat conns_expired) >= 1 &&
		 $(BM_NS=ha2 bm_stat expiry_walks) == walks ))'
lab_done
