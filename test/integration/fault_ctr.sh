# Faults end to end through a real containerd and ctr: a shim killed with SIGKILL, a full
# and a read-only state root, and workloads that fight back (ignore SIGTERM, fork a
# thousand children, close their stdio and double-fork). containerd killed in the middle
# of a call, the overlay helper killed mid-build and an unread output FIFO: fault_rpc.sh. Each: a clear error or a clean
# result, no hang, the exit reported, nothing left running, mounted or recorded.
# containerd: matrix
# test-timeout: 180
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# The shim serving container ID (the process holding its published socket).
shim_of() {
  local addr; addr=$(shim_addr "$1") || return 1
  socket_owner "$addr"
}

# Nothing of a test is left: no marked process, no shim, no state directory.
assert_all_gone() {  # assert_all_gone MARK WHAT
  assert_no_marked_alive "$1" "$2"
  # shellcheck disable=SC2046  # a list of pids, split into words on purpose
  wait_no_shim_pids || fail "$2: shim processes left: $(describe_pids $(shim_pids))"
  local left
  left=$(find "$REAPER_ROOT" -mindepth 2 -maxdepth 2 2>/dev/null)
  [[ -z $left ]] || fail "$2: state left under $REAPER_ROOT: $left"
}

# shim_up with a tiny tmpfs as the state root, unmounted on exit after containerd.
shim_up_on_tmpfs() {  # shim_up_on_tmpfs SIZE [ro]
  export REAPER_ROOT=$TEST_TMP/reaper-root
  mkdir -p "$REAPER_ROOT"
  mount -t tmpfs -o "size=$1,mode=0700${2:+,$2}" fault-state "$REAPER_ROOT" || fail "mount tmpfs"
  trap 'umount -l "$REAPER_ROOT"; harness_cleanup' EXIT
  shim_up
  trap 'containerd_stop; umount -l "$REAPER_ROOT"; harness_cleanup' EXIT
}

# assert_error TEXT WHAT: $err says TEXT, whatever its case.
assert_error() { assert_contains "${err,,}" "${1,,}" "$2"; }

test_shim_sigkill_with_running_tasks() {
  shim_up
  local mark; mark=$(new_mark shimkill)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" sk1 sh -c 'sleep 1001 & sleep 1000'
  assert_eq 0 "$rc" "run sk1 (stderr: $err)"
  wait_task_status sk1 RUNNING || fail "sk1 not RUNNING"
  wait_marked_count "$mark" sleep 2
  local shim; shim=$(shim_of sk1) || fail "no shim for sk1"
  kill -KILL "$shim"
  # containerd sees its shim gone: the task is reported stopped (or is gone), and the
  # workload, whose shim can no longer report it, is killed rather than left running
  # unaccounted.
  local i s
  for ((i = 0; i < 200; i++)); do
    s=$(task_status sk1)
    [[ $s == RUNNING ]] || break
    sleep 0.05
  done
  [[ $s != RUNNING ]] || fail "sk1 still RUNNING 10 s after its shim was killed"
  capture cctr task delete -f sk1
  [[ $rc -eq 0 || $err == *"not found"* ]] || fail "task delete -f (rc $rc): $err"
  capture cctr container delete sk1
  assert_eq 0 "$rc" "container delete (stderr: $err)"
  assert_all_gone "$mark" "after the shim's SIGKILL"
}

# A pod sandbox has no monitor (docs/shim.md, "The pod sandbox"): a shim killed takes its
# sandbox process along at once, and containerd's cleanup leaves nothing.
test_shim_sigkill_with_a_sandbox() {
  shim_up
  local mark; mark=$(new_mark sbkill)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" --annotation io.kubernetes.cri.container-type=sandbox sbk1 /pause
  assert_eq 0 "$rc" "run sbk1 (stderr: $err)"
  wait_task_status sbk1 RUNNING || fail "sbk1 not RUNNING"
  local pid; pid=$(task_pid sbk1)
  local shim; shim=$(shim_of sbk1) || fail "no shim for sbk1"
  assert_eq "$shim" "$(awk '{print $4}' "/proc/$pid/stat")" "the sandbox's parent"
  kill -KILL "$shim"
  local i
  for ((i = 0; i < 200; i++)); do
    pid_alive "$pid" || break
    sleep 0.05
  done
  pid_alive "$pid" && fail "the sandbox $pid outlived its shim by 10 s"
  for ((i = 0; i < 200; i++)); do
    [[ $(task_status sbk1) == RUNNING ]] || break
    sleep 0.05
  done
  capture cctr task delete -f sbk1
  [[ $rc -eq 0 || $err == *"not found"* ]] || fail "task delete -f (rc $rc): $err"
  capture cctr container delete sbk1
  assert_eq 0 "$rc" "container delete (stderr: $err)"
  assert_all_gone "$mark" "after the shim's SIGKILL"
}

