"""A kubelet-like CRI client for reaper's tests and benchmarks.

It speaks the CRI (runtime.v1) to containerd's gRPC socket with the message subset in
cri_subset.proto, drives Exec/Attach sessions over the streaming server's WebSocket
protocol (channel.k8s.io framing, the way kubectl's newer clients do), and builds the
small OCI images the CRI plugin insists on (it never runs a container without one).

Run with Debian's python3 (python3-grpcio, python3-protobuf): /usr/bin/python3.
"""

import base64
import hashlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_messages():
    """Compiles cri_subset.proto with protoc (tens of ms) and imports the result."""
    out = tempfile.mkdtemp(prefix="cri-py.")
    subprocess.run(["protoc", "-I", HERE, "--python_out", out,
                    os.path.join(HERE, "cri_subset.proto")], check=True)
    sys.path.insert(0, out)
    try:
        import cri_subset_pb2
    finally:
        sys.path.remove(out)
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        os.rmdir(out)
    return cri_subset_pb2


pb = _load_messages()

# Method name -> (request type, response type), for both services.
_RUNTIME = {
    "Version": (pb.VersionRequest, pb.VersionResponse),
    "RunPodSandbox": (pb.RunPodSandboxRequest, pb.RunPodSandboxResponse),
    "StopPodSandbox": (pb.StopPodSandboxRequest, pb.Empty),
    "RemovePodSandbox": (pb.RemovePodSandboxRequest, pb.Empty),
    "PodSandboxStatus": (pb.PodSandboxStatusRequest, pb.PodSandboxStatusResponse),
    "ListPodSandbox": (pb.ListPodSandboxRequest, pb.ListPodSandboxResponse),
    "CreateContainer": (pb.CreateContainerRequest, pb.CreateContainerResponse),
    "StartContainer": (pb.ContainerIdRequest, pb.Empty),
    "StopContainer": (pb.StopContainerRequest, pb.Empty),
    "RemoveContainer": (pb.ContainerIdRequest, pb.Empty),
    "ListContainers": (pb.ListContainersRequest, pb.ListContainersResponse),
    "ContainerStatus": (pb.ContainerStatusRequest, pb.ContainerStatusResponse),
    "ExecSync": (pb.ExecSyncRequest, pb.ExecSyncResponse),
    "Exec": (pb.ExecRequest, pb.StreamUrlResponse),
    "Attach": (pb.AttachRequest, pb.StreamUrlResponse),
    "ContainerStats": (pb.ContainerIdRequest, pb.ContainerStatsResponse),
    "ListContainerStats": (pb.ListContainerStatsRequest, pb.ListContainerStatsResponse),
}
_IMAGE = {"ImageStatus": (pb.ImageStatusRequest, pb.ImageStatusResponse)}

NODE = pb.NODE
POD = pb.POD
CREATED, RUNNING, EXITED = pb.CONTAINER_CREATED, pb.CONTAINER_RUNNING, pb.CONTAINER_EXITED
SANDBOX_READY, SANDBOX_NOTREADY = pb.SANDBOX_READY, pb.SANDBOX_NOTREADY


class Client:
    """One gRPC channel to containerd; every CRI method as a Python method."""

    def __init__(self, sock, timeout=60):
        self.channel = grpc.insecure_channel("unix://" + sock)
        self.timeout = timeout
        self._calls = {}
        for service, methods in (("runtime.v1.RuntimeService", _RUNTIME),
                                 ("runtime.v1.ImageService", _IMAGE)):
            for name, (req, resp) in methods.items():
                self._calls[name] = (req, self.channel.unary_unary(
                    f"/{service}/{name}", request_serializer=req.SerializeToString,
                    response_deserializer=resp.FromString))

    def call(self, name, deadline=None, **fields):
        """Calls method `name` with a request of `fields`; `deadline` in seconds."""
        req_type, stub = self._calls[name]
        return stub(req_type(**fields), timeout=deadline or self.timeout)

    def __getattr__(self, name):
        if name in _RUNTIME or name in _IMAGE:
            return lambda **f: self.call(name, None, **f)
        raise AttributeError(name)

    def close(self):
        self.channel.close()

    # ------------------------------------------------------------ kubelet-like steps
    def run_pod(self, config, handler):
        return self.RunPodSandbox(config=config, runtime_handler=handler).pod_sandbox_id

    def create(self, pod_id, pod_config, config):
        return self.CreateContainer(pod_sandbox_id=pod_id, config=config,
                                    sandbox_config=pod_config).container_id

    def status(self, cid, verbose=False):
        return self.ContainerStatus(container_id=cid, verbose=verbose)

    def wait_state(self, cid, state, deadline_s=30):
        """Polls ContainerStatus as kubelet's relist does, until `state` or the deadline."""
        end = time.monotonic() + deadline_s
        while True:
            st = self.status(cid).status
            if st.state == state:
                return st
            if time.monotonic() > end:
                raise AssertionError(f"container {cid[:12]} still in state {st.state}, "
                                     f"wanted {state}: {st}")
            time.sleep(0.01)

    def remove_pod(self, pod_id):
        self.StopPodSandbox(pod_sandbox_id=pod_id)
        self.RemovePodSandbox(pod_sandbox_id=pod_id)


