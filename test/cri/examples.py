"""The pods of examples/, run through containerd's CRI plugin the way kubelet runs them.

    examples.py NAME      NAME: scheduling | client_server | client_server_runas | volumes

reads the manifests the example ships (examples/<dir>/*.yaml), turns each pod template
into the CRI calls kubelet would make (RunPodSandbox, CreateContainer, StartContainer:
same command, args, env, user and groups, volumes, termination message file) and checks
what the example's README says to expect. There is no API server or scheduler here:

- scheduling is the RuntimeClass's node selector merged with the pod's, matched against
  the labels the test gives its one node;
- ConfigMap and Secret volumes are written as kubelet writes them (the atomic-writer
  layout: files behind a ..data symlink) from the objects in the example's manifests;
  emptyDir is a fresh directory; a hostPath is rebased under the test's scratch
  directory (a test never writes the machine's /var/lib);
- fieldRef env values come from the test's node (spec.nodeName is its hostname);
- a test may override env values it must (a free port instead of a fixed one, the
  server's address instead of a cluster DNS name): overrides are named in the test.

A field the translator does not know makes it fail rather than drop it, so a manifest
that changes beyond what is tested fails here instead of passing untested.
"""

import base64
import json
import os
import socket
import sys
import time
import uuid

import yaml

import cri
from pod_scenarios import Failed, Pods, check, exec_sync, host_file, run_scenario

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(TOP, "examples")
RUNTIME_CLASSES = os.path.join(TOP, "deploy", "kubernetes", "40-runtimeclass.yaml")
HOSTNAME = socket.gethostname()

# Fields the translator carries to CRI, or knows to be kubelet's or the scheduler's
# business (probes, ports, restart policy, DNS policy: containerd's part is the same).
POD_FIELDS = {"runtimeClassName", "hostNetwork", "restartPolicy", "dnsPolicy",
              "nodeSelector", "securityContext", "containers", "volumes",
              "terminationGracePeriodSeconds"}
CONTAINER_FIELDS = {"name", "image", "command", "args", "env", "volumeMounts", "ports",
                    "readinessProbe", "livenessProbe", "securityContext", "workingDir",
                    "terminationMessagePath", "terminationMessagePolicy"}
SECURITY_FIELDS = {"runAsUser", "runAsGroup", "supplementalGroups", "runAsNonRoot"}


def load(example):
    """Every object of examples/<example>/*.yaml, in file order."""
    d = os.path.join(EXAMPLES, example)
    objs = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".yaml"):
            with open(os.path.join(d, f)) as fh:
                objs += [o for o in yaml.safe_load_all(fh) if o]
    check(objs, f"no manifests in {d}")
    return objs


def handler_of(runtime_class):
    """The CRI handler and node selector of a RuntimeClass the project ships."""
    with open(RUNTIME_CLASSES) as f:
        for rc in yaml.safe_load_all(f):
            if rc and rc["kind"] == "RuntimeClass" and rc["metadata"]["name"] == runtime_class:
                return rc["handler"], rc.get("scheduling", {}).get("nodeSelector", {})
    raise Failed(f"runtimeClassName {runtime_class!r} is not one of deploy/kubernetes's")


def unknown(fields, allowed, where):
    extra = set(fields) - allowed
    check(not extra, f"{where}: the translator does not handle {sorted(extra)}")


