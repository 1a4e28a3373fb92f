"""CRI pod benchmark driver for bench/cri-pods.sh: pod start and teardown latency, and the
shim memory of many running pods, for several CRI runtime handlers of one containerd.

    cri_pods.py [--rounds N] [--pods N] [--workers N] HANDLER...

Environment (bench/cri-pods.sh sets it): CRI_SOCK, CRI_IMAGE, CRI_LOG_ROOT (as for the
tests' cri_py), CTRD_PID (containerd's pid, for its RSS), REAPER (the reaper binary: a
shim whose executable is this file is reaper's).

Pod start is RunPodSandbox + CreateContainer + StartContainer, then ContainerStatus until
it says RUNNING. In containerd 1.6 the CRI plugin's StartContainer records StartedAt (which
is what makes ContainerStatus report RUNNING) before it returns, so the first status call
already says RUNNING; the driver checks that on every run and polls (1 ms) only if not, and
prints how often polling was needed. Teardown is StopPodSandbox + RemovePodSandbox (the
plugin kills the pod's containers without a grace period). Rounds interleave the handlers,
the order rotated every round. Measurement code may poll; nothing here sleeps otherwise.
"""

import argparse
import concurrent.futures
import os
import sys
import time
import uuid

import grpc

import cri

SOCK = os.environ["CRI_SOCK"]
IMAGE = os.environ["CRI_IMAGE"]
LOG_ROOT = os.environ["CRI_LOG_ROOT"]
CTRD_PID = int(os.environ.get("CTRD_PID", "0") or 0)
REAPER = os.path.realpath(os.environ.get("REAPER", "")) if os.environ.get("REAPER") else ""
NAMESPACE = "bench"
COMMAND = ["sleep", "3600"]   # reaper: the host's sleep; runc/crun: the image's busybox
PAUSE = ["/bin/sleep", "2147483647"]   # the sandbox image's entrypoint (test/lib/cri.sh)
TARGET = 0.28   # the design target: reaper's pod start at most this share of crun's


class Pods:
    """Every pod the driver made and has not removed yet: removed on the way out, whatever
    happened."""

    def __init__(self, client):
        self.c, self.live = client, set()

    def start(self, handler, name):
        """One pod with one sleeping container; returns (pod id, phase times in s)."""
        config = cri.pod_config(name, namespace=NAMESPACE, log_root=LOG_ROOT,
                                uid=uuid.uuid4().hex)
        cconf = cri.container_config("main", IMAGE, COMMAND)
        t0 = time.perf_counter()
        pod = self.c.run_pod(config, handler)
        t1 = time.perf_counter()
        self.live.add(pod)
        cid = self.c.create(pod, config, cconf)
        t2 = time.perf_counter()
        self.c.StartContainer(container_id=cid)
        t3 = time.perf_counter()
        polls = 0
        while True:
            st = self.c.status(cid).status
            if st.state == cri.RUNNING:
                break
            if st.state == cri.EXITED:
                raise RuntimeError(f"{handler}: container of {name} exited: {st.exit_code} "
                                   f"{st.reason} {st.message}")
            polls += 1
            if polls > 30000:
                raise RuntimeError(f"{handler}: container of {name} not RUNNING after 30 s")
            time.sleep(0.001)   # measurement-side poll, taken only if StartContainer lied
        t4 = time.perf_counter()
        return pod, {"run": t1 - t0, "create": t2 - t1, "start": t3 - t2,
                     "status": t4 - t3, "total": t4 - t0, "polls": polls}

    def remove(self, pod):
        t0 = time.perf_counter()
        self.c.StopPodSandbox(pod_sandbox_id=pod)
        self.c.RemovePodSandbox(pod_sandbox_id=pod)
        t1 = time.perf_counter()
        self.live.discard(pod)
        return t1 - t0

    def remove_all(self):
        for pod in list(self.live):
            try:
                self.remove(pod)
            except grpc.RpcError as e:
                print(f"cleanup of pod {pod[:12]}: {e.details()}", file=sys.stderr)


