# The audit trail (docs/audit.md) through reaper-runtime: records of init and exec, a full
# audit disk never fails a workload (the drops are counted), rotation by size, --follow,
# REAPER_AUDIT=false, bad flags.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-helpers.sh"

test_audit_runtime_records_without_containerd() {
  BUNDLE_CWD=/tmp BUNDLE_USER='{"uid": 1000, "gid": 1001, "additionalGids": [7, 8]}' \
    BUNDLE_EXTRA=', "annotations": {"io.kubernetes.cri.sandbox-name": "p9", "io.kubernetes.cri.sandbox-namespace": "ns9"}' \
    rt_bundle "$TEST_TMP/b" sh -c 'exit 0'
  run_bundle r1 "$TEST_TMP/b"
  rt delete r1 || fail "delete r1"
  rt_bundle "$TEST_TMP/b2" sleep 100
  rt_create r2 "$TEST_TMP/b2"
  rt_start r2
  rt exec r2 sh -c 'exit 4' </dev/null >/dev/null 2>&1
  assert_eq 4 "$?" "rt exec status"
  rt kill r2 TERM
  wait_stopped r2 || fail "r2 did not stop"
  rt delete r2 || fail "delete r2"
  local r1s r1e
  r1s=$(audit --json --container r1 | sed -n 1p)
  r1e=$(audit --json --container r1 | sed -n 2p)
  check_record "$r1s" 'r["event"] == "start"' 'r["namespace"] is None' 'r["pod"]["name"] == "p9"' \
    'r["user"] == {"uid": 1000, "gid": 1001, "groups": [7, 8]}' 'r["cwd"] == "/tmp"'
  check_record "$r1e" 'r["event"] == "exit"' 'r["exitStatus"] == 0'
  assert_eq 4 "$(audit --json --container r2 | wc -l)" "r2: init and exec, start and exit"
  check_record "$(audit --json --container r2 --exit-status 4)" 'r["execId"] is not None' \
    'r["argv"] == ["sh", "-c", "exit 4"]'
  check_record "$(audit --json --container r2 --exit-status 143)" 'r["signal"] == 15' 'r["execId"] is None'
}

# A full audit filesystem: workloads still start and exit with their status; every record
# that could not be written is counted as dropped; no half line is left in the trail.
test_audit_full_disk_is_survived_and_counted() {
  mkdir -p "$REAPER_AUDIT_DIR"
  mount -t tmpfs -o size=64k tmpfs "$REAPER_AUDIT_DIR" || fail "mount tmpfs"
  trap 'umount -l "$REAPER_AUDIT_DIR"; harness_cleanup' EXIT
  rt_bundle "$TEST_TMP/b" sh -c 'exit 6'
  run_bundle f0 "$TEST_TMP/b"
  rt delete f0 || fail "delete f0"
  assert_eq 2 "$(read_counter written)" "written before the disk filled"
  # As after a rotation: the next record starts a new page, which the filled disk refuses.
  mv "$REAPER_AUDIT_DIR/audit.jsonl" "$REAPER_AUDIT_DIR/audit.jsonl.1"
  dd if=/dev/zero of="$REAPER_AUDIT_DIR/filler" bs=4k 2>/dev/null
  [[ $(stat -f -c %a "$REAPER_AUDIT_DIR") == 0 ]] || fail "test setup: the tmpfs is not full"
  local i
  for i in 1 2 3 4 5 6; do
    run_bundle "f$i" "$TEST_TMP/b"
    assert_eq 6 "$("$REAPER" state --root "$RT_ROOT" --json "f$i" | json_field exitStatus)" \
      "exit status of f$i on a full audit disk"
    rt delete "f$i" || fail "delete f$i"
  done
  BUNDLE_TERMINAL=false rt_bundle "$TEST_TMP/b3" sh -c 'echo still-running'
  run_bundle f7 "$TEST_TMP/b3"
  assert_eq still-running "$(workload_out f7)" "output of a workload on a full audit disk"
  rt delete f7 || fail "delete f7"
  assert_eq 2 "$(read_counter written)" "written while full"
  assert_eq 14 "$(read_counter dropped)" "dropped while full (7 runs, 2 records each)"
  assert_eq 2 "$(audit --json | wc -l)" "records in the trail"
  audit --json | "$PY" -c 'import json,sys; [json.loads(l) for l in sys.stdin]' ||
    fail "the trail holds a broken line"
  rm -f "$REAPER_AUDIT_DIR/filler"
  run_bundle f5 "$TEST_TMP/b"
  rt delete f5 || fail "delete f5"
  assert_eq 4 "$(read_counter written)" "written once there is room again"
  assert_eq 14 "$(read_counter dropped)" "dropped stays"
}

