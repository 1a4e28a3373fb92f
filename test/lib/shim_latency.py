#!/usr/bin/env python3
"""Times the Task API answers of a shim for one running container, acting as containerd
(test/lib/ttrpc_task.py's encoding): State, Pids, Exec + Start of `/bin/true`, Wait for
that exec's exit, then Kill SIGKILL of the init and Wait for its exit. Each call gets a
short socket timeout, so a shim that does not answer fails fast.

  shim_latency.py SOCKET ID TIMEOUT_S
prints one line per call, "METHOD MILLISECONDS", and for each Wait the time from the
recorded exit to the answer ("exit->Wait MILLISECONDS"); exits 1 on any error or timeout.
"""
import json
import socket
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import ttrpc_task as t  # noqa: E402


def timed(label, fn):
    start = time.monotonic()
    try:
        out = fn()
    except socket.timeout:
        print("%s timeout" % label)
        sys.exit(1)
    print("%s %.1f" % (label, (time.monotonic() - start) * 1000), flush=True)
    return out


def after_exit(label, resp):
    """How long after the recorded exit (WaitResponse.exited_at) the answer arrived."""
    ts = t.decode(t.one(resp, 2, b""))
    exited = t.one(ts, 1) + t.one(ts, 2) / 1e9
    print("%s %.1f" % (label, (time.time() - exited) * 1000), flush=True)


def main(argv):
    sock, cid, timeout = argv[1], argv[2], float(argv[3])
    orig = socket.socket.settimeout
    socket.socket.settimeout = lambda self, _: orig(self, timeout)
    fb, fv = t.field_bytes, t.field_varint
    timed("State", lambda: t.call(sock, "State", fb(1, cid)))
    timed("Pids", lambda: t.call(sock, "Pids", fb(1, cid)))
    spec = json.dumps({"args": ["/bin/true"], "cwd": "/", "env": ["PATH=/usr/bin:/bin"]})
    anyv = fb(1, "types.containerd.io/opencontainers/runtime-spec/1/Process") + fb(2, spec)
    timed("Exec", lambda: t.call(sock, "Exec", fb(1, cid) + fb(2, "probe") + fb(7, anyv)))
    timed("Start(exec)", lambda: t.call(sock, "Start", fb(1, cid) + fb(2, "probe")))
    r = timed("Wait(exec)", lambda: t.call(sock, "Wait", fb(1, cid) + fb(2, "probe")))
    after_exit("exit->Wait(exec)", r)
    timed("Delete(exec)", lambda: t.call(sock, "Delete", fb(1, cid) + fb(2, "probe")))
    timed("Kill", lambda: t.call(sock, "Kill", fb(1, cid) + fv(3, 9)))
    r = timed("Wait", lambda: t.call(sock, "Wait", fb(1, cid)))
    after_exit("exit->Wait", r)
    print("status %d" % t.one(r, 1))


if __name__ == "__main__":
    main(sys.argv)
