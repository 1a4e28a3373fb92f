"""Pod scenarios driven through containerd's CRI plugin, the way kubelet drives them.

    pod_scenarios.py NAME [HANDLER]

runs one scenario against the containerd at $CRI_SOCK (handler reaper-v2 by default) and
exits non-zero with a message when an expectation fails. Every scenario removes the pods
it made; the shell side (test/integration/cri_*.sh) checks that nothing is left over.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import uuid

import grpc

import cri

SOCK = os.environ["CRI_SOCK"]
IMAGE = os.environ["CRI_IMAGE"]
LOG_ROOT = os.environ["CRI_LOG_ROOT"]
SCRATCH = os.environ.get("TEST_TMP", "/run")


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


class Pods:
    """Tracks the pods a scenario makes, so a failing scenario still removes them."""

    def __init__(self, client, handler):
        self.c, self.handler, self.ids = client, handler, []

    def run(self, name, **kw):
        config = cri.pod_config(name, log_root=LOG_ROOT, **kw)
        pod = self.c.run_pod(config, self.handler)
        self.ids.append(pod)
        return pod, config

    def container(self, pod, config, name, command, start=True, **kw):
        cid = self.c.create(pod, config, cri.container_config(name, IMAGE, command, **kw))
        if start:
            self.c.StartContainer(container_id=cid)
        return cid

    def remove_all(self):
        for pod in self.ids:
            try:
                self.c.remove_pod(pod)
            except grpc.RpcError as e:
                print(f"cleanup of pod {pod[:12]}: {e}", file=sys.stderr)


def sh(script):
    return ["/bin/sh", "-c", script]


def host_file(name):
    """A fresh path under the test's scratch directory (the host's /run is visible to
    workloads, so they can leave evidence there)."""
    return os.path.join(SCRATCH, f"{name}-{uuid.uuid4().hex[:8]}")


def exec_sync(c, cid, cmd, timeout=10):
    # The gRPC deadline outlasts the exec's own timeout, as kubelet's does.
    r = c.call("ExecSync", timeout + 10, container_id=cid, cmd=cmd, timeout=timeout)
    return r.stdout.decode(), r.stderr.decode(), r.exit_code


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------- scenarios
def exit_code_and_logs(c, pods):
    """stdout and stderr reach the CRI log; exit 3 is the status; reason and times set."""
    pod, config = pods.run("logs")
    cid = pods.container(pod, config, "main", sh("echo to-stdout; echo to-stderr >&2; exit 3"))
    st = c.wait_state(cid, cri.EXITED)
    check(st.exit_code == 3, f"exit code {st.exit_code}, wanted 3")
    check(st.reason == "Error", f"reason {st.reason!r}, wanted 'Error'")
    # (A container this short may exit before containerd notes started_at.)
    check(0 < st.created_at < st.finished_at and st.started_at > 0,
          f"created_at {st.created_at} started_at {st.started_at} finished_at {st.finished_at}")
    log = cri.read_log(st.log_path)
    check(log == {"stdout": b"to-stdout\n", "stderr": b"to-stderr\n"}, f"log {log}")


def last_output_before_exit(c, pods):
    """Output written just before exit, a lot of it, is all in the log; exit 0 is
    'Completed'."""
    pod, config = pods.run("burst")
    cid = pods.container(pod, config, "main", sh("seq 1 20000; echo last-line >&2"))
    st = c.wait_state(cid, cri.EXITED)
    check(st.exit_code == 0 and st.reason == "Completed", f"status {st.exit_code} {st.reason}")
    log = cri.read_log(st.log_path)
    want = "".join(f"{i}\n" for i in range(1, 20001)).encode()
    lines = log["stdout"].count(b"\n")
    check(log["stdout"] == want, f"stdout has {lines} lines, wanted 20000")
    check(log["stderr"] == b"last-line\n", f"stderr {log['stderr']!r}")


def one_millisecond_container(c, pods):
    """A container that exits at once still reports a clean exit and its times."""
    pod, config = pods.run("short")
    cid = pods.container(pod, config, "main", ["/bin/true"])
    st = c.wait_state(cid, cri.EXITED)
    check(st.exit_code == 0 and st.reason == "Completed", f"status {st.exit_code} {st.reason}")
    check(st.started_at > 0 and st.finished_at > st.created_at,
          f"created {st.created_at} started {st.started_at} finished {st.finished_at}")


def stop_within_grace(c, pods):
    """StopContainer: SIGTERM ends a cooperative container at once (well within the
    grace period); one that ignores SIGTERM is killed when the grace period ends, and a
    child that ignores SIGTERM does not outlive its container."""
    pod, config = pods.run("stop")
    polite = pods.container(pod, config, "polite", sh("trap 'exit 0' TERM; sleep 600 & wait"))
    child_pid_file = host_file("child-pid")
    stubborn = pods.container(pod, config, "stubborn", sh(
        f"sh -c 'trap \"\" TERM; echo $$ > {child_pid_file}; exec sleep 600' & "
        "trap '' TERM; echo ready; wait"))
    c.wait_state(polite, cri.RUNNING)
    c.wait_state(stubborn, cri.RUNNING)
    while not os.path.exists(child_pid_file) or not open(child_pid_file).read().strip():
        time.sleep(0.01)
    child = int(open(child_pid_file).read())

    t = time.monotonic()
    c.call("StopContainer", 40, container_id=polite, timeout=30)
    took = time.monotonic() - t
    st = c.status(polite).status
    check(st.state == cri.EXITED and st.exit_code == 0, f"polite: {st.state} {st.exit_code}")
    check(took < 5, f"polite container took {took:.1f} s to stop (grace 30 s)")

    t = time.monotonic()
    c.call("StopContainer", 20, container_id=stubborn, timeout=2)
    took = time.monotonic() - t
    st = c.status(stubborn).status
    check(st.state == cri.EXITED, f"stubborn: state {st.state}")
    check(st.exit_code == 137, f"stubborn: exit code {st.exit_code}, wanted 137 (SIGKILL)")
    check(2 <= took < 10, f"stubborn container stopped after {took:.1f} s (grace 2 s)")
    check(not pid_alive(child), f"the container's child {child} survived its container")


def multi_container_pod(c, pods):
    """An init container runs to completion first; then two app containers share the pod
    (and its one shim); ExecSync reaches each."""
    pod, config = pods.run("multi")
    marker = host_file("init-marker")
    init = pods.container(pod, config, "init", sh(f"echo init-done > {marker}"))
    st = c.wait_state(init, cri.EXITED)
    check(st.exit_code == 0, f"init exit {st.exit_code}")
    apps = [pods.container(pod, config, name, sh(f"echo {name} > {marker}.{name}; exec sleep 600"))
            for name in ("app-a", "app-b")]
    for cid, name in zip(apps, ("app-a", "app-b")):
        c.wait_state(cid, cri.RUNNING)
        out, err, code = exec_sync(c, cid, ["cat", marker, f"{marker}.{name}"])
        check(code == 0 and out == f"init-done\n{name}\n", f"{name}: exec {code} {out!r} {err!r}")
    # One shim for the pod: every container's monitor has the same parent.
    shims = set()
    for cid in apps + [pod]:
        info = c.status(cid, verbose=True).info if cid != pod else \
            c.PodSandboxStatus(pod_sandbox_id=pod, verbose=True).info
        pid = json.loads(info["info"])["pid"]
        shims.add(shim_of(pid))
    check(len(shims) == 1, f"containers of one pod are served by shims {shims}")


def shim_of(pid):
    """The shim daemon above pid (its container monitors are forks of it, named
    reaper-monitor)."""
    while pid > 1:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        if comm.startswith("containerd-shim"):
            return pid
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    raise Failed("no reaper shim above the container's process")


def restarted_container(c, pods):
    """kubelet's restart: the same container name with attempt 1 in the same pod, its own
    log file, the exited attempt 0 still listed."""
    pod, config = pods.run("restart")
    first = pods.container(pod, config, "main", sh("echo attempt-0; exit 1"))
    st0 = c.wait_state(first, cri.EXITED)
    second = pods.container(pod, config, "main", sh("echo attempt-1"), attempt=1)
    st1 = c.wait_state(second, cri.EXITED)
    check((st0.exit_code, st1.exit_code) == (1, 0), f"exit codes {st0.exit_code} {st1.exit_code}")
    check(st1.log_path.endswith("main/1.log") and st0.log_path.endswith("main/0.log"),
          f"log paths {st0.log_path} {st1.log_path}")
    check(cri.read_log(st1.log_path)["stdout"] == b"attempt-1\n", "attempt 1 log")
    check(cri.read_log(st0.log_path)["stdout"] == b"attempt-0\n", "attempt 0 log")
    listed = {x.id: x.state for x in c.ListContainers(
        filter=cri.pb.ContainerFilter(pod_sandbox_id=pod)).containers}
    check(listed == {first: cri.EXITED, second: cri.EXITED}, f"listed {listed}")


def exec_sync_codes(c, pods):
    """ExecSync returns the command's output, its exit code, and DEADLINE_EXCEEDED when
    its timeout passes."""
    pod, config = pods.run("execsync")
    cid = pods.container(pod, config, "main", ["sleep", "600"])
    c.wait_state(cid, cri.RUNNING)
    out, err, code = exec_sync(c, cid, sh("echo out; echo err >&2; exit 5"))
    check((out, err, code) == ("out\n", "err\n", 5), f"exec: {out!r} {err!r} {code}")
    # A missing program fails the exec's start, with runc's words, as with runc.
    try:
        out, _, code = exec_sync(c, cid, ["/nonexistent/binary"])
        raise Failed(f"exec of a missing binary returned {code}")
    except grpc.RpcError as e:
        check("no such file or directory" in (e.details() or "").lower(),
              f"exec of a missing binary: {e.code()} {e.details()}")
    t = time.monotonic()
    try:
        exec_sync(c, cid, ["sleep", "60"], timeout=1)
        raise Failed("ExecSync with a 1 s timeout returned")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"timeout gave {e.code()}")
    check(time.monotonic() - t < 8, "ExecSync timeout took too long")
    st = c.status(cid).status
    check(st.state == cri.RUNNING, "the container survived its execs")


def exec_tty_resize(c, pods):
    """kubectl exec -it: a streaming exec with a TTY sees the window size it is sent."""
    pod, config = pods.run("exectty")
    cid = pods.container(pod, config, "main", ["sleep", "600"])
    c.wait_state(cid, cri.RUNNING)
    url = c.Exec(container_id=cid, tty=True, stdin=True, stdout=True,
                 cmd=sh("trap 'stty size; kill $!; exit 7' WINCH; echo ready; "
                        "sleep 600 & wait")).url
    s = cri.Stream(url)
    s.read_until(b"ready")
    s.resize(100, 40)
    out, err, code = s.finish()
    check(b"40 100" in out, f"stty size after the resize: {out!r}")
    check(code == 7, f"exit code over the stream {code}, wanted 7")
    check(err == b"", f"a tty has no separate stderr: {err!r}")


def attach_tty(c, pods):
    """kubectl run -it: attach to a tty container's own stdin and stdout."""
    pod, config = pods.run("attach")
    cid = pods.container(pod, config, "main",
                         sh("read line; echo got:$line; exit 4"), tty=True, stdin=True)
    c.wait_state(cid, cri.RUNNING)
    s = cri.Stream(c.Attach(container_id=cid, stdin=True, tty=True, stdout=True).url)
    s.stdin(b"hello\r")
    s.read_until(b"got:hello")
    s.finish()
    st = c.wait_state(cid, cri.EXITED)
    check(st.exit_code == 4, f"exit code {st.exit_code}")


