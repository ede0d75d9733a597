#!/usr/bin/env python3
"""A syslog socket for the tests: binds a Unix datagram socket at PATH and
appends each message it receives to OUT as one line, until SIGTERM or
SECONDS pass. Creates READY once bound.

usage: syslog_sink.py PATH OUT READY SECONDS
"""
import signal
import socket
import sys
import time


def main():
    path, out, ready, secs = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    open(ready, "w").close()
    end = time.monotonic() + secs
    with open(out, "ab", buffering=0) as f:
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                msg = sock.recv(65536)
            except socket.timeout:
                break
            f.write(msg.rstrip(b"\n").replace(b"\n", b" ") + b"\n")


if __name__ == "__main__":
    main()
