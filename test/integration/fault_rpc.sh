# Faults in the middle of a call, end to end through a real containerd: containerd killed
# with SIGKILL while the shim is inside a Create, a Start, an exec's Start or a Delete, then
# started again; an output FIFO whose reader never reads. Each: a clear error or a clean
# result, no hang, the exit reported, and after the cleanup (`ctr task rm -f`,
# `ctr container rm`) nothing left running, mounted or recorded.
#
# How a call is held in progress, without sleeping:
# - the node configuration ($REAPER_CONFIG) is a FIFO: the shim reads it in Create and in
#   an exec's Start. Opening the FIFO for writing returns exactly when a reader has
#   opened it; that reader then waits in read() until the test closes its end (an empty
#   configuration).
# - the container's monitor is stopped (SIGSTOP) before a Start or Delete is sent: Start
#   waits for the monitor's answer, Delete for the exit the monitor records. The shim's
#   debug log line for the call (containerd runs at log level debug) says it arrived.
# containerd: matrix
# test-timeout: 150
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# fault_up: shim_up (containerd at log level debug) with an empty node configuration at
# $REAPER_CONFIG, and the overlay group built by one run, so that afterwards a Create's
# only reader of the configuration is the shim.
fault_up() {
  : >"$REAPER_CONFIG"
  CTRD_LOG_LEVEL=debug shim_up
  ctr_arrays
  capture bounded 60 rrun --rm warm true
  assert_eq 0 "$rc" "the warm-up run (stderr: $err)"
}

config_fifo() { rm -f "$REAPER_CONFIG"; mkfifo -m 0600 "$REAPER_CONFIG"; }

# hold_config WHAT: returns once a reader has opened the configuration FIFO; the reader then
# waits in read() until release_config. Fails after 30 s without a reader.
hold_config() {
  local dog
  ( s=""; trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep 30 & s=$!
    wait "$s" && { : >"$TEST_TMP/nobody-read"; exec 3<"$REAPER_CONFIG"; } ) &
  dog=$!
  exec {HOLD}>"$REAPER_CONFIG"
  kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
  [[ ! -e $TEST_TMP/nobody-read ]] || fail "$1: nobody read the node configuration within 30 s"
}

# release_config: a regular (empty) configuration for every later reader, then EOF for the
# held one.
release_config() {
  : >"$REAPER_CONFIG.new" && mv -f "$REAPER_CONFIG.new" "$REAPER_CONFIG"
  exec {HOLD}>&-
}

# wait_shim_call METHOD OFFSET: bounded (30 s) until the shim logged that METHOD arrived
# (its debug line "METHOD SIZE", which reaches containerd's log) after byte OFFSET of it.
wait_shim_call() {
  local fd tailpid line ok=0
  exec {fd}< <(exec tail -c +"$(($2 + 1))" -F "$CTRD_LOG" 2>/dev/null)
  tailpid=$!
  local deadline=$((SECONDS + 30)) left
  while left=$((deadline - SECONDS)); ((left > 0)) && IFS= read -r -t "$left" -u "$fd" line; do
    [[ $line == *"containerd-shim-reaper-v2: $1 "[0-9]* ]] && { ok=1; break; }
  done
  kill "$tailpid" 2>/dev/null; exec {fd}<&-; wait "$tailpid" 2>/dev/null
  ((ok)) || fail "the shim's $1 never arrived: $(containerd_log_tail 15)"
}

log_size() { stat -c %s "$CTRD_LOG"; }

# ctr as a command, not a shell function, so that `$!` of `"${CTR[@]}" ... &` is ctr's pid;
# RUN: its flags for a reaper run with the empty rootfs (then ID CMD...).
ctr_arrays() {
  CTR=("$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$CTRD_NS")
  RUN=(run --fifo-dir "$CTRD_FIFO" --runtime io.containerd.reaper.v2 --env "PATH=$CTRD_DEFAULT_PATH")
}

# client_gone PID: the client whose containerd died ends (ctr may take a while to notice:
# killed after 10 s; `ctr task exec` waits for its FIFOs, which the shim still holds); its
# status goes to CRC. Run in this shell, never in $(...): PID is this shell's child, and a
# subshell's `wait` on it returns at once, having waited for nothing.
client_gone() {
  wait_bounded 10 KILL "$1"; CRC=$?
}

