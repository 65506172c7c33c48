#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""One active-mode FTP control connection across a gateway failover.

  ftpsession.py SERVER OWN_ADDR READY_FILE GO_FILE

Log in anonymously, announce OWN_ADDR with PORT (the gateway's ALG
rewrites it, changing the length: from then on the connection needs its
sequence adjustment) and LIST over the data connection; then create
READY_FILE and wait (60 s at most) for GO_FILE, made after the failover.
Then the same again on the same control connection, a NOOP and QUIT.
Prints one line per step; exit 0 when all went right.  No name is ever
resolved.
"""
import os
import socket
import sys
import time

from ftpctl import Ctl

TIMEOUT = 20


def active_list(c, own):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind((own, 0))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    port = ls.getsockname()[1]
    code, r = c.cmd("PORT %s,%d,%d" % (own.replace(".", ","), port >> 8,
                                        port & 255))
    if code != "200":
        raise RuntimeError("PORT: " + r)
    code, r = c.cmd("LIST")
    if code != "150":
        raise RuntimeError("LIST: " + r)
    d, _ = ls.accept()
    d.settimeout(TIMEOUT)
    listing = b""
    while True:
        chunk = d.recv(4096)
        if not chunk:
            break
        listing += chunk
    d.close()
    ls.close()
    code, r = c.reply()
    if code != "226":
        raise RuntimeError("after LIST: " + r)
    return len(listing)


def main():
    server, own, ready, go = sys.argv[1:5]
    try:
        c = Ctl(server)
        c.login()
        print("before: LIST of %d bytes" % active_list(c, own), flush=True)
        open(ready, "w").close()
        end = time.monotonic() + 60
        while not os.path.exists(go):
            if time.monotonic() > end:
                raise RuntimeError("no go")
            time.sleep(0.1)
        print("after: LIST of %d bytes" % active_list(c, own), flush=True)
        code, r = c.cmd("NOOP")
        if code != "200":
            raise RuntimeError("NOOP: " + r)
        c.cmd("QUIT")
        print("ok")
    except (OSError, EOFError, RuntimeError) as e:
        print("error: %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
