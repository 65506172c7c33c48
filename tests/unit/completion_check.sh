#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The bash completion against the program: each case completes a command
# line as bash would (COMP_WORDS, COMP_CWORD) and checks what is offered.
# It reads the grammar from `bpfmasq help`, so these cases also catch a
# help text that stopped saying what the completion needs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bpfmasq
[[ -x $BIN ]] || { echo "FAIL completion: $BIN not built (make)"; exit 1; }
# shellcheck source=/dev/null
. "$ROOT/packaging/bpfmasq.bash-completion"
fails=0

# offers NAME "WANT..." WORD...: completing the last WORD offers exactly
# the words WANT (sorted), or, with WANT starting "+", at least them.
offers() {
	local name=$1 want=$2 got missing=
	shift 2
	COMP_WORDS=("$BIN" "$@")
	COMP_CWORD=$#
	_bpfmasq
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ')
	if [[ $want == +* ]]; then
		for w in ${want#+}; do
			[[ " $got" == *" $w "* ]] || missing+=" $w"
		done
		[[ -z $missing ]] && { echo "PASS $name"; return; }
	else
		[[ $got == "$(tr ' ' '\n' <<<"$want" | sort -u | tr '\n' ' ')" ]] &&
			{ echo "PASS $name"; return; }
	fi
	echo "FAIL $name: '$*' offered '$got', expected '$want'"
	fails=$((fails + 1))
}

offers compl_commands "check conns down forward help monitor reload stats status up" ""
offers compl_prefix "check conns" c
offers compl_after_global "stats status" -j st
offers compl_up_interface "+lo" up ""
offers compl_option "--filter" up lo --fi
offers compl_option_values "strict cone" up lo --filter ""
offers compl_timeouts "--timeout-icmp --timeout-tcp-established --timeout-tcp-transitory --timeout-udp" up lo --ti
offers compl_no_alg "ftp irc" up lo --no-alg ""
offers compl_lan_interface "+lo" up lo --lan ""
offers compl_after_value "--filter" up lo --lan lo --fi
offers compl_check_takes_up_options "--filter" check lo --fi
offers compl_config_file "+/tmp" check --config /tm
offers compl_reload_ifname "+lo" reload ""
offers compl_reload_config "+/tmp" reload lo --config /tm
offers compl_forward "add del help list" forward ""
offers compl_forward_ifname "+lo" forward add ""
offers compl_forward_proto "tcp udp" forward add lo ""
offers compl_conns "+count delete flush list lo" conns ""
offers compl_conns_proto "icmp tcp udp" conns delete lo -p ""
offers compl_conns_state "+ESTABLISHED FORWARD SYN_SENT" conns delete lo --state ""
offers compl_conns_filters "+--inside --outside-port --remote --state" conns delete lo --
offers compl_stats "--help --prometheus" stats lo --
offers compl_monitor_ifname "+lo" monitor ""
offers compl_monitor_events "destroy drop map new unmap" monitor lo -e ""
offers compl_monitor_filters "+--inside --outside-port --remote --state" monitor lo --
offers compl_up_log_mappings "+/tmp" up lo --log-mappings /tm
offers compl_up_log_mappings_syslog "syslog" up lo --log-mappings sy
exit $((fails > 0))
