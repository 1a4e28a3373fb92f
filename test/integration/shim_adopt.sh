# No exit is lost (docs/shim.md, "No exit is lost"): a monitor killed with SIGKILL leaves
# its workload to the shim, a child subreaper, which reports the workload's real exit
# status and time (Wait, TaskExit, TaskDelete), records it in the state directory and in
# the audit trail, and lets Kill reach it. Monitors are killed at each phase: before Start
# (the workload held before exec), while the workload runs, and between the workload's
# exit and its report (the monitor stopped, then killed); for a container's init and for
# an exec. Driven by ctr against a private containerd; the held-before-Start case adds a
# container to a running pod's shim by hand (test/lib/ttrpc_task.py), since ctr always
# starts what it creates.
# containerd: matrix
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-helpers.sh"

tt() { "$PY" "$TOP/test/lib/ttrpc_task.py" "$@"; }

# monitor_of PID: the reaper-monitor that is PID's parent.
monitor_of() {
  local st pp
  st=$(proc_stat "$1") || return 1
  read -r _ pp _ <<<"$st"
  [[ $(proc_comm "$pp") == reaper-monitor ]] || return 1
  echo "$pp"
}

# wait_gone PID: bounded wait until PID is no live process (a zombie counts as gone).
wait_gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    pid_alive "$1" || return 0
    sleep 0.05
  done
  return 1
}

# wait_zombie PID: bounded wait until PID has exited and nobody has reaped it.
wait_zombie() {
  local i st
  for ((i = 0; i < 100; i++)); do
    st=$(proc_stat "$1") || return 1
    [[ ${st%% *} == Z ]] && return 0
    sleep 0.05
  done
  return 1
}

# now_s: the wall clock, seconds with nanoseconds.
now_s() { date +%s.%N; }

# exit_event ID: the /tasks/exit line of process ID (a container id or an exec id).
exit_event() { grep "/tasks/exit .*\"id\":\"$1\"" "$EVFILE"; }

# exited_at LINE: the exited_at of an event line, in seconds since the epoch.
exited_at() {
  "$PY" - "$1" <<'PY'
import datetime, json, sys
line = sys.argv[1]
ev = json.loads(line[line.index("{"):])
t = ev["exited_at"]
if isinstance(t, dict):
    print("%d.%09d" % (int(t.get("seconds", 0)), int(t.get("nanos", 0))))
else:  # RFC 3339, nanoseconds
    head, _, frac = t.rstrip("Z").partition(".")
    secs = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
    print("%d.%s" % (secs, (frac + "000000000")[:9]))
PY
}

# assert_between LOW X HIGH WHAT: LOW <= X <= HIGH (decimal seconds).
assert_between() {
  awk -v l="$1" -v x="$2" -v h="$3" 'BEGIN { exit !(l <= x && x <= h) }' ||
    fail "$4: $2 is not within [$1, $3]"
}

# The waiting workload: it exits with STATUS once a line is written to the FIFO.
_adopt_fifo() { ADOPT_FIFO=$TEST_TMP/go-$1; mkfifo "$ADOPT_FIFO"; }
_adopt_script() { echo "read x <$ADOPT_FIFO; exit $1"; }
# The same with a child of its own left behind when it exits.
_adopt_script_with_child() { echo "sleep 1000 & read x <$ADOPT_FIFO; exit $1"; }

# Nothing of the test is left: no marked process, no shim, no state directory.
_adopt_all_gone() {
  assert_no_marked_alive "$1" "$2"
  wait_no_shim_pids || fail "$2: shim processes left"
  local left
  left=$(find "$REAPER_ROOT" -mindepth 2 -maxdepth 2 2>/dev/null)
  [[ -z $left ]] || fail "$2: state left under $REAPER_ROOT: $left"
}

_adopt_delete() {  # _adopt_delete ID: the stopped task and its container
  capture cctr task delete "$1"
  assert_eq 0 "$rc" "task delete $1 (stderr: $err)"
  capture cctr container delete "$1"
  assert_eq 0 "$rc" "container delete $1 (stderr: $err)"
}

