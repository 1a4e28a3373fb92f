# The audit trail (docs/audit.md) through the shim, driven by ctr against a private
# containerd: one record when a process starts and one when it exits, for a container's
# init and every exec, with the pod's names from the CRI annotations; `reaper audit`'s
# filters. audit_runtime.sh: the same through reaper-runtime, a full disk, rotation.
# test-timeout: 120
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-helpers.sh"

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
