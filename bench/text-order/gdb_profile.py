# Run by gdb (bench/text-order/profile.sh) on the shim's `start`: puts a one-shot breakpoint
# on every function listed in $TEXT_ORDER_FUNCTIONS ("ADDRESS NAME" lines) and writes the
# addresses of those that ran to $TEXT_ORDER_OUT.PID. `start` forks the daemon (gdb follows
# it; `start` itself is let go). TEXT_ORDER_MODE=shim profiles the daemon from that fork on
# (its own children are left alone); =monitor follows the daemon's first fork, a
# container's monitor, and profiles that from the fork on (the monitor's own children are
# left alone); =workload follows that monitor's first child, the workload, up to its exec.
# A workload's child runs in its monitor's memory (core/spawn.cpp), so what it runs counts
# as the monitor's; traced, the monitor forks it instead, which lets gdb follow it.
# start's stdout is profile.sh's fd 3: the shell gdb starts it with moves it back to fd 1.
import os

import gdb

mode = os.environ["TEXT_ORDER_MODE"]
out = "%s.%d" % (os.environ["TEXT_ORDER_OUT"], os.getpid())
with open(os.environ["TEXT_ORDER_FUNCTIONS"]) as f:
    addresses = sorted({int(line.split()[0], 16) for line in f})
hits = set()
state = {"fork": False, "catch": None, "exec": False, "exec_catch": None}


def on_stop(event):
    state["fork"] = False
    if not isinstance(event, gdb.BreakpointEvent):
        return
    if state["catch"] is not None and event.breakpoint.number == state["catch"]:
        state["fork"] = True
    elif state["exec_catch"] is not None and event.breakpoint.number == state["exec_catch"]:
        state["exec"] = True
    else:
        hits.add(int(gdb.parse_and_eval("$pc")))


def arm():
    for a in addresses:
        gdb.Breakpoint("*0x%x" % a, temporary=True, internal=True)


def dump():
    with open(out, "w") as f:
        f.write("".join("%x\n" % h for h in sorted(hits)))


for command in ("set pagination off", "set confirm off", "set startup-with-shell on",
                "set detach-on-fork on", "set breakpoint always-inserted on",
                "set print inferior-events off", "handle all nostop noprint pass"):
    gdb.execute(command)
gdb.events.stop.connect(on_stop)
# starti's words replace the program's arguments: give them again (as `show args` quotes
# them for the shell), then the redirections.
shown = gdb.execute("show args", to_string=True)
gdb.execute("starti %s 1>&3 3>&-" % shown[shown.index('"') + 1:shown.rindex('"')])
os.close(3)  # containerd reads start's stdout to its end: only start and the daemon may hold it
gdb.execute("set follow-fork-mode child")
gdb.execute("catch fork")
state["catch"] = gdb.breakpoints()[-1].number
if mode == "workload":
    gdb.execute("catch exec")  # the workload's exec ends its profile
    state["exec_catch"] = gdb.breakpoints()[-1].number
# The fork that profiling starts at: 1 the daemon, 2 its first monitor, 3 that monitor's
# workload; after it gdb stays with the process it profiles.
first = {"shim": 1, "monitor": 2, "workload": 3}[mode]
forks = 0
while True:
    if state["exec"] and forks >= first:
        dump()
        gdb.execute("detach")
        break
    if state["fork"]:
        forks += 1
        if forks == first:
            # Armed once gdb is in the child: armed at the fork's stop, the breakpoints
            # went into the parent, and the daemon's profile missed 260 of its 1682
            # functions. The parent is kept until then and let go from its fork stop,
            # untouched (never stepped, never armed).
            parent = gdb.selected_inferior().num
            gdb.execute("set detach-on-fork off")
            gdb.execute("stepi")
            arm()
            gdb.execute("detach inferiors %d" % parent)
            gdb.execute("set detach-on-fork on")
        elif forks > first and mode != "workload":
            gdb.execute("set follow-fork-mode parent")  # stay with the profiled process
    try:
        gdb.execute("continue")
    except gdb.error:
        break
    if not gdb.selected_inferior().pid:
        break
    dump()
dump()
