# The overlay helper killed while it builds a group, end to end through a real containerd.
# A container is created in a shim that already serves another one, in an overlay group
# built for the first time; its helper (`reaper-overlay build`, a child of the container's
# monitor) is SIGKILLed in the middle of the build. Then: the Create fails at once with the
# helper's death in its error (the design: a workload whose overlay cannot be made is
# refused, never run unprotected; no retry), nothing of it is left running, recorded or
# mounted but the group's layer tmpfs (kept by design: it holds the group's files), the
# shim still serves its other container, and the next Create in the same group rebuilds
# the namespace over that half-built group and runs in a working overlay.
#
# How the helper is held mid-build, without sleeping and without meeting anybody else: in
# containerd's mount namespace (where the shims and so the helpers run) a FIFO is bound
# over a file of its own below /tmp. A host mount of a single file is copied into the
# overlay by the helper (docs/overlay.md, the rules for each kind of host mount), after it
# has unshared its namespace and attached the overlay of / on the group's merged/: its
# open() of that file meets the test's open for writing, and its read() then waits for
# the test. No other process opens that path; the group (and so this build) is new.
# containerd: matrix
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# Mount points under the test's directory in the mount namespace of pid $1, sorted.
mounts_under_tmp() {
  # shellcheck disable=SC2016  # awk's own fields
  awk -v d="$TEST_TMP" 'index($5, d "/") == 1 || $5 == d {
    for (i = 7; $i != "-"; i++) {}
    print $5 " " $(i + 1) }' "/proc/$1/mountinfo" | sort
}

# Processes whose command line names the test's overlay root (helpers and holders).
overlay_helpers() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $(proc_cmdline "$p") == "reaper-overlay "*" $REAPER_OVERLAY_ROOT"* ]] && echo "$p"
  done
  return 0
}

# The FIFO bound over HOLD_SPOT (a file below /tmp) in containerd's namespace, undone on
# exit whatever happens.
hold_spot_up() {
  HOLD_FIFO=$TEST_TMP/hold.fifo
  mkfifo -m 0600 "$HOLD_FIFO" || fail "mkfifo"
  HOLD_SPOT=$(mktemp /tmp/reaper-fault-overlay.XXXXXX) || fail "mktemp"
  trap 'hold_spot_down; containerd_stop; harness_cleanup' EXIT
  nsenter -t "$CTRD_PID" -m -- mount --bind "$HOLD_FIFO" "$HOLD_SPOT" ||
    fail "bind the FIFO over $HOLD_SPOT in containerd's namespace"
}
hold_spot_down() {
  [[ -n ${HOLD_SPOT:-} ]] || return 0
  [[ -n ${CTRD_PID:-} ]] && nsenter -t "$CTRD_PID" -m -- umount "$HOLD_SPOT" 2>/dev/null
  rm -f "$HOLD_SPOT"
  HOLD_SPOT=""
}

# hold_open: returns once a reader has opened the FIFO (fd HOLD then stays open for
# writing, so that reader waits in read()). Fails after 30 s without a reader.
hold_open() {
  local dog
  ( s=""; trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep 30 & s=$!
    wait "$s" && { : >"$TEST_TMP/nobody-read"; exec 3<"$HOLD_FIFO"; } ) &
  dog=$!
  exec {HOLD}>"$HOLD_FIFO"
  kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
  [[ ! -e $TEST_TMP/nobody-read ]] || fail "no overlay helper opened the held file within 30 s"
}

