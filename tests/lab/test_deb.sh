#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Debian package: `make deb`'s script builds it from a copy of the
# tree with no network (into this test's temp dir), lintian finds no
# error, it holds exactly what `make install` installs, at Debian's paths,
# and its maintainer scripts reload the running instances on upgrade and
# never stop or restart one.  dpkg installs, upgrades, removes and purges
# it in a root of its own.  Unpacked into a scratch root, its binary, unit
# and CNI plugin run the lab's masquerade, systemd and CNI tests (their
# verdicts here as deb_*).
. "$(dirname "$0")/lib.sh"
if ! is_bpfmasq; then
	skip deb "LAB_NAT=nft: tests bpfmasq's package"
	lab_done
fi

DEB_OUT=$LAB_TMP/deb
# Offline: in a network namespace of its own, which has no way out.
if ! unshare --net "$LAB_REPO/scripts/deb.sh" "$DEB_OUT" >"$LAB_TMP/deb.out" 2>&1; then
	fail deb_builds "scripts/deb.sh: $(tail -n 15 "$LAB_TMP/deb.out")"
	exit 1
fi
pass deb_builds
version=$(dpkg-parsechangelog -l "$LAB_REPO/debian/changelog" -S Version)
deb=$DEB_OUT/bpfmasq_${version}_$(dpkg --print-architecture).deb
check deb_version "no $(basename "$deb") (debian/changelog says $version): $(ls "$DEB_OUT")" \
	test -f "$deb"
check deb_lintian_no_errors "lintian: $(grep '^E: ' "$LAB_TMP/deb.out")" \
	eval '! grep -q "^E: " "$LAB_TMP/deb.out"'
# Warnings do not fail the test, but are there to be read.
grep '^W: ' "$LAB_TMP/deb.out" | while read -r w; do note "lintian $w"; done

# Its files and their modes: what `make install PREFIX=/usr
# UNITDIR=/lib/systemd/system` installs (tests/unit/install_check.sh),
# Debian's documentation and lintian overrides, the config directory.
want=$(printf '%s\n' \
	"-rwxr-xr-x ./usr/sbin/bpfmasq" \
	"-rwxr-xr-x ./usr/lib/cni/bpfmasq-portmap" \
	"-rw-r--r-- ./lib/systemd/system/bpfmasq@.service" \
	"-rw-r--r-- ./usr/share/man/man8/bpfmasq.8.gz" \
	"-rw-r--r-- ./usr/share/man/man5/bpfmasq.conf.5.gz" \
	"-rw-r--r-- ./usr/share/bash-completion/completions/bpfmasq" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/examples/example.conf" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/examples/keepalived/bpfmasq-pair.conf" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/examples/keepalived/bpfmasq-active.conf" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/README.md.gz" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/changelog.gz" \
	"-rw-r--r-- ./usr/share/doc/bpfmasq/copyright" \
	"-rw-r--r-- ./usr/share/lintian/overrides/bpfmasq" \
	"drwxr-xr-x ./etc/bpfmasq/" | sort)
got=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ || $6 ~ /^.\/etc\// { print $1, $6 }' |
	grep -v '^drwxr-xr-x ./etc/$' | sort)
check deb_contents "missing: $(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')extra: $(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')" \
	test "$got" == "$want"
check deb_depends "Depends: $(dpkg-deb -f "$deb" Depends)" \
	eval 'dpkg-deb -f "$deb" Depends | grep "libbpf1" | grep "libsystemd0" | grep -q "libjansson4"'

# The maintainer scripts, less their comments.
dpkg-deb -e "$deb" "$LAB_TMP/control"
script() { grep -v '^[[:space:]]*#' "$LAB_TMP/control/$1"; }
for s in postinst prerm postrm; do
	check "deb_${s}_parses" "sh -n $s: $(sh -n "$LAB_TMP/control/$s" 2>&1)" \
		sh -n "$LAB_TMP/control/$s"
done
upgrade_reloads() {
	script postinst | grep -q 'deb-systemd-invoke reload "$unit"'
}
upgrade_no_restart() {
	! script postinst |
		grep -E -q '(systemctl|deb-systemd-invoke)[^|]*[ -](restart|start|stop)\b'
}
# prerm stops, and only on removal: its one stop comes under `remove`.
stops_on_remove_only() {
	script prerm | awk '/"\$1" = remove/ { r = 1 }
		/deb-systemd-invoke stop/ { n++; if (!r) bad = 1 }
		END { exit !(n == 1 && !bad) }'
}
check deb_upgrade_reloads "postinst does not reload the running instances: $(script postinst)" \
	upgrade_reloads
check deb_upgrade_no_restart "postinst starts, stops or restarts a unit: $(script postinst | grep -E 'start|stop')" \
	upgrade_no_restart
# No preinst: debhelper's would stop the service before an upgrade.
check deb_upgrade_no_preinst_stop "the package has a preinst: $(cat "$LAB_TMP/control/preinst" 2>/dev/null)" \
	test ! -e "$LAB_TMP/control/preinst"
check deb_prerm_stops_on_remove_only "prerm: $(script prerm)" stops_on_remove_only

