# The benchmarks' physical floor (bench/floor_shim run as containerd-shim-floorrun-v2,
# bench/README.md): it really runs each process, init and exec, with its stdio, cwd and
# env, reports its real exit status, sends Kill's real signal and leaves nothing behind;
# bench/ctr-run.sh and bench/ctr-exec.sh, one round each, print its line and figures.
# Needs the floor shim (-Dbench=true, as CI builds); a build without it skips.
# test-timeout: 180
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

FLOOR_BIN=$BUILD/bench/floor_shim/containerd-shim-floor-v2

_floor_built() {
  [[ -x $FLOOR_BIN ]] && return 0
  echo "SKIP: $FLOOR_BIN not built (meson configure -Dbench=true)"
  return 1
}

# frun [FLAG...] ID CMD...: ctr run through the physical floor, each FLAG one word
# (--env=NAME=VALUE); the empty rootfs is ignored: it runs the host's programs.
frun() {
  local -a flags=()
  while [[ $1 == -* ]]; do flags+=("$1"); shift; done
  cctr run --fifo-dir "$CTRD_FIFO" --runtime io.containerd.floorrun.v2 --env "PATH=$CTRD_DEFAULT_PATH" \
    "${flags[@]}" --rootfs "$ROOTFS" "$@"
}

test_floorrun_runs_processes_with_their_stdio_and_real_status() {
  _floor_built || return 0
  shim_up
  ln -s "$FLOOR_BIN" "$CTRD_SHIM_DIR/containerd-shim-floorrun-v2"
  capture frun --rm --env=FLOORTEST=env f1 sh -c 'echo "out $PWD $FLOORTEST"; echo err >&2; exit 3'
  assert_eq 3 "$rc" "ctr run's status: the process's (stderr: $err)"
  assert_eq "out / env" "$out" "the process's stdout"
  assert_contains "$err" "err" "the process's stderr"
  # Nothing is looked up before the fork: a missing program is the child's exit 127.
  capture frun --rm f3 /nonexistent/program
  assert_eq 127 "$rc" "ctr run of a missing program (stderr: $err)"

  capture frun -d f2 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  local pid; pid=$(task_pid f2)
  assert_eq "sleep 1000" "$(proc_cmdline "$pid")" "the task's pid runs the task"
  capture cctr task exec --fifo-dir "$CTRD_FIFO" --exec-id e1 f2 sh -c 'echo exec; exit 5'
  assert_eq 5 "$rc" "ctr task exec's status: the exec's (stderr: $err)"
  assert_eq "exec" "$out" "the exec's stdout"
  capture cctr task kill -s TERM f2
  assert_eq 0 "$rc" "task kill (stderr: $err)"
  wait_task_status f2 STOPPED || fail "f2 not STOPPED after SIGTERM"
  capture cctr task delete f2
  assert_contains "$err" "143" "task delete's report of the exit status (128 + SIGTERM)"
  cctr container delete f2 || fail "container delete"
  wait_no_shim_pids || fail "the floor's daemon or a process of it was left"
}

# An exec whose program is missing exits 127 (the child's, after the fork); an exec still
# running when its init ends is killed with it, as the end of a pid namespace would kill it,
# and its client hears of that end (137).
test_floorrun_execs_fail_and_end_with_their_init() {
  _floor_built || return 0
  shim_up
  ln -s "$FLOOR_BIN" "$CTRD_SHIM_DIR/containerd-shim-floorrun-v2"
  capture frun -d f4 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  capture cctr task exec --fifo-dir "$CTRD_FIFO" --exec-id miss f4 /nonexistent/program
  assert_eq 127 "$rc" "ctr task exec of a missing program (stderr: $err)"
  cctr task exec --fifo-dir "$CTRD_FIFO" --exec-id long f4 sleep 2000 </dev/null >/dev/null 2>&1 &
  local client=$! exec_pid="" i
  for ((i = 0; i < 200; i++)); do
    exec_pid=$(pgrep -x -f "sleep 2000" | head -n 1)
    [[ -n $exec_pid ]] && break
    sleep 0.025
  done
  [[ -n $exec_pid ]] || fail "the exec never ran"
  capture cctr task kill -s KILL f4
  assert_eq 0 "$rc" "task kill (stderr: $err)"
  wait_task_status f4 STOPPED || fail "f4 not STOPPED after SIGKILL"
  # Polled, not wait_bounded: 137, the status expected, is also what its deadline gives.
  for ((i = 0; i < 200; i++)); do
    pid_alive "$client" || break
    sleep 0.025
  done
  pid_alive "$client" && { kill -KILL "$client"; fail "ctr task exec still waits 5 s after its init ended"; }
  local st; wait "$client"; st=$?
  assert_eq 137 "$st" "ctr task exec's status once the init ended (128 + SIGKILL)"
  pid_alive "$exec_pid" && fail "the exec (pid $exec_pid) outlived its init"
  cctr task delete f4 >/dev/null 2>&1
  cctr container delete f4 || fail "container delete"
  wait_no_shim_pids || fail "the floor's daemon or a process of it was left"
}

