#!/usr/bin/env python3
"""bench/ctr-run.sh --timeline: lays the steps of one `ctr run` of each runtime side by side.

The log has one line "PID LABEL NS" per step: "ctr:begin:RUNTIME" and "ctr:end:RUNTIME"
from the script around each timed run (pid 0), and the steps the shims mark with
REAPER_SHIM_TIMELINE (src/shim/timings.hpp): "start:main", "start:printed",
"daemon:serving", "rpc:METHOD:read", "rpc:METHOD:answered". A step belongs to the run it
falls in; a step seen twice in one run (Connect, State) is numbered. Prints, per step, the
median of its time after ctr's start over the runs, in ms, one column per runtime.
"""
import collections
import statistics
import sys


def main(path):
    runs = []
    current = None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            _, label, ns = parts
            t = int(ns)
            if label.startswith("ctr:begin:"):
                current = {"runtime": label[len("ctr:begin:"):], "t0": t, "steps": []}
                runs.append(current)
            elif current is None:
                continue
            elif label.startswith("ctr:end:"):
                current["steps"].append(("ctr:end", t))
                current = None
            else:
                current["steps"].append((label, t))
    at = collections.defaultdict(lambda: collections.defaultdict(list))
    for run in runs:
        seen = collections.Counter()
        for label, t in run["steps"]:
            seen[label] += 1
            key = label if seen[label] == 1 else "%s#%d" % (label, seen[label])
            at[run["runtime"]][key].append((t - run["t0"]) / 1e6)
    runtimes = [rt for rt in ("reaper", "floorrun", "floor") if rt in at]
    if not runtimes:
        print("timeline: no step recorded")
        return
    order = {}
    for rt in runtimes:
        for key, values in at[rt].items():
            order.setdefault(key, statistics.median(values))
    print("timeline of one ctr run, median ms after ctr's start (%d runs of reaper):"
          % len(at["reaper"].get("ctr:end", [])))
    print("  %-28s" % "step" + "".join("%10s" % rt for rt in runtimes))
    for key in sorted(order, key=order.get):
        cells = ["%10.2f" % statistics.median(at[rt][key]) if at[rt].get(key) else "%10s" % "-"
                 for rt in runtimes]
        print("  %-28s" % key + "".join(cells))


if __name__ == "__main__":
    main(sys.argv[1])