# Starts init ID running the waiting workload; sets WPID (the workload) and MON (its monitor).
_adopt_run() {  # _adopt_run ID MARK STATUS [SCRIPT-FUNCTION]
  _adopt_fifo "$1"
  capture rrun -d --env "REAPER_TEST_MARK=$2" "$1" sh -c "$("${4:-_adopt_script}" "$3")"
  assert_eq 0 "$rc" "ctr run -d $1 (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status "$1" RUNNING || fail "$1 not RUNNING"
  WPID=$(task_pid "$1")
  MON=$(monitor_of "$WPID") || fail "no reaper-monitor above $1's pid $WPID"
}

# The exit record of the adopted process, written by the shim in its monitor's stead.
_adopt_audit_exit() {  # _adopt_audit_exit CONTAINER EXEC-ID ("" for the init) STATUS
  local i rec=""
  for ((i = 0; i < 100; i++)); do
    rec=$(audit --json --container "$1" | "$PY" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["event"] == "exit" and r["execId"] == (sys.argv[1] or None):
        print(line.strip())' "$2")
    [[ -n $rec ]] && break
    sleep 0.05
  done
  [[ -n $rec ]] || fail "no audit exit record of $1 ${2:-init}: $(audit --json --container "$1")"
  check_record "$rec" "r['exitStatus'] == $3" "r['signal'] is None" "r['durationNs'] > 0"
}

test_adopt_init_monitor_killed_while_running() {
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-run)
  _adopt_run ar1 "$mark" 7 _adopt_script_with_child
  wait_marked_count "$mark" sleep 1
  kill -KILL "$MON"
  wait_gone "$MON" || fail "monitor $MON survived SIGKILL"
  # The workload goes on, now the shim's child, and its task with it.
  local shim; shim=$(socket_owner "$(shim_addr ar1)") || fail "no shim for ar1"
  local i st pp
  for ((i = 0; i < 100; i++)); do
    st=$(proc_stat "$WPID") || break
    read -r _ pp _ <<<"$st"
    [[ $pp == "$shim" ]] && break
    sleep 0.05
  done
  assert_eq "$shim" "$pp" "the workload's parent once its monitor is gone"
  sleep 0.3  # the shim has seen its monitor's report pipe close by now
  assert_eq RUNNING "$(task_status ar1)" "ar1 once its monitor is gone"
  local t0; t0=$(now_s)
  echo go >"$ADOPT_FIFO"
  wait_task_status ar1 STOPPED || fail "ar1 not STOPPED after its workload exited"
  local t1; t1=$(now_s)
  events_wait_for '/tasks/exit .*"id":"ar1"' || fail "no /tasks/exit for ar1: $(cat "$EVFILE")"
  local ev; ev=$(exit_event ar1)
  assert_contains "$ev" '"exit_status":7' "TaskExit of the adopted workload"
  assert_between "$t0" "$(exited_at "$ev")" "$t1" "exited_at of ar1"
  # What it left behind went with it, as it goes with any init's exit.
  assert_no_marked_alive "$mark" "ar1's child once ar1 exited"
  _adopt_audit_exit ar1 "" 7
  _adopt_delete ar1
  events_stop
  _adopt_all_gone "$mark" "after ar1"
}

test_adopt_init_kill_reaches_the_adopted_workload() {
  shim_up
  local mark; mark=$(new_mark adopt-kill)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ak1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d ak1 (stderr: $err)"
  wait_task_status ak1 RUNNING || fail "ak1 not RUNNING"
  local pid mon; pid=$(task_pid ak1)
  mon=$(monitor_of "$pid") || fail "no monitor above $pid"
  kill -KILL "$mon"
  wait_gone "$mon" || fail "monitor survived SIGKILL"
  sleep 0.3
  capture cctr task kill -s TERM ak1
  assert_eq 0 "$rc" "ctr task kill TERM of the adopted workload (stderr: $err)"
  wait_task_status ak1 STOPPED || fail "ak1 not STOPPED after SIGTERM"
  capture cctr task delete ak1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  assert_contains "$err$out" "143" "task delete's report of the exit code"
  cctr container delete ak1 >/dev/null || fail "container delete"
  _adopt_all_gone "$mark" "after ak1"
}

