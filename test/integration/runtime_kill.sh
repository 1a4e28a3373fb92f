# reaper-runtime: kill / kill --all / delete [--force] and the container's process tree
# (docs/runtime-cli.md, "kill" and "delete"). Processes are found through the mark in
# their environment, never through the runtime.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# The workload double-forks a daemon that calls setsid: two sleeps in another session plus
# the workload's own sleep.
DAEMON_WORKLOAD='(setsid sh -c "sleep 1000 & sleep 1000" &) ; sleep 1000'

# start_daemon_container ID MARK: creates and starts it, waits for the three sleeps, checks
# that the daemon really left the workload's session; sets SNAP (pid:starttime of every
# marked process).
start_daemon_container() {
  local id=$1 mark=$2 b=$TEST_TMP/b.$1 pid p sid other=0
  marked_bundle "$b" "$mark" sh -c "$DAEMON_WORKLOAD"
  rt_create "$id" "$b"
  rt_start "$id"
  wait_marked_count "$mark" sleep 3
  pid=$(state_field "$id" pid) || fail "no pid"
  for p in $(marked_pids "$mark"); do
    sid=$(proc_sid "$p") && [[ "$sid" != "$pid" ]] && ((other++))
  done
  ((other >= 1)) || fail "test setup: no marked process outside the workload's session"
  # shellcheck disable=SC2046,SC2086  # lists of pids, split into words on purpose
  SNAP=$(snapshot_pids $(marked_pids "$mark"))
}

test_kill_all_kills_double_forked_setsid_daemon() {
  local id mark
  id=$(uniq killall) mark=$(new_mark killall)
  start_daemon_container "$id" "$mark"
  capture rt kill --all "$id" KILL
  assert_eq 0 "$rc" "kill --all exit status ($err)"
  assert_no_marked_alive "$mark" "after kill --all KILL"
  wait_stopped "$id" || fail "not stopped after kill --all"
  assert_eq 137 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_delete_after_kill_all_leaves_no_process_or_zombie() {
  local id mark
  id=$(uniq killalldel) mark=$(new_mark killalldel)
  start_daemon_container "$id" "$mark"
  rt kill -a "$id" KILL || fail "kill -a failed"
  wait_stopped "$id" || fail "not stopped after kill -a"
  capture rt delete "$id"
  assert_eq 0 "$rc" "delete exit status ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $SNAP
}

test_delete_force_of_running_container_kills_whole_tree() {
  local id mark
  id=$(uniq delforce) mark=$(new_mark delforce)
  start_daemon_container "$id" "$mark"
  capture rt delete --force "$id"
  assert_eq 0 "$rc" "delete --force exit status ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $SNAP
}

test_delete_f_of_running_container_kills_whole_tree() {
  local id mark
  id=$(uniq delf) mark=$(new_mark delf)
  start_daemon_container "$id" "$mark"
  capture rt delete -f "$id"
  assert_eq 0 "$rc" "delete -f exit status ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $SNAP
}

test_delete_of_running_container_without_force_is_refused() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq delrunning) mark=$(new_mark delrunning)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  rt_start "$id"
  pid=$(state_field "$id" pid)
  capture rt delete "$id"
  assert_refused "delete of a running container"
  assert_eq running "$(state_field "$id" status)" "status after refused delete"
  pid_alive "$pid" || fail "workload died on a refused delete"
  [[ -d "$RT_ROOT" && -n "$(ls -A "$RT_ROOT")" ]] || fail "state removed by a refused delete"
}

test_delete_force_of_created_container_kills_held_process() {
  local id mark b=$TEST_TMP/b snap
  id=$(uniq delforcecr) mark=$(new_mark delforcecr)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  snap=$(snapshot_pids "$(state_field "$id" pid)")
  capture rt delete --force "$id"
  assert_eq 0 "$rc" "delete --force of a created container ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $snap
}

test_kill_numeric_9_gives_137() {
  local id mark b=$TEST_TMP/b
  id=$(uniq kill9) mark=$(new_mark kill9)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  rt kill "$id" 9 || fail "kill 9 failed"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 137 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_kill_SIGKILL_name_gives_137() {
  local id mark b=$TEST_TMP/b
  id=$(uniq sigkill) mark=$(new_mark sigkill)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  rt kill "$id" SIGKILL || fail "kill SIGKILL failed"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 137 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_kill_delivers_the_requested_signal() {
  local id mark b=$TEST_TMP/b
  id=$(uniq usr1) mark=$(new_mark usr1)
  marked_bundle "$b" "$mark" sh -c 'trap "echo got-usr1; exit 9" USR1; echo ready; while :; do sleep 0.05; done'
  rt_create "$id" "$b"; rt_start "$id"
  for ((i = 0; i < 100; i++)); do [[ "$(workload_out "$id")" == ready* ]] && break; sleep 0.05; done
  rt kill "$id" 10 || fail "kill 10 (SIGUSR1) failed"
  wait_stopped "$id" || fail "not stopped after SIGUSR1"
  assert_eq 9 "$(state_field "$id" exitStatus)" "exitStatus (the trap's)"
  assert_contains "$(workload_out "$id")" got-usr1 "workload output"
}

test_kill_of_stopped_container_is_an_error() {
  local id mark b=$TEST_TMP/b
  id=$(uniq killstopped) mark=$(new_mark killstopped)
  marked_bundle "$b" "$mark" true
  run_bundle "$id" "$b"
  capture rt kill "$id" KILL
  assert_refused "kill of a stopped container"
  assert_contains "$err" "not running" "stderr"
  assert_eq stopped "$(state_field "$id" status)" "status"
}

test_kill_all_reaches_detached_exec_process() {
  local id mark b=$TEST_TMP/b snap left
  id=$(uniq killexec) mark=$(new_mark killexec)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  timeout 10 "$REAPER" reaper-runtime --root "$RT_ROOT" exec --detach "$id" sh -c 'exec sleep 1001' \
    </dev/null >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err"
  rc=$?
  assert_eq 0 "$rc" "exec --detach ($(cat "$TEST_TMP/exec.err"))"
  wait_marked_count "$mark" sleep 2
  local p found=""
  for p in $(marked_pids "$mark"); do [[ "$(proc_cmdline "$p")" == "sleep 1001" ]] && found=$p; done
  [[ -n "$found" ]] || fail "the detached exec process is not running"
  # shellcheck disable=SC2046,SC2086  # lists of pids, split into words on purpose
  snap=$(snapshot_pids $(marked_pids "$mark"))
  rt kill --all "$id" KILL || fail "kill --all failed"
  assert_no_marked_alive "$mark" "kill --all with a detached exec"
  wait_stopped "$id" || fail "not stopped"
  capture rt delete "$id"
  assert_eq 0 "$rc" "delete ($err)"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id" "$mark" $snap
}
