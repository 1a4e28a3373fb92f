# The overlay root is no attack surface (docs/overlay.md, "The overlay root"): entries
# planted in it (symlinks, a FIFO) never redirect reaper outside it, workloads do not
# see it, its locks are waited on for a bounded time, `reaper overlay rm` never follows
# a link, and the root's self-bind goes with the last group.
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# sr_run ID SCRIPT [PY-EDIT]: create + start + wait; output in $out/$err. A refused
# create leaves its message in $err and rc non-zero.
sr_create() {
  rt_bundle "$TEST_TMP/$1" /bin/sh -c "$2"
  [[ -z "${3:-}" ]] || edit_config "$TEST_TMP/$1" "$3"
  capture timeout 20 "$REAPER" reaper-runtime --root "$RT_ROOT" create --bundle "$TEST_TMP/$1" "$1"
}
sr_run() {
  rt_bundle "$TEST_TMP/$1" /bin/sh -c "$2"
  [[ -z "${3:-}" ]] || edit_config "$TEST_TMP/$1" "$3"
  run_bundle "$1" "$TEST_TMP/$1"
  out=$(workload_out "$1") err=$(workload_err "$1")
}
in_ns() { echo 'c["annotations"] = {"io.kubernetes.cri.sandbox-namespace": "'"$1"'"}'; }
# The target a planted link points at: outside the root, watched for any change.
make_target() { mkdir -p "$TEST_TMP/target"; echo host-file > "$TEST_TMP/target/keep"; }
assert_target_untouched() {
  assert_eq "keep" "$(find "$TEST_TMP/target" -mindepth 1 -printf '%P ' | sed 's/ $//')" "entries in the link's target ($1)"
  assert_eq host-file "$(cat "$TEST_TMP/target/keep")" "the target's file ($1)"
}

test_planted_upper_and_work_links_change_nothing_outside() {
  local R=$REAPER_OVERLAY_ROOT f=reaper-planted-$$
  make_target
  # The upper layer on the root's filesystem (no tmpfs over layers/): the links are
  # where reaper looks, and must be refused by name.
  echo "REAPER_OVERLAY_SIZE=0" > "$REAPER_CONFIG"
  mkdir -p "$R/node/layers/0"
  ln -s "$TEST_TMP/target" "$R/node/layers/0/upper"
  mkdir -p "$TEST_TMP/target-work"; ln -s "$TEST_TMP/target-work" "$R/node/layers/0/work"
  sr_create p1 "echo x > /etc/$f"
  [[ $rc -ne 0 ]] || { rt start p1; wait_stopped p1; }
  assert_target_untouched "size 0"
  assert_no_file "/etc/$f"
  [[ $rc -ne 0 ]] || fail "a planted upper link was accepted"
  assert_contains "$err" "$R/node/layers/0/upper is a symbolic link"
  # With the default (a tmpfs of the group over layers/), the planted links are covered.
  rm -f "$REAPER_CONFIG"
  sr_run p2 "echo x > /etc/$f; cat /etc/$f"
  assert_eq x "$out" "a write inside the group (stderr: $err)"
  assert_target_untouched "tmpfs layers"
  assert_no_file "/etc/$f"
}

test_planted_group_dir_link_creates_nothing_in_its_target() {
  local R=$REAPER_OVERLAY_ROOT
  make_target
  mkdir -p "$R"; ln -s "$TEST_TMP/target" "$R/node"
  sr_create g1 "echo ran > $TEST_TMP/ran"
  [[ $rc -ne 0 ]] || fail "a planted group link was accepted"
  assert_contains "$err" "$R/node is a symbolic link"
  assert_target_untouched "group dir link"
  assert_no_file "$TEST_TMP/ran"
}

test_planted_lock_link_and_fifo_are_refused() {
  local R=$REAPER_OVERLAY_ROOT
  make_target
  mkdir -p "$R/node"; ln -s "$TEST_TMP/target/lock" "$R/node/lock"
  sr_create l1 "echo ran > $TEST_TMP/ran"
  [[ $rc -ne 0 ]] || fail "a planted lock link was accepted"
  assert_contains "$err" "$R/node/lock is a symbolic link"
  assert_target_untouched "lock link"
  rm "$R/node/lock"; mkfifo "$R/node/lock"
  sr_create l2 "echo ran > $TEST_TMP/ran"
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "a FIFO as the lock: rc $rc"
  assert_contains "$err" "$R/node/lock is not a regular file"
  assert_no_file "$TEST_TMP/ran"
}