class Kubelet:
    """kubelet's part for one node: pod templates -> CRI calls."""

    def __init__(self, c, pods, objs, node_labels):
        self.c, self.pods, self.objs = c, pods, objs
        self.node_labels = node_labels
        self.scratch = host_file("kubelet")
        os.makedirs(self.scratch)

    def find(self, kind, name):
        for o in self.objs:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
        raise Failed(f"{kind} {name} is not in the example's manifests")

    @staticmethod
    def template(obj):
        """(pod name, namespace, template metadata, pod spec) of a Pod or a controller."""
        meta = obj["metadata"]
        if obj["kind"] == "Pod":
            return meta["name"], meta["namespace"], meta, obj["spec"]
        t = obj["spec"]["template"]
        return f"{meta['name']}-{uuid.uuid4().hex[:5]}", meta["namespace"], t.get("metadata", {}), t["spec"]

    def schedulable(self, obj):
        """Whether the scheduler would put the pod on this node (node selectors only)."""
        _, _, _, spec = self.template(obj)
        _, rc_selector = handler_of(spec["runtimeClassName"])
        selector = {**rc_selector, **spec.get("nodeSelector", {})}
        return all(self.node_labels.get(k) == v for k, v in selector.items())

    # ------------------------------------------------------------ volumes
    def _atomic_dir(self, path, files, mode):
        """kubelet's atomic-writer layout: ..<ts>/KEY, ..data -> ..<ts>, KEY -> ..data/KEY."""
        ts = "..2026_01_01_00_00_00.0000"
        os.makedirs(os.path.join(path, ts))
        for key, data in files.items():
            p = os.path.join(path, ts, key)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, mode)
        os.symlink(ts, os.path.join(path, "..data"))
        for key in files:
            os.symlink(os.path.join("..data", key), os.path.join(path, key))

    def volume(self, pod_dir, v):
        """The host directory kubelet would prepare for volume `v`; read-only or not."""
        path = os.path.join(pod_dir, "volumes", v["name"])
        kinds = set(v) - {"name"}
        check(len(kinds) == 1, f"volume {v['name']}: {sorted(kinds)}")
        kind = kinds.pop()
        src = v[kind]
        if kind == "configMap":
            unknown(src, {"name", "defaultMode"}, f"volume {v['name']}")
            cm = self.find("ConfigMap", src["name"])
            files = {k: d.encode() for k, d in cm.get("data", {}).items()}
            self._atomic_dir(path, files, src.get("defaultMode", 0o644))
            return path, True   # kubelet mounts ConfigMap and Secret volumes read-only
        if kind == "secret":
            unknown(src, {"secretName", "defaultMode"}, f"volume {v['name']}")
            s = self.find("Secret", src["secretName"])
            files = {k: base64.b64decode(d) for k, d in s.get("data", {}).items()}
            files.update({k: d.encode() for k, d in s.get("stringData", {}).items()})
            self._atomic_dir(path, files, src.get("defaultMode", 0o644))
            return path, True
        if kind == "emptyDir":
            check(not src, f"volume {v['name']}: emptyDir options {src}")
            os.makedirs(path)
            os.chmod(path, 0o777)   # as kubelet makes it
            return path, False
        if kind == "hostPath":
            unknown(src, {"path", "type"}, f"volume {v['name']}")
            rebased = os.path.join(self.scratch, "host", src["path"].lstrip("/"))
            if src.get("type") == "DirectoryOrCreate":
                os.makedirs(rebased, exist_ok=True)
            check(os.path.isdir(rebased), f"hostPath {src['path']} ({src.get('type')})")
            return rebased, False
        raise Failed(f"volume {v['name']}: the translator does not handle {kind}")

    # ------------------------------------------------------------ env and users
    def env(self, c, pod_name, namespace, overrides):
        out = {}
        for e in c.get("env", []):
            if "value" in e:
                out[e["name"]] = e["value"]
                continue
            ref = e["valueFrom"]
            if "fieldRef" in ref:
                field = ref["fieldRef"]["fieldPath"]
                values = {"metadata.name": pod_name, "metadata.namespace": namespace,
                          "spec.nodeName": HOSTNAME, "status.hostIP": "127.0.0.1",
                          "status.podIP": "127.0.0.1"}
                check(field in values, f"env {e['name']}: fieldRef {field}")
                out[e["name"]] = values[field]
            elif "configMapKeyRef" in ref:
                r = ref["configMapKeyRef"]
                out[e["name"]] = self.find("ConfigMap", r["name"])["data"][r["key"]]
            elif "secretKeyRef" in ref:
                r = ref["secretKeyRef"]
                s = self.find("Secret", r["name"])
                out[e["name"]] = s.get("stringData", {}).get(r["key"]) or \
                    base64.b64decode(s["data"][r["key"]]).decode()
            else:
                raise Failed(f"env {e['name']}: valueFrom {sorted(ref)}")
        for k, v in overrides.items():
            check(k in out, f"override of {k}: the manifest has no such env")
            out[k] = v
        return out

    @staticmethod
    def user(pod_sc, c_sc):
        sc = {**pod_sc, **c_sc}
        return sc.get("runAsUser"), sc.get("runAsGroup"), tuple(pod_sc.get("supplementalGroups", ()))

    # ------------------------------------------------------------ the pod
    def run(self, obj, env_overrides=None):
        """Runs one pod of `obj` on this node; returns {container name: container id}."""
        check(self.schedulable(obj), f"{obj['kind']} {obj['metadata']['name']} does not fit this node")
        name, namespace, tmeta, spec = self.template(obj)
        where = f"{obj['kind']} {obj['metadata']['name']}"
        unknown(spec, POD_FIELDS, where)
        check(spec.get("hostNetwork") is True, f"{where}: reaper pods are on the host network; say so")
        handler, _ = handler_of(spec["runtimeClassName"])
        pod_sc = spec.get("securityContext", {})
        unknown(pod_sc, SECURITY_FIELDS, f"{where} securityContext")
        self.pods.handler = handler
        pod, config = self.pods.run(name, namespace=namespace,
                                    annotations=tmeta.get("annotations", {}))
        pod_dir = os.path.join(self.scratch, "pods", config.metadata.uid)
        vols = {v["name"]: self.volume(pod_dir, v) for v in spec.get("volumes", [])}
        ids = {}
        for c in spec["containers"]:
            unknown(c, CONTAINER_FIELDS, f"{where} container {c['name']}")
            check("command" in c, f"{where} container {c['name']}: no command (the image is not run)")
            c_sc = c.get("securityContext", {})
            unknown(c_sc, SECURITY_FIELDS, f"{where} container {c['name']} securityContext")
            mounts = []
            for m in c.get("volumeMounts", []):
                unknown(m, {"name", "mountPath", "readOnly"}, f"{where} volumeMount {m['name']}")
                src, always_ro = vols[m["name"]]
                mounts.append((m["mountPath"], src, always_ro or m.get("readOnly", False)))
            # kubelet's termination message file: empty, any user may write it.
            term = os.path.join(pod_dir, "containers", c["name"], "termination-log")
            os.makedirs(os.path.dirname(term), exist_ok=True)
            open(term, "w").close()
            os.chmod(term, 0o666)
            mounts.append((c.get("terminationMessagePath", "/dev/termination-log"), term, False))
            uid, gid, groups = self.user(pod_sc, c_sc)
            ids[c["name"]] = self.pods.container(
                pod, config, c["name"], c["command"], args=c.get("args", []),
                envs=self.env(c, name, namespace, (env_overrides or {}).get(c["name"], {})),
                mounts=mounts, user=uid, group=gid, groups=groups,
                working_dir=c.get("workingDir", ""))
        return ids


