#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# An upgrade in place, from this tree's build to a second build of it that
# differs in a program and a counter (make BPFMASQ_EXTRA_CFLAGS=
# -DBPFMASQ_UPGRADE_TEST: masq_wan_out counts upgrade_test_packets, so the
# stats map grows and is migrated), while a slow 4 MiB download and a
# sequence-numbered UDP stream cross the NAT (with --lan: the LAN's XDP
# and the hairpin filter are swapped too).  The new build's `up` says it
# upgraded, status says which build and program tags run now and that a
# new controller does; the download arrives byte-exact, not one UDP
# datagram is lost, both connections keep their external ports, and the
# new counter counts.  A third build whose map layout differs (-DBPFMASQ_
# UPGRADE_TEST_LAYOUT) is refused in one line that says what to do, and
# the running instance is untouched; the old build's `reload` of the new
# instance from another path is refused likewise.  The old build's `up`
# takes the instance back (a downgrade: the stats map shrinks) and
# traffic flows.  Last, a package upgrade under a service manager: a
# foreground controller's binary is replaced in place and the new one's
# `reload` upgrades programs and controller (the same process executes
# the new binary), across another download and UDP stream.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only upgrade

# The two other builds, beside the main one (make decides what is stale).
other_build() {
	local dir=$1 flag=$2
	make -C "$LAB_REPO" -j2 OUTPUT="$dir" BPFMASQ_EXTRA_CFLAGS="$flag" \
		"$dir/bpfmasq" >"$LAB_TMP/make-$(basename "$dir").log" 2>&1
}
OUT=$(cd "$(dirname "$BPFMASQ")" && pwd)/upgrade-test
NEW=$OUT/new/bpfmasq
LAYOUT=$OUT/layout/bpfmasq
other_build "$OUT/new" -DBPFMASQ_UPGRADE_TEST ||
	{ fail upgrade_build_new "$(tail -n 5 "$LAB_TMP/make-new.log")"; exit 1; }
other_build "$OUT/layout" -DBPFMASQ_UPGRADE_TEST_LAYOUT ||
	{ fail upgrade_build_layout "$(tail -n 5 "$LAB_TMP/make-layout.log")"; exit 1; }
with() { local b=$1; shift; timeout 30 ip netns exec "$(ns gw)" "$b" "$@"; }

lab_standard || { fail upgrade_topology "could not build the lab"; exit 1; }
napi_on sw p0
srv_nginx || { fail upgrade_nginx "nginx did not start on srv"; exit 1; }
srv_udp_echo 7 || { fail upgrade_udp_echo "UDP echo did not start on srv"; exit 1; }

# A layer-3 WAN has no --lan (tc only): its swap is the tc programs.
[[ $LAB_WAN == tun ]] && lan=() || lan=(--lan lan0)
bm_up wan0 "${lan[@]}" || { fail upgrade_up "bpfmasq up wan0 ${lan[*]} failed"; exit 1; }
status() { with "$1" -j status wan0 | jq_py "(d[0] if isinstance(d, list) else d)$2"; }
old_obj=$(status "$BPFMASQ" '["build"]["object"]')
old_out_tag=$(status "$BPFMASQ" '["build"]["programs"]["masq_wan_out"]')
old_ctl=$(bm_ctl_pid)
check upgrade_status_this_build "status: $(status "$BPFMASQ" '["build"]')" \
	test "$(status "$BPFMASQ" '["build"]["this_build"]')" == true
check upgrade_status_other_build "the new build's status: $(status "$NEW" '["build"]')" \
	test "$(status "$NEW" '["build"]["this_build"]')" == false
# One hairpin filter, so that its program is swapped too.
check upgrade_hairpin_before "hairpin: $(status "$BPFMASQ" '["hairpin"]')" \
	wait_until 5 eval '[[ $(status "$BPFMASQ" "[\"hairpin\"]") == *\"lan0\"* ]]'

transfers_start 40500