# dpkg itself installs it, upgrades it to a later version (the same files
# repacked) and removes it, in a root of its own: maintainer scripts run
# and succeed (DPKG_ROOT set: they leave the host's systemd alone), and
# removal leaves nothing of the package's but an admin's config.
DROOT=$LAB_TMP/dpkgroot
mkdir -p "$DROOT/var/lib/dpkg/info" "$DROOT/var/lib/dpkg/updates"
: >"$DROOT/var/lib/dpkg/status"
# The scratch root has no libraries: Depends are the host's to satisfy.
dpkg_root() {
	dpkg --root="$DROOT" --log=/dev/null --force-script-chrootless \
		--force-depends "$@" >>"$LAB_TMP/dpkg.log" 2>&1
}
status() {
	dpkg-query --admindir="$DROOT/var/lib/dpkg" -W -f '${Status} ${Version}' bpfmasq 2>&1
}
dpkg-deb -R "$deb" "$LAB_TMP/repack"
sed -i 's/^Version: .*/&+1/' "$LAB_TMP/repack/DEBIAN/control"
dpkg-deb -b --root-owner-group "$LAB_TMP/repack" "$LAB_TMP/upgrade.deb" >/dev/null
dpkg_root -i "$deb"
rc=$?
check deb_dpkg_installs "dpkg -i: rc $rc, $(tail -n 3 "$LAB_TMP/dpkg.log"); $(status)" \
	eval '((rc == 0)) && [[ $(status) == "install ok installed $version" ]] &&
		test -x "$DROOT/usr/sbin/bpfmasq"'
echo "internal 10.0.1.0/24" >"$DROOT/etc/bpfmasq/wan0.conf"
dpkg_root -i "$LAB_TMP/upgrade.deb"
rc=$?
check deb_dpkg_upgrades "dpkg -i: rc $rc, $(tail -n 3 "$LAB_TMP/dpkg.log"); $(status)" \
	eval '((rc == 0)) && [[ $(status) == "install ok installed $version+1" ]]'
left() { cd "$DROOT" && find . -path ./var -prune -o ! -type d -print; }
dpkg_root -r bpfmasq
rc=$?
check deb_dpkg_removes "dpkg -r: rc $rc, $(tail -n 3 "$LAB_TMP/dpkg.log"); left: $(left)" \
	eval '((rc == 0)) && [[ $(left) == ./etc/bpfmasq/wan0.conf ]]'
dpkg_root -P bpfmasq
rc=$?
check deb_dpkg_purges "dpkg -P: rc $rc, $(tail -n 3 "$LAB_TMP/dpkg.log"); $(status); left: $(left)" \
	eval '((rc == 0)) && [[ $(status) != *installed* && $(left) == ./etc/bpfmasq/wan0.conf ]]'

# Unpacked into a scratch root: the binary, unit and plugin it ships.
ROOTFS=$LAB_TMP/root
dpkg-deb -x "$deb" "$ROOTFS"
unit=$ROOTFS/lib/systemd/system/bpfmasq@.service
bad=$(grep '^Exec' "$unit" | grep -v '^Exec[A-Za-z]*=/usr/sbin/bpfmasq ')
check deb_unit_runs_packaged_binary "the unit's Exec lines: $bad" test -z "$bad"
check deb_example_checks "$("$ROOTFS/usr/sbin/bpfmasq" check --config "$ROOTFS/usr/share/doc/bpfmasq/examples/example.conf" 2>&1)" \
	"$ROOTFS/usr/sbin/bpfmasq" check --config "$ROOTFS/usr/share/doc/bpfmasq/examples/example.conf"

# deb_lab TEST VAR=VALUE...: tests/lab/test_TEST.sh with the package's
# files, its verdicts renamed deb_*.
deb_lab() {
	local t=$1 rc
	shift
	env "$@" bash "$LAB_REPO/tests/lab/test_$t.sh" >"$LAB_TMP/lab_$t.out" 2>&1
	rc=$?
	sed -E 's/^(PASS|FAIL|SKIP) /\1 deb_/' "$LAB_TMP/lab_$t.out"
	if ((rc != 0)); then
		# Its FAIL lines are counted already; this test fails with it.
		grep -q '^FAIL ' "$LAB_TMP/lab_$t.out" || fail "deb_$t" "exited with status $rc"
		LAB_FAILS=$((LAB_FAILS + 1))
	fi
}
deb_lab masquerade BPFMASQ="$ROOTFS/usr/sbin/bpfmasq"
# The packaged unit with its paths under the scratch root, verified
# against the packaged man pages and run as systemd would run it.
sed "s|=/usr/sbin/bpfmasq |=$ROOTFS/usr/sbin/bpfmasq |" "$unit" > "$LAB_TMP/bpfmasq@.service"
deb_lab systemd BPFMASQ="$ROOTFS/usr/sbin/bpfmasq" \
	BPFMASQ_UNIT="$LAB_TMP/bpfmasq@.service" BPFMASQ_MANPATH="$ROOTFS/usr/share/man"
deb_lab cni BPFMASQ="$ROOTFS/usr/sbin/bpfmasq" \
	BPFMASQ_PORTMAP="$ROOTFS/usr/lib/cni/bpfmasq-portmap"

lab_done