def users_and_groups(c, pods):
    """runAsUser, runAsGroup and supplementalGroups are what the workload's `id` shows,
    for the container and for its execs."""
    pod, config = pods.run("users")
    cid = pods.container(pod, config, "main", sh("id; exec sleep 600"),
                         user=1000, group=1001, groups=(4000, 4001))
    c.wait_state(cid, cri.RUNNING)
    out, _, code = exec_sync(c, cid, ["id", "-u"])
    check(code == 0 and out == "1000\n", f"uid {out!r}")
    out, _, _ = exec_sync(c, cid, ["id", "-g"])
    check(out == "1001\n", f"gid {out!r}")
    out, _, _ = exec_sync(c, cid, ["id", "-G"])
    check({"4000", "4001", "1001"} <= set(out.split()), f"groups {out!r}")


def volumes(c, pods):
    """Each volume kind kubelet passes appears at its path with its content, read-only
    where asked, and nowhere else (not on the host at that path)."""
    base = host_file("kubelet")
    vols = {}
    def make(kind, files, tmpfs=False):
        d = os.path.join(base, kind)
        os.makedirs(d)
        if tmpfs:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], check=True)
        for name, content in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(content)
        vols[kind] = d
        return d
    # ConfigMap/Secret/projected token: kubelet's atomic-writer layout (..data symlink).
    cm = make("configmap", {})
    os.makedirs(os.path.join(cm, "..2026_12_01"))
    open(os.path.join(cm, "..2026_12_01", "game.properties"), "w").write("lives=3\n")
    os.symlink("..2026_12_01", os.path.join(cm, "..data"))
    os.symlink("..data/game.properties", os.path.join(cm, "game.properties"))
    make("secret", {"password": "s3cret\n"}, tmpfs=True)
    make("token", {"token": "eyJhbGciOi\n", "namespace": "e2e\n"}, tmpfs=True)
    make("hostpath", {"host.txt": "from-host\n"})
    make("emptydir", {})
    dest_root = f"/rtest-vol-{uuid.uuid4().hex[:8]}"
    token_dest = "/var/run/secrets/kubernetes.io/serviceaccount"
    # Mount points under the host's /run are made there (docs/overlay.md); remove ours.
    made = [d for d in ("/run/secrets", "/run/secrets/kubernetes.io", "/run/" + token_dest[9:])
            if not os.path.exists(d)]
    mounts = [(f"{dest_root}/config", vols["configmap"], True),
              (f"{dest_root}/secret", vols["secret"], True),
              (token_dest, vols["token"], True),
              (f"{dest_root}/host", vols["hostpath"], False),
              (f"{dest_root}/scratch", vols["emptydir"], False)]
    try:
        pod, config = pods.run("volumes")
        cid = pods.container(pod, config, "main", ["sleep", "600"], mounts=mounts)
        c.wait_state(cid, cri.RUNNING)
        def run(script):
            return exec_sync(c, cid, sh(script))
        out, err, code = run(f"cat {dest_root}/config/game.properties {dest_root}/secret/password "
                             f"{token_dest}/namespace {dest_root}/host/host.txt")
        check(code == 0 and out == "lives=3\ns3cret\ne2e\nfrom-host\n", f"contents {out!r} {err!r}")
        _, _, code = run(f"echo x > {dest_root}/config/new")
        check(code != 0, "a read-only ConfigMap volume accepted a write")
        _, _, code = run(f"echo x > {token_dest}/new")
        check(code != 0, "a read-only token volume accepted a write")
        _, err, code = run(f"echo written > {dest_root}/scratch/f && echo back > {dest_root}/host/back")
        check(code == 0, f"writes to emptyDir/hostPath failed: {err}")
        check(open(os.path.join(vols["emptydir"], "f")).read() == "written\n",
              "the emptyDir write did not reach the volume's directory")
        check(open(os.path.join(vols["hostpath"], "back")).read() == "back\n",
              "the hostPath write did not reach the host directory")
        check(not os.path.exists(dest_root), f"{dest_root} appeared on the host")
        check(not os.path.exists(os.path.join(token_dest, "token")),
              "the token volume is visible on the host")
    finally:
        pods.remove_all()
        pods.ids.clear()
        for kind in ("secret", "token"):
            subprocess.run(["umount", vols[kind]], check=False)
        for d in reversed(made):
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)


