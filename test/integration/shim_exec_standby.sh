# An exec's launch begun at its Exec request (docs/shim.md, "The exec standby"): once Exec
# is answered the shim forks the exec's monitor, which sets itself up and waits; nothing
# runs before Start. Delete before Start leaves no process, zombie or state behind; a
# standby that died is replaced by a fresh launch at Start; Start after the container's
# init has ended is refused and the standby goes with Delete. The Exec and Start requests
# are sent to the shim by hand (test/lib/ttrpc_task.py): ctr always starts what it execs.
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

_exec() {  # _exec EXEC_ID SCRIPT: the exec, its stdout in $TEST_TMP/EXEC_ID.out
  : >"$TEST_TMP/$1.out"
  capture tt "$SOCK" exec "$POD" "$1" "$TEST_TMP/$1.out" /bin/sh -c "$2"
  assert_eq 0 "$rc" "Exec $1 (stderr: $err)"
}

test_exec_is_set_up_at_exec_and_run_only_at_start() {
  POD=sb1; _pod "$POD"
  _exec e1 "echo ran > $TEST_TMP/e1.mark; echo hello"
  local standby; standby=$(_standby e1) || fail "no monitor made ready for e1 after Exec"
  sleep 0.3
  assert_no_file "$TEST_TMP/e1.mark"
  capture tt "$SOCK" start "$POD" e1
  assert_eq 0 "$rc" "Start e1 (stderr: $err)"
  [[ $out -gt 0 ]] || fail "Start e1 answered pid '$out'"
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
  local standby; standby=$(_standby e2) || fail "no monitor made ready for e2 after Exec"
  capture tt "$SOCK" delete "$POD" e2
  assert_eq 0 "$rc" "Delete e2 (stderr: $err)"
  _gone "$standby" || fail "e2's monitor $standby outlived its Delete (reaped: $(proc_stat "$standby"))"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e2"
  assert_no_file "$TEST_TMP/e2.mark"
  capture tt "$SOCK" start "$POD" e2
  assert_ne 0 "$rc" "Start of a deleted exec"
  assert_contains "$err" "5 " "Start of a deleted exec: NOT_FOUND"
  assert_eq 1 "$(_monitors | wc -l)" "the shim's monitors (the init's only)"
}

test_exec_whose_standby_died_is_launched_afresh() {
  POD=sb3; _pod "$POD"
  _exec e3 "echo fresh"
  local standby; standby=$(_standby e3) || fail "no monitor made ready for e3 after Exec"
  kill -9 "$standby"
  _gone "$standby" || fail "the killed monitor $standby was not reaped"
  capture tt "$SOCK" start "$POD" e3
  assert_eq 0 "$rc" "Start e3 after its standby died (stderr: $err)"
  capture tt "$SOCK" wait "$POD" e3
  assert_eq 0 "$out" "e3's exit status"
  assert_eq fresh "$(cat "$TEST_TMP/e3.out")"
  tt "$SOCK" delete "$POD" e3 >/dev/null || fail "Delete e3"
  assert_no_file "$REAPER_ROOT/$CTRD_NS/$POD/execs/e3"
}

test_exec_start_after_the_init_ended_is_refused() {
  POD=sb4; _pod "$POD"
  _exec e4 "echo ran > $TEST_TMP/e4.mark"
  local standby; standby=$(_standby e4) || fail "no monitor made ready for e4 after Exec"
  cctr task kill -s KILL "$POD" || fail "kill the init"
  wait_task_status "$POD" STOPPED || fail "$POD did not stop"
  capture tt "$SOCK" start "$POD" e4
  assert_ne 0 "$rc" "Start of an exec whose container has stopped"
  assert_contains "$err" "9 " "FAILED_PRECONDITION"
  assert_no_file "$TEST_TMP/e4.mark"
  capture tt "$SOCK" delete "$POD" e4
  assert_eq 0 "$rc" "Delete e4 (stderr: $err)"
  _gone "$standby" || fail "e4's monitor $standby outlived its Delete"
}
