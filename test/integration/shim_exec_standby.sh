# An exec's launch begun at its Exec request (docs/shim.md, "The exec standby"): once Exec
# is answered the shim forks the exec's monitor, which spawns the workload and holds it
# before execve; nothing runs before Start, and the held process is in no Pids until then.
# Delete before Start leaves no process, zombie or state behind; a standby that died (its
# monitor or its held workload killed) is replaced by a fresh launch at Start; the held
# process ends with its container's init, and Start after that is refused. A held process
# or an init that dies while Start is under way leaves nothing waiting forever, and a
# stopped held process of a dead monitor holds up nothing. The Exec and
# Start requests are sent to the shim by hand (test/lib/ttrpc_task.py): ctr always starts
# what it execs.
# containerd: matrix
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

tt() { "$PY" "$TOP/test/lib/ttrpc_task.py" "$@"; }

# _pod ID: a running task; sets SOCK (its shim's socket) and SHIM (the shim's pid).
_pod() {
  shim_up
  capture rrun -d "$1" sleep 1000
  assert_eq 0 "$rc" "ctr run -d $1 (stderr: $err)"
  wait_task_status "$1" RUNNING || fail "$1 not RUNNING"
  SOCK=$(shim_addr "$1") || fail "no shim address for $1"
  SHIM=$(socket_owner "$SOCK") || fail "no shim for $1"
}

# _monitors: the shim's children that are monitors, one per line.
_monitors() {
  local d st pp
  for d in /proc/[0-9]*; do
    [[ $(proc_comm "${d#/proc/}") == reaper-monitor ]] || continue
    st=$(proc_stat "${d#/proc/}") || continue
    read -r _ pp _ <<<"$st"
    [[ $pp == "$SHIM" ]] && echo "${d#/proc/}"
  done
}

# _standby EXEC_ID: waits (bounded) for the monitor that holds the exec's state directory
# locked, and prints its pid.
_standby() {
  local i m dir=$REAPER_ROOT/$CTRD_NS/$POD/execs/$1
  for ((i = 0; i < 100; i++)); do
    if [[ -d $dir ]]; then
      for m in $(_monitors); do
        grep -q "$dir/monitor.lock" <(ls -l "/proc/$m/fd" 2>/dev/null) && { echo "$m"; return 0; }
      done
    fi
    sleep 0.05
  done
  return 1
}

# _gone PID: bounded wait until no process PID exists, not even a zombie.
_gone() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -e /proc/$1 ]] || return 0
    sleep 0.05
  done
  return 1
}

# _held MONITOR: the pid of the workload the standby MONITOR holds at its gate.
_held() {
  local i d st pp
  for ((i = 0; i < 100; i++)); do
    for d in /proc/[0-9]*; do
      st=$(proc_stat "${d#/proc/}") || continue
      read -r _ pp _ <<<"$st"
      [[ $pp == "$1" ]] && { echo "${d#/proc/}"; return 0; }
    done
    sleep 0.05
  done
  return 1
}

_exec() {  # _exec EXEC_ID SCRIPT: the exec, its stdout in $TEST_TMP/EXEC_ID.out
  : >"$TEST_TMP/$1.out"
  capture tt "$SOCK" exec "$POD" "$1" "$TEST_TMP/$1.out" /bin/sh -c "$2"
  assert_eq 0 "$rc" "Exec $1 (stderr: $err)"
}

test_exec_is_set_up_at_exec_and_run_only_at_start() {
  POD=sb1; _pod "$POD"
  _exec e1 "echo ran > $TEST_TMP/e1.mark; echo hello"
  local standby held; standby=$(_standby e1) || fail "no monitor made ready for e1 after Exec"
  held=$(_held "$standby") || fail "the standby $standby holds no workload"
  sleep 0.3
  assert_no_file "$TEST_TMP/e1.mark"
  [[ -e /proc/$held ]] || fail "the held workload $held ended before Start"
  # Joined, but not yet the program: still the monitor's image, in the container's mounts.
  assert_eq "$(readlink "/proc/$standby/exe")" "$(readlink "/proc/$held/exe")" "the held workload's program"
  assert_eq "$(readlink "/proc/$(task_pid "$POD")/ns/mnt")" "$(readlink "/proc/$held/ns/mnt")" "the held workload's mount namespace"
  capture cctr task ps "$POD"
  assert_eq 0 "$rc" "ctr task ps (stderr: $err)"
  local listed; listed=$(awk 'NR > 1 {print $1}' <<<"$out")
  grep -qx "$(task_pid "$POD")" <<<"$listed" || fail "Pids lacks the init: $out"
  ! grep -qx "$held" <<<"$listed" || fail "Pids lists the held workload $held before Start: $out"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e1/state.json"
  capture tt "$SOCK" start "$POD" e1
  assert_eq 0 "$rc" "Start e1 (stderr: $err)"
  assert_eq "$held" "$out" "Start e1's pid (the held workload)"
  capture tt "$SOCK" wait "$POD" e1
  assert_eq 0 "$out" "e1's exit status"
  assert_file "$TEST_TMP/e1.mark"
  assert_eq hello "$(cat "$TEST_TMP/e1.out")"
  capture tt "$SOCK" delete "$POD" e1
  assert_eq 0 "$rc" "Delete e1 (stderr: $err)"
  _gone "$standby" || fail "e1's monitor $standby is still there"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e1"
}