def termination_message(c, pods):
    """terminationMessagePath: kubelet binds a host file it made (empty, mode 0666) at
    /dev/termination-log or at the pod's own path; what a failing container writes there
    is in the host file after its exit, and the host's /dev gets no new entry (the file is
    attached in the container's own /dev, which still has the host's devices)."""
    custom_dir = f"/dev/rtest-term-{uuid.uuid4().hex[:8]}"
    dests = {"default": "/dev/termination-log", "custom": f"{custom_dir}/message"}
    existed = {n: os.path.lexists(d) for n, d in dests.items()}
    check(not existed["custom"] and not os.path.lexists(custom_dir), f"{custom_dir} exists")
    files = {}
    for name in dests:
        files[name] = host_file(f"termination-{name}")
        open(files[name], "w").close()
        os.chmod(files[name], 0o666)   # as kubelet makes it: any user may write
    devices_ok = ("test -c /dev/null && test -c /dev/zero && test -d /dev/pts && "
                  "test -d /dev/shm && echo x > /dev/null && head -c 4 /dev/zero | wc -c | grep -qx 4 || "
                  "{ echo the container has no usable /dev >&2; exit 2; }; ")
    try:
        pod, config = pods.run("termination")
        ids = {}
        ids["default"] = pods.container(pod, config, "default", sh(
            devices_ok + "printf 'default: job failed\\n' > /dev/termination-log; exit 1"),
            mounts=[(dests["default"], files["default"], False)])
        # A non-root user writes the custom path (kubelet's 0666 file allows it).
        ids["custom"] = pods.container(pod, config, "custom", sh(
            devices_ok + f"echo custom: uid $(id -u) > {dests['custom']}; exit 1"),
            mounts=[(dests["custom"], files["custom"], False)], user=1000, group=1000)
        for name, cid in ids.items():
            st = c.wait_state(cid, cri.EXITED)
            log = cri.read_log(st.log_path)
            check(st.exit_code == 1, f"{name}: exit code {st.exit_code}, wanted 1; log {log}")
        got = {n: open(f).read() for n, f in files.items()}
        check(got == {"default": "default: job failed\n", "custom": "custom: uid 1000\n"},
              f"host files after the exits: {got}")
        appeared = [d for n, d in dests.items() if not existed[n] and os.path.lexists(d)]
        appeared += [custom_dir] if os.path.lexists(custom_dir) else []
        check(not appeared, f"the host's /dev got {appeared}")
        with open("/proc/self/mountinfo") as f:
            leaked = [l for l in f if "termination" in l or "rtest-term" in l]
        check(not leaked, f"mounts visible on the host: {leaked}")
    finally:
        pods.remove_all()
        pods.ids.clear()
        # Remove what a runtime that wrote the host's /dev left there.
        if not existed["default"] and os.path.isfile(dests["default"]):
            os.unlink(dests["default"])
        if os.path.isdir(custom_dir):
            subprocess.run(["rm", "-rf", "--one-file-system", custom_dir], check=False)


