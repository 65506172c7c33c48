#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A state-sync peer that stops reading, for the slow-peer bound.

  syncpeer.py ADDR PORT KEY_FILE

Listens where a peer controller would (user/ctl/sync.c's wire) and plays
the receiving side of the gateway's sessions:
  1. the first session: send the challenge, then never read a byte, so
     that what the gateway sends piles up; the gateway must drop the
     session (sync_peer_too_slow) and connect again;
  2. the next session: send a challenge, read every message, check its
     sequence number and its HMAC-SHA256 under the key (the SHA-256 of
     KEY_FILE, as the gateway derives it), acknowledging as it goes,
     until the bulk resync's end record; print one JSON object:
     messages, records, the bulk's end seen.
Exits 1 on a message that does not authenticate or is out of order.
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import sys

MAGIC, VERSION = 0x424D5331, 1
SM_HELLO, SM_RECORDS, SM_ACK = 1, 2, 3
SR_BULK_END = 4
HDR = struct.Struct("<IHHIIQ")
REC_LEN, MAC_LEN = 64, 32


def hello(conn):
    challenge = os.urandom(32)
    conn.sendall(HDR.pack(MAGIC, VERSION, SM_HELLO, 32, 0, 0) + challenge)
    return challenge


def send_ack(conn, key, challenge, seq):
    ack = HDR.pack(MAGIC, VERSION, SM_ACK, 0, 0, seq)
    conn.sendall(ack + hmac.new(key, challenge + ack, hashlib.sha256).digest())


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("the gateway closed the session")
        buf += chunk
    return buf


def main():
    addr, port, key_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(key_file, "rb") as f:
        key = hashlib.sha256(f.read()).digest()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4)

    # 1. A peer that does not read.
    stalled, _ = ls.accept()
    hello(stalled)
    print("stalled session open", file=sys.stderr, flush=True)

    # 2. The gateway gave up on it and came back: the next session.
    conn, _ = ls.accept()
    stalled.close()
    challenge = hello(conn)
    conn.settimeout(30)
    seq = messages = records = 0
    bulk_end = False
    while not bulk_end:
        hdr = read_exact(conn, HDR.size)
        magic, version, mtype, length, _, mseq = HDR.unpack(hdr)
        if magic != MAGIC or version != VERSION or mtype != SM_RECORDS or \
                length % REC_LEN:
            print(json.dumps({"error": "malformed message"}))
            return 1
        body = read_exact(conn, length)
        mac = read_exact(conn, MAC_LEN)
        want = hmac.new(key, challenge + hdr + body, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, want):
            print(json.dumps({"error": "message %d does not authenticate" % mseq}))
            return 1
        if mseq != seq + 1:
            print(json.dumps({"error": "message %d after %d" % (mseq, seq)}))
            return 1
        seq = mseq
        messages += 1
        for i in range(0, length, REC_LEN):
            records += 1
            if body[i] == SR_BULK_END:
                bulk_end = True
        # As a controller does (every 100 ms): what is acknowledged no
        # longer counts towards the bound.
        if messages % 32 == 0 or bulk_end:
            send_ack(conn, key, challenge, seq)
    print(json.dumps({"messages": messages, "records": records,
                      "bulk_end": bulk_end}), flush=True)
    # Stay a peer that reads, so that the session stays up for status.
    conn.settimeout(None)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
