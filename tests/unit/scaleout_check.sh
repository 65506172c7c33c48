#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs/scale-out.md shows bench/portblock_sim.py's output: it must be what
# the script prints (the simulation is deterministic).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
got=$(python3 "$ROOT/bench/portblock_sim.py")
doc=$(awk '/^hosts [0-9]+, gateways/,/^```$/' "$ROOT/docs/scale-out.md" | grep -v '^```$')
if [[ -n $got && $got == "$doc" ]]; then
	echo "PASS scaleout_doc_matches_simulation"
else
	echo "FAIL scaleout_doc_matches_simulation: docs/scale-out.md has"
	echo "$doc"
	echo "but bench/portblock_sim.py prints"
	echo "$got"
fi