def termination_private_dev(c, pods):
    """The container's own /dev: an exec sees it (the termination file, the host's device
    nodes and directories, working devices); what the workload creates there stays in it;
    a termination path into a host directory bound there (/dev/shm) is refused at start
    and nothing is made in the host's /dev/shm; a path outside /dev leaves the container
    the host's own /dev."""
    tag = uuid.uuid4().hex[:8]
    term = host_file("termination")
    open(term, "w").close()
    os.chmod(term, 0o666)
    before = set(os.listdir("/dev"))
    pod, config = pods.run("privdev")
    cid = pods.container(pod, config, "main", ["sleep", "600"],
                         mounts=[("/dev/termination-log", term, False)])
    c.wait_state(cid, cri.RUNNING)
    out, err, code = exec_sync(c, cid, sh(
        f"echo from-exec > /dev/termination-log && touch /dev/made-{tag} && "
        "test -c /dev/ptmx && test -d /dev/pts && head -c 3 /dev/zero | wc -c && ls -a /dev"))
    check(code == 0, f"exec in the private /dev: {code} {out!r} {err!r}")
    lines = out.split("\n")
    check(lines[0].strip() == "3", f"reading /dev/zero gave {lines[0]!r}")
    inside = set(lines[1:])
    missing = (before & set(os.listdir("/dev"))) - inside
    check(not missing, f"host /dev entries missing in the container's: {sorted(missing)}")
    check({"termination-log", f"made-{tag}"} <= inside, f"container's /dev: {sorted(inside)}")
    check(open(term).read() == "from-exec\n", f"host file {open(term).read()!r}")
    check(not os.path.lexists(f"/dev/made-{tag}"), "a file the workload made in /dev is on the host")
    host_dev = os.stat("/dev").st_dev
    out, _, _ = exec_sync(c, cid, ["stat", "-c", "%d", "/dev"])
    check(out.strip() != str(host_dev), "the container with /dev/termination-log has the host's /dev")

    # A termination path outside /dev is an ordinary volume (mount point in the overlay):
    # that container keeps the host's live /dev.
    outside = f"/tmp/rtest-term-{tag}/message"
    term2 = host_file("termination-outside")
    open(term2, "w").close()
    os.chmod(term2, 0o666)
    cid2 = pods.container(pod, config, "outside", ["sleep", "600"], mounts=[(outside, term2, False)])
    c.wait_state(cid2, cri.RUNNING)
    out, err, code = exec_sync(c, cid2, sh(f"echo outside > {outside} && stat -c %d /dev"))
    check((out.strip(), code) == (str(host_dev), 0), f"outside: {out!r} {err!r} {code} (host /dev {host_dev})")
    check(open(term2).read() == "outside\n", f"host file {open(term2).read()!r}")
    check(not os.path.lexists(os.path.dirname(outside)), f"{os.path.dirname(outside)} is on the host")

    shm_dest = f"/dev/shm/rtest-term-{tag}"
    bad = pods.container(pod, config, "shm", ["true"], start=False,
                         mounts=[(shm_dest, term, False)])
    try:
        c.StartContainer(container_id=bad)
        raise Failed(f"a termination path at {shm_dest} started")
    except grpc.RpcError as e:
        check("/dev/shm" in e.details() and "refused" in e.details(), f"start error {e.details()!r}")
    check(not os.path.lexists(shm_dest), f"{shm_dest} was made on the host")


