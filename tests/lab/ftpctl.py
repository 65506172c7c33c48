#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A tiny FTP client speaking the control protocol by hand, for the lab.

  ftpctl.py forged SERVER CMD...
      Log in anonymously, send each CMD (e.g. "PORT 10,0,1,99,19,137"),
      print "CMD -> REPLY" for each, then prove the session still works
      (NOOP) and QUIT.  Exit 0 when every reply came.

  ftpctl.py stress sync|pipelined SERVER OWN_ADDR FILE SHA256 ROUNDS
      Log in, then ROUNDS times: listen on OWN_ADDR, announce it with PORT
      or EPRT (alternately; the rewrite changes the length by different
      amounts each time), then pipeline "RETR FILE" and 1-4 NOOPs, each in
      a segment of its own (TCP_NODELAY): several small segments in
      flight, so a loss makes the server SACK.  "sync" waits for the
      PORT/EPRT reply before sending the rest (as curl or lftp do);
      "pipelined" sends everything at once, so the segments after the
      PORT/EPRT are on the wire while it is being rewritten.  Accept the
      data connection, check the file's sha256, then read the replies in
      order: 200, 150, 226 and 200 per NOOP.  QUIT at the end.  Prints
      one line per round; exit 0 when every round was right.

Every wait is bounded (socket timeouts); no name is ever resolved.
"""
import hashlib
import socket
import sys

import labtool

# One reply may need several retransmissions when the lab drops 20% of the
# control segments both ways: seven losses in a row of one segment back TCP
# off for about 25 s (RTO 0.2 s doubling), and a CI run once hit 30 s.
TIMEOUT = 60


class Ctl:
    def __init__(self, server, port=21):
        self.s = socket.create_connection((server, port), timeout=TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise EOFError("control connection closed")
            self.buf += data
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("latin-1")

    def reply(self):
        """One reply (multi-line ones folded): (code, text)."""
        ln = self.line()
        code = ln[:3]
        if ln[3:4] == "-":
            while True:
                nxt = self.line()
                if nxt[:3] == code and nxt[3:4] == " ":
                    break
        return code, ln

    def send(self, cmd):
        self.s.sendall(cmd.encode("latin-1") + b"\r\n")

    def cmd(self, cmd):
        self.send(cmd)
        return self.reply()

    def login(self):
        code, ln = self.reply()
        if code != "220":
            raise RuntimeError("banner: " + ln)
        code, ln = self.cmd("USER anonymous")
        if code == "331":
            code, ln = self.cmd("PASS x")
        if code != "230":
            raise RuntimeError("login: " + ln)
        code, ln = self.cmd("TYPE I")
        if code != "200":
            raise RuntimeError("TYPE I: " + ln)


def forged(server, cmds):
    c = Ctl(server)
    c.login()
    for cmd in cmds:
        code, ln = c.cmd(cmd)
        print("%s -> %s" % (cmd, ln))
    code, ln = c.cmd("NOOP")
    print("NOOP -> %s" % ln)
    c.cmd("QUIT")
    return 0 if code == "200" else 1


def stress(mode, server, own, name, sha, rounds):
    c = Ctl(server)
    c.login()
    bad = 0
    for i in range(rounds):
        ls = socket.socket()
        ls.bind((own, 0))
        ls.listen(1)
        ls.settimeout(10)
        port = ls.getsockname()[1]
        if i % 2 == 0:
            a = own.split(".")
            arg = "PORT %s,%d,%d" % (",".join(a), port >> 8, port & 255)
        else:
            arg = "EPRT |1|%s|%d|" % (own, port)
        noops = 1 + i % 4
        c.send(arg)
        codes = []
        if mode == "sync":
            codes.append(c.reply()[0])
        c.send("RETR " + name)
        for _ in range(noops):
            c.send("NOOP")
        try:
            d, _ = ls.accept()
        except socket.timeout:
            c.s.settimeout(2)
            try:
                while True:
                    codes.append(c.reply()[1])
            except (OSError, EOFError):
                pass
            print("round %d: %s: no data connection; replies: %s" %
                  (i, arg, " | ".join(codes)))
            return 1
        ls.close()
        d.settimeout(TIMEOUT)
        h = hashlib.sha256()
        n = 0
        while True:
            data = d.recv(65536)
            if not data:
                break
            h.update(data)
            n += len(data)
        d.close()
        codes += [c.reply()[0] for _ in range(3 + noops - len(codes))]
        want = ["200", "150", "226"] + ["200"] * noops
        ok = h.hexdigest() == sha and codes == want
        print("round %d: %s: %d bytes, sha %s, replies %s%s" %
              (i, arg, n, "ok" if h.hexdigest() == sha else "WRONG",
               " ".join(codes), "" if ok else " (want %s)" % " ".join(want)))
        bad += not ok
    code, ln = c.cmd("QUIT")
    if code != "221":
        print("QUIT -> " + ln)
        bad += 1
    return 1 if bad else 0


COMMANDS = {
    "forged": lambda server, *cmds: forged(server, list(cmds)),
    "stress": lambda a, b, c, d, e, n: stress(a, b, c, d, e, int(n)),
}


if __name__ == "__main__":
    sys.exit(labtool.main(__doc__, COMMANDS, (OSError, EOFError, RuntimeError)))
