# reaper-runtime: create / start / run / delete and the recorded exit status
# (docs/runtime-cli.md, "Verbs" and "Exit status of a workload").
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

test_create_holds_workload_until_start() {
  local id mark b=$TEST_TMP/b flag=$TEST_TMP/ran i
  id=$(uniq hold) mark=$(new_mark hold)
  marked_bundle "$b" "$mark" sh -c "touch $flag; exec sleep 1000"
  rt_create "$id" "$b"
  assert_eq created "$(state_field "$id" status)" "status after create"
  sleep 0.3  # a workload that was not held would have run by now
  assert_no_file "$flag"
  rt_start "$id"
  wait_file "$flag"
  assert_file "$flag"
  assert_eq running "$(state_field "$id" status)" "status after start"
}

test_start_returns_promptly_for_long_running_workload() {
  local id mark b=$TEST_TMP/b rc t0 ms
  id=$(uniq prompt) mark=$(new_mark prompt)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  t0=$(date +%s%N)
  timeout 5 "$REAPER" reaper-runtime --root "$RT_ROOT" start "$id" </dev/null; rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [[ $rc -ne 124 ]] || fail "start did not return within 5 s while the workload runs"
  assert_eq 0 "$rc" "start exit status"
  echo "start took ${ms} ms"
  assert_eq running "$(state_field "$id" status)"
}

test_state_pid_is_the_exec_d_workload() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq pid) mark=$(new_mark pid)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  pid=$(state_field "$id" pid) || fail "no pid in state"
  pid_alive "$pid" || fail "pid $pid of the created container is not a live process"
  rt_start "$id"
  assert_eq "$pid" "$(state_field "$id" pid)" "pid after start"
  assert_eq "sleep 1000" "$(proc_cmdline "$pid")" "cmdline of the state pid"
  assert_contains "$(marked_pids "$mark")" "$pid" "processes with the mark"
}

test_pid_file_holds_the_workload_pid() {
  local id mark b=$TEST_TMP/b pf=$TEST_TMP/pidfile
  id=$(uniq pidfile) mark=$(new_mark pidfile)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b" --pid-file "$pf"
  assert_file "$pf"
  assert_eq "$(state_field "$id" pid)" "$(tr -d ' \n' <"$pf")" "pid file vs state pid"
  rt_start "$id"
  assert_eq "sleep 1000" "$(proc_cmdline "$(tr -d ' \n' <"$pf")")" "process of the pid file"
}

