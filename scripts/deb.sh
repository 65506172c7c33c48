#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make deb: the Debian package (debian/), built offline with
# dpkg-buildpackage from a copy of the sources in OUTDIR/src, so the tree
# is neither cleaned nor written to; the .deb lands in OUTDIR (default
# build/deb).  Fails when the build fails or lintian reports an error.
#   scripts/deb.sh [OUTDIR]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/build/deb}")
SRC=$OUT/src

rm -rf "$OUT"
mkdir -p "$SRC"
cd "$ROOT"
# The sources as they are in the tree, uncommitted edits and new files
# included; .gitignore keeps build outputs out.  A tree that is no git
# checkout (a tarball) is copied whole, less its build folder.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# Tracked but deleted in the tree: not a source any more.
			[[ -e $f ]] && printf '%s\0' "$f"
		done |
		tar --null -T - -cf - | tar -C "$SRC" -xf -
else
	tar --exclude=./build -cf - . | tar -C "$SRC" -xf -
fi

# dpkg-buildpackage runs make itself: a calling make's jobserver is not
# for it.
unset MAKEFLAGS MFLAGS MAKELEVEL
log=$OUT/build.log
echo "  DEB      $OUT (log: $log)"
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -b -Jauto) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "deb.sh: dpkg-buildpackage failed; the whole log is $log" >&2
	exit 1
fi

changes=$(echo "$OUT"/bpfmasq_*.changes)
echo "  LINTIAN  $changes"
if ! lintian --fail-on error "$changes"; then
	echo "deb.sh: lintian reports errors (E: lines above); fix them in debian/ or the Makefile" >&2
	exit 1
fi
ls "$OUT"/bpfmasq_*.deb