# ---------------------------------------------------------------- helpers
def log_of(c, cid):
    return cri.read_log(c.status(cid).status.log_path)["stdout"].decode()


def wait_log(c, cid, text, deadline_s=30):
    """The container's log once it contains `text`."""
    end = time.monotonic() + deadline_s
    while True:
        log = log_of(c, cid)
        if text in log:
            return log
        st = c.status(cid).status
        check(st.state != cri.EXITED and time.monotonic() < end,
              f"{text!r} not in the log of {cid[:12]} (state {st.state}, exit {st.exit_code}): {log!r}")
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def proc_ids(pid):
    """(real uid, real gid) of a host process."""
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid"):
                ids[k] = int(v.split()[0])
    return ids["Uid"], ids["Gid"]


def pid_of(c, cid):
    return json.loads(c.status(cid, verbose=True).info["info"])["pid"]


def by_name(objs, kind, name):
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


# ---------------------------------------------------------------- the examples
def scheduling(c, pods):
    """01-scheduling: the all-nodes DaemonSet runs on a reaper node and reports the node's
    own hostname and kernel; the subset DaemonSet fits only once the node has the label."""
    objs = load("01-scheduling")
    node = Kubelet(c, pods, objs, {"reaper.runtime/installed": "true"})
    every, subset = by_name(objs, "DaemonSet", "node-report"), by_name(objs, "DaemonSet", "subset-report")
    check(not Kubelet(c, pods, objs, {}).schedulable(every),
          "node-report fits a node without reaper (the RuntimeClass's selector is lost)")
    check(not node.schedulable(subset), "subset-report fits a node without reaper.example/subset")
    cid = node.run(every)["report"]
    log = wait_log(c, cid, "CPUs")
    want = f"node-report: host {HOSTNAME}, kernel {os.uname().release}, "
    check(want in log, f"node-report's log {log!r} lacks {want!r}")
    node.node_labels["reaper.example/subset"] = "true"
    cid = node.run(subset)["report"]
    want = f"subset-report: selected node {HOSTNAME} ({HOSTNAME})"
    log = wait_log(c, cid, "subset-report:")
    check(want in log, f"subset-report's log {log!r}, wanted {want!r}")
    check(c.status(cid).status.state == cri.RUNNING, "subset-report is not running")


