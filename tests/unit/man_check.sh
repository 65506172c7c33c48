#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bpfmasq(8) against the program: scdoc builds it, groff renders it without
# a warning, and its OPTIONS OF UP section documents exactly the options
# `bpfmasq help` lists (the option table), no fewer and none stale; the
# same for the commands.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/man/bpfmasq.8.scd
BIN=$ROOT/build/bpfmasq
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${*:2}"; fails=$((fails + 1)); }

# same_lists NAME WANT HAVE: the program's names (WANT, one a line) are
# exactly those the page documents (HAVE).
same_lists() {
	local missing stale
	missing=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	stale=$(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	if [[ -n $2 && -z $missing && -z $stale ]]; then
		pass "$1"
	else
		fail "$1" "undocumented: ${missing:-none}; stale: ${stale:-none}"
	fi
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
if scdoc < "$SRC" > "$out" 2>/dev/null; then
	pass man_builds
else
	fail man_builds "scdoc refuses $SRC"
fi
warn=$(MANWIDTH=80 man --warnings -l "$out" 2>&1 >/dev/null)
if [[ -z $warn ]]; then
	pass man_renders_cleanly
else
	fail man_renders_cleanly "$warn"
fi

# The options `bpfmasq help` prints for up, and those the page documents
# in its OPTIONS OF UP section (lines "*--name*" that start an item).
want=$("$BIN" help | sed -n 's/^    \(--[a-z0-9-]*\).*/\1/p' | sort -u)
have=$(sed -n '/^# OPTIONS OF UP/,/^# /p' "$SRC" |
	sed -n 's/^\*\(--[a-z0-9-]*\)\*.*/\1/p' | sort -u)
same_lists man_options_match_table "$want" "$have"

# Every command of `bpfmasq help` has an item in COMMANDS.
cmds=$("$BIN" help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u)
# Read once: `sed | grep -q` under pipefail fails when grep stops reading
# before sed has written a section longer than its 4 KiB buffer.
section=$(sed -n '/^# COMMANDS/,/^# /p' "$SRC")
missing=
# (Read once: with pipefail, grep -q leaving early fails sed on SIGPIPE.)
section=$(sed -n '/^# COMMANDS/,/^# /p' "$SRC")
for c in $cmds; do
	grep -q "^\*$c\b" <<<"$section" || missing+=" $c"
done
if [[ -n $cmds && -z $missing ]]; then
	pass man_commands_documented
else
	fail man_commands_documented "undocumented:${missing:- none (no commands found)}"
fi

# bpfmasq.conf(5): builds, renders cleanly, and its KEYS section has one
# item per option of up but the command-line-only --config (which
# test_config checks is the only one), no fewer and none stale.
CONF=$ROOT/man/bpfmasq.conf.5.scd
if scdoc < "$CONF" > "$out" 2>/dev/null &&
   [[ -z $(MANWIDTH=80 man --warnings -l "$out" 2>&1 >/dev/null) ]]; then
	pass conf_man_builds_cleanly
else
	fail conf_man_builds_cleanly "scdoc or man complains about $CONF"
fi
want=$("$BIN" help | sed -n 's/^    --\([a-z0-9-]*\).*/\1/p' | grep -vx config | sort -u)
have=$(sed -n '/^# KEYS/,/^# /p' "$CONF" |
	sed -n 's/^\*\([a-z0-9-]*\)\*.*/\1/p' | sort -u)
same_lists conf_man_keys_match_table "$want" "$have"

# The example config that `make install` ships is one `check` accepts.
if msg=$("$BIN" check --config "$ROOT/packaging/example.conf" 2>&1); then
	pass example_conf_checks
else
	fail example_conf_checks "$msg"
fi
exit $((fails > 0))