def stats(c, pods):
    """ContainerStats reports the container's own CPU time and memory (what kubectl top
    shows), and ListContainerStats lists it."""
    pod, config = pods.run("stats")
    cid = pods.container(pod, config, "main",
                         sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; "
                            "echo burnt; exec sleep 600"))
    c.wait_state(cid, cri.RUNNING)
    end = time.monotonic() + 30
    while b"burnt" not in cri.read_log(c.status(cid).status.log_path)["stdout"]:
        check(time.monotonic() < end, "the CPU burner did not finish")
        time.sleep(0.05)
    s = c.ContainerStats(container_id=cid).stats
    cpu_ns = s.cpu.usage_core_nano_seconds.value
    check(cpu_ns > 50_000_000, f"cpu usage {cpu_ns} ns after a CPU-bound loop")
    check(s.memory.working_set_bytes.value > 100_000, f"working set {s.memory.working_set_bytes}")
    check(s.memory.rss_bytes.value > 0, f"rss {s.memory.rss_bytes}")
    check(s.attributes.id == cid, "stats attributes")
    listed = c.ListContainerStats(filter=cri.pb.ContainerStatsFilter(pod_sandbox_id=pod)).stats
    check([x.attributes.id for x in listed] == [cid], f"listed {[x.attributes.id for x in listed]}")
    check(listed[0].cpu.usage_core_nano_seconds.value >= cpu_ns, "listed cpu usage went down")