test_adopt_init_monitor_killed_during_exit_report() {
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-report)
  _adopt_run ae1 "$mark" 9
  # Stopped, the monitor cannot see the exit: the workload stays an unreaped zombie, its
  # exit neither recorded nor reported, until the monitor is killed a second later.
  kill -STOP "$MON"
  local t0; t0=$(now_s)
  echo go >"$ADOPT_FIFO"
  wait_zombie "$WPID" || fail "the workload did not exit"
  local t1; t1=$(now_s)
  sleep 1
  assert_eq RUNNING "$(task_status ae1)" "ae1 while its monitor is stopped"
  local tk; tk=$(now_s)
  kill -KILL "$MON"
  wait_task_status ae1 STOPPED || fail "ae1 not STOPPED once its monitor was killed"
  events_wait_for '/tasks/exit .*"id":"ae1"' || fail "no /tasks/exit for ae1: $(cat "$EVFILE")"
  local ev; ev=$(exit_event ae1)
  assert_contains "$ev" '"exit_status":9' "TaskExit of the adopted workload"
  # The time of the exit, not of its adoption a second later.
  assert_between "$t0" "$(exited_at "$ev")" "$t1" "exited_at of ae1 (monitor killed at $tk)"
  _adopt_audit_exit ae1 "" 9
  _adopt_delete ae1
  events_stop
  _adopt_all_gone "$mark" "after ae1"
}

test_adopt_init_monitor_killed_before_start() {
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-created) g="io.containerd.reaper.v2.group=adopt-$$"
  # A pod's shim, serving its first container through containerd.
  capture rrun -d --env "REAPER_TEST_MARK=$mark" --annotation "$g" ac0 sleep 1000
  assert_eq 0 "$rc" "ctr run -d ac0 (stderr: $err)"
  wait_task_status ac0 RUNNING || fail "ac0 not RUNNING"
  local sock; sock=$(shim_addr ac0) || fail "no address file for ac0"
  # A second container of the pod, created and not started: its workload is held before
  # exec by its monitor.
  local bundle=$TEST_TMP/bundle-ac1 ran=$TEST_TMP/ac1-ran
  mkdir -p "$bundle"
  "$PY" - "$bundle/config.json" "echo ran >$ran" "$mark" "$g" <<'PY'
import json, sys
k, v = sys.argv[4].split("=", 1)
json.dump({"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "annotations": {k: v},
           "process": {"args": ["/bin/sh", "-c", sys.argv[2]], "cwd": "/",
                       "env": ["PATH=/usr/bin:/bin", "REAPER_TEST_MARK=" + sys.argv[3]]}},
          open(sys.argv[1], "w"))
PY
  local pid mon
  pid=$(tt "$sock" create ac1 "$bundle") || fail "Create ac1"
  mon=$(monitor_of "$pid") || fail "no monitor above ac1's pid $pid"
  kill -KILL "$mon"
  # Its workload never ran: its exit is reported as a kill before Start, and Start fails
  # saying why.
  capture tt "$sock" wait ac1
  assert_eq 0 "$rc" "Wait ac1 (stderr: $err)"
  assert_eq 137 "$out" "ac1's exit status in Wait"
  capture tt "$sock" start ac1
  assert_ne 0 "$rc" "Start of ac1 after its monitor was killed"
  assert_contains "$err" "never ran" "Start's error"
  assert_no_file "$ran"
  events_wait_for '/tasks/exit .*"id":"ac1"' || fail "no /tasks/exit for ac1: $(cat "$EVFILE")"
  assert_contains "$(exit_event ac1)" '"exit_status":137' "TaskExit of ac1"
  capture tt "$sock" delete ac1
  assert_eq 0 "$rc" "Delete ac1 (stderr: $err)"
  assert_eq "$pid 137" "$out" "Delete's pid and status"
  assert_eq 0 "$(audit --json --container ac1 | wc -l)" "audit records of ac1, which never ran"
  cctr task kill -s KILL ac0
  wait_task_status ac0 STOPPED || fail "ac0 not STOPPED"
  _adopt_delete ac0
  events_stop
  _adopt_all_gone "$mark" "after ac0 and ac1"
}

