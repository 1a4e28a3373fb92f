# shellcheck shell=bash
# Helpers for the end-to-end tests of containerd-shim-reaper-v2 driven by ctr
# (test/integration/shim_ctr.sh). Sources the private-containerd fixture (containerd.sh)
# and the runtime helpers (marked_pids, proc_*, wait_marked_count, assert_no_marked_alive, ...);
# harness.sh is already loaded by test/run.
#
# SHIM_RUNTIME (default reaper) selects the runtime under test; SHIM_RUNTIME=runc (with a
# busybox rootfs) only serves to check the tests' own mechanics against a known-good shim —
# the reaper-specific assertions (host execution, REAPER_ROOT, grouping) then fail.
#
#   shim_up [containerd_start options]   trap + REAPER_ROOT + private containerd (no CRI) +
#                                        an EMPTY rootfs dir in $ROOTFS (reaper ignores it: a
#                                        workload that runs proves it came from the host)
#   rrun [CTR-RUN-FLAGS...] ID CMD...     cctr_run reaper ... --rootfs $ROOTFS ID CMD...
#   task_pid ID / task_status ID          from `ctr task ls`
#   wait_task_status ID STATUS [SECS=5]   bounded poll of `ctr task ls`
#   shim_pids                             live processes of the fixture's containerd except
#                                         containerd itself (shims, monitors, workloads)
#   shim_addr ID                          the shim socket path from the bundle's address file
#   socket_owner SOCKPATH                 pid of the topmost process holding that listening socket
#   containerd_kill_restart               SIGKILL containerd and start it again with the same
#                                         root/state/address/config/environment
#   containerd_kill / containerd_restart  the same in two steps (a test acts in between)
#   bounded SECS CMD...                   CMD (function or program) killed after SECS
#   pty_run ROWS COLS [--then-resize R C --after TEXT] [--send TEXT --after TEXT] -- CMD...
#                                         runs CMD on a fresh pty of the given size; prints what
#                                         the pty produced; exits with CMD's status
source "$(dirname "${BASH_SOURCE[0]}")/containerd.sh"
source "$(dirname "${BASH_SOURCE[0]}")/runtime-helpers.sh"

# containerd_start launches `env PATH=... RTEST_CTRD=... containerd ...`: `env` only adds to
# the caller's environment, so an exported REAPER_ROOT reaches containerd and its shims.
shim_up() {
  trap 'containerd_stop; harness_cleanup' EXIT
  export REAPER_ROOT=$TEST_TMP/reaper-root
  mkdir -p "$REAPER_ROOT"
  containerd_start --no-cri "$@" || fail "containerd_start $*"
  [[ $(tr '\0' '\n' <"/proc/$CTRD_PID/environ" | sed -n 's/^REAPER_ROOT=//p') == "$REAPER_ROOT" ]] ||
    fail "test setup: REAPER_ROOT did not reach containerd's environment"
  ROOTFS=$TEST_TMP/rootfs
  mkdir -p "$ROOTFS"
  [[ ${SHIM_RUNTIME:-reaper} == reaper ]] || busybox_rootfs "$ROOTFS" || fail "busybox_rootfs"
}

# rrun [FLAGS...] ID CMD...: ctr run through reaper with the empty rootfs.
rrun() {
  local -a flags=()
  while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in
      --env|--label|--annotation|--mount|--user|-u|--cwd|--fifo-dir|--log-uri) flags+=("$1" "$2"); shift 2 ;;
      *) flags+=("$1"); shift ;;
    esac
  done
  cctr_run "${SHIM_RUNTIME:-reaper}" "${flags[@]}" --rootfs "$ROOTFS" "$@"
}

task_field() {  # task_field ID COLUMN(2=pid,3=status)
  cctr task ls 2>/dev/null | awk -v id="$1" -v c="$2" 'NR > 1 && $1 == id { print $c }'
}
task_pid() { task_field "$1" 2; }
task_status() { task_field "$1" 3; }

wait_task_status() {  # wait_task_status ID STATUS [SECS=5]
  local id=$1 want=$2 secs=${3:-5} s="" i
  for ((i = 0; i < secs * 20; i++)); do
    s=$(task_status "$id")
    [[ $s == "$want" ]] && return 0
    sleep 0.05
  done
  echo "wait_task_status: task $id is '$s' after ${secs}s, wanted '$want'; ctr task ls: $(cctr task ls 2>&1)" >&2
  return 1
}

# The reaper shim's processes: everything containerd_pids finds except containerd itself.
shim_pids() {
  local p
  for p in $(containerd_pids); do
    [[ $p == "${CTRD_PID:-}" ]] || echo "$p"
  done
}

# describe_pids PID...: "PID comm cmdline" per line, for failure messages.
describe_pids() {
  local p
  for p in "$@"; do echo "$p $(proc_comm "$p") $(proc_cmdline "$p")"; done
}

