#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The CNI plugin (build/bpfmasq-portmap), driven the way a CNI runtime
# drives a chain: in the gateway namespace, Debian's `bridge` plugin
# (host-local IPAM, "ipMasq": false) gives a container namespace its
# address, then bpfmasq-portmap gets CNI_COMMAND=ADD with the bridge's
# result as prevResult and the port mappings as runtimeConfig.  The
# forward must follow the container: reachable from outside on the WAN
# address, gone after DEL, at the new address after the container is
# made anew.  Bad configs get a CNI error object and a non-zero exit.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

# BPFMASQ_PORTMAP: another build of the plugin (tests/lab/test_deb.sh: the
# Debian package's).
PLUGIN=${BPFMASQ_PORTMAP:-$LAB_REPO/build/bpfmasq-portmap}
CNI_BIN=/usr/lib/cni
lab_bpfmasq_only cni "LAB_NAT=nft: bpfmasq forward only"
if [[ ! -x $PLUGIN ]]; then
	fail cni "$PLUGIN not built (run make)"
	lab_done
fi
if [[ ! -x $CNI_BIN/bridge || ! -x $CNI_BIN/host-local ]]; then
	fail cni "no $CNI_BIN/bridge or host-local (scripts/deps.sh installs containernetworking-plugins)"
	lab_done
fi

# Container ids of this run; the plugin's state files are named by them
# (and by the network), and go when the test does, however it ends.
NET=cn$$
CID1=cn$$-ctr1
CID2=cn$$-ctr2
CID3=cn$$-ctr3
trap 'rc=$?; rm -f /run/bpfmasq/cni/$NET-*; (exit $rc); lab_cleanup' EXIT

ns_add gw srv || { fail cni_topology "could not make the namespaces"; exit 1; }
lab_wan || { fail cni_topology "could not build the WAN"; exit 1; }
# What the README's recipe says: --internal is the runtime's subnet.
lab_nat_up cni --internal 10.0.5.0/24

# The runtime's view: one network, a conflist of two plugins.
BRIDGE_CONF=$(cat <<EOF
{"type": "bridge", "bridge": "cnbr0", "isGateway": true, "ipMasq": false,
 "hairpinMode": true,
 "ipam": {"type": "host-local", "dataDir": "$LAB_TMP/ipam",
	  "ranges": [[{"subnet": "10.0.5.0/24", "gateway": "10.0.5.1"}]],
	  "routes": [{"dst": "0.0.0.0/0"}]}}
EOF
)
PORTMAP_CONF=$(cat <<EOF
{"type": "bpfmasq-portmap", "capabilities": {"portMappings": true},
 "wanInterface": "wan0", "bpfmasq": "$BPFMASQ"}
EOF
)
MAPPINGS='[{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
	   {"hostPort": 5300, "containerPort": 53, "protocol": "udp"}]'

# cni_conf PLUGIN_CONF [PREV_RESULT [MAPPINGS]]: the config a runtime
# (libcni) hands one plugin of the chain: its own entry with the list's
# cniVersion and name, the previous plugin's result, and runtimeConfig
# for the capabilities it declared.
cni_conf() {
	"$PY" - "$NET" "$@" <<'EOF'
import json, sys
net, conf = sys.argv[1], json.loads(sys.argv[2])
conf.update(cniVersion="1.0.0", name=net)
if len(sys.argv) > 3 and sys.argv[3]:
    conf["prevResult"] = json.loads(sys.argv[3])
if len(sys.argv) > 4 and conf.get("capabilities", {}).get("portMappings"):
    conf["runtimeConfig"] = {"portMappings": json.loads(sys.argv[4])}
print(json.dumps(conf))
EOF
}

# cni CMD PLUGIN CID NETNS: run PLUGIN in the gateway namespace as a
# runtime does, the config on stdin; its stdout is the result.
cni() {
	nsx gw env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$1" \
		CNI_CONTAINERID="$3" CNI_NETNS="$4" CNI_IFNAME=eth0 \
		CNI_PATH=$CNI_BIN "$2"
}

# ct_up NAME CID: a container namespace NAME, set up by the chain: the
# bridge, then bpfmasq-portmap.  Sets PREV (bridge's result), RESULT
# (the plugin's) and CTIP.
ct_up() {
	local n=$1 cid=$2 netns
	ns_add "$n" || return 1
	netns=/run/netns/$(ns "$n")
	PREV=$(cni_conf "$BRIDGE_CONF" | cni ADD $CNI_BIN/bridge "$cid" "$netns") ||
		{ echo "  # bridge ADD: $PREV" >&2; return 1; }
	CTIP=$(jq_py 'd["ips"][0]["address"].split("/")[0]' <<<"$PREV")
	RESULT=$(cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" |
		cni ADD "$PLUGIN" "$cid" "$netns" 2>"$LAB_TMP/add.err")
}

# ct_down NAME CID: DEL in the reverse order of ADD, as runtimes do.
ct_down() {
	local netns=/run/netns/$(ns "$1")
	cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" |
		cni DEL "$PLUGIN" "$2" "$netns" && cni_conf "$BRIDGE_CONF" "$PREV" |
		cni DEL $CNI_BIN/bridge "$2" "$netns"
}

