# binary:// logging (containerd's logging-plugin contract; docs/shim.md "Logging binaries"):
# `ctr run --log-uri binary:///path/to/logger?k=v` makes the shim start the logger with the
# process's stdout and stderr as its fds 3 and 4, a readiness pipe as fd 5, CONTAINER_ID
# and CONTAINER_NAMESPACE as its environment, each query pair as two arguments. The test
# logger below does what its `mode` argument says and records what it was given.
# test-timeout: 180
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

SHIM="$BUILD/containerd-shim-reaper-v2"
tt() { "$PY" "$TOP/test/lib/ttrpc_task.py" "$@"; }

# Writes the test logger to $LOGGER; what it records goes to $LOGS/<what>.<CONTAINER_ID>.
# Modes: copy (fd 3 and fd 4 to files, ready, exits once both reach EOF, ignores SIGTERM
# so that its files are complete whenever it is stopped), die (ready, then exits at once
# without reading), never (never signals readiness), close (closes fd 5 without a byte),
# stubborn (ready, ignores SIGTERM, never exits by itself).
# Its environment is only the two variables, so every program is named by its full path.
_logger() {
  LOGS=$TEST_TMP/logs LOGGER=$TEST_TMP/test-logger
  mkdir -p "$LOGS"
  cat >"$LOGGER" <<EOF
#!/bin/sh
d=$LOGS
EOF
  cat >>"$LOGGER" <<'EOF'
id=$CONTAINER_ID
/usr/bin/env >"$d/env.$id"
echo "$*" >"$d/args.$id"
echo $$ >"$d/pid.$id"
mode=copy
while [ $# -ge 2 ]; do [ "$1" = mode ] && mode=$2; shift 2; done
case $mode in
  never) exec /bin/sleep 1000 ;;
  close) exec 5>&-; exit 0 ;;
  die) printf R >&5; exit 0 ;;
  stubborn) trap '' TERM; printf R >&5; exec /bin/sleep 1000 ;;
esac
trap '' TERM
/bin/cat <&3 >"$d/out.$id" &
/bin/cat <&4 >"$d/err.$id" &
exec 3<&- 4<&-
printf R >&5
exec 5>&-
wait
echo done >"$d/done.$id"
EOF
  chmod +x "$LOGGER"
}

# _no_logger_left ID: the logger recorded for ID has ended.
_no_logger_left() {
  local pid; pid=$(<"$LOGS/pid.$1") || fail "the logger of $1 did not run"
  pid_alive "$pid" && fail "the logger of $1 ($pid) is still running: $(describe_pids "$pid")"
  return 0
}

test_binlog_output_env_and_args_reach_the_logger() {
  shim_up
  _logger
  capture bounded 60 rrun --rm --log-uri "binary://$LOGGER?mode=copy&tag=a%20b" bl1 \
    sh -c 'echo to-out; echo to-err >&2; exit 3'
  assert_eq 3 "$rc" "ctr run status (stderr: $err; log: $(containerd_log_tail 15))"
  assert_eq "" "$out" "ctr's own output (the logger takes it)"
  # Delete answered only once the logger had ended: its files are complete.
  _no_logger_left bl1
  assert_eq "done" "$(cat "$LOGS/done.bl1" 2>/dev/null)" "the logger saw EOF on fds 3 and 4"
  assert_eq to-out "$(<"$LOGS/out.bl1")" "stdout through fd 3"
  assert_eq to-err "$(<"$LOGS/err.bl1")" "stderr through fd 4"
  local env; env=$(<"$LOGS/env.bl1")
  assert_contains "$env" "CONTAINER_ID=bl1"
  assert_contains "$env" "CONTAINER_NAMESPACE=$CTRD_NS"
  assert_not_contains "$env" "RTEST_CTRD=" "the logger's environment (only the contract's variables)"
  # Each key, then its first value; the order of the pairs is not part of the contract.
  local args; args=$(<"$LOGS/args.bl1")
  [[ $args == "mode copy tag a b" || $args == "tag a b mode copy" ]] || fail "logger arguments: '$args'"
  wait_no_shim_pids || fail "the shim left processes behind"
}

test_binlog_exec_gets_its_own_logger() {
  shim_up
  _logger
  capture rrun -d --log-uri "binary://$LOGGER" bx sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  wait_task_status bx RUNNING || fail "bx not RUNNING"
  capture bounded 60 cctr task exec --exec-id ex1 --log-uri "binary://$LOGGER" bx sh -c 'echo exec-out; exit 5'
  assert_eq 5 "$rc" "exec status (stderr: $err)"
  # The exec's logger is told the exec id; ctr deleted the exec, so it has ended.
  _no_logger_left ex1
  assert_eq exec-out "$(<"$LOGS/out.ex1")" "exec's stdout through its logger"
  assert_contains "$(<"$LOGS/env.ex1")" "CONTAINER_ID=ex1"
  pid_alive "$(<"$LOGS/pid.bx")" || fail "the container's logger ended with the exec's"
  cctr task kill -s KILL bx >/dev/null; wait_task_status bx STOPPED || fail "bx not stopped"
  cctr task delete bx >/dev/null || fail "task delete"
  _no_logger_left bx
  cctr container delete bx >/dev/null
  wait_no_shim_pids || fail "the shim left processes behind"
}