# wait_no_shim_pids [SECS=5]: bounded wait until no shim/monitor/workload process is left.
wait_no_shim_pids() {
  local i left
  for ((i = 0; i < ${1:-5} * 20; i++)); do
    left=$(shim_pids); [[ -z $left ]] && return 0
    sleep 0.05
  done
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  echo "processes of the shim left: $(describe_pids $left)" >&2
  return 1
}

bundle_dir() { echo "$CTRD_STATE/io.containerd.runtime.v2.task/$CTRD_NS/$1"; }

shim_addr() {  # the socket path the shim of container ID published
  local a
  a=$(cat "$(bundle_dir "$1")/address" 2>/dev/null) || return 1
  echo "${a#unix://}"
}

# socket_owner PATH: the listening unix socket at PATH -> its inode -> the processes holding
# it; prints the one whose parent does not hold it too (the shim daemon, not a forked child).
socket_owner() {
  local path=$1 inode p f
  inode=$(awk -v p="$path" '$NF == p && $4 == "00010000" { print $7; exit }' /proc/net/unix)  # listening
  [[ -n $inode ]] || return 1
  local -A holders=()
  # shellcheck disable=SC2044  # /proc/PID/fd/N paths: no spaces to split on
  for f in $(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$inode\]" 2>/dev/null); do
    p=${f#/proc/}; p=${p%%/*}
    holders[$p]=1
  done
  for p in "${!holders[@]}"; do
    local st; st=$(proc_stat "$p") || continue
    read -r _ pp _ <<<"$st"
    [[ -z ${holders[$pp]:-} ]] && { echo "$p"; return 0; }
  done
  return 1
}

# our_shim_sockets ID...: the /run/containerd/s/<sha256(grpc-address/ns/ID)> paths that
# containerd's own naming scheme gives these ids (a group id counts as an id) and that exist.
our_shim_sockets() {
  local id h
  for id in "$@"; do
    h=$(printf '%s' "$CTRD_SOCK/$CTRD_NS/$id" | sha256sum | cut -d' ' -f1)
    [[ -e /run/containerd/s/$h ]] && echo "/run/containerd/s/$h"
  done
  return 0
}

# reaper_list: the operator CLI's view of this namespace's containers (header removed).
reaper_list() { "$REAPER" list --root "$REAPER_ROOT/$CTRD_NS" 2>&1 | tail -n +2; }

# bounded SECS CMD...: runs CMD (a shell function too) on the caller's stdin/stdout, sending it
# SIGTERM after SECS; returns CMD's status (143 when it was stopped).
bounded() {
  local secs=$1; shift
  "$@" <&0 &
  wait_bounded "$secs" TERM $!
}

# ---------------------------------------------------------------- containerd restart

# containerd_kill_restart: SIGKILL containerd (by pid), wait for it to be gone, and start it
# again with the same command line as containerd_start (same config, root, state, address,
# PATH with the shim first, RTEST_CTRD marker, REAPER_ROOT from our environment, private mount
# namespace if the fixture used one). The log is appended to $CTRD_LOG. Waits (bounded) until
# the new containerd serves.
containerd_kill_restart() {
  containerd_kill
  containerd_restart
}

# containerd_kill: SIGKILL containerd (by pid) and wait until it is gone; its shims stay.
containerd_kill() {
  [[ -n ${CTRD_PID:-} ]] || fail "containerd_kill: containerd not running"
  local old=$CTRD_PID i
  kill -KILL "$old" || fail "kill containerd $old"
  wait "$old" 2>/dev/null
  for ((i = 0; i < 100; i++)); do pid_alive "$old" || break; sleep 0.05; done
  pid_alive "$old" && fail "containerd $old survived SIGKILL"
}

# containerd_restart: after containerd_kill, the same containerd again (see above).
containerd_restart() {
  local mark i; mark="--- rtest restart $(date +%s%N) ---"
  echo "$mark" >>"$CTRD_LOG"
  _ctrd_launch append
  # Booted = the log line after our marker, then ctr answers (bounded: 15 s).
  for ((i = 0; i < 300; i++)); do
    pid_alive "$CTRD_PID" || fail "restarted containerd died: $(containerd_log_tail 20)"
    if sed -n "/^$mark\$/,\$p" "$CTRD_LOG" | grep -q "containerd successfully booted" &&
       cctr version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.05
  done
  fail "restarted containerd did not come up: $(containerd_log_tail 20)"
}

# ---------------------------------------------------------------- pty driver

# pty_run ROWS COLS [--then-resize R C --after TEXT [--until TEXT]] [--send TEXT --after TEXT] -- CMD...
# Runs CMD (an executable, not a shell function) with a new pty as its controlling terminal
# (stdin/stdout/stderr), sized ROWS x COLS before CMD starts. Prints everything read from
# the master. --after TEXT waits until TEXT appeared in the output before the preceding
# action (resize the pty: the kernel sends SIGWINCH to CMD; or write TEXT to it). Gives up
# after 30 s (exit 124). --until TEXT (with --then-resize): CMD may not handle SIGWINCH yet
# when the resize happens (ctr installs its handler only after the task started), so
# SIGWINCH is sent to CMD again every 0.1 s, for up to 5 s, until TEXT appears after the
# resize. Exits with CMD's exit status (128+signal if killed).
pty_run() {
  "$PY" -c '
import os, pty, sys, fcntl, termios, struct, select, time, signal
args = sys.argv[1:]
rows, cols = int(args[0]), int(args[1]); args = args[2:]
actions = []
winch_until = [None]
winch = None   # (text, deadline): re-send SIGWINCH until text appears
while args and args[0] != "--":
    a = args.pop(0)
    if a == "--then-resize":
        r, c = int(args.pop(0)), int(args.pop(0)); actions.append(["resize", (r, c), None])
    elif a == "--until":
        winch_until[0] = args.pop(0).encode()
    elif a == "--send":
        actions.append(["send", args.pop(0).encode(), None])
    elif a == "--after":
        actions[-1][2] = args.pop(0).encode()
    else:
        sys.exit("pty_run: bad option " + a)
cmd = args[1:]
def setsize(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
master, slave = pty.openpty()
setsize(slave, rows, cols)
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2): os.dup2(slave, fd)
    if slave > 2: os.close(slave)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(2, ("exec %s: %s\n" % (cmd[0], e)).encode()); os._exit(127)
os.close(slave)
out = b""
deadline = time.time() + 30
status = None
while time.time() < deadline:
    if actions:
        kind, arg, after = actions[0]
        if after is None or after in out:
            actions.pop(0)
            if kind == "resize":
                setsize(master, *arg)
                if winch_until[0] is not None:
                    winch = (winch_until[0], time.time() + 5, len(out))
            else: os.write(master, arg)
            continue
    if winch is not None:
        if winch[0] in out[winch[2]:] or time.time() > winch[1]:
            winch = None
        else:
            try: os.kill(pid, signal.SIGWINCH)
            except OSError: pass
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            b = os.read(master, 4096)
        except OSError:
            b = b""
        if not b:
            break
        out += b
    if status is None:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            status = st
            # drain what is left, then stop
            while True:
                r, _, _ = select.select([master], [], [], 0.2)
                if not r: break
                try: b = os.read(master, 4096)
                except OSError: b = b""
                if not b: break
                out += b
            break
sys.stdout.buffer.write(out); sys.stdout.flush()
while status is None:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
    elif time.time() > deadline:
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        sys.stderr.write("pty_run: timed out\n"); sys.exit(124)
    else:
        time.sleep(0.02)
if os.WIFEXITED(status): sys.exit(os.WEXITSTATUS(status))
sys.exit(128 + os.WTERMSIG(status))
' "$@"
}

# ctr_argv: the ctr command line cctr uses, for programs that cannot call shell functions
# (pty_run). Prints nothing; sets the array CTR_ARGV.
ctr_argv() {
  # shellcheck disable=SC2034  # CTR_ARGV is this function's result, used by the test files
  CTR_ARGV=("$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$CTRD_NS")
}

# strip_cr TEXT: removes carriage returns (pty output uses CRLF).
strip_cr() { printf '%s' "${1//$'\r'/}"; }

# events_start FILE: `ctr events` into FILE in the background (EVPID; killed by pid on exit),
# returning once it is subscribed (an event caused without the shim shows up).
events_start() {
  EVFILE=$1
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$CTRD_NS" events >"$EVFILE" 2>&1 &
  EVPID=$!
  trap 'kill "$EVPID" 2>/dev/null; containerd_stop; harness_cleanup' EXIT
  local i
  for ((i = 0; i < 50; i++)); do
    cctr namespaces label "$CTRD_NS" "probe=$RANDOM" >/dev/null 2>&1
    grep -q '/namespaces/update' "$EVFILE" && return 0
    sleep 0.1
  done
  fail "ctr events never subscribed: $(cat "$EVFILE")"
}
# events_wait_for REGEX [SECS=5]: bounded wait for a line matching REGEX.
events_wait_for() {
  local i
  for ((i = 0; i < ${2:-5} * 20; i++)); do
    grep -qE "$1" "$EVFILE" && return 0
    sleep 0.05
  done
  return 1
}
events_stop() { kill "$EVPID" 2>/dev/null; wait "$EVPID" 2>/dev/null; }
# event_topics FIELD VALUE: the /tasks/* topics, in order, of events whose JSON has
# "FIELD":"VALUE", space-separated.
event_topics() {
  grep "\"$1\":\"$2\"" "$EVFILE" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\/tasks\//) print $i }' | tr '\n' ' '
}
