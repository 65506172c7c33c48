#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# user/ is layered, top to bottom: cli/ (the commands), ctl/ (the
# controller), lib/ (maps, programs, the kernel), alg/ (the ALG parsers,
# plain C).  A file may include headers of its own layer and of the
# layers below it, never of one above.  The Makefile's include paths
# already refuse such an include; this says which line it is.  Headers
# outside user/ (headers/, the skeleton, the system) are anyone's.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAYERS=(cli ctl lib alg)
fails=0

# rank LAYER: its place from the top (0), or nothing when not a layer.
rank() {
	local i
	for i in "${!LAYERS[@]}"; do
		[[ ${LAYERS[i]} == "$1" ]] && echo "$i"
	done
}

# owner FILE NAME: the layer whose header `#include "NAME"` in FILE
# finds: FILE's own folder first, as the compiler looks, then the others.
owner() {
	local dir path l
	dir=$(dirname "$1")
	if [[ -e $dir/$2 ]]; then
		path=$(realpath -m "$dir/$2")
		path=${path#"$ROOT"/user/}
		[[ $path != /* ]] && echo "${path%%/*}"
		return
	fi
	for l in "${LAYERS[@]}"; do
		[[ -e $ROOT/user/$l/$2 ]] && echo "$l"
	done
}

for layer in "${LAYERS[@]}"; do
	me=$(rank "$layer")
	bad=0
	for f in "$ROOT"/user/"$layer"/*.[ch]; do
		while IFS=: read -r line name; do
			for l in $(owner "$f" "$name"); do
				r=$(rank "$l")
				if [[ -n $r ]] && ((r < me)); then
					echo "FAIL layers_$layer: ${f#"$ROOT"/}:$line includes \"$name\" of $l/, a layer above $layer/"
					bad=1
				fi
			done
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			 sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
	done
	if ((bad)); then
		fails=$((fails + 1))
	else
		echo "PASS layers_$layer"
	fi
done
# Nothing may sit in user/ outside a layer.
stray=$(find "$ROOT/user" -maxdepth 1 -type f -name '*.[ch]')
if [[ -n $stray ]]; then
	echo "FAIL layers_folders: in user/ but in no layer: ${stray//"$ROOT"\//}"
	fails=$((fails + 1))
else
	echo "PASS layers_folders"
fi
exit $((fails > 0))
