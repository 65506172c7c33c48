#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Many long TCP connections to an echo server, driven line by line.

  tcpstreams.py DST PORT

Reads commands on stdin and answers each with one JSON line on stdout:

  open N            open N connections to DST:PORT
                    -> {"ports": [local port, ...]}
  echo PORTS BYTES  on each connection named (a comma list, or "all"),
                    send BYTES and wait for their echo (10 s)
                    -> {"ok": [port, ...], "failed": {port: why}}
  stream MS BYTES   from now on every connection sends BYTES every MS ms
                    -> {"streaming": N}
  mark NS           the moment (ns since the epoch) to measure answers
                    from: each connection notes what it had sent by then
                    -> {"marked": NS}
  stop SECONDS      stop sending, wait up to SECONDS for the echoes
                    -> {"conns": [{"port", "sent", "echoed", "ok",
                        "error", "answer_after_mark_s",
                        "longest_gap_s"}, ...]}

Every connection carries its own stream of pseudo-random bytes, and each
byte that comes back is compared with the byte sent at its offset: a
connection is "ok" when all it sent came back in order and intact, with
no reset or end of stream on the way.  "answer_after_mark_s" is how long
after the mark the echo of the first byte sent after it arrived: the
first answer through whichever gateway carried the connection by then.
"longest_gap_s" is the longest time between two echoes while it streamed
(the last one up to the stop).
"""
import json
import os
import socket
import sys
import threading
import time

# A prime length: blocks never line up with the pattern's period.
PATTERN = os.urandom(65521)


class Conn:
    def __init__(self, index, sock):
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.shift = index * 7919
        self.cond = threading.Condition()
        self.sent = 0
        self.echoed = 0
        self.error = None
        self.sent_at_mark = None
        self.mark_ns = None
        self.answer_ns = None
        self.last_rx_ns = None	# set while streaming: gaps are measured
        self.longest_gap_ns = 0
        threading.Thread(target=self.receive, daemon=True).start()

    def chunk(self, off, n):
        out = bytearray()
        while n:
            p = (off + self.shift) % len(PATTERN)
            take = min(n, len(PATTERN) - p)
            out += PATTERN[p:p + take]
            off += take
            n -= take
        return bytes(out)

    def send(self, n):
        data = self.chunk(self.sent, n)
        with self.cond:
            self.sent += n
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.fail("send: %s" % e)

    def fail(self, why):
        with self.cond:
            if self.error is None:
                self.error = why
            self.cond.notify_all()

    def receive(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                self.fail("recv: %s" % e)
                return
            if not data:
                self.fail("the server ended the stream after %d bytes" %
                          self.echoed)
                return
            now = time.time_ns()
            if data != self.chunk(self.echoed, len(data)):
                self.fail("echo differs within bytes %d-%d" %
                          (self.echoed, self.echoed + len(data)))
                return
            with self.cond:
                self.echoed += len(data)
                if (self.sent_at_mark is not None and self.answer_ns is None
                        and self.echoed > self.sent_at_mark):
                    self.answer_ns = now
                self.note_gap(now)
                self.cond.notify_all()

    def note_gap(self, now):
        if self.last_rx_ns is not None:
            self.longest_gap_ns = max(self.longest_gap_ns,
                                      now - self.last_rx_ns)
            self.last_rx_ns = now

    def streaming(self, on):
        with self.cond:
            now = time.time_ns()
            if on:
                self.last_rx_ns = now
            else:
                self.note_gap(now)
                self.last_rx_ns = None

    def wait_echoed(self, deadline):
        with self.cond:
            while self.echoed < self.sent and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return self.error is None

    def mark(self, ns):
        with self.cond:
            self.mark_ns = ns
            self.sent_at_mark = self.sent

    def report(self):
        with self.cond:
            after = None
            if self.answer_ns is not None:
                after = round((self.answer_ns - self.mark_ns) / 1e9, 3)
            return {"port": self.port, "sent": self.sent,
                    "echoed": self.echoed,
                    "ok": self.error is None and self.echoed == self.sent,
                    "error": self.error, "answer_after_mark_s": after,
                    "longest_gap_s": round(self.longest_gap_ns / 1e9, 3)}


class Streamer:
    """Each connection's sender: BYTES every MS ms until stopped."""

    def __init__(self, conns, ms, nbytes):
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True,
                                         args=(c, ms / 1000.0, nbytes))
                        for c in conns]
        for t in self.threads:
            t.start()

    def run(self, c, interval, nbytes):
        nxt = time.monotonic()
        while not self.stop.is_set() and c.error is None:
            c.send(nbytes)
            nxt += interval
            self.stop.wait(max(0.0, nxt - time.monotonic()))

    def end(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tcpstreams.py DST PORT")
    dst, port = sys.argv[1], int(sys.argv[2])
    conns = []
    streamer = None

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def named(arg):
        if arg == "all":
            return conns
        want = {int(p) for p in arg.split(",") if p}
        return [c for c in conns if c.port in want]

    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "open":
                for _ in range(int(cmd[1])):
                    s = socket.create_connection((dst, port), timeout=3)
                    s.settimeout(None)
                    conns.append(Conn(len(conns), s))
                reply({"ports": [c.port for c in conns]})
            elif cmd[0] == "echo":
                sel, n = named(cmd[1]), int(cmd[2])
                for c in sel:
                    c.send(n)
                deadline = time.monotonic() + 10
                ok, failed = [], {}
                for c in sel:
                    if c.wait_echoed(deadline):
                        ok.append(c.port)
                    else:
                        failed[c.port] = c.error or "%d of %d bytes back" % (
                            c.echoed, c.sent)
                reply({"ok": ok, "failed": failed})
            elif cmd[0] == "stream":
                for c in conns:
                    c.streaming(True)
                streamer = Streamer(conns, int(cmd[1]), int(cmd[2]))
                reply({"streaming": len(conns)})
            elif cmd[0] == "mark":
                for c in conns:
                    c.mark(int(cmd[1]))
                reply({"marked": int(cmd[1])})
            elif cmd[0] == "stop":
                for c in conns:
                    c.streaming(False)
                if streamer:
                    streamer.end()
                    streamer = None
                deadline = time.monotonic() + float(cmd[1])
                for c in conns:
                    c.wait_echoed(deadline)
                reply({"conns": [c.report() for c in conns]})
            else:
                reply({"error": "unknown command %r" % cmd[0]})
        except (OSError, ValueError, IndexError) as e:
            reply({"error": "%s: %s" % (line.strip(), e)})


if __name__ == "__main__":
    main()
