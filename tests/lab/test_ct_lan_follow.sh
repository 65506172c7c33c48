#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# --lan names an interface that comes and goes, as a container runtime's
# bridge does: `up` accepts one that does not exist yet (one warning), the
# controller attaches the fast path when it appears and again when it is
# deleted and made anew, logs both, and status shows its state.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

ns_add ct9 gw srv || { fail ct9_topology "no namespaces"; exit 1; }
lab_wan || { fail ct9_topology "no WAN"; exit 1; }
srv_nginx || { fail ct9_nginx "nginx did not start on srv"; exit 1; }
veth ct9 eth0 gw vct9 || { fail ct9_topology "no veth"; exit 1; }
addr ct9 eth0 10.0.9.2/24
nsx ct9 ip route add default via 10.0.9.1
offload_like_nic ct9 eth0

# The runtime's bridge, made (again) with its first container.
make_bridge() {
	nsx gw ip link add ctbr9 type bridge stp_state 0 &&
	addr gw ctbr9 10.0.9.1/24 &&
	nsx gw ip link set ctbr9 up &&
	nsx gw ip link set vct9 master ctbr9
}
lan_state() {
	bm_json status wan0 | jq_py '[(i["name"], i["state"]) for i in (d[0] if isinstance(d, list) else d)["lan_interfaces"]]'
}
fast_moves() {
	local before after
	before=$(bm_stat lan_fastpath)
	body=$(fetch ct9 http://$INET/hello.txt)
	after=$(bm_stat lan_fastpath)
	[[ $body == "hello from srv" ]] && ((after > before))
}

if nat_up --lan ctbr9; then
	pass ct9_up_without_the_lan
else
	fail ct9_up_without_the_lan "up refused a --lan that does not exist yet"
	lab_done
fi
n=$(grep -c '^Warning: no interface ctbr9 yet' "$LAB_TMP/up.err")
if [[ $n == 1 && $(grep -c '' "$LAB_TMP/up.err") == 1 ]]; then
	pass ct9_one_warning
else
	fail ct9_one_warning "up said: $(cat "$LAB_TMP/up.err")"
fi
if [[ $(lan_state) == '[["ctbr9", "waiting"]]' ]] &&
   bm status wan0 | grep -q '^    lan fast path: ctbr9 (waiting for it to appear)'; then
	pass ct9_status_waiting
else
	fail ct9_status_waiting "status: $(bm status wan0 | grep 'lan fast path')"
fi

make_bridge || { fail ct9_bridge "cannot make ctbr9"; lab_done; }
check_ctl_log ct9_appeared_logged '--lan ctbr9: appeared as ifindex'
if [[ $(lan_state) == '[["ctbr9", "attached"]]' ]] && fast_moves; then
	pass ct9_fast_path_after_appearing
else
	fail ct9_fast_path_after_appearing "state $(lan_state), lan_fastpath $(bm_stat lan_fastpath)"
fi

nsx gw ip link del ctbr9
wait_until 5 grep -q -- '--lan ctbr9: removed' "$LAB_TMP/ctl-wan0.log"
if [[ $(lan_state) == '[["ctbr9", "waiting"]]' ]]; then
	pass ct9_status_after_removal
else
	fail ct9_status_after_removal "state $(lan_state)"
fi
make_bridge || { fail ct9_bridge "cannot make ctbr9 again"; lab_done; }
check_ctl_log ct9_back_logged '--lan ctbr9: back as ifindex'
if [[ $(lan_state) == '[["ctbr9", "attached"]]' ]] &&
   bm status wan0 | grep -q '^    lan fast path: ctbr9 (routing' && fast_moves; then
	pass ct9_fast_path_after_return
else
	fail ct9_fast_path_after_return "state $(lan_state), status: $(bm status wan0 | grep 'lan fast path')"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