# _adopt_exec ID EXEC-ID STATUS: a foreground `ctr task exec` of the waiting workload in
# the background (EXEC_CTR, its status in $TEST_TMP/EXEC-ID.rc); sets EPID and EMON.
_adopt_exec() {
  _adopt_fifo "$2"
  ( cctr task exec --exec-id "$2" "$1" sh -c "$(_adopt_script "$3")" >/dev/null 2>"$TEST_TMP/$2.err"
    echo $? >"$TEST_TMP/$2.rc" ) &
  EXEC_CTR=$!
  local state=$REAPER_ROOT/$CTRD_NS/$1/execs/$2/state.json i
  for ((i = 0; i < 100; i++)); do
    EPID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$state" 2>/dev/null) &&
      EMON=$(monitor_of "$EPID") && return 0
    sleep 0.05
  done
  fail "exec $2 never ran: $(cat "$TEST_TMP/$2.err")"
}

test_adopt_exec_monitor_killed_while_running() {
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-exec)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ex1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d ex1 (stderr: $err)"
  wait_task_status ex1 RUNNING || fail "ex1 not RUNNING"
  _adopt_exec ex1 x1 5
  kill -KILL "$EMON"
  wait_gone "$EMON" || fail "the exec's monitor survived SIGKILL"
  sleep 0.3
  pid_alive "$EXEC_CTR" || fail "ctr task exec returned when the exec's monitor died: $(cat "$TEST_TMP/x1.rc")"
  local t0; t0=$(now_s)
  echo go >"$ADOPT_FIFO"
  wait "$EXEC_CTR"
  local t1; t1=$(now_s)
  assert_eq 5 "$(cat "$TEST_TMP/x1.rc")" "ctr task exec's status (stderr: $(cat "$TEST_TMP/x1.err"))"
  events_wait_for '/tasks/exit .*"id":"x1"' || fail "no /tasks/exit for x1: $(cat "$EVFILE")"
  local ev; ev=$(exit_event x1)
  assert_contains "$ev" '"exit_status":5' "TaskExit of the adopted exec"
  assert_between "$t0" "$(exited_at "$ev")" "$t1" "exited_at of x1"
  _adopt_audit_exit ex1 x1 5
  cctr task kill -s KILL ex1
  wait_task_status ex1 STOPPED || fail "ex1 not STOPPED"
  _adopt_delete ex1
  events_stop
  _adopt_all_gone "$mark" "after ex1"
}

test_adopt_exec_monitor_killed_during_exit_report() {
  shim_up
  events_start "$TEST_TMP/events"
  local mark; mark=$(new_mark adopt-exec-report)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ey1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d ey1 (stderr: $err)"
  wait_task_status ey1 RUNNING || fail "ey1 not RUNNING"
  _adopt_exec ey1 y1 6
  kill -STOP "$EMON"
  local t0; t0=$(now_s)
  echo go >"$ADOPT_FIFO"
  wait_zombie "$EPID" || fail "the exec did not exit"
  local t1; t1=$(now_s)
  sleep 1
  pid_alive "$EXEC_CTR" || fail "ctr task exec returned while the exit was not reported"
  kill -KILL "$EMON"
  wait "$EXEC_CTR"
  assert_eq 6 "$(cat "$TEST_TMP/y1.rc")" "ctr task exec's status (stderr: $(cat "$TEST_TMP/y1.err"))"
  events_wait_for '/tasks/exit .*"id":"y1"' || fail "no /tasks/exit for y1: $(cat "$EVFILE")"
  local ev; ev=$(exit_event y1)
  assert_contains "$ev" '"exit_status":6' "TaskExit of the adopted exec"
  assert_between "$t0" "$(exited_at "$ev")" "$t1" "exited_at of y1"
  _adopt_audit_exit ey1 y1 6
  cctr task kill -s KILL ey1
  wait_task_status ey1 STOPPED || fail "ey1 not STOPPED"
  _adopt_delete ey1
  events_stop
  _adopt_all_gone "$mark" "after ey1"
}
