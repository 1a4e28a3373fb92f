# The audit trail (docs/audit.md): one record when a process starts and one when it exits,
# for a container's init and every exec, through the shim (driven by ctr against a private
# containerd) and through reaper-runtime; a full audit disk never fails a workload; rotation;
# `reaper audit` filters and --follow.
# test-timeout: 120
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# test/run gives every test REAPER_AUDIT_DIR=$TEST_TMP/audit.
audit() { "$REAPER" audit --dir "$REAPER_AUDIT_DIR" "$@"; }

# wait_records N [FILTERS...]: bounded wait until `reaper audit FILTERS` shows N records.
wait_records() {
  local n=$1 i got=0; shift
  for ((i = 0; i < 200; i++)); do
    got=$(audit --json "$@" | wc -l)
    ((got >= n)) && return 0
    sleep 0.025
  done
  echo "wait_records: $got records for $*, wanted $n; trail: $(cat "$REAPER_AUDIT_DIR"/audit.jsonl* 2>&1)" >&2
  return 1
}

# check_record JSON-LINE PYTHON-EXPRESSION...: each expression (over the record `r`) is true.
check_record() {
  local line=$1; shift
  "$PY" - "$line" "$@" <<'PY' || fail "audit record check failed for: $line"
import json, sys
r = json.loads(sys.argv[1])
for expr in sys.argv[2:]:
    if not eval(expr):
        print("false: %s" % expr, file=sys.stderr)
        sys.exit(1)
PY
}

ann_flags=(--annotation io.kubernetes.cri.sandbox-namespace=team-a
           --annotation io.kubernetes.cri.sandbox-name=web-0
           --annotation io.kubernetes.cri.sandbox-uid=0f1e2d3c-uid
           --annotation io.kubernetes.cri.container-name=shell)

test_audit_ctr_run_records_start_and_exit_with_pod_names() {
  shim_up
  capture rrun --rm "${ann_flags[@]}" --cwd /tmp a1 sh -c 'exit 3'
  assert_eq 3 "$rc" "ctr run status (stderr: $err)"
  wait_records 2 --container a1 || fail "no start and exit records"
  local start exit_
  start=$(audit --json --container a1 | sed -n 1p)
  exit_=$(audit --json --container a1 | sed -n 2p)
  check_record "$start" 'r["v"] == 1' 'r["event"] == "start"' "r['namespace'] == '$CTRD_NS'" \
    'r["pod"] == {"namespace": "team-a", "name": "web-0", "uid": "0f1e2d3c-uid"}' \
    'r["container"] == "shell"' 'r["containerId"] == "a1"' 'r["execId"] is None' \
    'r["argv"] == ["sh", "-c", "exit 3"]' 'r["cwd"] == "/tmp"' \
    'r["user"] == {"uid": 0, "gid": 0, "groups": []}' 'r["terminal"] is False' \
    'r["pid"] > 0' 'r["error"] is None' 'r["time"].endswith("Z")'
  check_record "$exit_" 'r["event"] == "exit"' 'r["exitStatus"] == 3' 'r["signal"] is None' \
    'r["durationNs"] >= 0' "r['namespace'] == '$CTRD_NS'" 'r["pod"]["name"] == "web-0"' \
    "r['pid'] == $(echo "$start" | json_field pid)" 'r["timeNs"] >= '"$(echo "$start" | json_field timeNs)"
  # The filters select it by pod, pod namespace, containerd namespace, container name and status.
  assert_eq 2 "$(audit --json --pod team-a/web-0 | wc -l)" "--pod NS/NAME"
  assert_eq 2 "$(audit --json --pod web-0 | wc -l)" "--pod NAME"
  assert_eq 2 "$(audit --json --namespace team-a | wc -l)" "--namespace (pod)"
  assert_eq 2 "$(audit --json --namespace "$CTRD_NS" | wc -l)" "--namespace (containerd)"
  assert_eq 2 "$(audit --json --container shell | wc -l)" "--container NAME"
  assert_eq 1 "$(audit --json --exit-status 3 | wc -l)" "--exit-status 3"
  assert_eq 0 "$(audit --json --exit-status 4 | wc -l)" "--exit-status 4"
  assert_eq 0 "$(audit --json --pod other | wc -l)" "--pod other"
  assert_eq 0 "$(audit --json --since 1h --until 30m | wc -l)" "--since 1h --until 30m"
  assert_eq 2 "$(audit --json --since 1h | wc -l)" "--since 1h"
  capture audit --container a1
  assert_contains "$out" "team-a/web-0 shell pid" "human output"
  assert_contains "$out" "status 3" "human output"
  assert_eq 2 "$(read_counter written)" "records counted as written"
}

read_counter() { sed -n "s/^$1 0*\([0-9]\)/\1/p" "$REAPER_AUDIT_DIR/counters"; }

test_audit_exec_and_signal_records() {
  shim_up
  capture rrun -d "${ann_flags[@]}" e1 sleep 1000
  assert_eq 0 "$rc" "ctr run -d (stderr: $err)"
  wait_task_status e1 RUNNING || fail "e1 not RUNNING"
  capture cctr task exec --exec-id x1 e1 sh -c 'exit 5'
  assert_eq 5 "$rc" "exec status (stderr: $err)"
  wait_records 2 --container e1 --since 1h || fail "no exec records"
  local recs; recs=$(audit --json --container e1 | grep '"execId":"x1"')
  assert_eq 2 "$(echo "$recs" | wc -l)" "start and exit of exec x1"
  check_record "$(echo "$recs" | sed -n 1p)" 'r["event"] == "start"' 'r["argv"] == ["sh", "-c", "exit 5"]' \
    'r["pod"]["name"] == "web-0"' 'r["container"] == "shell"' 'r["containerId"] == "e1"'
  check_record "$(echo "$recs" | sed -n 2p)" 'r["event"] == "exit"' 'r["exitStatus"] == 5'
  capture cctr task kill -s KILL e1
  wait_task_status e1 STOPPED || fail "e1 not STOPPED"
  wait_records 1 --container e1 --exit-status 137 || fail "no exit record of the killed init"
  check_record "$(audit --json --container e1 --exit-status 137)" 'r["signal"] == 9' 'r["execId"] is None'
  cctr task delete e1 >/dev/null 2>&1; cctr container delete e1 >/dev/null 2>&1
  # One start and one exit per process: init and the exec.
  assert_eq 4 "$(audit --json --container e1 | wc -l)" "records of e1"
}

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
  audit --json --follow --container w1 >"$TEST_TMP/follow.out" 2>"$TEST_TMP/follow.err" &
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