# created_task ID MARK: container ID (`sleep 1000`, marked) and its task created, not
# started; prints the task's monitor's pid.
created_task() {
  capture cctr container create --runtime io.containerd.reaper.v2 --env "PATH=$CTRD_DEFAULT_PATH" \
    --env "REAPER_TEST_MARK=$2" --rootfs "$ROOTFS" "$1" sleep 1000
  assert_eq 0 "$rc" "ctr container create $1 (stderr: $err)"
  capture bounded 30 "$PY" "$TOP/test/lib/ctrd_tasks.py" "$CTRD_SOCK" "$CTRD_NS" create "$1"
  assert_eq 0 "$rc" "task create $1 (stderr: $err)"
  wait_task_status "$1" CREATED >&2 || fail "$1 not CREATED"
  local st ppid
  st=$(proc_stat "$out") || fail "no process $out for task $1"
  read -r _ ppid _ <<<"$st"
  [[ $(proc_comm "$ppid") == reaper-monitor ]] || fail "the parent $ppid of $1's process is $(proc_comm "$ppid")"
  echo "$ppid"
}

# after_restart ID MARK WHAT: containerd is back. What the shim still runs is accounted
# for (containerd lists the task); `ctr task rm -f` and `ctr container rm` clean up; then no
# marked process, no shim, no reaper state, no bundle, no shim socket, no mount under the
# bundle or the state root is left.
after_restart() {
  local id=$1 mark=$2 what=$3 left
  # Whatever the shim still runs, containerd knows of: it lists the task, or nothing runs
  # (a shim that lost its task shuts down).
  if ! cctr task ls | awk 'NR > 1 { print $1 }' | grep -qx "$id"; then
    # shellcheck disable=SC2046  # a list of pids, split into words on purpose
    wait_no_shim_pids ||
      fail "$what: containerd lists no task, yet these run: $(describe_pids $(shim_pids))"
  fi
  capture bounded 30 cctr task rm -f "$id"
  [[ $rc -eq 0 || $err == *"not found"* ]] || fail "$what: ctr task rm -f (rc $rc): $err"
  capture bounded 30 cctr container rm "$id"
  assert_eq 0 "$rc" "$what: ctr container rm (stderr: $err)"
  assert_no_marked_alive "$mark" "$what"
  wait_no_shim_pids || fail "$what: shim processes left"
  left=$(find "$REAPER_ROOT" -mindepth 2 -maxdepth 2 2>/dev/null)
  [[ -z $left ]] || fail "$what: state left under $REAPER_ROOT: $left"
  [[ ! -e $(bundle_dir "$id") ]] || fail "$what: the task's bundle is left: $(ls -A "$(bundle_dir "$id")")"
  left=$(our_shim_sockets "$id")
  [[ -z $left ]] || fail "$what: the shim's socket is left: $left"
  left=$(nsenter -t "$CTRD_PID" -m -- awk -v b="$(bundle_dir "$id")" -v r="$REAPER_ROOT" \
    'index($5, b) == 1 || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo)
  [[ -z $left ]] || fail "$what: mounts left: $left"
  # And the node runs workloads as before.
  capture bounded 60 rrun --rm "$id-after" echo fine
  assert_eq fine "$out" "$what: a run afterwards (stderr: $err)"
}

test_containerd_killed_during_create() {
  fault_up
  local mark; mark=$(new_mark kcreate)
  config_fifo
  "${CTR[@]}" "${RUN[@]}" -d --env "REAPER_TEST_MARK=$mark" --rootfs "$ROOTFS" kc1 sleep 1000 \
    >"$TEST_TMP/kc1.out" 2>&1 &
  local client=$!
  hold_config "kc1's Create"
  containerd_kill
  release_config
  client_gone "$client"
  ((CRC != 0)) || fail "ctr run (rc $CRC) while containerd died in its Create: $(cat "$TEST_TMP/kc1.out")"
  containerd_restart
  after_restart kc1 "$mark" "containerd killed during Create"
}

test_containerd_killed_during_start() {
  fault_up
  local mark; mark=$(new_mark kstart)
  local monitor; monitor=$(created_task ks1 "$mark") || exit 1
  kill -STOP "$monitor"
  local at; at=$(log_size)
  "$PY" "$TOP/test/lib/ctrd_tasks.py" "$CTRD_SOCK" "$CTRD_NS" start ks1 >"$TEST_TMP/ks1.out" 2>&1 &
  local client=$!
  wait_shim_call Start "$at"
  containerd_kill
  kill -CONT "$monitor"
  client_gone "$client"
  ((CRC != 0)) || fail "Start (rc $CRC) while containerd died in it: $(cat "$TEST_TMP/ks1.out")"
  containerd_restart
  after_restart ks1 "$mark" "containerd killed during Start"
}

test_containerd_killed_during_exec() {
  fault_up
  local mark; mark=$(new_mark kexec)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ke1 sleep 1000
  assert_eq 0 "$rc" "run ke1 (stderr: $err)"
  wait_task_status ke1 RUNNING || fail "ke1 not RUNNING"
  config_fifo
  "${CTR[@]}" task exec --fifo-dir "$CTRD_FIFO" --exec-id e1 ke1 sleep 999 >"$TEST_TMP/e1.out" 2>&1 &
  local client=$!
  hold_config "the exec's Start"
  containerd_kill
  release_config
  client_gone "$client"
  ((CRC != 0)) || fail "ctr task exec (rc $CRC) while containerd died in it: $(cat "$TEST_TMP/e1.out")"
  containerd_restart
  after_restart ke1 "$mark" "containerd killed during an exec's Start"
}

test_containerd_killed_during_delete() {
  fault_up
  local mark; mark=$(new_mark kdelete)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" kd1 sleep 1000
  assert_eq 0 "$rc" "run kd1 (stderr: $err)"
  wait_task_status kd1 RUNNING || fail "kd1 not RUNNING"
  # An exec that exits at once and leaves a child: its monitor stays to reap the child,
  # and the container's Delete waits for every monitor of the container to end.
  capture bounded 30 cctr task exec -d --fifo-dir "$CTRD_FIFO" --exec-id e1 kd1 \
    sh -c 'sleep 1002 </dev/null >/dev/null 2>&1 & exit 3'
  assert_eq 0 "$rc" "exec -d (stderr: $err)"
  local i p child="" monitor=""
  for ((i = 0; i < 200; i++)); do
    for p in $(marked_pids "$mark"); do
      [[ $(proc_cmdline "$p") == "sleep 1002" ]] && child=$p
    done
    if [[ -n $child ]]; then
      read -r _ monitor _ <<<"$(proc_stat "$child")"
      [[ $(proc_comm "$monitor") == reaper-monitor ]] && break
    fi
    sleep 0.05
  done
  [[ $(proc_comm "$monitor") == reaper-monitor ]] || fail "the exec's child is not its monitor's"
  kill -STOP "$monitor"
  capture cctr task kill -s KILL kd1
  assert_eq 0 "$rc" "kill kd1 (stderr: $err)"
  wait_task_status kd1 STOPPED || { kill -CONT "$monitor"; fail "kd1 not STOPPED"; }
  local at; at=$(log_size)
  "${CTR[@]}" task delete kd1 >"$TEST_TMP/kd1.out" 2>&1 &
  local client=$!
  wait_shim_call Delete "$at"
  containerd_kill
  kill -CONT "$monitor"
  client_gone "$client"
  ((CRC != 0)) || fail "ctr task delete (rc $CRC) while containerd died in it: $(cat "$TEST_TMP/kd1.out")"
  containerd_restart
  after_restart kd1 "$mark" "containerd killed during Delete"
}

test_output_fifo_never_read() {
  shim_up
  ctr_arrays
  local mark; mark=$(new_mark fifo)
  mkfifo "$TEST_TMP/gate"
  # ctr run (attached) opens the output FIFOs; stopped, it reads nothing more.
  "${CTR[@]}" "${RUN[@]}" --env "REAPER_TEST_MARK=$mark" --rootfs "$ROOTFS" kf1 \
    sh -c 'read go <"$1"; seq 1 2000; exit 7' sh "$TEST_TMP/gate" >"$TEST_TMP/kf1.out" 2>&1 &
  local ctr_pid=$!
  wait_task_status kf1 RUNNING || fail "kf1 not RUNNING"
  kill -STOP "$ctr_pid"
  local t0=$SECONDS
  echo go >"$TEST_TMP/gate"
  # 9 kB stay unread in the FIFO: the exit is reported anyway, after the shim's bound (5 s).
  wait_task_status kf1 STOPPED 20 || { kill -KILL "$ctr_pid"; fail "the exit was not reported within 20 s"; }
  local took=$((SECONDS - t0))
  capture bounded 30 cctr task delete kf1
  kill -KILL "$ctr_pid"; wait "$ctr_pid" 2>/dev/null
  assert_eq 0 "$rc" "task delete while the reader is stopped (stderr: $err)"
  assert_contains "$out$err" 7 "the exit status after delete"
  ((took <= 15)) || fail "the exit took $took s to be reported (bound 5 s)"
  capture cctr container rm kf1
  assert_eq 0 "$rc" "container rm (stderr: $err)"
  assert_no_marked_alive "$mark" "after the delete"
  wait_no_shim_pids || fail "shim processes left"
  local left; left=$(find "$REAPER_ROOT" -mindepth 2 -maxdepth 2 2>/dev/null)
  [[ -z $left ]] || fail "state left under $REAPER_ROOT: $left"
}
