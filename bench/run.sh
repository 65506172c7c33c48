#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bpfmasq benchmark: gateway CPU per translated packet for
#   nft      nftables masquerade (kernel forwarding + conntrack NAT)
#   bpfmasq  bpfmasq up WAN --lan LAN (XDP fast path for established flows)
#   xdp      bare XDP redirect, no NAT, no route lookup (the floor)
#   route    plain kernel forwarding, no NAT (reference)
# at a fixed offered rate below saturation, the highest rate with little
# loss, new TCP connections per second and gateway CPU per connection (nft,
# bpfmasq, route; real TCP from connbench, see conn_lab_up; and at higher
# rates from stateless TCP endpoints in XDP, see connrate_trial), then the
# BPF_PROG_TEST_RUN micro-benchmark and the goal checks (bench/README.md).
#
# This file only drives: bench/lib.sh holds what the parts share (the
# lab, the generator, the CPU accounting), bench/PART.sh each measurement
# (a bench_PART function), bench/goals.sh the goal checks.  A new
# measurement is a file and a word in PARTS below.
#
# Lab: three network namespaces made here and always removed (trap):
#   cli (generator) --- gw (the system under test) --- srv (sink)
# Frames come from an XDP live-frames generator on cli (no skb, like a
# NIC).  The gateway's LAN veth runs threaded NAPI pinned to CPU 1; its
# thread's run time (/proc/PID/schedstat) divided by the packets the sink
# counted as correctly translated is the gateway CPU per packet.  The
# generator and the sink (threaded NAPI on srv) run on CPU 0.  No traffic
# ever leaves these namespaces.  The skb part measures the same with frames
# from the client namespace's kernel stack (a packet socket, like a
# container sending through its veth), see skb_gen.
#
# Environment: BENCH_RATE (pps, 250000), BENCH_FLOWS (64), BENCH_SECONDS
# per run (2), BENCH_RUNS (5), BENCH_SYSTEMS ("nft bpfmasq xdp route"),
# BENCH_MICRO (1: run the micro-benchmark), BENCH_MICRO_FLOWS
# ("1000 65536 1048576"), BENCH_BATCH (generator batch, 16), BENCH_NDR
# (1: search the highest rate with little loss), BENCH_NDR_MAX (4000000
# pps), BENCH_NDR_STEPS (8), BENCH_NDR_LOSS (per mille allowed, 10).
# BENCH_ONLY: run only these parts, space separated, of "cpu skb ndr
# micro conn connrate connmax container" (default: all; BENCH_NDR=0 /
# BENCH_MICRO=0 still switch those off).  container: bench/container.sh
# lists its own settings.
# Skb frames (skb; BENCH_RATE, BENCH_FLOWS, BENCH_SECONDS, BENCH_RUNS,
# BENCH_BATCH and BENCH_SYSTEMS as for cpu): BENCH_SKB_GEN (the sender:
# bmbench, paced like gen; or trafgen, its own --rate; see skb_gen).
# New connections (conn): BENCH_CONN_SYSTEMS ("nft bpfmasq bpfmasq-new
# route"; bpfmasq runs with --lan --lan-inbound, bpfmasq-new adds --lan-new),
# BENCH_CONN_SECONDS (5), BENCH_CONN_RUNS (3), BENCH_CONN_CONC (connects in
# flight, 256), BENCH_CONN_NSRC (inside addresses, 8), BENCH_CONN_PORTS (NAT
# range of nft and bpfmasq, 1024-65535), BENCH_CONN_TIMEOUT (s a closed
# connection stays in the table: nft conntrack close/time_wait, bpfmasq
# --timeout-tcp-transitory; 1), BENCH_CONN_TAIL (s measured after the
# client stopped, so that expiry of the run's flows is counted; 3),
# BENCH_CONN_CTL_CPU (CPU of the gateway's processes, i.e. bpfmasq's
# controller; 1, the gateway's CPU).
# New connections from XDP endpoints (connrate; systems, NSRC, PORTS,
# TIMEOUT, TAIL, CTL_CPU as for conn): BENCH_CONNRATE_RATES (offered
# conn/s, "10000 20000 50000"), BENCH_CONNRATE_SECONDS (5),
# BENCH_CONNRATE_RUNS (3), BENCH_CONNRATE_LAG_US (time between two packets
# of a connection, 5000), BENCH_CONNRATE_DPORTS (server ports, 16),
# BENCH_CONNRATE_DONE_PCT (completion every system needs at the rate the
# goal is judged at, 99).
# Highest connection rate (connmax; connrate's trials): BENCH_CONNMAX_SYSTEMS
# ("nft bpfmasq bpfmasq-new"), BENCH_CONNMAX_START (first offered conn/s,
# 25000, doubled until a trial completes < BENCH_CONNRATE_DONE_PCT %),
# BENCH_CONNMAX_MAX (400000), BENCH_CONNMAX_STEPS (bisections, 3).


# The measurements, in the order they run (BENCH_ONLY picks some).
PARTS="cpu skb ndr conn connrate connmax container micro"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for part in $PARTS goals; do
	. "$REPO/bench/$part.sh"
done

[[ $(id -u) -eq 0 ]] || die "must run as root (namespaces, BPF)"
for f in "$BMB" "$BPFMASQ" $(want conn && echo "$CONNB") \
	$(want connrate && echo "$CRB"); do
	[[ -x $f ]] || die "$f not built (make bench)"
done
for t in nft ethtool ip taskset $(want skb && echo tc) \
	$(want container && echo iperf3) \
	$(want skb && [[ $SKB_GEN == trafgen ]] && echo trafgen); do
	command -v $t >/dev/null || die "$t missing (scripts/deps.sh)"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	die "no bpffs at /sys/fs/bpf"

echo "# bpfmasq benchmark: kernel $(uname -r), $(nproc) CPUs${ONLY:+; only: $ONLY}"
for part in $PARTS; do
	want "$part" && "bench_$part"
done
bench_goals
