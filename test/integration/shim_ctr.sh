# End-to-end tests of containerd-shim-reaper-v2 (runtime io.containerd.reaper.v2) driven by
# ctr against a private containerd (test/lib/containerd.sh), once per containerd version
# (test/run). Each test starts its own containerd. Containers get an EMPTY --rootfs
# directory: reaper ignores the rootfs and runs the host's programs, so any workload that
# runs at all proves that.
# Written from the requirements (issue + docs/shim-protocol.md §3.4-§5), not from the shim.
# test-timeout: 240
# test_many_runs_leave_nothing takes 30-100 s; the line above gives every test of this file 240 s.
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# ---------------------------------------------------------------- ctr run: output, status

test_run_rm_echo_prints_hello() {
  shim_up
  capture rrun --rm echo1 echo hello
  assert_eq 0 "$rc" "ctr run status (stderr: $err; log: $(containerd_log_tail 15))"
  assert_eq hello "$out" "ctr run output"
  capture cctr containers ls -q
  assert_eq "" "$out" "containers left after --rm"
  wait_no_shim_pids || fail "shim did not exit after the container was deleted"
}

test_run_rm_exit_status_propagates() {
  shim_up
  capture rrun --rm exit7 sh -c 'echo before; exit 7'
  assert_eq 7 "$rc" "ctr run exit status (stderr: $err)"
  assert_eq before "$out" "output of the exiting workload"
  capture rrun --rm exit0 sh -c 'exit 0'
  assert_eq 0 "$rc" "exit 0 status (stderr: $err)"
}

# A foreground `ctr run` of a sleeper, killed with SIGKILL from `ctr task kill`: ctr exits 137.
test_run_killed_with_sigkill_exits_137() {
  shim_up
  rrun k1 sleep 1000 >"$TEST_TMP/k1.out" 2>"$TEST_TMP/k1.err" &
  local ctrpid=$!
  wait_task_status k1 RUNNING || fail "task k1 never RUNNING: $(cat "$TEST_TMP/k1.err")"
  capture cctr task kill -s KILL k1
  assert_eq 0 "$rc" "ctr task kill (stderr: $err)"
  local st i
  for ((i = 0; i < 100; i++)); do kill -0 "$ctrpid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$ctrpid" 2>/dev/null && { kill "$ctrpid"; fail "ctr run did not return 5 s after SIGKILL"; }
  wait "$ctrpid"; st=$?
  assert_eq 137 "$st" "ctr run exit status after SIGKILL (stderr: $(cat "$TEST_TMP/k1.err"))"
}

# The same through `ctr run -d`: the task's pid is a real host process running the host's
# sleep; it is listed by the operator CLI under REAPER_ROOT; after the kill the task is
# STOPPED with status 137 (ctr task delete reports it).
test_detached_run_kill_and_delete() {
  shim_up
  capture rrun -d d1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status d1 RUNNING || fail "d1 not RUNNING"
  local pid; pid=$(task_pid d1)
  [[ $pid =~ ^[1-9][0-9]*$ ]] || fail "bad task pid '$pid'"
  pid_alive "$pid" || fail "task pid $pid is not a live host process"
  assert_eq "sleep 1000" "$(proc_cmdline "$pid")" "cmdline of the task pid"
  assert_eq "$(readlink -f "$(command -v sleep)")" "$(readlink -f "/proc/$pid/exe")" "binary of the task"
  assert_contains "$(reaper_list)" "d1" "reaper list --root \$REAPER_ROOT/$CTRD_NS"
  capture cctr task kill -s KILL d1
  assert_eq 0 "$rc" "task kill (stderr: $err)"
  wait_task_status d1 STOPPED || fail "d1 not STOPPED after SIGKILL"
  capture cctr task delete d1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  assert_contains "$err" "137" "task delete's report of the exit code"
  cctr container delete d1 || fail "container delete"
  wait_no_shim_pids || fail "shim left after the last container was deleted"
  assert_not_contains "$(reaper_list)" "d1" "reaper list after delete"
}

