# No exit is lost in an exec's launch either (docs/shim.md, "No exit is lost"): an exec's
# monitor killed after its workload was started and before it reported `ok PID` leaves
# the workload to the shim, which adopts it: Start answers with its pid, and Wait, the
# exec's TaskExit and `ctr task exec` carry its real exit status; the shim records the
# exit and the audit records in the monitor's stead. The monitor is held in that window
# by strace, which delays its rename of state.json (the last thing it does before
# reporting) until the test has killed it.
# containerd: matrix
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-helpers.sh"

# _launch_hold SHIM: strace follows the shim and its future children and delays every
# rename by 30 s; sets HOLD (strace's pid) once it is attached.
_launch_hold() {
  strace -f -qq -o /dev/null -e trace=rename -e inject=rename:delay_enter=30000000 -p "$1" &
  HOLD=$!
  trap 'kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null; containerd_stop; harness_cleanup' EXIT
  local i tracer
  for ((i = 0; i < 100; i++)); do
    tracer=$(awk '/^TracerPid:/ { print $2 }' "/proc/$1/status")
    [[ $tracer == "$HOLD" ]] && return 0
    sleep 0.05
  done
  fail "strace did not attach to the shim $1"
}

_launch_release() { kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null; }

# _launch_json FILE KEY: a number of a state.json (or its temp file).
_launch_json() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

test_adopt_exec_monitor_killed_before_ok_pid() {
  command -v strace >/dev/null || fail "strace is not installed (deploy/build.sh installs it)"
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-launch)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" el1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d el1 (stderr: $err)"
  wait_task_status el1 RUNNING || fail "el1 not RUNNING"
  local shim; shim=$(socket_owner "$(shim_addr el1)") || fail "no shim for el1"
  _launch_hold "$shim"

  # The exec's workload waits for a line on a FIFO, then exits 4.
  local fifo=$TEST_TMP/go
  mkfifo "$fifo"
  ( cctr task exec --exec-id l1 el1 sh -c "read x <$fifo; exit 4" >/dev/null 2>"$TEST_TMP/l1.err"
    echo $? >"$TEST_TMP/l1.rc" ) &
  local exec_ctr=$!
  # The monitor has exec'd the workload and written its state to the temp file; its rename
  # (then `ok PID`) is held.
  local tmp=$REAPER_ROOT/$CTRD_NS/el1/execs/l1/state.json.tmp i wpid="" mon=""
  for ((i = 0; i < 200; i++)); do
    wpid=$(_launch_json "$tmp" pid) && mon=$(_launch_json "$tmp" monitorPid) && break
    sleep 0.05
  done
  [[ -n $wpid && -n $mon ]] || { _launch_release; fail "the exec's monitor never reached its state.json (stderr: $(cat "$TEST_TMP/l1.err"))"; }
  assert_no_file "$REAPER_ROOT/$CTRD_NS/el1/execs/l1/state.json"
  [[ $(proc_comm "$mon") == reaper-monitor ]] || { _launch_release; fail "pid $mon is not the exec's monitor"; }
  kill -KILL "$mon"
  _launch_release
  # Its workload goes on as the shim's child, and `ctr task exec` waits for it.
  local st pp=""
  for ((i = 0; i < 100; i++)); do
    st=$(proc_stat "$wpid") || break
    read -r _ pp _ <<<"$st"
    [[ $pp == "$shim" ]] && break
    sleep 0.05
  done
  assert_eq "$shim" "$pp" "the exec's parent once its monitor is gone"
  sleep 0.3  # the shim has seen the report pipe close by now
  pid_alive "$exec_ctr" ||
    fail "ctr task exec returned when the monitor died before ok PID: rc $(cat "$TEST_TMP/l1.rc"), $(cat "$TEST_TMP/l1.err")"
  events_wait_for '/tasks/exec-started .*"exec_id":"l1"' || fail "no /tasks/exec-started for l1: $(cat "$EVFILE")"
  assert_contains "$(grep '/tasks/exec-started .*"exec_id":"l1"' "$EVFILE")" "\"pid\":$wpid" "TaskExecStarted's pid"

  echo go >"$fifo"
  wait "$exec_ctr"
  assert_eq 4 "$(cat "$TEST_TMP/l1.rc")" "ctr task exec's status (stderr: $(cat "$TEST_TMP/l1.err"))"
  events_wait_for '/tasks/exit .*"id":"l1"' || fail "no /tasks/exit for l1: $(cat "$EVFILE")"
  assert_contains "$(grep '/tasks/exit .*"id":"l1"' "$EVFILE")" '"exit_status":4' "TaskExit of the adopted exec"
  # Recorded in the monitor's stead: a start and an exit record in the audit trail.
  local recs=""
  for ((i = 0; i < 100; i++)); do
    recs=$(audit --json --container el1 | "$PY" -c '
import json, sys
print(" ".join("%s:%s" % (r["event"], r.get("exitStatus")) for r in map(json.loads, sys.stdin) if r["execId"] == "l1"))')
    [[ $recs == *exit* ]] && break
    sleep 0.05
  done
  assert_eq "start:None exit:4" "$recs" "l1's audit records"

  cctr task kill -s KILL el1
  wait_task_status el1 STOPPED || fail "el1 not STOPPED"
  capture cctr task delete el1
  assert_eq 0 "$rc" "task delete el1 (stderr: $err)"
  cctr container delete el1 >/dev/null || fail "container delete el1"
  events_stop
  assert_no_marked_alive "$mark" "after el1"
  wait_no_shim_pids || fail "shim processes left"
  local left; left=$(find "$REAPER_ROOT" -mindepth 2 -maxdepth 2 2>/dev/null)
  [[ -z $left ]] || fail "state left under $REAPER_ROOT: $left"
}
