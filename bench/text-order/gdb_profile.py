# Run by gdb (bench/text-order/profile.sh): puts a one-shot breakpoint on every function
# listed in $TEXT_ORDER_FUNCTIONS ("ADDRESS NAME" lines) and writes the addresses of those
# that ran to $TEXT_ORDER_OUT.PID. TEXT_ORDER_MODE=shim profiles the daemon itself (forked
# children are left alone); =monitor follows the daemon's first fork, a container's monitor,
# and profiles that from the fork on (the monitor's own children are left alone);
# =workload follows that monitor's first child, the workload, up to its exec. A workload's
# child runs in its monitor's memory (core/spawn.cpp), so what it runs counts as the
# monitor's; traced, the monitor forks it instead, which lets gdb follow it.
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


for command in ("set pagination off", "set confirm off", "set startup-with-shell off",
                "set detach-on-fork on", "set breakpoint always-inserted on",
                "handle all nostop noprint pass"):
    gdb.execute(command)
gdb.events.stop.connect(on_stop)
gdb.execute("starti")
if mode == "shim":
    gdb.execute("set follow-fork-mode parent")
    arm()
else:
    gdb.execute("set follow-fork-mode child")
    gdb.execute("catch fork")
    state["catch"] = gdb.breakpoints()[-1].number
    if mode == "workload":
        gdb.execute("catch exec")  # the workload's exec ends its profile
        state["exec_catch"] = gdb.breakpoints()[-1].number
forks = 0
while True:
    if state["exec"] and forks >= 2:
        dump()
        gdb.execute("detach")
        break
    if state["fork"]:
        forks += 1
        if forks == 1 and mode == "monitor":
            arm()  # the monitor's code from its first instruction after the fork
        elif forks == 2 and mode == "workload":
            arm()  # the workload's child, from the fork to its exec
        elif mode == "monitor":
            gdb.execute("set follow-fork-mode parent")  # stay with the monitor
    try:
        gdb.execute("continue")
    except gdb.error:
        break
    if not gdb.selected_inferior().pid:
        break
    dump()
dump()
