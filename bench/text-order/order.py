#!/usr/bin/env python3
"""bench/text-order/order.py FUNCTIONS HITS_DIR OUT: writes lld's --symbol-ordering-file from
the profiles of bench/text-order/profile.sh: the functions every monitor ran (with its
workload's child, which runs in the monitor's memory until its exec), then those every shim
daemon ran, each in the order of FUNCTIONS ("ADDRESS NAME", the profiled
binary's own layout, which keeps a library's neighbours together)."""
import glob
import os
import sys


def main():
    functions, hits_dir, out = sys.argv[1:4]
    names = {}
    order = []
    for line in open(functions):
        addr, name = line.split()
        names.setdefault(int(addr, 16), []).append(name)
        order.append(int(addr, 16))

    def ran(prefix):
        hit = set()
        for path in glob.glob(os.path.join(hits_dir, prefix + ".*")):
            hit |= {int(x, 16) for x in open(path)}
        return hit

    monitor, shim = ran("monitor") | ran("workload"), ran("shim")
    if not monitor or not shim:
        sys.exit("order.py: no profile of a monitor or of a shim")
    seen, lines = set(), []
    for group in (monitor, shim):
        for addr in order:
            if addr in group and addr not in seen:
                seen.add(addr)
                lines.extend(names[addr])
    with open(out, "w") as f:
        f.write("".join(n + "\n" for n in dict.fromkeys(lines)))
    print(f"{len(monitor)} functions ran in monitors, {len(shim)} in shims, {len(seen)} in all",
          file=sys.stderr)


main()