test_audit_rotates_by_size() {
  export REAPER_AUDIT_MAX_SIZE=4k REAPER_AUDIT_FILES=3
  rt_bundle "$TEST_TMP/b" sh -c 'exit 0' "$(printf 'x%.0s' {1..600})"
  local i
  for i in $(seq 1 12); do
    run_bundle "o$i" "$TEST_TMP/b"
    rt delete "o$i" || fail "delete o$i"
  done
  assert_file "$REAPER_AUDIT_DIR/audit.jsonl.1"
  assert_file "$REAPER_AUDIT_DIR/audit.jsonl.2"
  assert_no_file "$REAPER_AUDIT_DIR/audit.jsonl.3"
  local f
  for f in "$REAPER_AUDIT_DIR"/audit.jsonl*; do
    (($(stat -c %s "$f") <= 4096)) || fail "$f is larger than REAPER_AUDIT_MAX_SIZE"
  done
  # Read back oldest first: the newest run is last, and the times never go back.
  audit --json | "$PY" -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert recs[-1]["containerId"] == "o12" and recs[-1]["event"] == "exit", recs[-1]
t = [r["timeNs"] for r in recs]
assert t == sorted(t), "records out of order"
' || fail "rotated trail read back"
  assert_eq 24 "$(read_counter written)" "records written"
}

test_audit_follow_shows_new_records() {
  # The reaper process itself in the background (not a shell function's subshell), so
  # that killing $! stops the follower.
  "$REAPER" audit --dir "$REAPER_AUDIT_DIR" --json --follow --container w1 \
    >"$TEST_TMP/follow.out" 2>"$TEST_TMP/follow.err" &
  local follower=$!
  rt_bundle "$TEST_TMP/b" sh -c 'exit 2'
  run_bundle w1 "$TEST_TMP/b"
  rt delete w1 || fail "delete w1"
  local i
  for ((i = 0; i < 200; i++)); do
    (($(wc -l <"$TEST_TMP/follow.out") >= 2)) && break
    sleep 0.025
  done
  kill "$follower"; wait "$follower" 2>/dev/null
  assert_eq 2 "$(wc -l <"$TEST_TMP/follow.out")" "records seen by --follow (stderr: $(cat "$TEST_TMP/follow.err"))"
  check_record "$(sed -n 2p "$TEST_TMP/follow.out")" 'r["event"] == "exit"' 'r["exitStatus"] == 2'
}

test_audit_off_writes_nothing() {
  export REAPER_AUDIT=false
  rt_bundle "$TEST_TMP/b" true
  run_bundle n1 "$TEST_TMP/b"
  rt delete n1 || fail "delete n1"
  assert_no_file "$REAPER_AUDIT_DIR/audit.jsonl"
}

test_audit_bad_flags_are_refused() {
  capture "$REAPER" audit --since yesterday
  assert_ne 0 "$rc" "--since yesterday"
  assert_contains "$err" "since" "error names the flag"
  capture "$REAPER" audit --exit-status x
  assert_ne 0 "$rc" "--exit-status x"
  capture "$REAPER" audit extra
  assert_ne 0 "$rc" "a positional argument"
}
