#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: two inside clients reach a web server through bpfmasq, which
# only ever sees the gateway.  Everything happens in throwaway namespaces.
. "$(dirname "$0")/lib.sh"
lab_need_bpfmasq

if [[ -t 1 ]]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
# quote ARGS...: the words as one would type them.
quote() {
	local a out=
	for a; do
		[[ $a =~ [^-a-zA-Z0-9_./:%=] ]] && a="'$a'"
		out+=" $a"
	done
	printf '%s' "${out# }"
}
# show NS CMD...: print the command as typed in that namespace, then run it.
show() {
	local n=$1
	shift
	printf '\n%s%s# %s%s\n' "$B" "$n" "$(quote "$@")" "$N"
	nsx "$n" "$@" 2>&1
}
# bpfmasq ARGS...: the CLI in the gateway, printed without its long path.
bpfmasq() {
	printf '\n%sgw# bpfmasq %s%s\n' "$B" "$(quote "$@")" "$N"
	bm "$@" 2>&1
}

cat <<EOF
bpfmasq demo: every host below is a network namespace on this machine.

  cli1 10.0.1.2 ─┐
                 ├─ lan0 10.0.1.1 [gw] wan0 192.0.2.1 ── 192.0.2.2 [srv] 198.51.100.1
  cli2 10.0.1.3 ─┘                                              nginx on :80
  srv has no route back to 10.0.1.0/24: only masquerade brings replies home.
EOF
lab_standard || { echo "demo: could not build the lab" >&2; exit 1; }
srv_nginx || { echo "demo: nginx did not start" >&2; exit 1; }

printf '\n%sgw# bpfmasq up wan0 --lan lan0%s\n' "$B" "$N"
bm_up wan0 --lan lan0 || exit 1
cat "$LAB_TMP/up.out"   # what `up` printed (bm_up keeps it in a file)
show cli1 curl -sS --max-time 5 http://$INET/hello.txt
show cli2 curl -sS --max-time 5 http://$INET/hello.txt
show cli1 curl -sS --max-time 20 -o /dev/null \
	-w '%{size_download} bytes in %{time_total} s\n' http://$INET/big.bin
show cli2 ping -n -c 2 -i 0.2 -q $INET
printf '\n%ssrv# cat access.log%s   (client address first: only the gateway)\n' "$B" "$N"
cat "$NGX/access.log"
bpfmasq status wan0
bpfmasq conns wan0
bpfmasq stats wan0
bpfmasq down wan0 && LAB_UP=()
show cli1 curl -sS --max-time 2 http://$INET/hello.txt
echo "(after down nothing translates, so no answer comes back: as expected)"
exit 0
