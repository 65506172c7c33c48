#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""TCP echo server for the lab: every byte a client sends comes back.

  tcpecho.py ADDR PORT

One thread per connection reads and sends back with blocking calls, so a
client that stops reading holds only its own connection, and the data in
flight is bounded by the sockets' buffers.  At the client's end of stream
it shuts down its own sending side after the last byte, then closes.

Not `socat ... PIPE`: socat echoes through a pipe it both writes and
reads, and a blocking 8 KiB write into a pipe with one free page waits for
a reader that is socat itself; the echo then stops for good with the rest
of the stream unread (seen under load in the lab).
"""
import socket
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        while True:
            data = s.recv(65536)
            if not data:
                break
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tcpecho.py ADDR PORT")
    with Server((sys.argv[1], int(sys.argv[2])), Echo) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