def missing_command(c, pods):
    """A command that does not exist on the host: a clear error and a status with a reason,
    a message and a non-zero exit code, not a container stuck in ContainerCreating."""
    pod, config = pods.run("missing")
    cid = pods.container(pod, config, "main", ["/no/such/binary-on-this-host"], start=False)
    try:
        c.StartContainer(container_id=cid)
        raise Failed("StartContainer of a missing binary succeeded")
    except grpc.RpcError as e:
        check("/no/such/binary-on-this-host" in e.details(), f"start error {e.details()!r}")
    st = c.status(cid).status
    check(st.state == cri.EXITED, f"state {st.state}")
    check((st.exit_code, st.reason) == (128, "StartError"), f"status {st.exit_code} {st.reason!r}")
    check("/no/such/binary-on-this-host" in st.message
          and "no such file or directory" in st.message.lower(), f"message {st.message!r}")


def bad_annotation_falls_back(c, pods):
    """A bad reaper.runtime/ annotation falls back to the node setting; the container runs."""
    pod, config = pods.run("badannot", annotations={"reaper.runtime/overlay-name": "no/such name!"})
    cid = pods.container(pod, config, "main", sh("echo fine"))
    st = c.wait_state(cid, cri.EXITED)
    check(st.exit_code == 0, f"exit {st.exit_code}")
    check(cri.read_log(st.log_path)["stdout"] == b"fine\n", "log")


def sandbox_lifecycle(c, pods):
    """The pod sandbox: a real process for the pod's life (no /pause from the host), READY
    while it lives; StopPodSandbox ends it and the pod is NOTREADY."""
    pod, config = pods.run("sandbox")
    info = json.loads(c.PodSandboxStatus(pod_sandbox_id=pod, verbose=True).info["info"])
    pid = info["pid"]
    check(pid > 1 and pid_alive(pid), f"sandbox pid {pid} not alive")
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    check(b"reaper-sandbox" in argv, f"sandbox process runs {argv}")
    st = c.PodSandboxStatus(pod_sandbox_id=pod).status
    check(st.state == cri.SANDBOX_READY and st.runtime_handler == pods.handler, f"{st}")
    cid = pods.container(pod, config, "main", ["sleep", "600"])
    c.wait_state(cid, cri.RUNNING)
    c.StopPodSandbox(pod_sandbox_id=pod)
    check(c.PodSandboxStatus(pod_sandbox_id=pod).status.state == cri.SANDBOX_NOTREADY, "not stopped")
    check(not pid_alive(pid), f"sandbox pid {pid} outlived StopPodSandbox")
    check(c.status(cid).status.state == cri.EXITED, "app container not exited")
    c.RemovePodSandbox(pod_sandbox_id=pod)
    left = [p.id for p in c.ListPodSandbox().items if p.id == pod]
    check(not left, "pod still listed after RemovePodSandbox")


