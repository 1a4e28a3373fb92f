# The shim's loop never blocks on one container's setup: while a Create waits for its
# monitor (here: the pod's overlay group lock is held, as a slow group build or a slow disk
# would hold it), the other containers of the same shim are served at once.
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

_loop_sleeper() {  # _loop_sleeper ID GROUP_ANNOTATION
  capture rrun -d --annotation "$2" "$1" sleep 1000
  assert_eq 0 "$rc" "ctr run -d $1 (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status "$1" RUNNING || fail "$1 not RUNNING"
}

test_held_create_does_not_delay_the_pods_other_containers() {
  shim_up
  local g="io.containerd.reaper.v2.group=loop-$$"
  _loop_sleeper a "$g"
  local locks=("$REAPER_OVERLAY_ROOT"/*/lock)
  assert_eq 1 "${#locks[@]}" "overlay groups after the first container (${locks[*]})"
  [[ -f ${locks[0]} ]] || fail "no group lock file under $REAPER_OVERLAY_ROOT"
  # The group lock held by this shell: b's monitor waits for it before it can report
  # "ok PID". Released with flock -u (children of ours share the open file).
  local lfd
  exec {lfd}<>"${locks[0]}"
  flock -x "$lfd" || fail "could not take ${locks[0]}"
  release() { flock -u "$lfd"; exec {lfd}>&-; }
  rrun -d --annotation "$g" b sleep 1000 >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
  local creator=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -d $REAPER_ROOT/$CTRD_NS/b ]] && break
    sleep 0.05
  done
  [[ -d $REAPER_ROOT/$CTRD_NS/b ]] || { release; fail "b's Create never reached its monitor"; }
  pid_alive "$creator" || { release; fail "b's ctr run returned while the group lock was held: $(cat "$TEST_TMP/b.err")"; }

  local sock; sock=$(shim_addr a) || { release; fail "no address file for a"; }
  capture "$PY" "$TOP/test/lib/shim_latency.py" "${sock#unix://}" a 2
  local probe_rc=$rc probe_out=$out probe_err=$err
  pid_alive "$creator"; local still_held=$?
  release
  wait "$creator"
  local creator_rc=$?
  assert_eq 0 "$probe_rc" "requests for a while b's Create was held (out: $probe_out; err: $probe_err)"
  assert_eq 0 "$still_held" "b's Create still held during the probe"
  # Start and Delete of the exec do real work (fork, exec, reaping), and a Wait includes
  # the process's own end: they must answer, not within 50 ms on a loaded machine. Every
  # other answer must, and every exit must be answered within 50 ms of being recorded.
  local slow
  slow=$(awk '$1 !~ /^(status|Start\(exec\)|Delete\(exec\)|Wait|Wait\(exec\))$/ && $2 > 50 {print}' <<<"$probe_out")
  assert_eq "" "$slow" "answers slower than 50 ms (all: $probe_out)"
  assert_contains "$probe_out" "status 137" "a's exit status in Wait"
  # Released, b is created and runs.
  assert_eq 0 "$creator_rc" "b's ctr run once the lock was released (stderr: $(cat "$TEST_TMP/b.err"))"
  wait_task_status b RUNNING || fail "b not RUNNING after the lock was released"
  cctr task kill -s KILL b
  wait_task_status b STOPPED || fail "b not STOPPED"
}

# Start waits for the monitor's answer on the loop too: while one container's Start is held
# (its monitor stopped with SIGSTOP between Create and Start), State, Wait and Kill of
# another container of the same shim answer at once.
test_held_start_does_not_delay_the_pods_other_containers() {
  shim_up
  local g="io.containerd.reaper.v2.group=loopstart-$$"
  _loop_sleeper a "$g"
  local sock; sock=$(shim_addr a) || fail "no address file for a"
  sock=${sock#unix://}
  # b: created on a's shim over ttrpc, as containerd would, with a's spec (same group).
  local bundle=$TEST_TMP/bundle-b
  mkdir -p "$bundle"
  cp "$CTRD_STATE/io.containerd.runtime.v2.task/$CTRD_NS/a/config.json" "$bundle/" || fail "a's config.json"
  capture "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" create b "$bundle"
  assert_eq 0 "$rc" "Create b (err: $err)"
  local monitor
  monitor=$(sed -n 's/.*"monitorPid": *\([0-9]*\).*/\1/p' "$REAPER_ROOT/$CTRD_NS/b/state.json")
  [[ -n $monitor ]] && pid_alive "$monitor" || fail "b's monitor not found (state: $(cat "$REAPER_ROOT/$CTRD_NS/b/state.json"))"
  kill -STOP "$monitor"
  "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" start b >"$TEST_TMP/start.out" 2>"$TEST_TMP/start.err" &
  local starter=$!
  # The Start request reaches the shim, which asks the stopped monitor and waits.
  sleep 0.5
  pid_alive "$starter" || { kill -CONT "$monitor"; fail "b's Start returned while its monitor was stopped: $(cat "$TEST_TMP/start.err")"; }

  capture "$PY" "$TOP/test/lib/shim_latency.py" "$sock" a 2
  local probe_rc=$rc probe_out=$out probe_err=$err
  pid_alive "$starter"; local still_held=$?
  kill -CONT "$monitor"
  wait "$starter"
  local start_rc=$?
  assert_eq 0 "$probe_rc" "requests for a while b's Start was held (out: $probe_out; err: $probe_err)"
  assert_eq 0 "$still_held" "b's Start still held during the probe"
  local slow
  slow=$(awk '$1 ~ /^(State|Kill|exit->Wait)$/ && $2 > 50 {print}' <<<"$probe_out")
  assert_eq "" "$slow" "State, Kill or an exit's Wait slower than 50 ms (all: $probe_out)"
  assert_contains "$probe_out" "status 137" "a's exit status in Wait"
  # Released, b's Start completes and b runs; then it goes.
  assert_eq 0 "$start_rc" "b's Start once its monitor went on (stderr: $(cat "$TEST_TMP/start.err"))"
  capture "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" state b
  assert_eq 2 "${out%% *}" "b's status after Start (RUNNING; state: $out)"
  "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" kill b 9 || fail "Kill b"
  "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" wait b >/dev/null || fail "Wait b"
  "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" delete b >/dev/null || fail "Delete b"
}