# The floors open an exec's stdio FIFOs once its Exec is answered, as reaper's shim does
# (its exec standby): ctr goes on sooner then, and a floor slower there than a runtime
# would be no floor. Exec is sent by hand (test/lib/ttrpc_task.py), so nothing but the
# floor opens the FIFO, and nothing is started.
test_floor_opens_an_execs_fifos_at_exec() {
  _floor_built || return 0
  shim_up
  ln -s "$FLOOR_BIN" "$CTRD_SHIM_DIR/containerd-shim-floorrun-v2"
  capture frun -d f5 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  local sock="" shim inodes fifo=$TEST_TMP/e5.out i opened=""
  # The floor writes no address file: its daemon, then its listening socket.
  shim=$(pgrep -f -- "containerd-shim-floorrun-v2 .*-id f5( |$)" | head -n 1)
  [[ -n $shim ]] || fail "no floor daemon for f5"
  inodes=" $(find "/proc/$shim/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | tr '\n' ' ') "
  sock=$(awk -v set="$inodes" '$4 == "00010000" && index(set, " " $7 " ") { print $NF; exit }' /proc/net/unix)
  [[ -n $sock ]] || fail "no listening socket of the floor daemon $shim"
  mkfifo "$fifo"
  capture "$PY" "$TOP/test/lib/ttrpc_task.py" "$sock" exec f5 e5 "$fifo" /bin/sh -c "echo ran > $TEST_TMP/e5.mark"
  assert_eq 0 "$rc" "Exec e5 (stderr: $err)"
  for ((i = 0; i < 100; i++)); do
    opened=$(find "/proc/$shim/fd" -lname "$fifo" 2>/dev/null)
    [[ -n $opened ]] && break
    sleep 0.02
  done
  [[ -n $opened ]] || fail "the floor did not open e5's stdout FIFO after Exec: $(ls -l "/proc/$shim/fd")"
  assert_no_file "$TEST_TMP/e5.mark"
  capture cctr task kill -s KILL f5
  assert_eq 0 "$rc" "task kill (stderr: $err)"
  wait_task_status f5 STOPPED || fail "f5 not STOPPED after SIGKILL"
  cctr task delete f5 >/dev/null 2>&1
  cctr container delete f5 || fail "container delete"
  wait_no_shim_pids || fail "the floor's daemon or a process of it was left"
}

test_ctr_benchmarks_print_the_physical_floor() {
  _floor_built || return 0
  local script
  for script in ctr-run ctr-exec; do
    capture nice bash "$TOP/bench/$script.sh" --rounds 1 --build "$BUILD"
    [[ $rc -eq 0 ]] || fail "$script.sh (rc $rc):"$'\n'"$out"$'\n'"$err"
    grep -qE '^floorrun +[0-9]+\.[0-9]( +[0-9]+\.[0-9]){3}$' <<<"$out" || fail "$script.sh: no floorrun row:"$'\n'"$out"
    grep -qE '^reaper - floorrun: -?[0-9]+\.[0-9] ms \(median\); floorrun/crun [0-9]+\.[0-9]{2}$' <<<"$out" ||
      fail "$script.sh: no reaper - floorrun line:"$'\n'"$out"
    grep -qE '^floorrun - floor: -?[0-9]+\.[0-9] ms' <<<"$out" || fail "$script.sh: no floorrun - floor line:"$'\n'"$out"
  done
}

# --timeline: every step of reaper's run and of both floors' is stamped, in the order a
# ctr run takes them (reaper's Create read before it is answered, its Wait answered last).
test_ctr_run_timeline_lays_the_shims_side_by_side() {
  _floor_built || return 0
  capture nice bash "$TOP/bench/ctr-run.sh" --rounds 1 --timeline --build "$BUILD"
  [[ $rc -eq 0 ]] || fail "ctr-run.sh --timeline (rc $rc):"$'\n'"$out"$'\n'"$err"
  grep -qE '^  step +reaper +floorrun +floor$' <<<"$out" || fail "no timeline header:"$'\n'"$out"
  local step
  for step in start:main start:printed daemon:serving rpc:Create:read rpc:Create:answered \
    rpc:Start:answered rpc:Wait:answered rpc:Delete:answered ctr:end; do
    grep -qE "^  $step +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2}$" <<<"$out" ||
      fail "timeline: no row for $step with three runtimes:"$'\n'"$out"
  done
  "$PY" -c '
import sys
# the reaper column; "-" where a step did not happen in its runs (a CloseIO, say)
rows = {l.split()[0]: float(l.split()[1]) for l in sys.argv[1].splitlines()
        if l.startswith("  ") and ":" in l.split()[0] and l.split()[1] != "-"}
order = ["start:main", "start:printed", "rpc:Create:read", "rpc:Create:answered", "rpc:Start:read",
         "rpc:Wait:answered", "rpc:Delete:answered", "ctr:end"]
assert all(rows[a] <= rows[b] for a, b in zip(order, order[1:])), rows
' "$out" || fail "timeline out of order:"$'\n'"$out"
}