test_exec_deleted_before_start_leaves_nothing() {
  POD=sb2; _pod "$POD"
  _exec e2 "echo ran > $TEST_TMP/e2.mark"
  local standby held; standby=$(_standby e2) || fail "no monitor made ready for e2 after Exec"
  held=$(_held "$standby") || fail "the standby $standby holds no workload"
  capture tt "$SOCK" delete "$POD" e2
  assert_eq 0 "$rc" "Delete e2 (stderr: $err)"
  _gone "$standby" || fail "e2's monitor $standby outlived its Delete (reaped: $(proc_stat "$standby"))"
  _gone "$held" || fail "e2's held workload $held outlived its Delete ($(proc_stat "$held"))"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e2"
  assert_no_file "$TEST_TMP/e2.mark"
  capture tt "$SOCK" start "$POD" e2
  assert_ne 0 "$rc" "Start of a deleted exec"
  assert_contains "$err" "5 " "Start of a deleted exec: NOT_FOUND"
  assert_eq 1 "$(_monitors | wc -l)" "the shim's monitors (the init's only)"
}

# _died_then_fresh EXEC_ID VICTIM: kills the standby's monitor or its held workload
# (VICTIM: monitor|held); Start must then launch the exec afresh, as if nothing had been
# prepared, and nothing of the standby may be left.
_died_then_fresh() {
  _exec "$1" "echo fresh"
  local standby held victim; standby=$(_standby "$1") || fail "no monitor made ready for $1 after Exec"
  held=$(_held "$standby") || fail "the standby $standby holds no workload"
  [[ $2 == monitor ]] && victim=$standby || victim=$held
  kill -9 "$victim"
  _gone "$standby" || fail "the standby's monitor $standby was not reaped ($(proc_stat "$standby"))"
  _gone "$held" || fail "the held workload $held was not reaped ($(proc_stat "$held"))"
  capture tt "$SOCK" start "$POD" "$1"
  assert_eq 0 "$rc" "Start $1 after its standby died (stderr: $err)"
  [[ $out -gt 0 && $out != "$held" ]] || fail "Start $1 answered pid '$out' (the dead standby held $held)"
  capture tt "$SOCK" wait "$POD" "$1"
  assert_eq 0 "$out" "$1's exit status"
  assert_eq fresh "$(cat "$TEST_TMP/$1.out")"
  tt "$SOCK" delete "$POD" "$1" >/dev/null || fail "Delete $1"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/$1"
}

test_exec_whose_standby_died_is_launched_afresh() {
  POD=sb3; _pod "$POD"
  _died_then_fresh e3 monitor
}

test_exec_whose_held_workload_died_is_launched_afresh() {
  POD=sb5; _pod "$POD"
  _died_then_fresh e5 held
}

test_exec_start_after_the_init_ended_is_refused() {
  POD=sb4; _pod "$POD"
  _exec e4 "echo ran > $TEST_TMP/e4.mark"
  local standby held; standby=$(_standby e4) || fail "no monitor made ready for e4 after Exec"
  held=$(_held "$standby") || fail "the standby $standby holds no workload"
  cctr task kill -s KILL "$POD" || fail "kill the init"
  wait_task_status "$POD" STOPPED || fail "$POD did not stop"
  # Nothing of a stopped container goes on: the held process ends with its init.
  _gone "$held" || fail "e4's held workload $held outlived its container's init ($(proc_stat "$held"))"
  capture tt "$SOCK" start "$POD" e4
  assert_ne 0 "$rc" "Start of an exec whose container has stopped"
  assert_contains "$err" "9 " "FAILED_PRECONDITION"
  assert_no_file "$TEST_TMP/e4.mark"
  capture tt "$SOCK" delete "$POD" e4
  assert_eq 0 "$rc" "Delete e4 (stderr: $err)"
  _gone "$standby" || fail "e4's monitor $standby outlived its Delete"
}

# _prepared EXEC_ID SCRIPT: the exec made (not started); sets STANDBY (its monitor) and
# HELD (the workload held at its gate).
_prepared() {
  _exec "$1" "$2"
  STANDBY=$(_standby "$1") || fail "no monitor made ready for $1 after Exec"
  HELD=$(_held "$STANDBY") || fail "the standby $STANDBY holds no workload"
}

# _zombie PID: bounded wait until PID is a zombie (ended, not yet reaped).
_zombie() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(proc_stat "$1") == Z* ]] && return 0
    sleep 0.05
  done
  return 1
}

