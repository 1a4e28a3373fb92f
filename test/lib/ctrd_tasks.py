#!/usr/bin/env python3
"""containerd's task API (containerd.services.tasks.v1.Tasks) for tests that need a step
ctr does not offer alone: ctr's `task start` and `run` create and start a task in one go,
but a test that holds a Start or a Delete needs a task that is created and not started.
Protobuf is encoded by hand (CreateTaskRequest.container_id = 1, StartRequest.container_id
= 1, both responses' pid a varint); unary calls with grpc's raw bytes.

  ctrd_tasks.py SOCKET NAMESPACE create ID    creates the task of container ID (no stdio);
                                              prints its pid
  ctrd_tasks.py SOCKET NAMESPACE start ID     starts it; prints its pid
An error exits 1 with "CODE: DETAILS" on stderr.
"""
import sys

import grpc


def field_string(num, text):
    data = text.encode()
    return bytes([num << 3 | 2, len(data)]) + data   # ids are under 128 bytes


def pid_of(response, field):
    """The varint `field` of a response; 0 when absent."""
    i = 0
    while i < len(response):
        key, i = response[i], i + 1
        value, shift = 0, 0
        while True:
            b, i = response[i], i + 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if key & 7 == 2:      # length-delimited: value was its length
            i += value
        elif key >> 3 == field:
            return value
    return 0


def main(argv):
    if len(argv) != 5 or argv[3] not in ("create", "start"):
        sys.exit(__doc__)
    sock, ns, verb, cid = argv[1:]
    channel = grpc.insecure_channel("unix://" + sock)
    method = {"create": "Create", "start": "Start"}[verb]
    call = channel.unary_unary(f"/containerd.services.tasks.v1.Tasks/{method}")
    try:
        response = call(field_string(1, cid), timeout=60, metadata=(("containerd-namespace", ns),))
    except grpc.RpcError as e:
        print(f"{e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(1)
    print(pid_of(response, 2 if verb == "create" else 1))


if __name__ == "__main__":
    main(sys.argv)