def proc_stat(pid):
    """(comm, ppid) of a process."""
    with open(f"/proc/{pid}/stat") as f:
        head, rest = f.read().rsplit(")", 1)
    return head.split("(", 1)[1], int(rest.split()[1])


def descendants(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                children.setdefault(proc_stat(int(d))[1], []).append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def sandbox_without_monitor(c, pods):
    """The sandbox has no monitor of its own: its process is the shim's own child, and a
    running pod has one reaper-monitor, its container's. StopPodSandbox ends the sandbox
    (the shell side finds its exit in the shim's log: the pod id is left in
    $TEST_TMP/sandbox-id)."""
    pod, config = pods.run("nomonitor")
    with open(os.path.join(SCRATCH, "sandbox-id"), "w") as f:
        f.write(pod)
    info = json.loads(c.PodSandboxStatus(pod_sandbox_id=pod, verbose=True).info["info"])
    pid = info["pid"]
    check(pid > 1 and pid_alive(pid), f"sandbox pid {pid} not alive")
    shim = proc_stat(pid)[1]
    check(proc_stat(shim)[0].startswith("containerd-shim"),
          f"the sandbox's parent {shim} is {proc_stat(shim)[0]}, not the shim")
    cid = pods.container(pod, config, "main", ["sleep", "600"])
    c.wait_state(cid, cri.RUNNING)
    cpid = json.loads(c.status(cid, verbose=True).info["info"])["pid"]
    monitors = [p for p in descendants(shim) if proc_stat(p)[0] == "reaper-monitor"]
    check(len(monitors) == 1, f"{len(monitors)} reaper-monitor processes under the shim, wanted 1")
    check(proc_stat(cpid)[1] == monitors[0], "the container's process is not its monitor's child")
    c.StopPodSandbox(pod_sandbox_id=pod)
    check(not pid_alive(pid), f"sandbox pid {pid} outlived StopPodSandbox")
    check(c.PodSandboxStatus(pod_sandbox_id=pod).status.state == cri.SANDBOX_NOTREADY, "not stopped")
    c.RemovePodSandbox(pod_sandbox_id=pod)


def many_pods(c, pods, count=100, workers=4):
    """count pods, each with a container, created and removed (the shell side checks that
    no process, mount, socket or state is left)."""
    def one(i):
        pod, config = pods.run(f"many-{i}")
        cid = pods.container(pod, config, "main", sh(f"echo pod-{i}"))
        st = c.wait_state(cid, cri.EXITED)
        check(st.exit_code == 0 and cri.read_log(st.log_path)["stdout"] == f"pod-{i}\n".encode(),
              f"pod {i}: {st.exit_code}")
        c.remove_pod(pod)
        return i
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        done = list(ex.map(one, range(count)))
    check(len(done) == count, f"{len(done)} pods of {count}")
    left = c.ListPodSandbox().items
    check(not left, f"{len(left)} pods still listed")
    check(not c.ListContainers().containers, "containers still listed")


SCENARIOS = {f.__name__: f for f in (
    exit_code_and_logs, last_output_before_exit, one_millisecond_container, stop_within_grace,
    multi_container_pod, restarted_container, exec_sync_codes, exec_tty_resize, attach_tty,
    users_and_groups, volumes, termination_message, termination_private_dev, stats, missing_command, bad_annotation_falls_back,
    sandbox_lifecycle, sandbox_without_monitor, many_pods)}


def run_scenario(table, name, handler="reaper-v2"):
    """Runs table[name](client, pods) against the CRI socket, then removes its pods;
    a Failed check exits 1 with its reason."""
    c = cri.Client(SOCK)
    pods = Pods(c, handler)
    try:
        table[name](c, pods)
    except Failed as e:
        print(f"{name}: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        pods.remove_all()
        c.close()


def main():
    run_scenario(SCENARIOS, sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "reaper-v2")


if __name__ == "__main__":
    main()
