# reaper-runtime as the runc binary of containerd's own runc shim (containerd-shim-runc-v2,
# runtime io.containerd.runc.v2 with --runc-binary), driven by ctr against a private
# containerd, once per containerd version (test/run). The runc shim of each version is the
# one beside its containerd (test/lib/containerd.sh). Containers get an empty --rootfs: reaper
# runs the host's programs, so a workload that runs at all proves it came from the host.
# What is checked is runc's contract with its caller: the pid in --pid-file is the shim's
# child and ends with the workload's status; exec'd processes the same; nothing is left.
# test-timeout: 180
# containerd: matrix
# shellcheck shell=bash disable=SC2154  # rc, out, err: set by capture (harness.sh)
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/engines.sh"

engine_up() {
  shim_up
  RUNC_ROOT=$TEST_TMP/runc-root
  mkdir -p "$RUNC_ROOT"
  MARK=$(engine_mark ctrd)
}

# erun [CTR-RUN-FLAGS...] ID CMD...: ctr run through the runc shim with reaper-runtime.
erun() {
  cctr run --fifo-dir "$CTRD_FIFO" --runtime io.containerd.runc.v2 \
    --runc-binary "$(engine_runtime)" --runc-root "$RUNC_ROOT" \
    --env "PATH=$CTRD_DEFAULT_PATH" --env "REAPER_TEST_MARK=$MARK" "$@"
}