# A server in the container answers with its name and the client it sees.
ct_server() {
	lab_bg "$1" "$LAB_TMP/srv-$1.log" socat TCP4-LISTEN:80,reuseaddr,fork \
		SYSTEM:"echo $1 peer \$SOCAT_PEERADDR"
	wait_until 5 listening "$1" tcp 0.0.0.0:80
}

# from_outside: what the server behind WAN_GW:8080 says to srv (as INET).
from_outside() {
	nsx srv socat -T 2 - TCP4:$WAN_GW:8080,bind=$INET,connect-timeout=2 \
		</dev/null 2>/dev/null
}

# forwards: "proto outside-port inside" of every forward on wan0.
forwards() {
	bm_json forward list wan0 |
		jq_py '"\n".join(sorted("%s %s %s" % (f["proto"], f["outside"].split(":")[1], f["inside"]) for f in d))'
}

# ct_forwarded NS IP LISTED SERVER REACHES: the mappings are listed as
# forwards to IP (case LISTED), NS's server starts (SERVER) and answers
# srv through the WAN address (REACHES).
ct_forwarded() {
	local out
	out=$(forwards)
	if [[ $out == $'tcp 8080 '$2$':80\nudp 5300 '$2:53 ]]; then
		pass "$3"
	else
		fail "$3" "forward list wan0: '$out'"
	fi
	ct_server "$1" || fail "$4" "no server in $1"
	out=$(from_outside)
	if [[ $out == "$1 peer $INET" ]]; then
		pass "$5"
	else
		fail "$5" "from outside through $WAN_GW:8080: '$out'"
		show_ctl_log
	fi
}

# ---- ADD: the forward goes to the container's address ----
if ct_up cnc1 "$CID1"; then
	pass cni_add
else
	fail cni_add "bpfmasq-portmap ADD: $RESULT $(cat "$LAB_TMP/add.err")"
	exit 1
fi
IP1=$CTIP
note "container 1 got $IP1"
got=$(jq_py '[d["cniVersion"], d["ips"]]' <<<"$RESULT")
want=$(jq_py '["1.0.0", d["ips"]]' <<<"$PREV")
check cni_add_passes_prev_result "ADD printed '$RESULT', not the bridge's result" \
	eval '[[ $got == "$want" ]]'
ct_forwarded cnc1 "$IP1" cni_forward_listed cni_ct_server \
	cni_forward_reaches_container
check cni_check_ok "CHECK failed on a container just added" \
	eval 'cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni CHECK "$PLUGIN" "$CID1" /run/netns/$(ns cnc1)'

# ---- a second container asking for the same host port is refused ----
ns_add cnc3
out=$(cni_conf "$PORTMAP_CONF" "${PREV//$IP1/10.0.5.200}" "$MAPPINGS" |
	cni ADD "$PLUGIN" "$CID3" /run/netns/"$(ns cnc3)")
rc=$?
code=$(jq_py 'd.get("code")' <<<"$out" 2>/dev/null)
if ((rc != 0)) && [[ $code == 100 && $(forwards) == *"tcp 8080 $IP1:80"* ]]; then
	pass cni_port_taken_refused
	note "${out:0:200}"
else
	fail cni_port_taken_refused "second ADD for port 8080: rc $rc, '$out'; forwards now: $(forwards | tr '\n' ' ')"
fi
[[ ! -e /run/bpfmasq/cni/$NET-$CID3-eth0 ]] && pass cni_refused_leaves_no_state ||
	fail cni_refused_leaves_no_state "a state file for the refused ADD is left"

# ---- DEL: the forwards go, and only once ----
if ct_down cnc1 "$CID1"; then
	pass cni_del
else
	fail cni_del "DEL failed"
fi
out=$(forwards)
check cni_del_removes_forward "forwards after DEL: '$out'" eval '[[ -z $out ]]'
check cni_del_closes_port "srv still reaches the container after DEL" \
	eval '[[ -z $(from_outside) ]]'
check cni_del_removes_state "the state file is still there after DEL" \
	eval '[[ ! -e /run/bpfmasq/cni/$NET-$CID1-eth0 ]]'
check cni_del_again "a second DEL failed" \
	eval 'cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni DEL "$PLUGIN" "$CID1" /run/netns/$(ns cnc1)'
check cni_del_no_prev_result "DEL without prevResult nor runtimeConfig failed" \
	eval 'cni_conf "$PORTMAP_CONF" | cni DEL "$PLUGIN" "$CID1" ""'
kill_ns_procs() {
	local pids
	pids=$(ip netns pids "$(ns "$1")")
	[[ -n $pids ]] && kill $pids
}
kill_ns_procs cnc1

# ---- the container made anew gets a new address: the forward follows ----
if ct_up cnc2 "$CID2"; then
	pass cni_readd
else
	fail cni_readd "ADD of the new container: $RESULT $(cat "$LAB_TMP/add.err")"