# The logger is gone after its readiness: 1 MB written to its pipe neither kills the
# workload (SIGPIPE/EPIPE) nor blocks it on a full pipe; its real status comes back.
test_binlog_dead_logger_does_not_stall_the_workload() {
  shim_up
  _logger
  capture bounded 60 rrun --rm --log-uri "binary://$LOGGER?mode=die" bd1 \
    sh -c 'head -c 1000000 /dev/zero || exit 9; echo still-here >&2 || exit 8; exit 7'
  assert_eq 7 "$rc" "ctr run status (stderr: $err; log: $(containerd_log_tail 15))"
  _no_logger_left bd1
  wait_no_shim_pids || fail "the shim left processes behind"
}

# A logger that ignores SIGTERM is killed 12 s after it (runc's limit); Delete answers
# only then, so nothing of it is left when ctr returns.
test_binlog_stubborn_logger_is_killed_at_delete() {
  shim_up
  _logger
  local t0=$SECONDS
  capture bounded 60 rrun --rm --log-uri "binary://$LOGGER?mode=stubborn" bs1 echo hi
  assert_eq 0 "$rc" "ctr run status (stderr: $err)"
  local took=$((SECONDS - t0))
  ((took >= 11)) || fail "Delete answered after $took s, before the logger's SIGKILL"
  _no_logger_left bs1
  wait_no_shim_pids || fail "the shim left processes behind"
}

# A logger that never signals readiness: Create fails with a clear error after the shim's
# limit (10 s), the logger is killed, nothing is left, and the next run works. The wait is
# on the shim's loop: meanwhile the shim serves another container of its group at once.
test_binlog_logger_never_ready_fails_cleanly() {
  shim_up
  _logger
  local g="io.containerd.reaper.v2.group=bn-$$"
  capture rrun -d --annotation "$g" keep sleep 1000
  assert_eq 0 "$rc" "keeper (stderr: $err)"
  wait_task_status keep RUNNING || fail "keeper not RUNNING"
  bounded 60 rrun --rm --annotation "$g" --log-uri "binary://$LOGGER?mode=never" bn1 echo never-printed \
    >"$TEST_TMP/bn1.out" 2>"$TEST_TMP/bn1.err" &
  local runner=$!
  wait_file "$LOGS/pid.bn1" 10 || fail "the logger of bn1 did not start"
  local t0; t0=$(date +%s%N)
  capture bounded 10 cctr task exec --exec-id e1 keep echo served
  local ms=$((($(date +%s%N) - t0) / 1000000))
  assert_eq served "$out" "exec into the keeper while bn1 waits for its logger (rc $rc, stderr: $err)"
  ((ms < 3000)) || fail "the exec took $ms ms while bn1 waited for its logger"
  pid_alive "$(<"$LOGS/pid.bn1")" || fail "bn1's logger ended before the limit"
  wait "$runner"; rc=$?
  assert_ne 0 "$rc" "ctr run with a logger that is never ready"
  assert_contains "$(<"$TEST_TMP/bn1.err")" "did not signal readiness on fd 5 within 10 s"
  _no_logger_left bn1
  cctr container delete bn1 >/dev/null 2>&1
  capture cctr task ls -q
  assert_eq keep "$out" "tasks left"
  capture bounded 60 rrun --rm --annotation "$g" --log-uri "binary://$LOGGER" bn2 echo after
  assert_eq 0 "$rc" "the next run (stderr: $err)"
  assert_eq after "$(<"$LOGS/out.bn2")"
  cctr task kill -s KILL keep >/dev/null; wait_task_status keep STOPPED || fail "keeper not stopped"
  cctr task delete keep >/dev/null
  cctr container delete keep >/dev/null
  wait_no_shim_pids || fail "the shim left processes behind"
}

# binary-v2:// (containerd 2.2) needs a byte on fd 5: a logger that only closes it is not
# ready, and says so at once; a missing logger program is refused at once too.
test_binlog_v2_close_and_missing_program_are_refused() {
  shim_up
  _logger
  capture bounded 60 rrun --rm --log-uri "binary-v2://$LOGGER?mode=close" bv1 echo never-printed
  assert_ne 0 "$rc" "binary-v2 logger that closed fd 5"
  assert_contains "$err" "closed fd 5 before signalling readiness"
  cctr container delete bv1 >/dev/null 2>&1
  capture bounded 60 rrun --rm --log-uri "binary://$TEST_TMP/no-such-logger" bv2 echo never-printed
  assert_ne 0 "$rc" "missing logger program"
  assert_contains "$err" "start logging binary $TEST_TMP/no-such-logger"
  cctr container delete bv2 >/dev/null 2>&1
  wait_no_shim_pids || fail "the shim left processes behind"
}