# erun_rootfs FLAGS... ID CMD...: erun with the empty rootfs (flags before the positionals).
erun_rootfs() {
  local -a flags=()
  while [[ $# -gt 0 && $1 == -* ]]; do flags+=("$1"); shift; done
  erun "${flags[@]}" --rootfs "$ROOTFS" "$@"
}

# The task's pid (the stand-in the shim waits for) and the state reaper-runtime reports.
rt_state() { "$REAPER" reaper-runtime --root "$RUNC_ROOT/$CTRD_NS" state "$1"; }

wait_ctr_exit() {  # wait_ctr_exit PID WHAT: bounded wait for a background ctr to return
  local i
  for ((i = 0; i < 200; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  kill "$1"; fail "$2: ctr did not return within 10 s; log: $(containerd_log_tail 15)"
}

assert_nothing_left_behind() {
  engine_gone "$MARK" "workloads after delete"
  wait_no_shim_pids || fail "processes of the runc shim, stand-ins or monitors left"
  local left
  left=$(ls -A "$RUNC_ROOT/$CTRD_NS" 2>/dev/null)
  [[ -z $left ]] || fail "reaper-runtime state left: $left"
}

test_runc_shim_run_reports_output_and_exit_codes() {
  engine_up
  capture erun_rootfs --rm c-echo /bin/echo hello
  assert_eq 0 "$rc" "ctr run echo (stderr: $err; log: $(containerd_log_tail 15))"
  assert_eq hello "$out" "output of echo"
  capture erun_rootfs --rm c-exit7 /bin/sh -c 'echo before; exit 7'
  assert_eq 7 "$rc" "exit 7 (stderr: $err)"
  assert_eq before "$out" "output before exit 7"
  capture erun_rootfs --rm c-term /bin/sh -c 'kill -TERM $$'
  assert_eq 143 "$rc" "a workload killed by SIGTERM (stderr: $err)"
  assert_nothing_left_behind
}

test_runc_shim_kill_sigkill_gives_137() {
  engine_up
  erun_rootfs c-kill /bin/sleep 1000 >"$TEST_TMP/kill.out" 2>"$TEST_TMP/kill.err" &
  local ctrpid=$!
  wait_task_status c-kill RUNNING 10 || fail "c-kill never RUNNING: $(cat "$TEST_TMP/kill.err")"
  local pid; pid=$(task_pid c-kill)
  # The task's pid is what reaper-runtime's state reports, and the shim's own child.
  assert_eq "$pid" "$(rt_state c-kill | json_field pid)" "state pid vs ctr's task pid"
  local ppid; ppid=$(proc_stat "$pid" | cut -d' ' -f2)
  assert_contains "$(proc_cmdline "$ppid")" containerd-shim-runc-v2 "the parent of the task pid"
  capture cctr task kill -s KILL c-kill
  assert_eq 0 "$rc" "ctr task kill (stderr: $err)"
  wait_ctr_exit "$ctrpid" "after SIGKILL"
  wait "$ctrpid"
  assert_eq 137 "$?" "ctr run's status after SIGKILL (stderr: $(cat "$TEST_TMP/kill.err"))"
  cctr container delete c-kill || fail "container delete"
  assert_nothing_left_behind
}

test_runc_shim_exec_ps_and_delete() {
  engine_up
  capture erun_rootfs -d c-exec /bin/sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status c-exec RUNNING 10 || fail "c-exec not RUNNING"
  capture cctr task exec --fifo-dir "$CTRD_FIFO" --exec-id e1 c-exec /bin/sh -c 'echo from-exec; exit 3'
  assert_eq 3 "$rc" "exec's exit code (stderr: $err; log: $(containerd_log_tail 15))"
  assert_eq from-exec "$out" "exec's output"
  # A detached exec is listed by `ctr task ps` under its exec id, SIGKILL ends it with 137.
  capture cctr task exec --fifo-dir "$CTRD_FIFO" -d --exec-id e2 c-exec /bin/sleep 999
  assert_eq 0 "$rc" "exec -d (stderr: $err)"
  capture cctr task ps c-exec
  assert_eq 0 "$rc" "ctr task ps (stderr: $err)"
  assert_contains "$out" "$(task_pid c-exec)" "ctr task ps lists the task pid"
  # 1.6 prints ExecID:e2, later versions exec_id:"e2"
  [[ $out =~ ExecID:e2|exec_id:\"e2\" ]] || fail "ctr task ps does not name the exec e2: $out"
  local sleeper
  sleeper=$(marked_pids "$MARK" | while read -r p; do [[ $(proc_cmdline "$p") == "/bin/sleep 999" ]] && echo "$p"; done)
  [[ -n $sleeper ]] || fail "the exec'd sleep is not running"
  assert_contains "$out" "$sleeper" "ctr task ps lists the exec'd process"
  capture cctr task kill --exec-id e2 -s KILL c-exec
  assert_eq 0 "$rc" "kill the exec (stderr: $err)"
  local i
  for ((i = 0; i < 100; i++)); do pid_alive "$sleeper" || break; sleep 0.05; done
  pid_alive "$sleeper" && fail "SIGKILL to the exec's pid did not end the exec'd process"
  # The task itself: SIGTERM reaches the workload, delete reports 143, nothing stays.
  capture cctr task kill c-exec
  assert_eq 0 "$rc" "ctr task kill (stderr: $err)"
  wait_task_status c-exec STOPPED 10 || fail "c-exec not STOPPED after SIGTERM"
  capture cctr task delete c-exec
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  assert_contains "$err" "143" "exit code reported by delete"
  cctr container delete c-exec || fail "container delete"
  assert_nothing_left_behind
}

# A daemon that escaped the workload (double fork + setsid) dies when the task is deleted,
# and what the workload wrote to /etc stays in the overlay.
test_runc_shim_delete_kills_escaped_daemons_and_overlay_holds() {
  engine_up
  local probe=/etc/reaper-engine-ctrd-$$
  capture erun_rootfs --rm c-daemon /bin/sh -c \
    "setsid sh -c 'sleep 1000 & exit 0' </dev/null >/dev/null 2>&1; echo written >$probe; cat $probe"
  assert_eq 0 "$rc" "ctr run (stderr: $err; log: $(containerd_log_tail 15))"
  assert_eq written "$out" "the workload reads its own write"
  assert_no_file "$probe"
  assert_nothing_left_behind
}

# A terminal exec: the runc shim sends --console-socket with --process; the PTY master
# reaches ctr, input and the exit code come back through the stand-in.
test_runc_shim_exec_with_a_terminal() {
  engine_up
  capture erun_rootfs -d c-tty /bin/sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  wait_task_status c-tty RUNNING 10 || fail "c-tty not RUNNING"
  ctr_argv
  capture pty_run 25 90 --send $'typed\r' --after 'PROMPT>' -- "${CTR_ARGV[@]}" task exec -t \
    --fifo-dir "$CTRD_FIFO" --exec-id t1 c-tty sh -c 'tty; printf "PROMPT>"; read l; echo "got=$l"; exit 6'
  out=$(strip_cr "$out")
  assert_eq 6 "$rc" "exec -t exit status (output: $out; stderr: $err)"
  [[ $out =~ /dev/pts/[0-9]+ ]] || fail "tty in exec -t did not print /dev/pts/N: $out"
  assert_contains "$out" "got=typed" "input to exec -t"
  cctr task kill -s KILL c-tty
  wait_task_status c-tty STOPPED 10 || fail "c-tty not STOPPED"
  cctr task delete c-tty >/dev/null 2>&1
  cctr container delete c-tty || fail "container delete"
  assert_nothing_left_behind
}

# pause and resume without a freezer: the workload is stopped (T) and continued; state says so.
test_runc_shim_pause_and_resume() {
  engine_up
  capture erun_rootfs -d c-pause /bin/sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  wait_task_status c-pause RUNNING 10 || fail "c-pause not RUNNING"
  local sleeper
  sleeper=$(marked_pids "$MARK")
  [[ $sleeper =~ ^[0-9]+$ ]] || fail "expected one marked process, got: $sleeper"
  capture cctr task pause c-pause
  assert_eq 0 "$rc" "task pause (stderr: $err)"
  wait_task_status c-pause PAUSED 10 || fail "c-pause not PAUSED"
  assert_eq T "$(proc_stat "$sleeper" | cut -d' ' -f1)" "state of the paused workload"
  assert_eq paused "$(rt_state c-pause | json_field status)" "reaper-runtime state"
  capture cctr task resume c-pause
  assert_eq 0 "$rc" "task resume (stderr: $err)"
  wait_task_status c-pause RUNNING 10 || fail "c-pause not RUNNING after resume"
  assert_ne T "$(proc_stat "$sleeper" | cut -d' ' -f1)" "state after resume"
  assert_eq running "$(rt_state c-pause | json_field status)" "reaper-runtime state after resume"
  cctr task kill -s KILL c-pause
  wait_task_status c-pause STOPPED 10 || fail "c-pause not STOPPED"
  cctr task delete c-pause >/dev/null 2>&1
  cctr container delete c-pause || fail "container delete"
  assert_nothing_left_behind
}
