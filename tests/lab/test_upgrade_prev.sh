#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# An upgrade in place from an earlier build whose maps are not all this
# build's: PREV, the last build before the --external pool, has no
# ext_pool map and keeps its one --external address in the state map
# only.  Built from this repository's history, it runs with --external
# VIP and --lan while a slow download and a numbered UDP stream cross it;
# this build's `up` upgrades it: the new map is made and filled from the
# state map before the swap, so replies to VIP translate throughout, and
# nothing is lost.  Then the pool is followed as if it had been made here:
# VIP leaves and comes back and the connections on it carry on.
. "$(dirname "$0")/lib.sh"
lab_bpfmasq_only upgprev
PREV=0a70edffee7a695efaff4008eb135771dec79988
VIP=192.0.2.100

OUT=$(cd "$(dirname "$BPFMASQ")" && pwd)/upgrade-prev
OLD=$OUT/src/build/bpfmasq
if [[ ! -x $OLD ]]; then
	rm -rf "$OUT"
	mkdir -p "$OUT/src"
	if ! git -C "$LAB_REPO" cat-file -e "$PREV^{commit}" 2>/dev/null; then
		fail upgprev_build "commit $PREV is not in $LAB_REPO's history (a shallow clone?): 'git fetch --unshallow' and run again"
		exit 1
	fi
	git -C "$LAB_REPO" archive "$PREV" | tar -x -C "$OUT/src" &&
		make -C "$OUT/src" -j2 build/bpfmasq >"$LAB_TMP/make-prev.log" 2>&1 ||
		{ fail upgprev_build "$(tail -n 5 "$LAB_TMP/make-prev.log")"; exit 1; }
fi
with() { local b=$1; shift; timeout 30 ip netns exec "$(ns gw)" "$b" "$@"; }
status() { with "$BPFMASQ" -j status wan0 | jq_py "d$1"; }

lab_build upgprev lab_standard srv_nginx srv_udp_echo
nsx gw ip addr add $VIP/24 dev wan0
with "$OLD" up wan0 --external $VIP --lan lan0 --log "$LAB_TMP/ctl-wan0.log" \
	>"$LAB_TMP/up-old.out" 2>&1 && LAB_UP+=(wan0) ||
	{ fail upgprev_old_up "the earlier build's up: $(cat "$LAB_TMP/up-old.out")"; exit 1; }
old_obj=$(with "$OLD" -j status wan0 | jq_py 'd["build"]["object"]')
check upgprev_old_runs "cli1 cannot fetch through the earlier build" \
	fetch cli1 "http://$INET/hello.txt"

transfers_start 40900
with "$BPFMASQ" up wan0 --log "$LAB_TMP/ctl-wan0.log" >"$LAB_TMP/up.out" 2>"$LAB_TMP/up.err"
rc=$?
check upgprev_runs "exit $rc: $(cat "$LAB_TMP/up.err")" test "$rc" -eq 0
check upgprev_says_so "printed '$(cat "$LAB_TMP/up.out")'" \
	grep -q "^wan0: upgraded to this build, every flow kept" "$LAB_TMP/up.out"
check upgprev_new_build "object $old_obj before, $(status '["build"]["object"]') after" \
	eval '[[ $(status "[\"build\"][\"this_build\"]") == true &&
		 $(status "[\"build\"][\"object\"]") != "$old_obj" ]]'
check upgprev_pool_filled "external_pool: $(status '["external_pool"]')" \
	eval '[[ $(status "[\"external_pool\"][0][\"address\"]") == $VIP &&
		 $(status "[\"external_pool\"][0][\"on_wan\"]") == true &&
		 $(status "[\"external_pool\"][0][\"new_connections\"]") == true ]]'
transfers_check upgprev
check upgprev_new_conn "cli2 cannot fetch after the upgrade" fetch cli2 "http://$INET/hello.txt"
check upgprev_new_conn_on_vip "cli2's connection is not on $VIP: $(bm conns wan0 | grep 10.0.1.3)" \
	eval 'bm conns wan0 | grep "10\.0\.1\.3:" | grep -q " $VIP:"'

# The pool is followed: VIP away (on a peer) and back, connections kept.
coproc ECHO { nsx cli1 socat -T 600 - UDP4:$INET:7,sourceport=40901 2>/dev/null; }
echo before >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check upgprev_echo "UDP echo session got '$line'" test "$line" == before
nsx gw ip addr del $VIP/24 dev wan0
check upgprev_follows_departure "external_on_wan: $(status '["external_on_wan"]')" \
	wait_until 5 eval '[[ $(status "[\"external_on_wan\"]") == false ]]'
nsx gw ip addr add $VIP/24 dev wan0
wait_until 5 eval '[[ $(status "[\"external_on_wan\"]") == true ]]'
echo after >&"${ECHO[1]}"
read -r -t 5 line <&"${ECHO[0]}"
check upgprev_echo_after_failback "UDP echo session after $VIP came back got '$line'" \
	test "$line" == after
kill "$ECHO_PID" 2>/dev/null
((LAB_FAILS)) && show_ctl_log
lab_done