# One shim serves a group: every kind of logger run above leaves its fd count and its
# children as they were.
test_binlog_leaves_no_fd_or_process_in_a_shared_shim() {
  shim_up
  _logger
  local g="io.containerd.reaper.v2.group=bl-$$"
  capture rrun -d --annotation "$g" keep sleep 1000
  assert_eq 0 "$rc" "keeper (stderr: $err)"
  wait_task_status keep RUNNING || fail "keeper not RUNNING"
  local shim; shim=$(socket_owner "$(shim_addr keep)") || fail "no shim for the keeper"
  local before; before=$(find "/proc/$shim/fd" -mindepth 1 | wc -l)
  local kids; kids=$(pgrep -P "$shim" | sort)
  capture bounded 60 rrun --rm --annotation "$g" --log-uri "binary://$LOGGER" f1 echo one
  assert_eq 0 "$rc" "copy logger run (stderr: $err)"
  capture bounded 60 rrun --rm --annotation "$g" --log-uri "binary://$LOGGER?mode=die" f2 echo two
  assert_eq 0 "$rc" "dying logger run (stderr: $err)"
  capture bounded 60 rrun --rm --annotation "$g" --log-uri "binary-v2://$LOGGER?mode=close" f3 echo three
  assert_ne 0 "$rc" "refused logger run"
  cctr container delete f3 >/dev/null 2>&1
  assert_eq "$(socket_owner "$(shim_addr keep)")" "$shim" "the group's shim"
  assert_eq one "$(<"$LOGS/out.f1")"
  local after; after=$(find "/proc/$shim/fd" -mindepth 1 | wc -l)
  assert_eq "$before" "$after" "shim fds (now: $(find "/proc/$shim/fd" -mindepth 1 -printf '%f -> %l\n'))"
  assert_eq "$kids" "$(pgrep -P "$shim" | sort)" "the shim's children"
  for id in f1 f2 f3; do _no_logger_left "$id"; done
  cctr task kill -s KILL keep >/dev/null; wait_task_status keep STOPPED || fail "keeper not stopped"
  cctr task delete keep >/dev/null
  cctr container delete keep >/dev/null
  wait_no_shim_pids || fail "the shim left processes behind"
}

# With a terminal (ctr gives no terminal together with a log URI, so the shim is driven by
# hand as containerd would drive it): the PTY's output goes to the logger's fd 3, and its
# fd 4 ends at once.
test_binlog_terminal_output_reaches_the_logger() {
  _logger
  local bundle=$TEST_TMP/bundle addr sock daemon
  mkdir -p "$bundle"
  "$PY" - "$bundle/config.json" <<'PYEOF'
import json, sys
json.dump({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
           "process": {"terminal": True, "args": ["/bin/sh", "-c", "echo on-tty; tty; exit 4"],
                       "cwd": "/", "env": ["PATH=/usr/bin:/bin"]}}, open(sys.argv[1], "w"))
PYEOF
  export REAPER_ROOT=$TEST_TMP/reaper-root
  addr=$(cd "$bundle" && "$SHIM" -namespace rtest-bl -address /nonexistent.sock \
    -publish-binary /bin/true -id t1 start </dev/null 2>&1) || fail "start: $addr"
  sock=${addr#unix://}
  daemon=$(socket_owner "$sock") || fail "no daemon holds $sock"
  trap 'kill -KILL '"$daemon"' 2>/dev/null; rm -f '"$sock"'; harness_cleanup' EXIT
  tt "$sock" create t1 "$bundle" "binary://$LOGGER" terminal >/dev/null || fail "Create"
  tt "$sock" start t1 >/dev/null || fail "Start"
  assert_eq 4 "$(bounded 20 tt "$sock" wait t1)" "exit status"
  tt "$sock" delete t1 >/dev/null || fail "Delete"
  _no_logger_left t1
  local out; out=$(tr -d '\r' <"$LOGS/out.t1")
  assert_contains "$out" "on-tty" "the logger's fd 3"
  assert_contains "$out" "/dev/pts/" "the logger's fd 3"
  assert_eq "" "$(<"$LOGS/err.t1")" "the logger's fd 4"
  assert_eq "done" "$(cat "$LOGS/done.t1" 2>/dev/null)" "the logger saw EOF on fds 3 and 4"
  assert_contains "$(<"$LOGS/env.t1")" "CONTAINER_NAMESPACE=rtest-bl"
}

# file:///path, containerd's other log URI, was supported before logging binaries: both
# streams appended to one file, its directory created. (A regression test: it passed before
# binary:// was built.)
test_file_log_uri_appends_both_streams() {
  shim_up
  local f=$TEST_TMP/new-dir/ctr.log
  capture bounded 60 rrun --rm --log-uri "file://$f" fl1 sh -c 'echo first-out; echo first-err >&2'
  assert_eq 0 "$rc" "ctr run (stderr: $err)"
  capture bounded 60 rrun --rm --log-uri "file://$f" fl2 sh -c 'echo second-out'
  assert_eq 0 "$rc" "ctr run (stderr: $err)"
  assert_eq "first-out first-err second-out" "$(tr '\n' ' ' <"$f" | sed 's/ $//')" "the log file"
  wait_no_shim_pids || fail "the shim left processes behind"
}
