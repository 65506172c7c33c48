/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The private network namespace the unit tests run the programs in, so
 * bpf_fib_lookup() (the LAN fast path, the WAN guard) sees routes the tests
 * know and nothing of the host's: wan0 203.0.113.1/24 with 198.51.100.0/24
 * via 203.0.113.2 through a permanent neighbour; lan0 holds the inside /24, with a permanent neighbour for the inside
 * host 10.0.0.2.  The MACs are those of pkt.h.
 */
#ifndef BPFMASQ_TESTNET_H
#define BPFMASQ_TESTNET_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* false (after saying why) when the cases that need routes cannot run. */
static inline bool testnet_setup(void)
{
	static const char script[] =
		"set -e; exec >/dev/null 2>&1;"
		"ip link set lo up;"
		"ip link add wan0 address 02:00:00:00:00:01 type veth peer name wan0p;"
		"ip link add lan0 address 02:00:00:00:00:aa type veth peer name lan0p;"
		"for d in wan0 wan0p lan0 lan0p; do ip link set $d up; done;"
		"ip addr add 203.0.113.1/24 dev wan0;"
		"ip addr add 10.0.0.1/24 dev lan0;"
		"ip route add 198.51.100.0/24 via 203.0.113.2 dev wan0;"
		"ip neigh replace 203.0.113.2 lladdr 02:00:00:00:00:02 dev wan0 nud permanent;"
		"ip neigh replace 10.0.0.2 lladdr 02:00:00:00:00:bb dev lan0 nud permanent;"
		"echo 1 > /proc/sys/net/ipv4/conf/all/forwarding";

	if (unshare(CLONE_NEWNET)) {
		printf("# no private netns (%s): route-dependent cases skipped\n",
		       strerror(errno));
		return false;
	}
	if (system(script)) {
		printf("# netns setup failed (is iproute2 installed?): route-dependent cases skipped\n");
		return false;
	}
	return true;
}

/*
 * test_nat only (test_diff's model knows no route MTU below 1500): the
 * remote 198.51.100.4 by a route of MTU 1400, locked, since
 * bpf_fib_lookup() ignores an unlocked one.
 */
static inline bool testnet_add_small_mtu(void)
{
	if (system("ip route add 198.51.100.4/32 via 203.0.113.2 dev wan0 mtu lock 1400 >/dev/null 2>&1")) {
		printf("# cannot add a route of MTU 1400: MSS auto cases fail\n");
		return false;
	}
	return true;
}

/*
 * test_nat only: two interfaces without Ethernet (TUN, persistent, no
 * process behind them: up, without carrier, which routing does not mind):
 * wantun, a layer-3 WAN, and lantun, the inside VPN 10.8.0.0/24.  The
 * layer-3 groups run their frames as if on them (see run_step()).
 */
static inline bool testnet_add_l3(void)
{
	static const char script[] =
		"set -e; exec >/dev/null 2>&1;"
		"ip tuntap add dev wantun mode tun;"
		"ip tuntap add dev lantun mode tun;"
		"ip link set wantun up; ip link set lantun up;"
		"ip addr add 10.8.0.1/24 dev lantun";

	if (system(script)) {
		printf("# no TUN interfaces (is /dev/net/tun there?): layer-3 cases skipped\n");
		return false;
	}
	return true;
}

#endif