test_exit_code_0_is_recorded() {
  local id mark b=$TEST_TMP/b
  id=$(uniq exit0) mark=$(new_mark exit0)
  marked_bundle "$b" "$mark" true
  run_bundle "$id" "$b"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_exit_code_7_is_recorded() {
  local id mark b=$TEST_TMP/b
  id=$(uniq exit7) mark=$(new_mark exit7)
  marked_bundle "$b" "$mark" sh -c 'exit 7'
  run_bundle "$id" "$b"
  assert_eq 7 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_sigkill_exit_is_recorded_as_137() {
  local id mark b=$TEST_TMP/b
  id=$(uniq kill137) mark=$(new_mark kill137)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  rt_start "$id"
  rt kill "$id" KILL || fail "kill KILL failed"
  wait_stopped "$id" || fail "not stopped after SIGKILL"
  assert_eq 137 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_default_kill_signal_sigterm_is_recorded_as_143() {
  local id mark b=$TEST_TMP/b
  id=$(uniq term143) mark=$(new_mark term143)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  rt_start "$id"
  rt kill "$id" || fail "kill (default signal) failed"
  wait_stopped "$id" || fail "not stopped after the default signal"
  assert_eq 143 "$(state_field "$id" exitStatus)" "exitStatus"
}

# The program is looked up at create, in the workload's own view and PATH, as runc does:
# a missing or forbidden one fails the create with runc's message (which engines map to
# 127 and 126), and nothing is left behind.
# expect_program_refused NAME MESSAGE PROGRAM [ARGS...]: create of PROGRAM is refused with
# MESSAGE on stderr, runs nothing and leaves nothing.
expect_program_refused() {
  local tag=$1 message=$2 id mark b=$TEST_TMP/b; shift 2
  id=$(uniq "$tag") mark=$(new_mark "$tag")
  marked_bundle "$b" "$mark" "$@"
  capture rt create --bundle "$b" "$id" </dev/null
  assert_refused "create of $1"
  assert_contains "$err" "$message" "stderr"
  assert_not_contains "$out$err" should-not-run
  assert_nothing_left "$id" "$mark"
}

test_missing_executable_is_refused_at_create() {
  local name=no-such-command-$$
  expect_program_refused noexe "exec: \"$name\": executable file not found in \$PATH" "$name" arg
}

test_missing_absolute_path_is_refused_at_create() {
  local prog=$TEST_TMP/nonexistent/prog
  expect_program_refused noabs "exec: \"$prog\": No such file or directory" "$prog"
}

test_non_executable_file_is_refused_at_create() {
  local prog=$TEST_TMP/notexec
  printf '#!/bin/sh\necho should-not-run\n' >"$prog"; chmod 0644 "$prog"
  expect_program_refused noperm "exec: \"$prog\": Permission denied" "$prog"
}

# Start does not wait for the execve (runc's does not either): what fails after the
# lookup shows as the process's exit, 127 or 126, with the error in its state.
test_program_removed_after_create_exits_127_after_start() {
  local id mark b=$TEST_TMP/b prog=$TEST_TMP/gone
  id=$(uniq gone) mark=$(new_mark gone)
  printf '#!/bin/sh\necho should-not-run\n' >"$prog"; chmod 0755 "$prog"
  marked_bundle "$b" "$mark" "$prog"
  rt_create "$id" "$b"
  rm "$prog"
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 127 "$(state_field "$id" exitStatus)" "exitStatus"
  assert_contains "$(state_field "$id" error)" "No such file or directory" "state error"
  assert_contains "$(workload_err "$id")" "exec: \"$prog\"" "workload stderr"
  assert_not_contains "$(workload_out "$id")" should-not-run
}

test_program_execve_refuses_exits_126_after_start() {
  local id mark b=$TEST_TMP/b prog=$TEST_TMP/junk
  id=$(uniq junk) mark=$(new_mark junk)
  printf 'not a program\n' >"$prog"; chmod 0755 "$prog"  # no #!: execve says ENOEXEC
  marked_bundle "$b" "$mark" "$prog"
  rt_create "$id" "$b"
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 126 "$(state_field "$id" exitStatus)" "exitStatus"
  assert_contains "$(state_field "$id" error)" "Exec format error" "state error"
  assert_contains "$(workload_err "$id")" "Exec format error" "workload stderr"
}

# The workload's stdout is a pipe; its EOF proves the workload is gone (nobody else may hold
# the write end), after which the state must say stopped within a short bound.
test_one_ms_workload_exit_3_is_recorded_after_stdout_eof() {
  local id mark b=$TEST_TMP/b fifo=$TEST_TMP/fifo reader rc
  id=$(uniq eof3) mark=$(new_mark eof3)
  marked_bundle "$b" "$mark" sh -c 'echo bye; exit 3'
  mkfifo "$fifo"
  timeout 15 cat "$fifo" >"$TEST_TMP/piped" &
  reader=$!
  rt create --bundle "$b" "$id" </dev/null >"$fifo" 2>"$TEST_TMP/err" ||
    fail "create failed: $(cat "$TEST_TMP/err")"
  rt_start "$id"
  wait "$reader"; rc=$?
  [[ $rc -ne 124 ]] || fail "no EOF on the workload's stdout pipe 15 s after start (someone keeps the write end open)"
  assert_eq bye "$(cat "$TEST_TMP/piped")" "piped output"
  wait_stopped "$id" 2 || fail "not stopped within 2 s of the workload's exit"
  assert_eq 3 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_one_ms_true_exit_is_recorded() {
  local id mark b=$TEST_TMP/b
  id=$(uniq true1ms) mark=$(new_mark true1ms)
  marked_bundle "$b" "$mark" true
  rt_create "$id" "$b"
  rt_start "$id"
  wait_stopped "$id" 2 || fail "a 1 ms workload was not recorded as stopped within 2 s"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_stopped_state_records_times() {
  local id mark b=$TEST_TMP/b k v
  id=$(uniq times) mark=$(new_mark times)
  marked_bundle "$b" "$mark" true
  run_bundle "$id" "$b"
  for k in created started exited; do
    v=$(state_field "$id" "$k") || fail "state of a stopped container has no '$k'"
    [[ -n "$v" && "$v" != null ]] || fail "state '$k' is empty"
  done
}

test_state_dir_is_one_private_subdirectory() {
  local id mark b=$TEST_TMP/b entries
  id=$(uniq statedir) mark=$(new_mark statedir)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  entries=$(find "$RT_ROOT" -mindepth 1 -maxdepth 1 -type d)
  assert_eq 1 "$(grep -c . <<<"$entries")" "subdirectories of RT_ROOT: $entries"
  assert_eq 700 "$(stat -c %a "$entries")" "mode of the state directory"
}

test_delete_of_stopped_container_removes_everything() {
  local id mark b=$TEST_TMP/b
  id=$(uniq delstop) mark=$(new_mark delstop)
  marked_bundle "$b" "$mark" sh -c 'exit 2'
  run_bundle "$id" "$b"
  capture rt delete "$id"
  assert_eq 0 "$rc" "delete exit status ($err)"
  assert_nothing_left "$id" "$mark"
  capture rt state "$id"
  assert_refused "state after delete"
}

test_delete_of_created_container_kills_held_workload() {
  local id mark b=$TEST_TMP/b pid snap flag=$TEST_TMP/ran
  id=$(uniq delcreated) mark=$(new_mark delcreated)
  marked_bundle "$b" "$mark" sh -c "touch $flag; sleep 1000"
  rt_create "$id" "$b"
  pid=$(state_field "$id" pid) || fail "no pid"
  snap=$(snapshot_pids "$pid")
  [[ -n "$snap" ]] || fail "pid $pid of the created container is not alive"
  capture rt delete "$id"
  assert_eq 0 "$rc" "delete of a created container ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $snap
  assert_no_file "$flag"
}

test_run_in_foreground_exits_with_status_and_deletes() {
  local id mark b=$TEST_TMP/b
  id=$(uniq runfg) mark=$(new_mark runfg)
  marked_bundle "$b" "$mark" sh -c 'echo from-run; exit 4'
  timeout 20 "$REAPER" reaper-runtime --root "$RT_ROOT" run --bundle "$b" "$id" \
    </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  rc=$?
  [[ $rc -ne 124 ]] || fail "run did not return after the workload exited"
  assert_eq 4 "$rc" "run exit status ($(cat "$TEST_TMP/err"))"
  assert_eq from-run "$(cat "$TEST_TMP/out")" "workload output"
  assert_nothing_left "$id" "$mark"
}

test_run_detach_leaves_running_container() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq rundetach) mark=$(new_mark rundetach)
  marked_bundle "$b" "$mark" sleep 1000
  timeout 10 "$REAPER" reaper-runtime --root "$RT_ROOT" run --detach --bundle "$b" "$id" \
    </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  rc=$?
  [[ $rc -ne 124 ]] || fail "run --detach did not return"
  assert_eq 0 "$rc" "run --detach exit status ($(cat "$TEST_TMP/err"))"
  assert_eq running "$(state_field "$id" status)" "status"
  pid=$(state_field "$id" pid)
  assert_eq "sleep 1000" "$(proc_cmdline "$pid")" "workload"
}