with "$NEW" up wan0 --log "$LAB_TMP/ctl-new.log" >"$LAB_TMP/up.out" 2>"$LAB_TMP/up.err"
rc=$?
check upgrade_runs "exit $rc: $(cat "$LAB_TMP/up.err")" test "$rc" -eq 0
check upgrade_says_so "printed '$(cat "$LAB_TMP/up.out")'" \
	grep -q "^wan0: upgraded to this build, every flow kept" "$LAB_TMP/up.out"
new_ctl=$(bm_ctl_pid)
check upgrade_new_controller "controller $old_ctl before, $new_ctl after" \
	eval '[[ $new_ctl =~ ^[0-9]+$ && $new_ctl != 0 && $new_ctl != "$old_ctl" ]]'
check upgrade_old_controller_gone "the old controller $old_ctl still runs" \
	wait_until 5 eval '! alive $old_ctl'
b=$(status "$NEW" '["build"]')
note "now running: $b"
check upgrade_status_new_build "status: $b" \
	eval '[[ $(status "$NEW" "[\"build\"][\"this_build\"]") == true &&
		 $(status "$NEW" "[\"build\"][\"object\"]") != "$old_obj" ]]'
check upgrade_program_changed "masq_wan_out tag $old_out_tag before, $(status "$NEW" '["build"]["programs"]["masq_wan_out"]') after" \
	eval '[[ $(status "$NEW" "[\"build\"][\"programs\"][\"masq_wan_out\"]") != "$old_out_tag" ]]'
check upgrade_old_cli_says_other_build "the old build's status: $(with "$BPFMASQ" status wan0 | grep build:)" \
	eval 'with "$BPFMASQ" status wan0 | grep -q "build: .*not this bpfmasq'"'"'s"'
transfers_check upgrade
check upgrade_new_conn "cli2 cannot fetch after the upgrade" fetch cli2 "http://$INET/hello.txt"
# Its SYN took tc egress (established flows take the LAN's XDP).
n=$(with "$NEW" -j stats wan0 | jq_py 'd[0]["upgrade_test_packets"] if isinstance(d, list) else d["upgrade_test_packets"]')
check upgrade_new_counter "upgrade_test_packets: $n" eval '[[ $n =~ ^[0-9]+$ ]] && ((n > 0))'

# Maps of another layout: refused, one line, nothing touched.
obj=$(status "$NEW" '["build"]["object"]')
with "$LAYOUT" up wan0 >"$LAB_TMP/lay.out" 2>"$LAB_TMP/lay.err"
rc=$?
note "$(cat "$LAB_TMP/lay.err")"
check upgrade_layout_refused "exit $rc, stderr '$(cat "$LAB_TMP/lay.err")', stdout '$(cat "$LAB_TMP/lay.out")'" \
	eval '((rc == 1)) && [[ $(wc -l < "$LAB_TMP/lay.err") == 1 && ! -s $LAB_TMP/lay.out ]] &&
		grep -q "whose maps this build .* cannot use: its maps have layout 1 and this build.s 2; .bpfmasq down wan0. then .bpfmasq up wan0. .*nothing changed" "$LAB_TMP/lay.err"'
check upgrade_layout_untouched "object $(status "$NEW" '["build"]["object"]'), controller $(bm_ctl_pid)" \
	eval '[[ $(status "$NEW" "[\"build\"][\"object\"]") == "$obj" && $(bm_ctl_pid) == "$new_ctl" ]]'
check_udp_echo upgrade_layout_still_translates cli1 40500

# The old build's reload of the new instance, from another path than
# the controller's binary (which it would execute again): refused,
# nothing changed.
echo "timeout-udp 100" > "$LAB_TMP/wan0.conf"
with "$BPFMASQ" reload wan0 --config "$LAB_TMP/wan0.conf" >/dev/null 2>"$LAB_TMP/rel.err"
rc=$?
check upgrade_reload_other_path_refused "exit $rc, stderr '$(cat "$LAB_TMP/rel.err")'" \
	eval '((rc == 1)) && [[ $(wc -l < "$LAB_TMP/rel.err") == 1 ]] &&
		grep -q "runs bpfmasq .*its controller runs .*/new/bpfmasq, this is .*: a reload upgrades in place when this build is installed where the old one was; .bpfmasq up wan0. with this build upgrades it" "$LAB_TMP/rel.err" &&
		[[ $(status "$NEW" "[\"timeouts\"][\"udp\"]") == 300 ]]'

