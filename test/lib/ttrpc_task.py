#!/usr/bin/env python3
"""A minimal ttrpc client of the shim's Task API (containerd.task.v2.Task), for tests that
must act as a containerd the installed ones are not, e.g. 2.0.0-2.0.5, which Creates app
containers on the pod's shim without running `start`. Protobuf is encoded by hand (field
numbers of docs/shim-protocol.md §3.3); unary calls only.

  ttrpc_task.py SOCKET create ID BUNDLE [STDOUT [terminal]]   prints the pid
  ttrpc_task.py SOCKET exec ID EXEC_ID STDOUT ARG...  an exec of ARGS (uid 0, cwd /)
  ttrpc_task.py SOCKET start ID [EXEC_ID]          prints the pid
  ttrpc_task.py SOCKET state ID                    prints "STATUS PID EXIT_STATUS"
  ttrpc_task.py SOCKET kill ID SIGNAL
  ttrpc_task.py SOCKET wait ID [EXEC_ID]           prints the exit status
  ttrpc_task.py SOCKET delete ID [EXEC_ID]         prints "PID EXIT_STATUS"
  ttrpc_task.py SOCKET connect ID                  prints "SHIM_PID TASK_PID"
  ttrpc_task.py SOCKET shutdown ID
A status other than OK exits 1 with "CODE MESSAGE" on stderr.
"""
import json
import socket
import struct
import sys


def varint(n):
    out = b""
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def decode(data):
    """{field: [values]}: varints as int, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wire == 1:
            v, i = data[i:i + 8], i + 8
        elif wire == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.setdefault(num, []).append(v)
    return out


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def one(msg, num, default=0):
    return msg.get(num, [default])[0]


def call(path, method, payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    req = field_bytes(1, "containerd.task.v2.Task") + field_bytes(2, method) + field_bytes(3, payload)
    s.sendall(struct.pack(">IIBB", len(req), 1, 1, 0) + req)
    buf = b""
    while len(buf) < 10 or len(buf) < 10 + struct.unpack(">I", buf[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("connection closed before the response")
        buf += chunk
    s.close()
    length, stream, mtype, _ = struct.unpack(">IIBB", buf[:10])
    resp = decode(buf[10:10 + length])
    if 1 in resp:
        status = decode(resp[1][0])
        code = one(status, 1)
        if code:
            sys.stderr.write("%d %s\n" % (code, one(status, 2, b"").decode()))
            sys.exit(1)
    return decode(one(resp, 2, b""))


def main(argv):
    sock, verb, cid = argv[1], argv[2], argv[3]
    # The process a request is about: the init, or the exec named after the id.
    ref = field_bytes(1, cid) + (field_bytes(2, argv[4]) if len(argv) > 4 and verb != "kill" else b"")
    if verb == "create":
        req = field_bytes(1, cid) + field_bytes(2, argv[4])
        if len(argv) > 6 and argv[6] == "terminal":
            req += field_varint(4, 1)
        if len(argv) > 5:
            req += field_bytes(6, argv[5])
        print(one(call(sock, "Create", req), 1))
    elif verb == "exec":
        process = {"args": argv[6:], "cwd": "/", "user": {"uid": 0, "gid": 0},
                   "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
        spec = field_bytes(1, "types.containerd.io/opencontainers/runtime-spec/1/Process") + \
            field_bytes(2, json.dumps(process))
        call(sock, "Exec", ref + field_bytes(5, argv[5]) + field_bytes(7, spec))
    elif verb == "start":
        print(one(call(sock, "Start", ref), 1))
    elif verb == "state":
        r = call(sock, "State", field_bytes(1, cid))
        print(one(r, 4), one(r, 3), one(r, 9))
    elif verb == "kill":
        call(sock, "Kill", field_bytes(1, cid) + field_varint(3, int(argv[4])))
    elif verb == "wait":
        print(one(call(sock, "Wait", ref), 1))
    elif verb == "delete":
        r = call(sock, "Delete", ref)
        print(one(r, 1), one(r, 2))
    elif verb == "connect":
        r = call(sock, "Connect", field_bytes(1, cid))
        print(one(r, 1), one(r, 2))
    elif verb == "shutdown":
        call(sock, "Shutdown", field_bytes(1, cid))
    else:
        raise SystemExit("unknown verb " + verb)


if __name__ == "__main__":
    main(sys.argv)