fi
IP2=$CTIP
note "container 2 got $IP2"
check cni_new_address "host-local gave the new container the old address $IP1" \
	eval '[[ $IP2 != "$IP1" ]]'
ct_forwarded cnc2 "$IP2" cni_forward_follows cni_ct_server2 \
	cni_forward_reaches_new_container
# A DEL that finds the forward taken over by someone else leaves it.
bm forward del wan0 tcp 8080 >/dev/null
bm forward add wan0 tcp 8080 10.0.5.250:80 >/dev/null
ct_down cnc2 "$CID2"
out=$(forwards)
check cni_del_leaves_others "DEL removed a forward it no longer owned: '$out'" \
	eval '[[ $out == "tcp 8080 10.0.5.250:80" ]]'
bm forward del wan0 tcp 8080 >/dev/null

# ---- bad input: a CNI error object on stdout, non-zero exit ----
# bad_conf NAME WANT_CODE CMD ENV_CID: the plugin's answer to the stdin
# given, checked for the spec's error keys and code WANT_CODE.
bad_conf() {
	local name=$1 want=$2 out rc
	out=$(cni "$3" "$PLUGIN" "$4" /run/netns/"$(ns cnc2)")
	rc=$?
	if ((rc != 0)) && jq_py 'sorted(d) == ["cniVersion", "code", "msg"] and d["code"] == '"$want"' and d["msg"] != ""' \
		<<<"$out" | grep -qx true; then
		pass "$name"
		note "${out:0:200}"
	else
		fail "$name" "rc $rc, stdout '$out'"
	fi
}
cni_conf '{"type": "bpfmasq-portmap"}' "$PREV" "$MAPPINGS" |
	bad_conf cni_error_no_wan 7 ADD "$CID2"
echo '{"cniVersion": "1.0.0", "name": ' | bad_conf cni_error_not_json 6 ADD "$CID2"
cni_conf "$PORTMAP_CONF" '' "$MAPPINGS" | bad_conf cni_error_no_prev_result 7 ADD "$CID2"
cni_conf "$PORTMAP_CONF" "$PREV" '[{"hostPort": 0, "containerPort": 80}]' |
	bad_conf cni_error_bad_port 7 ADD "$CID2"
cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | bad_conf cni_error_bad_cid 4 ADD "../x"
"$PY" -c 'import json; print(json.dumps({"cniVersion": "9.9.9", "name": "x"}))' |
	bad_conf cni_error_version 1 ADD "$CID2"
out=$(echo '{}' | cni VERSION "$PLUGIN" "" "")
check cni_version "VERSION answered '$out'" \
	eval 'jq_py "\"1.0.0\" in d[\"supportedVersions\"]" <<<"$out" | grep -qx true'
check cni_no_forwards_left "forwards left: $(forwards | tr '\n' ' ')" \
	eval '[[ -z $(forwards) ]]'

# hostIP: the WAN's address is served, another host address and sctp
# are left to other plugins.
HOSTIP_MAPS='[{"hostPort": 8081, "containerPort": 80, "hostIP": "127.0.0.1"},
	      {"hostPort": 8082, "containerPort": 80, "hostIP": "'$WAN_GW'"},
	      {"hostPort": 8083, "containerPort": 80, "protocol": "sctp"}]'
netns2=/run/netns/$(ns cnc2)
cni_conf "$PORTMAP_CONF" "$PREV" "$HOSTIP_MAPS" |
	cni ADD "$PLUGIN" "$CID2" "$netns2" >/dev/null 2>"$LAB_TMP/hostip.err"
out=$(forwards)
check cni_host_ip "forwards for the hostIP mappings: '$out' ($(cat "$LAB_TMP/hostip.err"))" \
	eval '[[ $out == "tcp 8082 $IP2:80" ]]'
cni_conf "$PORTMAP_CONF" "$PREV" "$HOSTIP_MAPS" | cni DEL "$PLUGIN" "$CID2" "$netns2"

# DEL with the state file lost: what prevResult and the mappings say.
netns2=/run/netns/$(ns cnc2)
cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni ADD "$PLUGIN" "$CID2" "$netns2" >/dev/null
rm -f "/run/bpfmasq/cni/$NET-$CID2-eth0"
cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni DEL "$PLUGIN" "$CID2" "$netns2" >/dev/null
out=$(forwards)
check cni_del_without_state "forwards after a DEL without state file: '$out'" \
	eval '[[ -z $out ]]'
# DEL after `bpfmasq down`: the forwards went with it; DEL succeeds.
cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni ADD "$PLUGIN" "$CID2" "$netns2" >/dev/null
bm down wan0 >/dev/null 2>&1
out=$(cni_conf "$PORTMAP_CONF" "$PREV" "$MAPPINGS" | cni DEL "$PLUGIN" "$CID2" "$netns2")
check cni_del_after_down "DEL after bpfmasq down: rc $?, '$out'" \
	eval '[[ ! -e /run/bpfmasq/cni/$NET-$CID2-eth0 ]]'

lab_done
