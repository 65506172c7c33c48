#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Port-block use when gateways share external addresses (docs/scale-out.md).

Each gateway of a cluster would own blocks of B consecutive ports of a
shared external address, lease a block to an inside host on its first
connection, and more blocks as the host's concurrent connections grow; a
reply for a port of a block another gateway owns is redirected to that
gateway.  This simulation asks what a block size costs: how many external
addresses the blocks of a population of inside hosts need, and how much
of the leased ports is used.

Inside hosts' concurrent connections are heavy-tailed (most hosts have a
few, a few have hundreds): lognormal with the median and spread given,
capped.  Deterministic (fixed seed): docs/scale-out.md shows its output
and tests/unit/scaleout_check.sh checks that the two agree.

  portblock_sim.py [HOSTS] [GATEWAYS]
"""
import math
import random
import sys

PORTS_PER_ADDRESS = 65536 - 1024	# 1024-65535
SEED = 20261204
MEDIAN_CONNS = 12
SIGMA = 1.4		# lognormal spread: p99 is about 26x the median
CAP = 4000


def hosts_connections(n, rng):
    mu = math.log(MEDIAN_CONNS)
    return [min(CAP, max(1, round(rng.lognormvariate(mu, SIGMA))))
            for _ in range(n)]


def simulate(conns, gateways, block):
    blocks_per_address = PORTS_PER_ADDRESS // block
    # Hosts are spread over the gateways by ECMP (round robin here: the
    # hash spreads them evenly); each gateway leases from its own blocks.
    per_gw_blocks = [0] * gateways
    for i, c in enumerate(conns):
        per_gw_blocks[i % gateways] += math.ceil(c / block)
    blocks = sum(per_gw_blocks)
    used = sum(conns)
    # A gateway's blocks come from whole addresses' worth of blocks, but
    # addresses are shared: the cluster needs this many in all.
    addresses = math.ceil(blocks / blocks_per_address)
    return {
        "block": block,
        "blocks": blocks,
        "addresses": addresses,
        "utilisation": used / (blocks * block),
        "max_gw_share": max(per_gw_blocks) / (blocks / gateways),
    }


def main():
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    gateways = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    rng = random.Random(SEED)
    conns = hosts_connections(hosts, rng)
    conns_sorted = sorted(conns)
    total = sum(conns)
    print(f"hosts {hosts}, gateways {gateways}, concurrent connections {total}"
          f" (median {conns_sorted[hosts // 2]},"
          f" p99 {conns_sorted[hosts * 99 // 100]}, max {conns_sorted[-1]})")
    print(f"one port per connection, no blocks: "
          f"{math.ceil(total / PORTS_PER_ADDRESS)} addresses")
    print("| block (ports) | blocks leased | addresses needed | ports used of leased | busiest gateway / mean |")
    print("|---|---|---|---|---|")
    for block in (16, 64, 256, 1024):
        r = simulate(conns, gateways, block)
        print(f"| {r['block']} | {r['blocks']} | {r['addresses']} |"
              f" {100 * r['utilisation']:.1f}% | {r['max_gw_share']:.3f} |")


if __name__ == "__main__":
    main()
