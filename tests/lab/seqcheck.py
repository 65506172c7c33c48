#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check a TCP capture taken at an inside client for sequence adjustment.

  seqcheck.py PCAP CLIENT_ADDR SERVER_PORT

The capture is of the client's own interface, so it shows the client's
sequence space untouched.  Whatever the NAT did to the stream on the way
(a rewrite that changed a segment's length), the acknowledgements that
come back must be in this space again: every ACK number the server sends
must be the end of something the client sent, every SACK block must start
where a client segment started and end where one ended.  An ACK or SACK
edge shifted by a missing or wrong adjustment lands between boundaries.

Prints a summary line ("segments N retransmitted N acks N sack_blocks N
bad N") and the first bad packets; exit 1 when anything is bad or the
capture holds no connection to SERVER_PORT.
"""
import socket
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        linktype = struct.unpack(endian + "I", hdr[20:24])[0]
        while True:
            ph = f.read(16)
            if len(ph) < 16:
                return
            incl = struct.unpack(endian + "IIII", ph)[2]
            data = f.read(incl)
            if linktype == 1:		# Ethernet
                if len(data) < 14 or data[12:14] != b"\x08\x00":
                    continue
                data = data[14:]
            elif linktype == 113:	# Linux cooked
                data = data[16:]
            elif linktype != 101:	# raw IP
                continue
            yield data


def tcp_of(ip):
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        return None
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    th = ip[ihl:]
    if len(th) < 20:
        return None
    sport, dport, seq, ack = struct.unpack("!HHII", th[:12])
    doff = (th[12] >> 4) * 4
    flags = th[13]
    plen = tot - ihl - doff
    sacks = []
    opt = th[20:doff]
    i = 0
    while i < len(opt):
        k = opt[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(opt) or opt[i + 1] < 2:
            break
        ln = opt[i + 1]
        if k == 5:
            body = opt[i + 2:i + ln]
            for j in range(0, len(body) - 7, 8):
                sacks.append(struct.unpack("!II", body[j:j + 8]))
        i += ln
    return dict(src=socket.inet_ntoa(ip[12:16]), dst=socket.inet_ntoa(ip[16:20]),
                sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
                plen=plen, sacks=sacks)


def after(a, b):
    """a comes after b in sequence space."""
    return 0 < ((a - b) & 0xffffffff) < 0x80000000


def main(path, client, port):
    conns = {}
    for ip in packets(path):
        t = tcp_of(ip)
        if not t:
            continue
        if t["src"] == client and t["dport"] == port:
            c = conns.setdefault(t["sport"], dict(pkts=[]))
            c["pkts"].append(("out", t))
        elif t["dst"] == client and t["sport"] == port:
            c = conns.setdefault(t["dport"], dict(pkts=[]))
            c["pkts"].append(("in", t))
    segs = retrans = acks = blocks = bad = 0
    shown = []
    for cport, c in conns.items():
        starts, ends = set(), set()
        hi = None
        for way, t in c["pkts"]:
            syn, fin = t["flags"] & 2, t["flags"] & 1
            if way == "out":
                ln = t["plen"] + (1 if syn else 0) + (1 if fin else 0)
                starts.add(t["seq"])
                ends.add((t["seq"] + ln) & 0xffffffff)
                if t["plen"]:
                    segs += 1
                    end = (t["seq"] + ln) & 0xffffffff
                    if hi is not None and not after(end, hi):
                        retrans += 1
                    else:
                        hi = end
                continue
            if not t["flags"] & 16 or syn:
                continue
            acks += 1
            why = []
            if t["ack"] not in ends:
                why.append("ack %d" % t["ack"])
            for l, r in t["sacks"]:
                blocks += 1
                # A D-SACK block may cover part of a segment only if
                # segments were re-cut; ours never are (small commands).
                if l not in starts or r not in ends:
                    why.append("sack %d:%d" % (l, r))
            if why:
                bad += 1
                if len(shown) < 5:
                    shown.append("client port %d: %s" % (cport, ", ".join(why)))
    print("connections %d segments %d retransmitted %d acks %d sack_blocks %d bad %d" %
          (len(conns), segs, retrans, acks, blocks, bad))
    for s in shown:
        print("  bad: " + s)
    return 1 if bad or not conns else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