def pod_config(name, namespace="e2e", log_root=None, annotations=None, uid=None):
    """A host-network pod as kubelet describes it (no hostname for NODE networking)."""
    uid = uid or uuid.uuid4().hex
    log_dir = ""
    if log_root:
        log_dir = os.path.join(log_root, f"{namespace}_{name}_{uid}")
        os.makedirs(log_dir, exist_ok=True)   # kubelet creates it before RunPodSandbox
    ns = pb.NamespaceOption(network=NODE, pid=POD, ipc=POD)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0),
        log_directory=log_dir,
        labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                "io.kubernetes.pod.uid": uid},
        annotations=annotations or {},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent="/rtest",
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))


def container_config(name, image, command, args=(), attempt=0, envs=None, mounts=(),
                     tty=False, stdin=False, stdin_once=False, user=None, group=None,
                     groups=(), working_dir="", annotations=None, log=True):
    sc = pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(network=NODE, pid=POD, ipc=POD),
        supplemental_groups=list(groups))
    if user is not None:
        sc.run_as_user.value = user
    if group is not None:
        sc.run_as_group.value = group
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=attempt),
        image=pb.ImageSpec(image=image), command=list(command), args=list(args),
        working_dir=working_dir,
        envs=[pb.KeyValue(key=k, value=v) for k, v in (envs or {}).items()],
        mounts=[pb.Mount(container_path=c, host_path=h, readonly=ro) for c, h, ro in mounts],
        labels={"io.kubernetes.container.name": name},
        annotations=annotations or {},
        log_path=f"{name}/{attempt}.log" if log else "",
        stdin=stdin, stdin_once=stdin_once, tty=tty,
        linux=pb.LinuxContainerConfig(security_context=sc))


def read_log(path):
    """containerd's CRI log file -> {"stdout": bytes, "stderr": bytes}, P records joined."""
    out = {"stdout": b"", "stderr": b""}
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            _, stream, tag, content = (line.split(b" ", 3) + [b""])[:4]
            out[stream.decode()] += content + (b"\n" if tag == b"F" else b"")
    return out


# ---------------------------------------------------------------- streaming (WebSocket)
class Stream:
    """One Exec/Attach session on containerd's streaming server, WebSocket transport,
    subprotocol v4.channel.k8s.io: each message is a channel byte plus payload
    (0 stdin, 1 stdout, 2 stderr, 3 status JSON, 4 resize JSON)."""

    def __init__(self, url, timeout=30):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n"
                           "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                           f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("streaming server closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"streaming upgrade refused: {status.decode()}")
        self.output = {1: b"", 2: b""}
        self.status = None
        self.closed = False

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("streaming connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, channel, data):
        self._send_frame(2, bytes([channel]) + data)

    def stdin(self, data):
        self.send(0, data)

    def resize(self, width, height):
        self.send(4, json.dumps({"Width": width, "Height": height}).encode())

    def next_message(self):
        """Reads one message; returns False once the session is over."""
        payload, opcode = b"", None
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if op == 8:                      # close
                self.closed = True
                return False
            if op == 9:                      # ping
                self._send_frame(10, data)
                continue
            if op == 10:
                continue
            opcode = opcode if op == 0 else op
            payload += data
            if b0 & 0x80:
                break
        if payload:
            ch, body = payload[0], payload[1:]
            if ch in self.output:
                self.output[ch] += body
            elif ch == 3:
                self.status = json.loads(body) if body else {}
        return True

    def read_until(self, needle, channel=1):
        while needle not in self.output[channel]:
            if not self.next_message():
                raise AssertionError(f"session ended before {needle!r}: {self.output}")

    def finish(self):
        """Reads to the end; returns (stdout, stderr, exit code from the status)."""
        while not self.closed and self.next_message():
            pass
        self.sock.close()
        return self.output[1], self.output[2], exit_code_of(self.status)


def exit_code_of(status):
    if not status or status.get("status") == "Success":
        return 0
    for cause in status.get("details", {}).get("causes", []):
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise AssertionError(f"stream failed: {status}")


# ---------------------------------------------------------------- OCI images
def _tar_dir(root):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(root)):
            t.add(os.path.join(root, entry), arcname=entry)
    return buf.getvalue()


def build_image(name, rootfs, entrypoint, out):
    """Writes an OCI image layout tar of `rootfs` (one uncompressed layer) named `name`,
    for `ctr -n k8s.io images import`."""
    layer = _tar_dir(rootfs)
    blobs = {}

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return {"digest": "sha256:" + d, "size": len(data)}

    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint,
                   "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **blob(layer)}],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest),
        "annotations": {"io.containerd.image.name": name}}]}).encode()
    with tarfile.open(out, "w") as t:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", index)
        for d, data in blobs.items():
            add(f"blobs/sha256/{d}", data)


if __name__ == "__main__":
    # python3 cri.py build-image NAME ROOTFS OUT ENTRYPOINT...
    if len(sys.argv) >= 5 and sys.argv[1] == "build-image":
        build_image(sys.argv[2], sys.argv[3], sys.argv[5:] or None, sys.argv[4])
    else:
        sys.exit("usage: cri.py build-image NAME ROOTFS OUT ENTRYPOINT...")