# And back: the old build takes over again (its stats map is smaller).
with "$BPFMASQ" up wan0 --log "$LAB_TMP/ctl-back.log" >"$LAB_TMP/back.out" 2>"$LAB_TMP/back.err"
rc=$?
check upgrade_back "exit $rc: $(cat "$LAB_TMP/back.err")" \
	eval '((rc == 0)) && [[ $(status "$BPFMASQ" "[\"build\"][\"object\"]") == "$old_obj" ]]'
check_udp_echo upgrade_back_translates cli1 40500
transfer_conns > "$LAB_TMP/conns.back"
check upgrade_back_conns_kept "after: $(cat "$LAB_TMP/conns.after"); back: $(cat "$LAB_TMP/conns.back")" \
	eval 'grep -q ":40500 " "$LAB_TMP/conns.back" && grep ":40500 " "$LAB_TMP/conns.after" | cmp -s - <(grep ":40500 " "$LAB_TMP/conns.back")'

# A package upgrade under a service manager: the controller runs in the
# foreground (the unit's main process) from a binary that is then
# replaced in place (a new file renamed over it, as dpkg does); the new
# binary's `reload` swaps the programs and has the controller execute
# that path again: the same process, now the new build.  Across a
# download and a UDP stream, as above.
with "$BPFMASQ" down wan0 >/dev/null 2>&1
mkdir -p "$LAB_TMP/bin"
cp "$BPFMASQ" "$LAB_TMP/bin/bpfmasq"
[[ $LAB_WAN == tun ]] && : > "$LAB_TMP/fg.conf" || echo "lan lan0" > "$LAB_TMP/fg.conf"
lab_bg gw "$LAB_TMP/fg.log" "$LAB_TMP/bin/bpfmasq" up wan0 --foreground \
	--config "$LAB_TMP/fg.conf"
wait_until 10 eval '(( $(bm_ctl_pid) > 0 ))' ||
	{ fail upgrade_pkg_up "the foreground controller did not start: $(cat "$LAB_TMP/fg.log")"; exit 1; }
fg_ctl=$(bm_ctl_pid)
transfers_start 40700
cp "$NEW" "$LAB_TMP/bin/bpfmasq.new"
mv -f "$LAB_TMP/bin/bpfmasq.new" "$LAB_TMP/bin/bpfmasq"
with "$LAB_TMP/bin/bpfmasq" reload wan0 --config "$LAB_TMP/fg.conf" \
	>"$LAB_TMP/pkg.out" 2>"$LAB_TMP/pkg.err"
rc=$?
check upgrade_pkg_reload_runs "exit $rc: $(cat "$LAB_TMP/pkg.err")" test "$rc" -eq 0
check upgrade_pkg_reload_says_so "printed '$(cat "$LAB_TMP/pkg.out")'" \
	grep -q "^wan0: build .*(object $old_obj) -> .*(object $(status "$NEW" '["build"]["object"]'))" "$LAB_TMP/pkg.out"
exe() { readlink "/proc/$fg_ctl/exe"; }
check upgrade_pkg_same_process "controller $fg_ctl running $(exe); log: $(tail -n 3 "$LAB_TMP/fg.log")" \
	wait_until 10 eval '[[ $(exe) == "$LAB_TMP/bin/bpfmasq" && $(bm_ctl_pid) == "$fg_ctl" ]] &&
		grep -q "controller running" <(sed -n "/executing/,\$p" "$LAB_TMP/fg.log")'
check upgrade_pkg_new_build "status: $(status "$NEW" '["build"]')" \
	eval '[[ $(status "$NEW" "[\"build\"][\"this_build\"]") == true ]]'
transfers_check upgrade_pkg

lab_done