test_workload_ignoring_sigterm_is_killed() {
  shim_up
  local mark; mark=$(new_mark term)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" it1 sh -c 'trap "" TERM; echo armed; sleep 1000 & wait'
  assert_eq 0 "$rc" "run (stderr: $err)"
  wait_task_status it1 RUNNING || fail "not RUNNING"
  wait_marked_count "$mark" sleep 1
  capture cctr task kill -s TERM it1
  assert_eq 0 "$rc" "kill TERM (stderr: $err)"
  # TERM is ignored by the shell; the task keeps running and says so.
  assert_eq RUNNING "$(task_status it1)" "status after an ignored SIGTERM"
  capture cctr task kill -s KILL it1
  assert_eq 0 "$rc" "kill KILL (stderr: $err)"
  wait_task_status it1 STOPPED || fail "not STOPPED after SIGKILL"
  capture cctr task delete it1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  assert_contains "$err$out" 137 "the exit of the SIGKILL"
  cctr container delete it1 || fail "container delete"
  assert_all_gone "$mark" "after SIGKILL"
}

test_workload_forking_a_thousand_children() {
  shim_up
  local mark; mark=$(new_mark fork)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" fk1 sh -c \
    'i=0; while [ $i -lt 1000 ]; do sleep 1000 & i=$((i+1)); done; echo >"$1"; wait' sh "$TEST_TMP/forked"
  assert_eq 0 "$rc" "run (stderr: $err)"
  wait_file "$TEST_TMP/forked" 60 || fail "the thousand children were not forked within 60 s"
  local n; n=$(marked_pids "$mark" | wc -l)
  ((n > 1000)) || fail "only $n marked processes"
  capture cctr task kill -s KILL fk1
  assert_eq 0 "$rc" "kill (stderr: $err)"
  wait_task_status fk1 STOPPED 30 || fail "not STOPPED"
  # The init's exit takes its thousand leftovers with it.
  local i
  for ((i = 0; i < 200; i++)); do [[ -z $(marked_pids "$mark") ]] && break; sleep 0.05; done
  capture cctr task delete fk1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  cctr container delete fk1 || fail "container delete"
  assert_all_gone "$mark" "after the kill of a thousand children's parent"
}

test_workload_closing_stdio_and_double_forking() {
  shim_up
  local mark; mark=$(new_mark dfork)
  # The init closes its stdio, leaves a grandchild in a session of its own, and exits 3.
  capture bounded 60 rrun --env "REAPER_TEST_MARK=$mark" df1 sh -c \
    'exec </dev/null >&- 2>&-; (setsid sleep 1000 &); exit 3'
  assert_eq 3 "$rc" "the init's exit code through ctr run (stderr: $err)"
  capture cctr task delete df1
  cctr container delete df1 || fail "container delete"
  assert_all_gone "$mark" "after the init exited (the double-forked daemon is a leftover)"
}

test_state_root_full() {
  shim_up_on_tmpfs 256k
  # Fill the state root: no room for a state file or a socket's directory.
  dd if=/dev/zero of="$REAPER_ROOT/filler" bs=4k 2>/dev/null
  local mark; mark=$(new_mark full)
  capture bounded 60 rrun --env "REAPER_TEST_MARK=$mark" full1 echo should-not-run
  [[ $rc -ne 0 && $rc -ne 143 ]] || fail "ctr run on a full state root: rc $rc (stdout: $out)"
  assert_not_contains "$out" should-not-run "the workload's output"
  assert_error "no space left on device" "ctr's error"
  cctr task delete -f full1 >/dev/null 2>&1
  cctr container delete full1 >/dev/null 2>&1
  rm -f "$REAPER_ROOT/filler"
  assert_all_gone "$mark" "after a create on a full state root"
  # Room again: the same node runs workloads.
  capture bounded 60 rrun --rm full2 echo fine
  assert_eq fine "$out" "a run once there is room (stderr: $err)"
}

test_state_root_read_only() {
  shim_up_on_tmpfs 1m ro
  local mark; mark=$(new_mark ro)
  capture bounded 60 rrun --env "REAPER_TEST_MARK=$mark" ro1 echo should-not-run
  [[ $rc -ne 0 && $rc -ne 143 ]] || fail "ctr run on a read-only state root: rc $rc (stdout: $out)"
  assert_error "read-only file system" "ctr's error"
  cctr task delete -f ro1 >/dev/null 2>&1
  cctr container delete ro1 >/dev/null 2>&1
  assert_all_gone "$mark" "after a create on a read-only state root"
}