# ---------------------------------------------------------------- statistics
def stats(values):
    """(median, p90 nearest rank, min, max) of a non-empty list."""
    v = sorted(values)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    rank = max(1, -(-9 * n // 10))   # ceil(0.9 n)
    return med, v[rank - 1], v[0], v[-1]


def ms(s):
    return f"{s * 1000:.1f}"


# ---------------------------------------------------------------- latency
def latency(pods, handlers, rounds):
    samples = {h: [] for h in handlers}
    teardown = {h: [] for h in handlers}
    for i in range(rounds):
        k = i % len(handlers)
        for h in handlers[k:] + handlers[:k]:
            pod, phases = pods.start(h, f"lat-{h}-{i}")
            samples[h].append(phases)
            teardown[h].append(pods.remove(pod))

    print(f"pod start: RunPodSandbox + CreateContainer + StartContainer + ContainerStatus "
          f"RUNNING ({rounds} rounds, interleaved, order rotated), ms")
    print(f"{'handler':<10} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}   "
          f"{'RunPodSandbox':>13} {'Create':>8} {'Start':>8} {'Status':>8}  (phase medians)")
    med, p90 = {}, {}
    for h in handlers:
        m, p, lo, hi = stats([s["total"] for s in samples[h]])
        med[h], p90[h] = m, p
        phase = [stats([s[k] for s in samples[h]])[0] for k in ("run", "create", "start", "status")]
        print(f"{h:<10} {ms(m):>8} {ms(p):>8} {ms(lo):>8} {ms(hi):>8}   "
              f"{ms(phase[0]):>13} {ms(phase[1]):>8} {ms(phase[2]):>8} {ms(phase[3]):>8}")
    polled = {h: sum(1 for s in samples[h] if s["polls"]) for h in handlers}
    print("first ContainerStatus after StartContainer said RUNNING: " +
          ", ".join(f"{h} {rounds - polled[h]}/{rounds}" for h in handlers))

    print(f"pod teardown: StopPodSandbox + RemovePodSandbox, ms")
    print(f"{'handler':<10} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}")
    tmed, tp90 = {}, {}
    for h in handlers:
        m, p, lo, hi = stats(teardown[h])
        tmed[h], tp90[h] = m, p
        print(f"{h:<10} {ms(m):>8} {ms(p):>8} {ms(lo):>8} {ms(hi):>8}")

    reaper = next((h for h in handlers if h.startswith("reaper")), None)
    if reaper:
        for base in handlers:
            if base == reaper:
                continue
            print(f"{reaper}/{base}: start median {med[reaper] / med[base]:.2f} "
                  f"(p90 {p90[reaper] / p90[base]:.2f}), teardown median "
                  f"{tmed[reaper] / tmed[base]:.2f} (p90 {tp90[reaper] / tp90[base]:.2f})")
        if "crun" in med:
            r = med[reaper] / med["crun"]
            print(f"target pod start <= {TARGET:.2f} of crun's: {r:.2f} "
                  f"{'met' if r <= TARGET else 'MISSED'}")


# ---------------------------------------------------------------- memory
def read_proc(pid):
    """{comm, exe, ppid, cmdline (list)} of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        if rest[0] == "Z":
            return None
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        try:
            exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            exe = ""
        return {"comm": comm, "exe": exe, "ppid": int(rest[1]), "cmdline": cmdline}
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def smaps_rollup(pid):
    """kB: Rss, Pss, USS (private clean + dirty) of a process."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return {"rss": out.get("Rss", 0), "pss": out.get("Pss", 0),
            "uss": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def processes_of(pod_ids):
    """The shims serving pod_ids (containerd names a pod's sandbox id in its shim's
    `-id ID` argument) and every descendant of theirs, classified:
    {"shim": [pids], "monitor": [pids], "sandbox": [pids], "workload": [pids]}: sandbox is
    the pod's sandbox process (reaper's own `reaper-sandbox`, a child of the shim without a
    monitor, or the pause image's sleep for runc/crun), monitor reaper's monitors (one per
    pod: the container's), workload the container's process and its children."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            p = read_proc(int(d))
            if p:
                procs[int(d)] = p
    shims = set()
    for pid, p in procs.items():
        if not p["comm"].startswith("containerd-shim"):
            continue
        args = p["cmdline"]
        ids = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-id", "--id")}
        if ids & pod_ids:
            shims.add(pid)
    children = {}
    for pid, p in procs.items():
        children.setdefault(p["ppid"], []).append(pid)
    out = {"shim": sorted(shims), "monitor": [], "sandbox": [], "workload": []}
    todo = [c for s in shims for c in children.get(s, [])]
    while todo:
        pid = todo.pop()
        p = procs[pid]
        ours = bool(REAPER) and p["exe"] == REAPER
        if p["comm"] == "reaper-monitor" and ours:
            out["monitor"].append(pid)
        elif p["comm"].startswith("containerd-shim"):
            out["shim"].append(pid)       # a shim's helper child, should one exist
        elif (ours and "reaper-sandbox" in p["cmdline"]) or p["cmdline"] == PAUSE:
            out["sandbox"].append(pid)    # reaper's: the shim's own child, no monitor
        elif ours and "hold" in p["cmdline"]:
            pass                          # an overlay helper (overlay_holders)
        else:
            out["workload"].append(pid)
        todo.extend(children.get(pid, []))
    return out, procs


def overlay_holders(procs):
    """reaper's resident overlay helpers (`reaper-overlay hold GROUP_DIR`) under our
    overlay root, if any (most kernels keep a group's namespace with a bind mount and
    need none)."""
    root = os.environ.get("REAPER_OVERLAY_ROOT", "")
    if not REAPER or not root:
        return []
    return [pid for pid, p in procs.items()
            if p["exe"] == REAPER and any(a.startswith(root + "/") for a in p["cmdline"])
            and "hold" in p["cmdline"]]


def memory(pods, handlers, count, workers):
    print(f"memory with {count} running pods per handler (one container each, {' '.join(COMMAND)};"
          f" pods of one handler at a time, started {workers} at a time), kB")
    print(f"{'handler':<10} {'processes':<24} {'n':>4} {'RSS sum':>9} {'PSS sum':>9} "
          f"{'USS sum':>9} {'PSS/pod':>8} {'RSS/pod':>8}")

    def line(h, what, pids):
        tot = {"rss": 0, "pss": 0, "uss": 0}
        for pid in pids:
            try:
                for k, v in smaps_rollup(pid).items():
                    tot[k] += v
            except FileNotFoundError:
                pass
        print(f"{h:<10} {what:<24} {len(pids):>4} {tot['rss']:>9} {tot['pss']:>9} "
              f"{tot['uss']:>9} {tot['pss'] / count:>8.0f} {tot['rss'] / count:>8.0f}")
        return tot

    for h in handlers:
        ctrd_before = vm_rss(CTRD_PID) if CTRD_PID else 0
        ids = []
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            for pod, _ in ex.map(lambda i: pods.start(h, f"mem-{h}-{i}"), range(count)):
                ids.append(pod)
        took = time.perf_counter() - t0
        found, procs = processes_of(set(ids))
        ctrd_with = vm_rss(CTRD_PID) if CTRD_PID else 0
        line(h, "shims", found["shim"])
        if found["monitor"]:
            line(h, "reaper-monitor", found["monitor"])
            holders = overlay_holders(procs)
            if holders:
                line(h, "overlay helpers", holders)
            line(h, "shims + monitors", found["shim"] + found["monitor"] + holders)
            line(h, "reaper-sandbox", found["sandbox"])
            line(h, "all reaper processes", found["shim"] + found["monitor"] + holders +
                 found["sandbox"])
        else:
            line(h, "pause (sandbox)", found["sandbox"])
            line(h, "shims + pause", found["shim"] + found["sandbox"])
        line(h, "(container: sleep)", found["workload"])
        t1 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            list(ex.map(pods.remove, ids))
        took_rm = time.perf_counter() - t1
        ctrd_after = vm_rss(CTRD_PID) if CTRD_PID else 0
        if CTRD_PID:
            print(f"{h:<10} containerd VmRSS {ctrd_before} kB before, {ctrd_with} kB with "
                  f"{count} pods (+{ctrd_with - ctrd_before}), {ctrd_after} kB after removal; "
                  f"{count} pods started in {took:.1f} s, removed in {took_rm:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("handlers", nargs="+")
    a = ap.parse_args()
    c = cri.Client(SOCK)
    pods = Pods(c)
    handlers = []
    try:
        for h in a.handlers:   # warm-up (not counted); a handler that fails is left out
            try:
                pod, _ = pods.start(h, f"warmup-{h}")
                pods.remove(pod)
                handlers.append(h)
            except (grpc.RpcError, RuntimeError) as e:
                msg = e.details() if isinstance(e, grpc.RpcError) else str(e)
                print(f"{h}: unavailable ({msg[:300]})")
                pods.remove_all()
        if not handlers:
            sys.exit("no handler works")
        v = c.Version()
        print(f"{v.runtime_name} {v.runtime_version}, handlers {' '.join(handlers)}")
        if a.rounds:
            latency(pods, handlers, a.rounds)
        if a.pods:
            memory(pods, handlers, a.pods, a.workers)
    finally:
        pods.remove_all()
        c.close()


if __name__ == "__main__":
    main()
