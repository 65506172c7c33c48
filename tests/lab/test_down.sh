#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `down` undoes all of `up`: programs, filters, the qdisc it created, pins
# and the controller; the gateway then forwards untranslated again.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only down

lab_build down lab_standard srv_nginx

has_xdp() { nsx gw ip -d link show dev "$1" | grep -q 'prog/xdp'; }
has_clsact() { nsx gw tc qdisc show dev wan0 | grep -q clsact; }
tc_filters() { nsx gw tc filter show dev wan0 "$1"; }
gw_procs() {
	local p
	for p in $(ip netns pids "$(ns gw)"); do
		cat "/proc/$p/comm" 2>/dev/null
	done
}
# Pins, seen from one mount namespace that has bpffs mounted.
pins() {
	nsx gw sh -c 'mountpoint -q /sys/fs/bpf ||
		mount -t bpf bpf /sys/fs/bpf || exit 3
		d=/sys/fs/bpf/bpfmasq/wan0
		if [ -e $d ]; then echo "$d:"; ls -A $d; fi
		exit 0'
}

has_clsact && { fail down_precondition "wan0 has a clsact qdisc before up"; exit 1; }

bm_up wan0 --lan lan0 --lan-new ||
	{ fail down_up "bpfmasq up wan0 --lan lan0 --lan-new failed"; exit 1; }
check down_up_attaches_wan_xdp "no XDP program on wan0 after up" has_xdp wan0
check down_up_attaches_lan_xdp "no XDP program on lan0 after up" has_xdp lan0
check down_up_attaches_tc "no tc egress filter on wan0 after up" \
	eval '[[ -n $(tc_filters egress) ]]'
check down_up_traffic "cli1 cannot fetch through the NAT" \
	fetch cli1 http://$INET/hello.txt
ctl=$(bm_ctl_pid)
# --lan-new: masq_lan_open is loaded and pinned under its own name,
# masq_lan_fast is not loaded at all (nor masq_hairpin_l3, with no
# layer-3 inside interface).
if [[ $ctl =~ ^[0-9]+$ ]]; then
	check_pins down_up_pins_everything "$ctl" "$LAB_TMP/pins" masq_lan_fast \
		masq_hairpin_l3
fi

if bm down wan0 >"$LAB_TMP/down.out" 2>"$LAB_TMP/down.err"; then
	pass down_exit_status
else
	fail down_exit_status "down wan0 failed: $(cat "$LAB_TMP/down.err")"
fi

check down_no_xdp_wan "XDP still attached to wan0: $(nsx gw ip -d link show dev wan0 | grep -o 'prog/xdp.*')" \
	eval '! has_xdp wan0'
check down_no_xdp_lan "XDP still attached to lan0" eval '! has_xdp lan0'
out=$(tc_filters egress; tc_filters ingress)
check down_no_tc_filter "tc filters left on wan0: $out" test -z "$out"
check down_no_clsact "clsact qdisc left on wan0" eval '! has_clsact'
out=$(pins)
rc=$?
if ((rc != 0)); then
	fail down_no_pins "could not mount bpffs in the gateway namespace"
elif [[ -n $out ]]; then
	fail down_no_pins "left in /sys/fs/bpf/bpfmasq/wan0: $(tr '\n' ' ' <<<"$out")"
else
	pass down_no_pins
fi
if [[ $ctl =~ ^[0-9]+$ ]] && ((ctl > 1)); then
	check down_controller_gone "controller $ctl still running" \
		wait_until 5 eval "! alive $ctl"
else
	fail down_controller_gone "status -j gave no controller_pid ('$ctl')"
fi
# The controller's last word must not claim that anything stays.
last=$(grep 'controller stopped' "$LAB_TMP/ctl-wan0.log")
check down_log_says_removed "controller log: '$last'" \
	eval '[[ $last == *"down"*removes* && $last != *"stay in place"* ]]'
out=$(gw_procs | grep -x bpfmasq)
check down_no_process "bpfmasq processes left in the gateway namespace" test -z "$out"
out=$(nsx gw bpftool -j net show 2>/dev/null | grep -o 'masq_[a-z_]*' | sort -u)
check down_no_bpf_attachments "bpftool net show still lists: $out" test -z "$out"

# Nothing translates any more: the server cannot answer the inside.
check down_no_translation "cli1 still reached srv after down" \
	eval '! fetch cli1 http://$INET/hello.txt --max-time 2'
check down_status_says_down "status wan0 still succeeds after down" \
	eval '! bm status wan0'

# down on what is already down: an error, and still nothing attached.
check down_twice_fails "a second down wan0 succeeded" eval '! bm down wan0'

# up again after down works (nothing stale blocks it).
if bm_up wan0; then
	check down_up_again_traffic "no traffic after up, down, up" \
		fetch cli1 http://$INET/hello.txt
else
	fail down_up_again "up after down failed: $(cat "$LAB_TMP/up.err")"
fi

((LAB_FAILS)) && show_ctl_log
lab_done
