#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Sequence-numbered UDP probes for failover measurements in the lab.

  udpprobe.py echo ADDR PORT
      answer every datagram with itself, from one socket (no fork per
      datagram, so the echo keeps up with a probe every few ms)
  udpprobe.py probe DST PORT SECONDS INTERVAL_MS [STOP_FILE] [--sport SPORT]
      send a numbered datagram every INTERVAL_MS for SECONDS (or until
      STOP_FILE exists) from one socket (one flow through the NAT; from
      SPORT when given, so that a test can find its connection), then
      print one JSON object:
      sent, answered, lost, the longest time without an answer (ms), and
      when answers stopped and came back (seconds from the start)
"""
import json
import os
import select
import socket
import sys
import time


def echo(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def probe(dst, port, seconds, interval_ms, stop_file=None, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if sport:
        s.bind(("0.0.0.0", sport))
    s.connect((dst, port))
    s.setblocking(False)
    start = time.monotonic()
    start_wall = time.time()
    next_send = start
    seq = 0
    answered = set()
    last_answer = start
    longest = 0.0
    gap_from = gap_to = None
    while True:
        now = time.monotonic()
        if stop_file and now < start + seconds and os.path.exists(stop_file):
            seconds = now - start	# the last answers have a second
        if now >= start + seconds + 1.0:
            break
        if now >= next_send and now < start + seconds:
            try:
                s.send(b"%d" % seq)
            except OSError:
                pass	# no route for a moment: counted as lost
            seq += 1
            next_send += interval_ms / 1000.0
        timeout = max(0.0, min(next_send, start + seconds + 1.0) - now)
        r, _, _ = select.select([s], [], [], timeout)
        while r:
            try:
                data = s.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                break
            now = time.monotonic()
            n = int(data)
            if n not in answered:
                answered.add(n)
                if now - last_answer > longest:
                    longest = now - last_answer
                    gap_from = last_answer - start
                    gap_to = now - start
                last_answer = now
    print(json.dumps({
        "sent": seq,
        "answered": len(answered),
        "lost": seq - len(answered),
        "longest_gap_ms": round(longest * 1000),
        "gap_from_s": None if gap_from is None else round(gap_from, 3),
        "gap_to_s": None if gap_to is None else round(gap_to, 3),
        # The same instant on the wall clock, to set beside other logs.
        "gap_to_epoch": None if gap_to is None else round(start_wall + gap_to, 3),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "echo":
        echo(sys.argv[2], int(sys.argv[3]))
    else:
        rest, sport = sys.argv[6:], 0
        if "--sport" in rest:
            i = rest.index("--sport")
            sport = int(rest[i + 1])
            del rest[i:i + 2]
        probe(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
              float(sys.argv[5]), rest[0] if rest else None, sport)