# Pause without a cgroup freezer: every process of the container is stopped (state T)
# and continued again on resume.
test_pause_stops_and_resume_continues_the_task() {
  shim_up
  capture rrun -d p1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  wait_task_status p1 RUNNING || fail "p1 not RUNNING"
  local pid; pid=$(task_pid p1)
  capture cctr task pause p1
  assert_eq 0 "$rc" "task pause (stderr: $err)"
  wait_task_status p1 PAUSED || fail "p1 not PAUSED"
  assert_eq T "$(awk '{print $3}' "/proc/$pid/stat")" "state of the paused task's process"
  capture cctr task resume p1
  assert_eq 0 "$rc" "task resume (stderr: $err)"
  wait_task_status p1 RUNNING || fail "p1 not RUNNING after resume"
  assert_ne T "$(awk '{print $3}' "/proc/$pid/stat")" "state after resume"
  cctr task kill -s KILL p1
  wait_task_status p1 STOPPED || fail "p1 not STOPPED"
  cctr task delete p1 >/dev/null 2>&1
  cctr container delete p1 || fail "container delete"
}

# ---------------------------------------------------------------- short-lived workloads

test_short_commands_never_lose_output() {
  shim_up
  capture rrun --rm t0 true
  assert_eq 0 "$rc" "true: status (stderr: $err)"
  assert_eq "" "$out" "true: output"
  local i bad=""
  for ((i = 1; i <= 20; i++)); do
    capture rrun --rm "x$i" echo x
    [[ $rc == 0 && $out == x ]] || bad+=" run $i: rc=$rc out='$out' err='$err';"
  done
  assert_eq "" "$bad" "runs of 'echo x' that lost output or failed"
  # stdout and stderr of a fast exit both arrive
  capture rrun --rm both sh -c 'echo to-out; echo to-err >&2; exit 2'
  assert_eq 2 "$rc" "status"
  assert_eq to-out "$out" "stdout"
  assert_contains "$err" to-err "stderr"
}

# stdin is copied to the workload, for the init process and for an exec. (Not EOF: ctr 1.6
# never sends CloseIO for a piped non-tty stdin, so `cat` would hang with runc as well.)
test_stdin_reaches_workload() {
  shim_up
  local got
  got=$(printf 'line1\nline2\n' | bounded 20 rrun --rm in1 sh -c 'read a; read b; echo "got=$a+$b"' 2>"$TEST_TMP/in1.err")
  assert_eq "got=line1+line2" "$got" "run: stdin lines read by the workload (stderr: $(cat "$TEST_TMP/in1.err"))"
  _sleeper in2
  got=$(printf 'exec-in\n' | bounded 20 cctr task exec --exec-id c1 in2 sh -c 'read a; echo "got=$a"' 2>"$TEST_TMP/in2.err")
  assert_eq "got=exec-in" "$got" "exec: stdin line read (stderr: $(cat "$TEST_TMP/in2.err"))"
}

# ---------------------------------------------------------------- host execution

test_workload_runs_on_the_host() {
  shim_up
  capture rrun --rm h1 cat /proc/1/comm
  assert_eq 0 "$rc" "cat /proc/1/comm (stderr: $err)"
  assert_eq "$(cat /proc/1/comm)" "$out" "/proc/1/comm seen by the workload"
  capture rrun --rm h2 cat /proc/sys/kernel/hostname
  assert_eq "$(cat /proc/sys/kernel/hostname)" "$out" "hostname seen by the workload"
  if command -v hostname >/dev/null; then
    capture rrun --rm h3 hostname
    assert_eq "$(hostname)" "$out" "hostname command"
  fi
  # No new namespaces: pid/net/uts/ipc/user/cgroup are containerd's (mnt differs on purpose:
  # the fixture runs containerd in a private mount namespace), pid is the host's.
  local n want=""
  for n in pid net uts ipc user cgroup; do want+="$(readlink "/proc/$CTRD_PID/ns/$n")"$'\n'; done
  capture rrun --rm h4 sh -c 'for n in pid net uts ipc user cgroup; do readlink /proc/self/ns/$n; done'
  assert_eq "${want%$'\n'}" "$out" "namespaces of the workload"
  assert_contains "$out" "$(readlink /proc/1/ns/pid)" "host pid namespace"
  # The rootfs is ignored: the container's rootfs dir is empty, yet /bin/sh ran; and the
  # workload's / is the host's / seen through the group's overlay (docs/overlay.md).
  capture rrun --rm h5 sh -c 'test -e /proc/1/comm && stat -f -c %T / && sha256sum /etc/os-release'
  assert_eq "overlayfs"$'\n'"$(sha256sum /etc/os-release)" "$out" "/ seen by the workload"
}

# ---------------------------------------------------------------- TTY