def _client_server(c, pods, example, server, client, uid):
    objs = load(example)
    node = Kubelet(c, pods, objs, {"reaper.runtime/installed": "true"})
    port = str(free_port())
    srv = node.run(by_name(objs, "Deployment", server), {"server": {"PORT": port}})["server"]
    wait_log(c, srv, f"listening on {HOSTNAME}:{port} as uid {uid}")
    # The server is on the host network: this test, in the host's network namespace,
    # reaches it on the node's loopback and its external address alike.
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
        s.sendall(b"probe\n")
        reply = s.makefile().readline()
    check(reply == f"hello probe from {HOSTNAME} (uid {uid})\n", f"server's reply {reply!r}")
    check(proc_ids(pid_of(c, srv)) == (uid, uid), f"server runs as {proc_ids(pid_of(c, srv))}")
    cli = node.run(by_name(objs, "DaemonSet", client),
                   {"client": {"SERVER": "127.0.0.1", "PORT": port, "INTERVAL": "1"}})["client"]
    want = f"client: hello client-on-{HOSTNAME} from {HOSTNAME} (uid {uid})"
    wait_log(c, cli, want)
    check(proc_ids(pid_of(c, cli)) == (uid, uid), f"client runs as {proc_ids(pid_of(c, cli))}")
    out, err, code = exec_sync(c, cli, ["id", "-u"])
    check((out, code) == (f"{uid}\n", 0), f"id -u in the client: {out!r} {err!r} {code}")
    wait_log(c, srv, f"said 'client-on-{HOSTNAME}'")


def client_server(c, pods):
    """02-client-server: the server answers on the host network, from the host and from a
    client pod; both run as root."""
    _client_server(c, pods, "02-client-server", "tcp-server", "tcp-client", 0)


def client_server_runas(c, pods):
    """03-client-server-runas: the same as uid 1000, gid 1000: the processes', `id`'s and
    the server's own report."""
    _client_server(c, pods, "03-client-server-runas", "tcp-server-runas", "tcp-client-runas", 1000)


def volumes(c, pods):
    """04-volumes: ConfigMap and Secret contents visible and read-only, the emptyDir and
    hostPath writes in their directories, the other writes only in the overlay."""
    objs = load("04-volumes")
    node = Kubelet(c, pods, objs, {"reaper.runtime/installed": "true"})
    overlay_files = ["/etc/reaper-volume-demo", "/var/tmp/reaper-volume-demo"]
    check(not any(os.path.exists(f) for f in overlay_files), f"{overlay_files} exist on the host")
    cid = node.run(by_name(objs, "Pod", "volume-demo"))["demo"]
    log = wait_log(c, cid, "volume-demo: done")
    want = ("configmap: hello from a ConfigMap\nconfigmap: retries=3\nsecret: not-a-real-password\n"
            f"configmap: read-only\nemptydir: written by {HOSTNAME}\nhostpath: wrote /host/last-run\n"
            "overlay: wrote /etc/reaper-volume-demo\noverlay: wrote /var/tmp/reaper-volume-demo\n"
            "volume-demo: done\n")
    check(log == want, f"volume-demo's log:\n{log}\nwanted:\n{want}")
    pod_dirs = os.listdir(os.path.join(node.scratch, "pods"))
    scratch = os.path.join(node.scratch, "pods", pod_dirs[0], "volumes", "scratch", "note")
    check(open(scratch).read() == f"written by {HOSTNAME}\n", "the emptyDir's directory lacks the note")
    host = os.path.join(node.scratch, "host", "var/lib/reaper-volume-demo", "last-run")
    check(os.path.isfile(host), "the hostPath write is not in the host directory")
    out, _, code = exec_sync(c, cid, ["cat"] + overlay_files)
    check((out, code) == ("overlay only\noverlay only\n", 0), f"in the container: {out!r} {code}")
    leaked = [f for f in overlay_files if os.path.exists(f)]
    check(not leaked, f"overlay writes reached the host: {leaked}")


EXAMPLES_RUN = {f.__name__: f for f in (scheduling, client_server, client_server_runas, volumes)}


def main():
    run_scenario(EXAMPLES_RUN, sys.argv[1])


if __name__ == "__main__":
    main()
