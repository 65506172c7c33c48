#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A tiny IRC client and DCC peer for the lab, standard library only.

  ircpeer.py client NICK SERVER PORT SOCK
      Connect and register as NICK (answers PINGs; prints every line it
      gets as "<- LINE"), then take requests on
      the Unix socket SOCK (a path: the lab's namespaces share the file
      system) from `ircpeer.py ctl`.  Exits when the server closes the
      connection, or after 600 s.
  ircpeer.py ctl SOCK send TEXT
      Write TEXT as is (give the CR LF; several messages in one TEXT go
      out in one write, so normally in one segment).
  ircpeer.py ctl SOCK sendeach TEXT
      The same, but each CR LF-terminated message in a write (and so a
      segment) of its own, back to back.
  ircpeer.py ctl SOCK wait REGEX [SECONDS]
      Print the first line received (CR LF stripped, bytes as latin-1)
      that matches REGEX and was not returned before; exit 1 on timeout
      (default 5 s).
  ircpeer.py sendfile ADDR PORT FILE [OFFSET]
      DCC SEND's sender: listen on ADDR:PORT, send FILE (from OFFSET, for
      a resumed transfer) to the first connection, read the 4-byte
      acknowledgements until the last one (or EOF).  Exit 0 when the
      whole file went out and was acknowledged.
  ircpeer.py getfile HOST PORT SIZE OUT [OFFSET]
      DCC SEND's receiver: connect, receive the bytes from OFFSET up to
      SIZE and write them to OUT (appended when OFFSET is given, else OUT
      is truncated), send a 4-byte acknowledgement (the file position,
      network order) after each read.  With SIZE less than the file it
      stops early: an interrupted transfer.
  ircpeer.py chatserve ADDR PORT LINE
  ircpeer.py chatconnect HOST PORT LINE
      DCC CHAT: the offering side listens; each side sends LINE and prints
      the line it got.
Every wait is bounded; nothing is ever resolved by name.
"""
import json
import os
import re
import socket
import struct
import sys
import threading
import time

import labtool

# Lines from the reader thread and the main one must not interleave: a
# test waits for a line that is exactly "registered".
OUT_LOCK = threading.Lock()


def out(text):
    with OUT_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

TIMEOUT = 20


def client(nick, server, port, path):
    s = socket.create_connection((server, int(port)), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lines, cv = [], threading.Condition()
    state = {"closed": False}

    def reader():
        buf = b""
        s.settimeout(None)
        while True:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                with cv:
                    state["closed"] = True
                    cv.notify_all()
                return
            buf += data
            while b"\n" in buf:
                ln, buf = buf.split(b"\n", 1)
                ln = ln.rstrip(b"\r").decode("latin-1")
                if ln.startswith("PING"):
                    s.sendall(("PONG" + ln[4:] + "\r\n").encode("latin-1"))
                out("<- " + ln)
                with cv:
                    lines.append([ln, False])
                    cv.notify_all()

    def wait(rx, timeout):
        r = re.compile(rx)
        end = time.monotonic() + timeout
        with cv:
            while True:
                for item in lines:
                    if not item[1] and r.search(item[0]):
                        item[1] = True
                        return item[0]
                left = end - time.monotonic()
                if left <= 0 or state["closed"]:
                    return None
                cv.wait(left)

    threading.Thread(target=reader, daemon=True).start()
    s.sendall(("NICK %s\r\nUSER %s 0 * :%s\r\n" % (nick, nick, nick)).encode())
    if wait(r"^:\S+ 001 ", TIMEOUT) is None:
        print("not registered: %s" % [ln for ln, _ in lines], file=sys.stderr)
        return 1
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(4)
    ls.settimeout(1)
    out("registered")
    end = time.monotonic() + 600
    while time.monotonic() < end and not state["closed"]:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        with c:
            c.settimeout(5)
            f = c.makefile("rwb")
            req = json.loads(f.readline())
            if req["op"] == "send":
                s.sendall(req["text"].encode("latin-1"))
                res = {"ok": True}
            elif req["op"] == "sendeach":
                for m in req["text"].split("\r\n")[:-1]:
                    s.sendall((m + "\r\n").encode("latin-1"))
                res = {"ok": True}
            else:
                ln = wait(req["re"], float(req.get("timeout", 5)))
                res = {"ok": ln is not None, "line": ln}
            f.write(json.dumps(res).encode() + b"\n")
            f.flush()
    return 0


def ctl(path, op, arg, timeout="5"):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(float(timeout) + 5)
    c.connect(path)
    f = c.makefile("rwb")
    if op in ("send", "sendeach"):
        req = {"op": op, "text": arg}
    else:
        req = {"op": "wait", "re": arg, "timeout": timeout}
    f.write(json.dumps(req).encode() + b"\n")
    f.flush()
    res = json.loads(f.readline())
    if res.get("line") is not None:
        sys.stdout.buffer.write(res["line"].encode("latin-1") + b"\n")
    return 0 if res["ok"] else 1


def listen_one(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    c, peer = ls.accept()
    ls.close()
    c.settimeout(TIMEOUT)
    return c, peer


def sendfile(addr, port, path, offset=0):
    data = open(path, "rb").read()
    offset = int(offset)
    c, peer = listen_one(addr, port)
    out("connection from %s:%d" % peer)
    c.sendall(data[offset:])
    acked, buf = offset, b""
    while acked < len(data):
        got = c.recv(4096)
        if not got:
            break
        buf += got
        while len(buf) >= 4:
            acked = struct.unpack("!I", buf[:4])[0]
            buf = buf[4:]
    c.close()
    print("sent %d bytes, last ack %d" % (len(data), acked))
    return 0 if acked == len(data) else 1


def getfile(host, port, size, out, offset=None):
    size = int(size)
    n = int(offset or 0)
    c = socket.create_connection((host, int(port)), timeout=5)
    c.settimeout(TIMEOUT)
    with open(out, "ab" if offset is not None else "wb") as f:
        while n < size:
            got = c.recv(65536)[:size - n]
            if not got:
                break
            f.write(got)
            n += len(got)
            c.sendall(struct.pack("!I", n & 0xffffffff))
    c.close()
    print("at %d of %d bytes" % (n, size))
    return 0 if n == size else 1


def chat(c, line):
    c.sendall(line.encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        got = c.recv(4096)
        if not got:
            break
        buf += got
    print(buf.split(b"\n")[0].decode("latin-1"))
    c.close()
    return 0 if b"\n" in buf else 1


COMMANDS = {
    "client": lambda *a: client(*a[:4]),
    "ctl": ctl,
    "sendfile": lambda *a: sendfile(*a[:4]),
    "getfile": lambda *a: getfile(*a[:5]),
    "chatserve": lambda addr, port, mode, *_: chat(listen_one(addr, port)[0],
                                                   mode),
    "chatconnect": lambda addr, port, mode, *_: chat(
        socket.create_connection((addr, int(port)), timeout=5), mode),
}


if __name__ == "__main__":
    sys.exit(labtool.main(__doc__, COMMANDS, (OSError, ValueError)))
