"""The pod side of bench/soak.sh: pods through containerd's CRI plugin, the way kubelet
drives them, with the project's CRI client (test/cri/cri.py).

    soak_pods.py cycle N MIN MAX   N pods, MIN..MAX in flight (the number in flight moves
                                   between the two, pod after pod); each pod: a container
                                   that logs and fails, its restart (attempt 1) that logs and
                                   keeps running, an ExecSync into it, then the pod's removal
                                   and its log directory's (as kubelet does)
    soak_pods.py long-start FILE   starts the long-lived pod; writes its ids and its shim's
                                   pid to FILE (JSON)
    soak_pods.py execs FILE N      N ExecSyncs into the long-lived container, one at a time
    soak_pods.py long-stop FILE    removes the long-lived pod

Every step checks what it gets (exit codes, log contents, exec output) and exits non-zero
with a message on the first surprise; a pod it made is removed even then.
"""

import concurrent.futures
import json
import os
import shutil
import sys
import time

import cri

SOCK = os.environ["CRI_SOCK"]
IMAGE = os.environ["CRI_IMAGE"]
LOG_ROOT = os.environ["CRI_LOG_ROOT"]
HANDLER = os.environ.get("SOAK_HANDLER", "reaper-v2")


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def sh(script):
    return ["/bin/sh", "-c", script]


def exec_sync(c, cid, cmd, timeout=20):
    r = c.call("ExecSync", timeout + 10, container_id=cid, cmd=cmd, timeout=timeout)
    return r.stdout.decode(), r.stderr.decode(), r.exit_code


def wait_log(path, stdout, secs=10):
    """The CRI log of a running container once its stdout reads `stdout` (bounded): the
    line a container wrote reaches the log through containerd's copier, which may lag
    behind an exec on a busy machine. Returns what it last read."""
    deadline = time.monotonic() + secs
    while True:
        log = cri.read_log(path)
        if log["stdout"] == stdout or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def remove_pod(c, pod, config):
    c.remove_pod(pod)
    shutil.rmtree(config.log_directory, ignore_errors=True)


def one_pod(c, i):
    """One pod's life: log output, a failed container, its restart, an exec, removal."""
    config = cri.pod_config(f"soak-{i}", log_root=LOG_ROOT)
    pod = c.run_pod(config, HANDLER)
    try:
        first = c.create(pod, config, cri.container_config(
            "main", IMAGE, sh(f"echo pod-{i}; seq 1 200; echo failing >&2; exit 1")))
        c.StartContainer(container_id=first)
        st = c.wait_state(first, cri.EXITED, 60)
        check(st.exit_code == 1, f"pod {i}: attempt 0 exit code {st.exit_code}, wanted 1")
        log = cri.read_log(st.log_path)
        want = f"pod-{i}\n".encode() + b"".join(b"%d\n" % n for n in range(1, 201))
        check(log == {"stdout": want, "stderr": b"failing\n"},
              f"pod {i}: attempt 0 log has {len(log['stdout'])} + {len(log['stderr'])} bytes")
        # kubelet's restart: the same name, attempt 1, the exited attempt removed.
        second = c.create(pod, config, cri.container_config(
            "main", IMAGE, sh(f"echo restarted-{i}; exec sleep 3600"), attempt=1))
        c.StartContainer(container_id=second)
        c.RemoveContainer(container_id=first)
        c.wait_state(second, cri.RUNNING, 60)
        out, err, code = exec_sync(c, second, sh(f"echo exec-{i}; echo to-err >&2; exit 4"))
        check((out, err, code) == (f"exec-{i}\n", "to-err\n", 4),
              f"pod {i}: exec gave {out!r} {err!r} {code}")
        log = wait_log(c.status(second).status.log_path, f"restarted-{i}\n".encode())
        check(log["stdout"] == f"restarted-{i}\n".encode(), f"pod {i}: attempt 1 log {log}")
    finally:
        remove_pod(c, pod, config)
    return i


def cycle(c, count, lo, hi):
    """count pods, between lo and hi in flight: the target moves lo, lo+1 .. hi, lo, ..."""
    started = time.monotonic()
    done, submitted, target = 0, 0, lo
    with concurrent.futures.ThreadPoolExecutor(hi) as ex:
        running = set()
        while done < count:
            while submitted < count and len(running) < target:
                running.add(ex.submit(one_pod, c, submitted))
                submitted += 1
                target = lo + submitted % (hi - lo + 1)
            finished, running = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in finished:
                f.result()              # the first failure ends the run
                done += 1
                if done % 100 == 0 or done == count:
                    rate = done / (time.monotonic() - started)
                    print(f"  {done} pods done, {rate:.2f} pods/s", flush=True)
    # Only the long-lived pod (when there is one) and its container may be left.
    pods = c.ListPodSandbox().items
    keep = {p.id for p in pods if p.metadata.name == "soak-long"}
    left = [p.id for p in pods if p.id not in keep]
    check(not left, f"{len(left)} pods still listed after the run")
    left = [x.id for x in c.ListContainers().containers if x.pod_sandbox_id not in keep]
    check(not left, f"{len(left)} containers still listed after the run")


def shim_of(pid):
    """The shim above pid (its containers' monitors are forks of it)."""
    while pid > 1:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().startswith("containerd-shim"):
                return pid
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    raise Failed("no shim above the long-lived container's process")


def long_start(c, path):
    config = cri.pod_config("soak-long", log_root=LOG_ROOT)
    pod = c.run_pod(config, HANDLER)
    cid = c.create(pod, config, cri.container_config("main", IMAGE, ["sleep", "2147483647"]))
    c.StartContainer(container_id=cid)
    c.wait_state(cid, cri.RUNNING, 60)
    pid = json.loads(c.status(cid, verbose=True).info["info"])["pid"]
    with open(path, "w") as f:
        json.dump({"pod": pod, "cid": cid, "shim": shim_of(pid), "logdir": config.log_directory}, f)


def execs(c, path, n):
    cid = json.load(open(path))["cid"]
    for k in range(n):
        out, _, code = exec_sync(c, cid, ["echo", f"exec-{k}"])
        check((out, code) == (f"exec-{k}\n", 0), f"exec {k}: {out!r} {code}")


def long_stop(c, path):
    s = json.load(open(path))
    c.remove_pod(s["pod"])
    shutil.rmtree(s["logdir"], ignore_errors=True)


def main():
    args = sys.argv[1:]
    c = cri.Client(SOCK)
    try:
        if args[:1] == ["cycle"] and len(args) == 4:
            n, lo, hi = map(int, args[1:])
            check(1 <= lo <= hi, f"bad in-flight range {lo}..{hi}")
            cycle(c, n, lo, hi)
        elif args[:1] == ["long-start"] and len(args) == 2:
            long_start(c, args[1])
        elif args[:1] == ["execs"] and len(args) == 3:
            execs(c, args[1], int(args[2]))
        elif args[:1] == ["long-stop"] and len(args) == 2:
            long_stop(c, args[1])
        else:
            sys.exit(__doc__)
    except Failed as e:
        print(f"soak: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        c.close()


if __name__ == "__main__":
    main()