# The held workload killed just after Start found its monitor alive: the monitor (stopped
# here, so that it sees the death only once `start` is on its way) reaps it. Start must not
# take the monitor's end for a workload left to the shim: it fails with the reason (or, had
# the monitor ended before Start looked, launches afresh), and nothing waits forever: the
# exec's Wait, its Delete and the init's Wait all answer.
test_exec_whose_held_workload_died_during_start_is_not_waited_for() {
  POD=sb6; _pod "$POD"
  _prepared e6 "echo fresh"
  local standby=$STANDBY held=$HELD sp st
  kill -STOP "$standby"
  kill -9 "$held"
  _zombie "$held" || fail "the held workload $held did not end ($(proc_stat "$held"))"
  tt "$SOCK" start "$POD" e6 >"$TEST_TMP/start.out" 2>"$TEST_TMP/start.err" &
  sp=$!
  sleep 0.3  # Start finds the (stopped) monitor alive and sends `start`
  kill -CONT "$standby"
  wait_bounded 10 KILL "$sp"; st=$?
  if ((st == 0)); then
    [[ $(cat "$TEST_TMP/start.out") != "$held" ]] || fail "Start e6 answered the dead held workload's pid $held"
  else
    assert_contains "$(cat "$TEST_TMP/start.err")" "killed while it waited for its start" "Start e6's error"
  fi
  capture timeout 5 "$PY" "$TOP/test/lib/ttrpc_task.py" "$SOCK" wait "$POD" e6
  assert_eq 0 "$rc" "Wait e6 answers (stderr: $err)"
  capture tt "$SOCK" delete "$POD" e6
  assert_eq 0 "$rc" "Delete e6 (stderr: $err)"
  _gone "$standby" || fail "e6's monitor $standby outlived its Delete"
  _gone "$held" || fail "e6's held workload $held was not reaped"
  cctr task kill -s KILL "$POD" || fail "kill the init"
  capture timeout 5 "$PY" "$TOP/test/lib/ttrpc_task.py" "$SOCK" wait "$POD"
  assert_eq 0 "$rc" "the init's Wait answers (stderr: $err)"
  assert_eq 137 "$out" "the init's exit status"
}

# A killed monitor's held workload, stopped so that it cannot see its gate close, holds
# none of its monitor's fds: Start's clean-up of the dead standby (which waits for the
# monitor's lock) does not wait for it, and the shim answers meanwhile.
test_exec_whose_monitor_died_is_not_held_up_by_its_stopped_workload() {
  POD=sb7; _pod "$POD"
  _prepared e7 "echo fresh"
  local standby=$STANDBY held=$HELD fds
  fds=$(ls -l "/proc/$held/fd" 2>/dev/null)
  assert_not_contains "$fds" "monitor.lock" "the held workload's fds"
  assert_not_contains "$fds" "running.lock" "the held workload's fds"
  kill -STOP "$held"
  kill -9 "$standby"
  _gone "$standby" || fail "the standby's monitor $standby was not reaped"
  capture timeout 5 "$PY" "$TOP/test/lib/ttrpc_task.py" "$SOCK" start "$POD" e7
  local started=$rc pid=$out
  kill -9 "$held"
  _gone "$held" || fail "the held workload $held was not reaped ($(proc_stat "$held"))"
  assert_eq 0 "$started" "Start e7 while the dead standby's workload is stopped (stderr: $err)"
  [[ $pid -gt 0 && $pid != "$held" ]] || fail "Start e7 answered pid '$pid' (the dead standby held $held)"
  capture tt "$SOCK" wait "$POD" e7
  assert_eq 0 "$out" "e7's exit status"
  assert_eq fresh "$(cat "$TEST_TMP/e7.out")"
  tt "$SOCK" delete "$POD" e7 >/dev/null || fail "Delete e7"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e7"
}

# The init killed after Start found it running, while the exec's monitor (stopped here)
# has yet to let its workload go: the init's leftovers are killed before the exec has a
# record to be found by, so the exec goes as soon as it has started. Its Wait answers,
# and nothing of it outlives the container.
test_exec_started_as_its_init_ends_goes_with_it() {
  POD=sb8; _pod "$POD"
  _prepared e8 "sleep 1000"
  local standby=$STANDBY held=$HELD sp st
  kill -STOP "$standby"
  tt "$SOCK" start "$POD" e8 >"$TEST_TMP/start.out" 2>"$TEST_TMP/start.err" &
  sp=$!
  sleep 0.3  # Start finds the init running and sends `start`
  cctr task kill -s KILL "$POD" || fail "kill the init"
  wait_task_status "$POD" STOPPED || fail "$POD did not stop"
  kill -CONT "$standby"
  wait_bounded 10 KILL "$sp"; st=$?
  assert_eq 0 "$st" "Start e8 (stderr: $(cat "$TEST_TMP/start.err"))"
  capture timeout 5 "$PY" "$TOP/test/lib/ttrpc_task.py" "$SOCK" wait "$POD" e8
  assert_eq 0 "$rc" "Wait e8 answers (stderr: $err)"
  assert_eq 137 "$out" "e8's exit status"
  _gone "$held" || fail "e8's workload $held outlived its container's init ($(proc_stat "$held"))"
  tt "$SOCK" delete "$POD" e8 >/dev/null || fail "Delete e8"
}
