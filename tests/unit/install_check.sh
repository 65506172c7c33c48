#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make install` honours DESTDIR, PREFIX and UNITDIR: it puts exactly the
# binary, the CNI plugin, the unit, the man pages, the completion and the
# example config there, and the unit and the plugin name the binary at
# PREFIX/sbin, also when the build was made for another PREFIX (make, then
# make install PREFIX=/usr).  Installs from a copy of the build, so the
# tree's build keeps its PREFIX; only what names the PREFIX is rebuilt.
# Run from tests/run.sh after the build.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUTPUT:-build}
[[ $OUT == /* ]] || OUT=$ROOT/$OUT
fails=0

pass() { echo "PASS install_$1"; }
fail() {
	echo "FAIL install_$1: ${*:2}"
	fails=$((fails + 1))
}
# check NAME MSG CMD...: PASS when CMD succeeds, else FAIL NAME: MSG.
check() {
	local name=$1 msg=$2
	shift 2
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "$msg"; fi
}

if [[ ! -x $OUT/bpfmasq ]]; then
	fail build "$OUT/bpfmasq not built (run make)"
	exit 1
fi
tmp=$(mktemp -d /tmp/bpfmasq-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# tar keeps the times, so make finds the copy up to date.
mkdir "$tmp/build"
tar -C "$OUT" --exclude=./deb --exclude=./bench --exclude=./tests -cf - . |
	tar -C "$tmp/build" -xf -

# installs NAME PREFIX UNITDIR [MAKEVAR...]: make install into $tmp/NAME
# with MAKEVARs, and check what it installed for PREFIX and UNITDIR.
installs() {
	local name=$1 prefix=$2 unitdir=$3 root=$tmp/$1 want got bad
	shift 3
	if ! make -C "$ROOT" --no-print-directory OUTPUT="$tmp/build" \
		DESTDIR="$root" "$@" install >"$tmp/$name.log" 2>&1; then
		fail "${name}_runs" "make install $*: $(tail -n 3 "$tmp/$name.log")"
		return
	fi
	pass "${name}_runs"

	want=$(printf '%s\n' "$prefix/sbin/bpfmasq 755" \
		"$prefix/lib/cni/bpfmasq-portmap 755" \
		"$unitdir/bpfmasq@.service 644" \
		"$prefix/share/man/man8/bpfmasq.8 644" \
		"$prefix/share/man/man5/bpfmasq.conf.5 644" \
		"$prefix/share/bash-completion/completions/bpfmasq 644" \
		"$prefix/share/doc/bpfmasq/examples/example.conf 644" \
		"$prefix/share/doc/bpfmasq/examples/keepalived/bpfmasq-pair.conf 644" \
		"$prefix/share/doc/bpfmasq/examples/keepalived/bpfmasq-active.conf 644" | sort)
	got=$(cd "$root" && find . -type f -printf '/%P %m\n' | sort)
	check "${name}_files" "installed '$(tr '\n' ' ' <<<"$got")', not '$(tr '\n' ' ' <<<"$want")'" \
		test "$got" == "$want"

	# Every Exec line runs the installed binary, and nothing else.
	bad=$(grep '^Exec' "$root$unitdir/bpfmasq@.service" |
		grep -v "^Exec[A-Za-z]*=$prefix/sbin/bpfmasq ")
	check "${name}_unit_path" "the unit's Exec lines: $bad" \
		eval '[[ -z $bad && $(grep -c "^Exec" "$root$unitdir/bpfmasq@.service") -eq 3 ]]'
	# The plugin's default CLI path is compiled in.
	check "${name}_cni_path" "bpfmasq-portmap does not default to $prefix/sbin/bpfmasq" \
		grep -a -q -F "$prefix/sbin/bpfmasq" "$root$prefix/lib/cni/bpfmasq-portmap"
	check "${name}_completion" "the completion differs from packaging/bpfmasq.bash-completion" \
		cmp "$ROOT/packaging/bpfmasq.bash-completion" \
		"$root$prefix/share/bash-completion/completions/bpfmasq"
	check "${name}_man" "bpfmasq.8 does not render: $(man -l "$root$prefix/share/man/man8/bpfmasq.8" 2>&1 | head -n 2)" \
		eval 'man -l "$root$prefix/share/man/man8/bpfmasq.8" 2>/dev/null | grep -q "bpfmasq up"'
}

# The default, the Debian package's (debian/rules), and another: each
# differs from the one before, so each must rebuild the unit and plugin.
installs local /usr/local /usr/local/lib/systemd/system
installs debian /usr /lib/systemd/system PREFIX=/usr UNITDIR=/lib/systemd/system
installs opt /opt/bpfmasq /opt/bpfmasq/lib/systemd/system PREFIX=/opt/bpfmasq
check opt_cni_only_its_path "bpfmasq-portmap built for /opt/bpfmasq still names /usr/sbin/bpfmasq" \
	eval '! grep -a -q -F /usr/sbin/bpfmasq "$tmp/opt/opt/bpfmasq/lib/cni/bpfmasq-portmap"'

# The installed binary runs (its BPF objects are inside it).
check binary_runs "$tmp/debian/usr/sbin/bpfmasq help failed" \
	"$tmp/debian/usr/sbin/bpfmasq" help
exit $((fails > 0))