test_workload_sees_no_overlay_root() {
  local R=$REAPER_OVERLAY_ROOT
  sr_run o1 "echo other > /etc/of-other" "$(in_ns other)"
  [[ -d "$R/k8s.other/layers/0/upper/etc" ]] || fail "setup: group other has no upper layer"
  # Its own group, another group, the root itself, through /run and /var/run.
  local probe="ls -A $R | wc -l; ls -A /var$R 2>/dev/null | wc -l"
  probe+="; cat $R/k8s.other/layers/0/upper/etc/of-other 2>/dev/null || echo unreadable"
  probe+="; cat $R/node/lock 2>/dev/null && echo lock-reachable || echo no-lock"
  probe+="; touch $R/planted 2>/dev/null && echo writable || echo read-only"
  sr_run o2 "$probe"
  assert_eq $'0\n0\nunreadable\nno-lock\nread-only' "$out" "what the workload sees (stderr: $err)"
  assert_no_file "$R/planted"
  # Its own group's namespace too, from a second group's workload.
  sr_run o3 "ls -A $R | wc -l" "$(in_ns other)"
  assert_eq 0 "$out" "another group's workload"
}

# hold_lock FILE: a process (pid in $holder) holding FILE exclusively until killed.
hold_lock() {
  local i
  ( exec 9<>"$1"; flock -x 9; exec sleep 60 ) & holder=$!
  for ((i = 0; i < 200; i++)); do
    flock -n "$1" true 2>/dev/null || return 0
    sleep 0.025
  done
  fail "the lock on $1 was never taken"
}

test_held_lock_gives_a_bounded_clear_error() {
  local R=$REAPER_OVERLAY_ROOT holder start elapsed
  sr_run h0 "echo ok"
  echo "REAPER_OVERLAY_LOCK_TIMEOUT=2" > "$REAPER_CONFIG"
  hold_lock "$R/node/lock"
  start=$(date +%s%N)
  sr_create h1 "echo ran > $TEST_TMP/ran"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  kill "$holder"; wait "$holder" 2>/dev/null
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "create with the group lock held: rc $rc"
  assert_contains "$err" "$R/node/lock is still locked by another process after 2000 ms"
  ((elapsed < 10000)) || fail "create waited ${elapsed} ms"
  assert_no_file "$TEST_TMP/ran"
  # in-use.lock held exclusively (what `rm` takes for a moment) is bounded the same way.
  hold_lock "$R/node/in-use.lock"
  sr_create h2 "echo ran > $TEST_TMP/ran"
  kill "$holder"; wait "$holder" 2>/dev/null
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "create with in-use.lock held: rc $rc"
  assert_contains "$err" "$R/node/in-use.lock is still locked"
}

test_rm_of_planted_entries_deletes_nothing_outside() {
  local R=$REAPER_OVERLAY_ROOT
  make_target
  mkdir -p "$TEST_TMP/target/layers"; echo deep > "$TEST_TMP/target/layers/f"
  mkdir -p "$R"; ln -s "$TEST_TMP/target" "$R/k8s.planted"
  capture "$REAPER" overlay rm k8s.planted
  assert_eq 0 "$rc" "rm of a planted group link (stderr: $err)"
  [[ ! -e "$R/k8s.planted" && ! -L "$R/k8s.planted" ]] || fail "the planted link is still there"
  assert_eq deep "$(cat "$TEST_TMP/target/layers/f")" "a file in the link's target"
  # A real group whose parts are links: the links go, their targets stay.
  mkdir -p "$R/k8s.parts"; : > "$R/k8s.parts/lock"
  ln -s "$TEST_TMP/target" "$R/k8s.parts/layers"; ln -s "$TEST_TMP/target/keep" "$R/k8s.parts/build.log"
  capture "$REAPER" overlay rm k8s.parts
  assert_eq 0 "$rc" "rm of a group with planted parts (stderr: $err)"
  assert_no_file "$R/k8s.parts"
  assert_eq deep "$(cat "$TEST_TMP/target/layers/f")" "a file below a planted layers link"
  assert_eq host-file "$(cat "$TEST_TMP/target/keep")" "the target of a planted build.log"
}

test_last_group_removed_takes_the_self_bind() {
  local R=$REAPER_OVERLAY_ROOT
  sr_run b1 "echo ok"
  sr_run b2 "echo ok" "$(in_ns second)"
  mountpoint -q "$R" || fail "setup: the root is not a mount while groups exist"
  capture "$REAPER" overlay rm node
  assert_eq 0 "$rc" "rm node: $err"
  mountpoint -q "$R" || fail "the self-bind went while a group was left"
  capture "$REAPER" overlay rm k8s.second
  assert_eq 0 "$rc" "rm k8s.second: $err"
  mountpoint -q "$R" && fail "the root's self-bind is still mounted after the last group"
  grep -q " ${R}[/ ]" /proc/self/mountinfo && fail "mounts left below $R: $(grep " $R" /proc/self/mountinfo)"
  assert_eq "" "$(ls -A "$R")" "entries left in the root"
}
