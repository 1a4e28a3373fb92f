# The shim daemon as `start` leaves it (docs/shim.md "Binary contract", "The daemon"): a
# process of its own that the node's tools recognise, holding nothing of `start`'s or
# containerd's but the listening socket, and one per pod however many `start`s race.
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# _daemon_of ID: the pid of the daemon serving container ID.
_daemon_of() {
  local sock; sock=$(shim_addr "$1") || fail "no address file for $1"
  socket_owner "$sock" || fail "nobody listens on $sock"
}

test_daemon_is_a_process_of_its_own() {
  shim_up
  capture rrun -d d1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err; log: $(containerd_log_tail 15))"
  wait_task_status d1 RUNNING || fail "d1 not RUNNING"
  local shim sock; shim=$(_daemon_of d1); sock=$(shim_addr d1)

  # What `reaper metrics` and the operator look for: comm cut to 15 characters, argv[0].
  assert_eq containerd-shim "$(proc_comm "$shim")" "comm of the daemon"
  local -a argv; mapfile -d '' -t argv <"/proc/$shim/cmdline"
  assert_eq containerd-shim-reaper-v2 "${argv[0]##*/}" "argv[0] of the daemon"
  assert_eq serve "${argv[-1]}" "the action word on the daemon's command line"
  assert_eq "$shim" "$(proc_sid "$shim")" "session of the daemon (its own)"

  # stdio on /dev/null (containerd's pipes of `start` reached EOF), the socket as fd 3, and
  # nothing of `start`'s: not the node-wide start lock, which a second `start` takes.
  local fds; fds=$(find "/proc/$shim/fd" -mindepth 1 -printf '%f -> %l\n')
  assert_eq /dev/null "$(readlink "/proc/$shim/fd/0")" "fd 0 ($fds)"
  assert_eq /dev/null "$(readlink "/proc/$shim/fd/1")" "fd 1 ($fds)"
  # The listening socket's line: flags __SO_ACCEPTCON (containerd's accepted connection
  # shows the same path).
  local inode; inode=$(awk -v p="$sock" '$NF == p && $4 == "00010000" { print $7; exit }' /proc/net/unix)
  assert_eq "socket:[$inode]" "$(readlink "/proc/$shim/fd/3")" "fd 3: the listening socket ($fds)"
  local lock=/run/containerd/s/reaper-start.lock
  assert_file "$lock"
  [[ $fds != *reaper-start.lock* ]] || fail "the daemon holds the start lock: $fds"
  flock -n -x "$lock" true || fail "the start lock is held while the daemon serves"

  # One above containerd's OOM score, so that the OOM killer prefers the shim.
  local want=$(($(<"/proc/$CTRD_PID/oom_score_adj") + 1))
  ((want > 1000)) && want=1000
  assert_eq "$want" "$(<"/proc/$shim/oom_score_adj")" "oom_score_adj of the daemon"

  cctr task kill -s KILL d1 >/dev/null || fail "kill d1"
  wait_task_status d1 STOPPED || fail "d1 not STOPPED"
  cctr task delete d1 >/dev/null 2>&1
  cctr container delete d1 || fail "container delete d1"
  wait_no_shim_pids || fail "shim left"
}

# Containers of one group started at once: their `start`s race, one daemon serves them all.
test_racing_starts_of_one_pod_make_one_daemon() {
  shim_up
  local g="io.containerd.reaper.v2.group=race-$$" i
  local -a pids=() ids=(r1 r2 r3 r4)
  for i in "${ids[@]}"; do
    rrun -d --annotation "$g" "$i" sleep 1000 >"$TEST_TMP/$i.out" 2>"$TEST_TMP/$i.err" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "ctr run -d ${ids[$i]}: $(cat "$TEST_TMP/${ids[$i]}.err")"
  done
  local addr; addr=$(shim_addr r1) || fail "no address file for r1"
  for i in "${ids[@]}"; do
    wait_task_status "$i" RUNNING || fail "$i not RUNNING"
    assert_eq "$addr" "$(shim_addr "$i")" "shim socket of $i"
  done
  local p daemons=()
  for p in $(shim_pids); do [[ $(proc_comm "$p") == containerd-shim ]] && daemons+=("$p"); done
  assert_eq 1 "${#daemons[@]}" "shim daemons ($(describe_pids "${daemons[@]}"))"
  assert_eq "${daemons[0]}" "$(socket_owner "$addr")" "the daemon is the one listening"
  for i in "${ids[@]}"; do
    cctr task kill -s KILL "$i" >/dev/null || fail "kill $i"
    wait_task_status "$i" STOPPED || fail "$i not STOPPED"
    cctr task delete "$i" >/dev/null 2>&1
    cctr container delete "$i" || fail "container delete $i"
  done
  wait_no_shim_pids || fail "shim left after the last container"
}
