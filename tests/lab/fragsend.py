#!/usr/bin/python3
# Send one UDP datagram as IPv4 fragments, in order or reversed, from a raw
# socket: the lab uses it to check that fragments reaching the gateway
# before their first fragment are held and delivered, not lost or leaked.
# usage: fragsend.py SRC DST SPORT DPORT SIZE inorder|reverse
import socket, struct, sys, os
src, dst, sport, dport, size, order = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
payload = bytes((i * 7) & 0xff for i in range(size))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
ulen = 8 + len(payload)
ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, ulen)
udp = struct.pack('!HHHH', sport, dport, ulen, 0) + payload
c = csum(ph + udp) or 0xffff
udp = udp[:6] + struct.pack('!H', c) + udp[8:]
ident = os.getpid() & 0xffff
frags = []
off = 0
while off < len(udp):
    chunk = udp[off:off+1480]
    mf = 0x2000 if off + len(chunk) < len(udp) else 0
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(chunk), ident, mf | (off // 8), 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    frags.append(hdr + chunk)
    off += len(chunk)
if order == 'reverse': frags.reverse()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for f in frags: s.sendto(f, (dst, 0))
print(len(frags), 'fragments sent', order)
