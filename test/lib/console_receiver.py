#!/usr/bin/env python3
"""Console-socket receiver for the reaper-runtime tests (the role containerd's shim plays
for runc's --console-socket).

    console_receiver.py SOCK [--ready FILE] [--got FILE] [--stop FILE]
                             [--winsize ROWS COLS] [--input TEXT] [--timeout SECONDS]

Listens on the unix socket SOCK, accepts one connection and receives the PTY master with
SCM_RIGHTS. Then: optionally sets the window size on the master (TIOCSWINSZ) and writes
TEXT to it, touches --got FILE, and copies everything read from the master to stdout until
EOF/EIO, or, once --stop FILE exists, until the master has been idle for 0.3 s (a runtime
that keeps a copy of the slave open would otherwise never give EOF). --ready FILE is
touched once the socket is listening. Exit status: 0 when a master was received, 2 when the
connection carried no fd, 3 on timeout waiting for the connection.
"""
import argparse
import errno
import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time


def touch(path):
    if path:
        with open(path, "w"):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sock")
    ap.add_argument("--ready")
    ap.add_argument("--got")
    ap.add_argument("--stop")
    ap.add_argument("--winsize", nargs=2, type=int)
    ap.add_argument("--input")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.sock)
    srv.listen(1)
    touch(a.ready)
    srv.settimeout(a.timeout)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("console_receiver: no connection", file=sys.stderr)
        return 3
    conn.settimeout(a.timeout)
    data, fds, _, _ = socket.recv_fds(conn, 4096, 4)
    conn.close()
    srv.close()
    if not fds:
        print("console_receiver: no fd received (data %r)" % data, file=sys.stderr)
        return 2
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)
    print("console_receiver: got fd, isatty=%s" % os.isatty(master), file=sys.stderr)
    if a.winsize:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", a.winsize[0], a.winsize[1], 0, 0))
    if a.input is not None:
        os.write(master, a.input.encode())
    touch(a.got)

    deadline = time.monotonic() + a.timeout
    out = sys.stdout.buffer
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.3)
        if not r:
            if a.stop and os.path.exists(a.stop):
                break
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        out.write(chunk)
        out.flush()
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