# held_helper: the one process (other than this shell) that has the held file open.
held_helper() {
  local f p found=""
  while read -r f; do
    p=${f#/proc/}; p=${p%%/*}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    found+="${found:+ }$p"
  done < <(find /proc/[0-9]*/fd -maxdepth 1 -lname "$HOLD_SPOT" 2>/dev/null)
  echo "$found"
}

test_overlay_helper_killed_mid_build() {
  shim_up
  local g="io.containerd.reaper.v2.group=fault-$$" name="reaper.runtime/overlay-name=fault"
  local group=$REAPER_OVERLAY_ROOT/node.fault mark_a mark_b mark_c
  mark_a=$(new_mark ovla) mark_b=$(new_mark ovlb) mark_c=$(new_mark ovlc)
  # fa: a running container of the shim, in the node's group (built now, before the hold).
  capture rrun -d --annotation "$g" --env "REAPER_TEST_MARK=$mark_a" fa sleep 1000
  assert_eq 0 "$rc" "run fa (stderr: $err)"
  wait_task_status fa RUNNING || fail "fa not RUNNING"
  local shim; shim=$(socket_owner "$(shim_addr fa)") || fail "nobody serves fa's socket"
  [[ ! -e $group ]] || fail "group node.fault exists before its first container"

  hold_spot_up
  local pids_before mounts_before host_before helpers_before
  pids_before=$(shim_pids | sort)
  mounts_before=$(mounts_under_tmp "$CTRD_PID")
  host_before=$(mounts_under_tmp self)
  helpers_before=$(overlay_helpers | sort)

  # fb: same shim, group node.fault (new): its monitor's helper builds it.
  local -a ctr=("$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$CTRD_NS")
  "${ctr[@]}" run -d --fifo-dir "$CTRD_FIFO" --runtime io.containerd.reaper.v2 \
    --env "PATH=$CTRD_DEFAULT_PATH" --env "REAPER_TEST_MARK=$mark_b" --annotation "$g" \
    --annotation "$name" --rootfs "$ROOTFS" fb sleep 1000 >"$TEST_TMP/fb.out" 2>&1 &
  local client=$!
  hold_open
  local helper; helper=$(held_helper)
  [[ $helper =~ ^[0-9]+$ ]] || { exec {HOLD}>&-; fail "not one reader of the held file: '$helper'"; }
  # Provably the helper of fb's Create, mid-build.
  local monitor
  read -r _ monitor _ <<<"$(proc_stat "$helper")"
  assert_eq "reaper-overlay build $REAPER_OVERLAY_ROOT node.fault" "$(proc_cmdline "$helper")" \
    "the reader's command line"
  assert_eq reaper-monitor "$(proc_comm "$monitor")" "the helper's parent"
  local shim_of_monitor; read -r _ shim_of_monitor _ <<<"$(proc_stat "$monitor")"
  assert_eq "$shim" "$shim_of_monitor" "the monitor's parent (fa's shim)"
  assert_ne "$(readlink "/proc/$CTRD_PID/ns/mnt")" "$(readlink "/proc/$helper/ns/mnt")" \
    "the helper's mount namespace (unshared)"
  grep -q " $group/merged .* - overlay " "/proc/$helper/mountinfo" ||
    fail "the helper has not attached its overlay on $group/merged: $(grep "$group" "/proc/$helper/mountinfo")"
  [[ ! -s $group/build.log ]] || fail "the helper already finished: $(cat "$group/build.log")"

  local t0=$SECONDS crc
  kill -KILL "$helper"
  exec {HOLD}>&-
  # No hang: the monitor sees the helper's report pipe close at once (its own bound is
  # 30 s: ctr is killed after 15).
  wait_bounded 15 KILL "$client"; crc=$?
  ((crc != 0 && crc != 137)) || fail "ctr run fb: rc $crc after $((SECONDS - t0)) s: $(cat "$TEST_TMP/fb.out")"
  assert_contains "$(cat "$TEST_TMP/fb.out")" \
    "overlay group node.fault: the overlay helper died before the namespace was ready" "fb's error"
  [[ ! -e /proc/$helper ]] || fail "the killed helper $helper was not reaped ($(proc_stat "$helper"))"

  # Nothing of fb left: no process (the set is fa's again), no state, no task; no mount
  # but the group's layer tmpfs; no helper or holder but the node group's.
  local i now=""
  for ((i = 0; i < 100; i++)); do
    now=$(shim_pids | sort)
    [[ $now == "$pids_before" ]] && break
    sleep 0.05
  done
  if [[ $now != "$pids_before" ]]; then
    local -a now_a before_a
    mapfile -t now_a <<<"$now"; mapfile -t before_a <<<"$pids_before"
    fail "processes after the failed Create: $(describe_pids "${now_a[@]}"); before: $(describe_pids "${before_a[@]}")"
  fi
  assert_eq "" "$(marked_pids "$mark_b")" "fb's processes"
  assert_eq "$helpers_before" "$(overlay_helpers | sort)" "overlay helpers and holders"
  [[ ! -e $REAPER_ROOT/$CTRD_NS/fb ]] || fail "fb's state left: $(ls -A "$REAPER_ROOT/$CTRD_NS/fb")"
  capture cctr task ls -q
  assert_eq fa "$out" "tasks after the failed Create"
  local expected
  expected=$(printf '%s\n%s\n' "$mounts_before" "$group/layers tmpfs" | sed '/^$/d' | sort)
  assert_eq "$expected" "$(mounts_under_tmp "$CTRD_PID")" "mounts in containerd's namespace"
  assert_eq "$host_before" "$(mounts_under_tmp self)" "mounts in the host's namespace"

  # The shim still serves fa.
  pid_alive "$shim" || fail "fa's shim died with fb's Create"
  assert_eq RUNNING "$(task_status fa)" "fa after fb's failed Create"
  capture bounded 20 cctr task exec --exec-id e1 fa echo served
  assert_eq served "$out" "exec into fa (rc $rc, stderr: $err)"
  capture bounded 20 cctr container rm fb
  assert_eq 0 "$rc" "ctr container rm fb (stderr: $err)"

  # The next Create of the group, in the same shim, rebuilds it and runs in its overlay:
  # / is an overlay and a write lands in the group's upper layer, not on the host.
  hold_spot_down
  local probe=/etc/reaper-fault-probe-$$
  capture bounded 60 rrun --rm --annotation "$g" --annotation "$name" \
    --env "REAPER_TEST_MARK=$mark_c" fc sh -c "echo layered >$probe && cat /proc/self/mountinfo"
  assert_eq 0 "$rc" "the next Create in the group (stderr: $err)"
  awk '$5 == "/" { t = $0 } END { exit !(t ~ / - overlay /) }' <<<"$out" ||
    fail "fc's / is not an overlay: $(awk '$5 == "/"' <<<"$out")"
  [[ ! -e $probe ]] || { rm -f "$probe"; fail "fc's write reached the host's $probe"; }
  capture nsenter -t "$CTRD_PID" -m -- cat "$group/layers/0/upper$probe"
  assert_eq layered "$out" "fc's write in the group's upper layer (stderr: $err)"
  assert_eq 1 "$(grep -c '^built ' "$group/build.log")" "builds recorded in build.log"
  assert_not_contains "$(cat "$group/build.log")" "(failed)" "build.log"
  assert_no_marked_alive "$mark_c" "after fc"

  # Cleanup: fa goes, then both groups; nothing is left mounted or running.
  capture bounded 20 cctr task kill -s KILL fa
  wait_task_status fa STOPPED || fail "fa not STOPPED"
  capture bounded 20 cctr task rm fa
  capture bounded 20 cctr container rm fa
  assert_eq 0 "$rc" "ctr container rm fa (stderr: $err)"
  wait_no_shim_pids || fail "shim processes left"
  local k
  for k in node.fault node; do
    capture nsenter -t "$CTRD_PID" -m -- "$REAPER" overlay rm "$k"
    assert_eq 0 "$rc" "reaper overlay rm $k (stderr: $err)"
  done
  assert_eq "" "$(mounts_under_tmp "$CTRD_PID")" "mounts in containerd's namespace at the end"
  assert_eq "" "$(overlay_helpers)" "overlay helpers and holders at the end"
  assert_no_marked_alive "$mark_a" "at the end"
}