# ctr_run_tty_cmd ID CMD...: sets CMD_ARGV to a `ctr run -t --rm` through reaper.
_ctr_run_tty_argv() {
  ctr_argv
  local -a flags; mapfile -t flags < <(ctr_runtime_flags "${SHIM_RUNTIME:-reaper}")
  CMD_ARGV=("${CTR_ARGV[@]}" run --fifo-dir "$CTRD_FIFO" "${flags[@]}"
    --env "PATH=$CTRD_DEFAULT_PATH" -t --rm --rootfs "$ROOTFS" "$@")
}

test_run_tty_has_a_pty_of_the_outer_size() {
  shim_up
  _ctr_run_tty_argv tty1 sh -c 'tty; i=0
    while [ "$(stty size)" != "33 111" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    echo "size=$(stty size)"; exit 4'
  capture pty_run 33 111 -- "${CMD_ARGV[@]}"
  out=$(strip_cr "$out")
  assert_eq 4 "$rc" "exit status through the tty (output: $out; stderr: $err; log: $(containerd_log_tail 10))"
  [[ $out =~ /dev/pts/[0-9]+ ]] || fail "tty did not print /dev/pts/N: $out"
  assert_contains "$out" "size=33 111" "stty size inside"
}

test_run_tty_follows_resize_and_takes_input() {
  shim_up
  _ctr_run_tty_argv tty2 sh -c 'echo READY-FOR-RESIZE; i=0
    while [ "$(stty size)" != "20 70" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    echo "size=$(stty size)"; printf "PROMPT>"; read l; echo "got=$l"'
  capture pty_run 33 111 --then-resize 20 70 --after READY-FOR-RESIZE --until "size=" \
    --send $'hello-in\r' --after 'PROMPT>' -- "${CMD_ARGV[@]}"
  out=$(strip_cr "$out")
  assert_eq 0 "$rc" "status (output: $out; stderr: $err)"
  assert_contains "$out" "size=20 70" "size after the outer terminal was resized"
  assert_contains "$out" "got=hello-in" "input typed on the terminal"
}

# A TTY workload that exits at once still delivers its output (no race between the exit and
# draining the pty master), 10 times in a row.
test_run_tty_short_command_output_not_lost() {
  shim_up
  local i bad=""
  for ((i = 1; i <= 10; i++)); do
    _ctr_run_tty_argv "tq$i" echo "tty-out-$i"
    capture pty_run 24 80 -- "${CMD_ARGV[@]}"
    [[ $rc == 0 && $out == *"tty-out-$i"* ]] || bad+=" run $i: rc=$rc out='$(strip_cr "$out")' err='$err';"
  done
  assert_eq "" "$bad" "tty runs that lost output or failed"
}

# ---------------------------------------------------------------- exec

_sleeper() {  # _sleeper ID [FLAGS...]: a detached `sleep 1000` container, RUNNING
  local id=$1; shift
  capture rrun -d "$@" "$id" sleep 1000
  assert_eq 0 "$rc" "ctr run -d $id (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status "$id" RUNNING || fail "$id not RUNNING"
}

# A container's monitor keeps none of its shim's fds (closed over the gaps between the
# ones it needs): no socket, no FIFO or file of the pod's other container, nothing but
# /dev/null, its pipes and pidfds, and files of its own container and group. A FIFO held
# here would keep a reader from ever seeing EOF.
test_monitor_keeps_none_of_the_shims_fds() {
  shim_up
  local g="io.containerd.reaper.v2.group=monfds-$$"
  _sleeper mf1 --annotation "$g"
  _sleeper mf2 --annotation "$g"
  local monitor fd target bad="" n=0
  monitor=$(sed -n 's/.*"monitorPid": *\([0-9]*\).*/\1/p' "$REAPER_ROOT/$CTRD_NS/mf2/state.json")
  [[ -n $monitor ]] && pid_alive "$monitor" || fail "mf2's monitor not found"
  for fd in /proc/"$monitor"/fd/*; do
    target=$(readlink "$fd") || continue
    ((n++))
    case $target in
      /dev/null | pipe:* | anon_inode:\[pidfd\] | "$REAPER_ROOT/$CTRD_NS/mf2/"* | "$REAPER_OVERLAY_ROOT/"*) ;;
      *) bad+="${fd##*/} -> $target"$'\n' ;;
    esac
  done
  ((n >= 5)) || fail "only $n fds read for monitor $monitor"
  [[ -z $bad ]] || fail "monitor $monitor holds fds it does not need:"$'\n'"$bad"
}

test_exec_output_and_exit_status() {
  shim_up
  _sleeper ex1
  capture cctr task exec --exec-id e1 ex1 sh -c 'echo out; echo err >&2; tty; exit 0'
  assert_eq 0 "$rc" "exec status (stderr: $err)"
  assert_eq $'out\nnot a tty' "$out" "exec stdout (no tty without -t)"
  assert_contains "$err" "err" "exec stderr"
  capture cctr task exec --exec-id e2 ex1 sh -c 'exit 5'
  assert_eq 5 "$rc" "exec exit status (stderr: $err)"
  # the exec id can be reused once the previous exec is gone; the task is unaffected
  capture cctr task exec --exec-id e1 ex1 echo again
  assert_eq again "$out" "second exec with the same id (rc $rc, stderr: $err)"
  assert_eq RUNNING "$(task_status ex1)" "task after the execs"
}

test_exec_tty() {
  shim_up
  _sleeper ex2
  ctr_argv
  capture pty_run 25 90 --send $'typed\r' --after 'PROMPT>' -- "${CTR_ARGV[@]}" task exec -t --exec-id t1 ex2 \
    sh -c 'tty; stty size; printf "PROMPT>"; read l; echo "got=$l"; exit 6'
  out=$(strip_cr "$out")
  assert_eq 6 "$rc" "exec -t exit status (output: $out; stderr: $err)"
  [[ $out =~ /dev/pts/[0-9]+ ]] || fail "tty in exec -t did not print /dev/pts/N: $out"
  assert_contains "$out" "got=typed" "input to exec -t"
}

test_exec_as_user_1000() {
  shim_up
  _sleeper ex3
  capture cctr task exec --user 1000 --exec-id u1 ex3 id -u
  assert_eq 0 "$rc" "exec --user 1000 (stderr: $err)"
  assert_eq 1000 "$out" "id -u"
}

test_exec_into_stopped_task_fails() {
  shim_up
  capture rrun -d st1 true
  assert_eq 0 "$rc" "run -d (stderr: $err)"
  wait_task_status st1 STOPPED || fail "st1 did not stop"
  capture cctr task exec --exec-id e1 st1 echo should-not-run
  assert_ne 0 "$rc" "exec into a stopped task: status"
  assert_not_contains "$out" "should-not-run" "exec output"
  # the shim still answers for the stopped task
  assert_eq STOPPED "$(task_status st1)" "task status after the refused exec"
  cctr task delete st1 >/dev/null 2>&1 || fail "task delete after refused exec: $(containerd_log_tail 10)"
}

# ---------------------------------------------------------------- kill --all, ps, metrics

test_kill_all_reaches_setsid_daemon() {
  shim_up
  local mark; mark=$(new_mark killall)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ka sh -c \
    'setsid sh -c "sleep 1001 & exit 0" </dev/null >/dev/null 2>&1 & sleep 1002 & sleep 1000'
  assert_eq 0 "$rc" "run -d (stderr: $err)"
  wait_marked_count "$mark" sleep 3
  local p daemon=""
  for p in $(marked_pids "$mark"); do
    [[ $(proc_cmdline "$p") == "sleep 1001" ]] && daemon=$p
  done
  [[ -n $daemon ]] || fail "no daemon"
  assert_ne "$(proc_sid "$(task_pid ka)")" "$(proc_sid "$daemon")" "session of the daemon (setsid)"
  capture cctr task kill --all -s KILL ka
  assert_eq 0 "$rc" "task kill --all (stderr: $err)"
  wait_task_status ka STOPPED || fail "task not STOPPED after kill --all"
  assert_no_marked_alive "$mark" "kill --all"
  cctr task delete ka >/dev/null 2>&1
  cctr container delete ka || fail "container delete"
  wait_no_shim_pids || fail "shim left"
}

test_ps_lists_workload_and_children() {
  shim_up
  local mark; mark=$(new_mark ps)
  capture rrun -d --env "REAPER_TEST_MARK=$mark" ps1 sh -c 'sleep 1001 & sleep 1002 & wait'
  assert_eq 0 "$rc" "run -d (stderr: $err)"
  wait_marked_count "$mark" sleep 2
  local init; init=$(task_pid ps1)
  capture cctr task ps ps1
  assert_eq 0 "$rc" "task ps (stderr: $err)"
  local listed p
  listed=" $(awk 'NR > 1 { print $1 }' <<<"$out" | tr '\n' ' ') "
  for p in $(marked_pids "$mark"); do
    [[ $listed == *" $p "* ]] || fail "pid $p ($(proc_cmdline "$p")) missing from ctr task ps: $out"
  done
  [[ $listed == *" $init "* ]] || fail "init pid $init missing from ctr task ps: $out"
}

test_metrics_prints_cpu_and_memory() {
  shim_up
  _sleeper m1
  capture cctr task metrics m1
  assert_eq 0 "$rc" "task metrics (stderr: $err; log: $(containerd_log_tail 10))"
  [[ $out =~ [Cc][Pp][Uu][A-Za-z_.]*[[:space:]]+\[?[0-9] ]] || fail "no CPU figure in: $out"
  [[ $out =~ [Mm]emory[A-Za-z_.]*[[:space:]]+[0-9] ]] || fail "no memory figure in: $out"
}

# ---------------------------------------------------------------- events

test_events_in_order() {
  shim_up
  local ev=$TEST_TMP/events
  events_start "$ev"
  capture rrun --rm ev1 sh -c 'exit 3'
  assert_eq 3 "$rc" "run status (stderr: $err)"
  events_wait_for '/tasks/delete .*"container_id":"ev1"' || fail "no /tasks/delete for ev1: $(cat "$ev")"
  events_stop
  assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$(event_topics container_id ev1)" \
    "task events of ev1 (all events: $(cat "$ev"))"
  local exitline
  exitline=$(grep "/tasks/exit .*\"container_id\":\"ev1\"" "$ev")
  assert_contains "$exitline" '"exit_status":3' "TaskExit"
  assert_contains "$exitline" '"id":"ev1"' "TaskExit id"
  assert_contains "$(grep "/tasks/delete .*\"container_id\":\"ev1\"" "$ev")" '"exit_status":3' "TaskDelete"
}

# Exec events: exec-added, exec-started, then the exec's exit (id = exec id, its status),
# all before the container's own exit.
test_exec_events_in_order() {
  shim_up
  local ev=$TEST_TMP/events
  _sleeper xe1
  events_start "$ev"
  capture cctr task exec --exec-id ex9 xe1 sh -c 'exit 9'
  assert_eq 9 "$rc" "exec status (stderr: $err)"
  cctr task kill -s KILL xe1 || fail "kill"
  events_wait_for '/tasks/exit .*"id":"xe1"' || fail "no init /tasks/exit: $(cat "$ev")"
  events_stop
  local topics; topics=$(event_topics container_id xe1)
  assert_eq "/tasks/exec-added /tasks/exec-started /tasks/exit /tasks/exit " "$topics" \
    "task events of xe1 after subscribing (all: $(cat "$ev"))"
  local exits; exits=$(grep '/tasks/exit ' "$ev")
  assert_contains "$(head -1 <<<"$exits")" '"id":"ex9"' "first exit is the exec's"
  assert_contains "$(head -1 <<<"$exits")" '"exit_status":9' "exec exit status"
  assert_contains "$(tail -1 <<<"$exits")" '"exit_status":137' "init exit status"
}

# ---------------------------------------------------------------- shim per container / group

# ctr 1.6 has `ctr run --annotation`: two containers with the same reaper group annotation
# are served by one shim daemon, which outlives the first deletion and exits after the last.
test_group_annotation_shares_one_shim() {
  shim_up
  local g="io.containerd.reaper.v2.group=grp-$$"
  _sleeper ga --annotation "$g"
  _sleeper gb --annotation "$g"
  local aa ab
  aa=$(shim_addr ga) || fail "no address file for ga"
  ab=$(shim_addr gb) || fail "no address file for gb"
  assert_eq "$aa" "$ab" "shim socket of the two grouped containers"
  local owner; owner=$(socket_owner "$aa") || fail "nobody listens on $aa"
  cctr task kill -s KILL ga || fail "kill ga"
  wait_task_status ga STOPPED || fail "ga not STOPPED"
  cctr task delete ga >/dev/null 2>&1
  cctr container delete ga || fail "container delete ga"
  assert_eq RUNNING "$(task_status gb)" "gb after ga was deleted"
  pid_alive "$owner" || fail "shared shim $owner exited while gb still runs"
  capture cctr task exec --exec-id e1 gb echo still-served
  assert_eq still-served "$out" "exec into gb after ga's deletion (rc $rc, stderr: $err)"
  cctr task kill -s KILL gb || fail "kill gb"
  wait_task_status gb STOPPED || fail "gb not STOPPED"
  cctr task delete gb >/dev/null 2>&1
  cctr container delete gb || fail "container delete gb"
  wait_no_shim_pids || fail "shared shim left after the last container"
  assert_no_file "$aa"
}

test_separate_containers_get_separate_shims() {
  shim_up
  _sleeper sa
  _sleeper sb
  local aa ab oa ob
  aa=$(shim_addr sa) || fail "no address file for sa"
  ab=$(shim_addr sb) || fail "no address file for sb"
  assert_ne "$aa" "$ab" "shim sockets of two ungrouped containers"
  oa=$(socket_owner "$aa") || fail "nobody listens on $aa"
  ob=$(socket_owner "$ab") || fail "nobody listens on $ab"
  assert_ne "$oa" "$ob" "shim daemons of two ungrouped containers"
  local l; l=$(reaper_list)
  assert_contains "$l" sa "reaper list"
  assert_contains "$l" sb "reaper list"
  cctr task kill -s KILL sa || fail "kill sa"
  wait_task_status sa STOPPED || fail "sa not STOPPED"
  cctr task delete sa >/dev/null 2>&1
  local i
  for ((i = 0; i < 100; i++)); do pid_alive "$oa" || break; sleep 0.05; done
  pid_alive "$oa" && fail "shim $oa of sa still alive after its container was deleted"
  pid_alive "$ob" || fail "shim $ob of sb died with sa's"
  assert_eq RUNNING "$(task_status sb)" "sb"
}

# ---------------------------------------------------------------- containerd restart

test_task_survives_containerd_restart() {
  shim_up
  _sleeper rs1
  local pid; pid=$(task_pid rs1)
  containerd_kill_restart
  wait_task_status rs1 RUNNING || fail "rs1 not RUNNING after the restart; log: $(containerd_log_tail 20)"
  assert_eq "$pid" "$(task_pid rs1)" "task pid after the restart"
  pid_alive "$pid" || fail "workload $pid died with containerd"
  capture cctr task exec --exec-id e1 rs1 echo reconnected
  assert_eq reconnected "$out" "exec after the restart (rc $rc, stderr: $err)"
  events_start "$TEST_TMP/events"
  capture cctr task kill -s KILL rs1
  assert_eq 0 "$rc" "kill after the restart (stderr: $err)"
  wait_task_status rs1 STOPPED || fail "rs1 not STOPPED after kill; log: $(containerd_log_tail 20)"
  # the shim's event publisher reconnected to the new containerd
  events_wait_for '/tasks/exit .*"container_id":"rs1".*"exit_status":137' ||
    fail "no /tasks/exit 137 for rs1 reached the restarted containerd: $(cat "$EVFILE"); log: $(containerd_log_tail 20)"
  events_stop
  capture cctr task delete rs1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  assert_contains "$err" "137" "exit code reported after the restart"
  cctr container delete rs1 || fail "container delete"
  wait_no_shim_pids || fail "shim left after delete"
}

# ---------------------------------------------------------------- leaks

# 200 sequential `ctr run --rm ... true`: no processes, mounts, containerd fds, shim
# sockets, state dirs or containers accumulate. About 0.15-0.5 s per run, by machine load.
# shellcheck disable=SC2012  # counts fds and lists socket names, plain words
test_many_runs_leave_nothing() {
  shim_up
  local mark; mark=$(new_mark many)
  capture rrun --rm warm true
  assert_eq 0 "$rc" "warm-up run (stderr: $err)"
  wait_no_shim_pids || fail "warm-up shim left"
  local fds0 mnt0 cmnt0 socks0 zomb0
  fds0=$(ls "/proc/$CTRD_PID/fd" | wc -l)
  mnt0=$(wc -l </proc/self/mountinfo)
  cmnt0=$(wc -l <"/proc/$CTRD_PID/mountinfo")
  socks0=$(ls /run/containerd/s 2>/dev/null | sort)
  zomb0=$(_zombies_of "$CTRD_PID")
  local i start=$SECONDS n=200 failed="" budget=$((${TEST_TIMEOUT:-120} - 20 - SECONDS))
  local -a ids=()
  for ((i = 1; i <= n; i++)); do
    ids+=("r$i")
    rrun --rm --env "REAPER_TEST_MARK=$mark" "r$i" true >/dev/null 2>"$TEST_TMP/run.err" ||
      { failed="run $i: rc=$? err=$(cat "$TEST_TMP/run.err")"; break; }
    ((SECONDS - start < budget)) ||
      { failed="too slow: only $i of $n runs in $budget s (raise TEST_TIMEOUT)"; break; }
  done
  [[ -z $failed ]] || fail "$failed; log: $(containerd_log_tail 15)"
  echo "$n runs in $((SECONDS - start)) s"
  wait_no_shim_pids || fail "shim/monitor processes left after $n runs"
  assert_no_marked_alive "$mark" "workloads"
  local fds1; fds1=$(ls "/proc/$CTRD_PID/fd" | wc -l)
  ((fds1 <= fds0 + 5)) || fail "containerd fds grew from $fds0 to $fds1: $(ls -l "/proc/$CTRD_PID/fd" | tail -20)"
  assert_eq "$mnt0" "$(wc -l </proc/self/mountinfo)" "host mount count"
  assert_eq "$cmnt0" "$(wc -l <"/proc/$CTRD_PID/mountinfo")" "mount count in containerd's namespace"
  assert_eq "" "$(our_shim_sockets "${ids[@]}")" "shim sockets of our containers left"
  # Other fixtures (a concurrent suite) may add sockets there: a new entry counts as ours when
  # a process of our containerd still listens on it.
  local new e o ours=""
  new=$(comm -13 <(echo "$socks0") <(ls /run/containerd/s 2>/dev/null | sort))
  for e in $new; do
    o=$(socket_owner "/run/containerd/s/$e") || continue
    grep -qzxF "RTEST_CTRD=$CTRD_DIR" "/proc/$o/environ" 2>/dev/null && ours+=" $e(pid $o)"
  done
  assert_eq "" "$ours" "new sockets in /run/containerd/s served by our shims"
  assert_eq "$zomb0" "$(_zombies_of "$CTRD_PID")" "zombie children of containerd"
  assert_eq "" "$(cctr containers ls -q)" "containers left"
  assert_eq "" "$(reaper_list)" "containers in REAPER_ROOT/$CTRD_NS"
  assert_eq "" "$(ls -A "$REAPER_ROOT/$CTRD_NS" 2>/dev/null)" "entries in REAPER_ROOT/$CTRD_NS"
}

_zombies_of() {  # count of zombie children of PID
  local p st c=0
  for p in /proc/[0-9]*; do
    st=$(proc_stat "${p#/proc/}") || continue
    read -r s pp _ <<<"$st"
    [[ $s == Z && $pp == "$1" ]] && ((c++))
  done
  echo "$c"
}

# ---------------------------------------------------------------- bad input

test_missing_command_fails_with_not_found() {
  shim_up
  capture rrun --rm bad1 "reaper-no-such-command-$$"
  assert_ne 0 "$rc" "ctr run of a missing command: status"
  assert_contains "$out$err" "not found" "error message"
  capture cctr containers ls -q
  assert_eq "" "$out" "containers left after the failed --rm run"
  wait_no_shim_pids || fail "processes left after the failed create"
  capture rrun --rm ok1 echo ok
  assert_eq 0 "$rc" "run after the failure (stderr: $err)"
  assert_eq ok "$out" "run after the failure"
}

# A failed create in a shared (grouped) shim does not hurt the other container it serves.
test_missing_command_in_shared_shim_keeps_other_container() {
  shim_up
  local g="io.containerd.reaper.v2.group=grpbad-$$"
  _sleeper good --annotation "$g"
  local owner; owner=$(socket_owner "$(shim_addr good)") || fail "no shim listening"
  capture rrun --rm --annotation "$g" bad2 "reaper-no-such-command-$$"
  assert_ne 0 "$rc" "missing command: status"
  assert_contains "$out$err" "not found" "error message"
  pid_alive "$owner" || fail "shared shim $owner died with the failed create; log: $(containerd_log_tail 15)"
  assert_eq RUNNING "$(task_status good)" "other container"
  capture cctr task exec --exec-id e1 good echo healthy
  assert_eq healthy "$out" "exec into the other container (rc $rc, stderr: $err)"
}
