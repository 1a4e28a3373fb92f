# Pods through containerd's CRI plugin with the reaper-v2 handler, driven the way kubelet
# drives them by the project's CRI client (test/cri/), on every containerd version of the
# matrix. Each test starts a private containerd, runs one scenario of
# test/cri/pod_scenarios.py, and checks that the pods it removed left nothing behind.
# test-timeout: 240
# containerd: matrix

source "$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cri.sh"

_cri_scenario() {
  trap 'containerd_stop; harness_cleanup' EXIT
  export REAPER_ROOT=$TEST_TMP/reaper-root
  # shellcheck disable=SC2086  # CRI_CTRD_ARGS: extra containerd_start options, split
  cri_setup ${CRI_CTRD_ARGS:-} || fail "CRI fixture did not start"
  cri_py "$TOP/test/cri/pod_scenarios.py" "$@" || fail "scenario $1 failed"
  cri_assert_nothing_left
}

test_cri_exit_code_and_logs() { _cri_scenario exit_code_and_logs; }
test_cri_last_output_before_exit() { _cri_scenario last_output_before_exit; }
test_cri_one_millisecond_container() { _cri_scenario one_millisecond_container; }
test_cri_stop_within_grace_and_kill_after() { _cri_scenario stop_within_grace; }
test_cri_multi_container_pod_with_init() { _cri_scenario multi_container_pod; }
test_cri_restarted_container() { _cri_scenario restarted_container; }
test_cri_exec_sync() { _cri_scenario exec_sync_codes; }
test_cri_exec_tty_resize() { _cri_scenario exec_tty_resize; }
test_cri_attach_tty() { _cri_scenario attach_tty; }
test_cri_users_and_groups() { _cri_scenario users_and_groups; }
# The volumes' tmpfs mounts are made in the host's mount namespace, as kubelet makes
# them; containerd must see them, so it runs there too (on a node it always does).
test_cri_volumes() { CRI_CTRD_ARGS=--no-unshare _cri_scenario volumes; }
# The host files live under the test's scratch directory, as kubelet's live under
# /var/lib/kubelet; the test also checks the host's /dev (shared by every namespace).
test_cri_termination_message() { _cri_scenario termination_message; }
test_cri_termination_private_dev() { _cri_scenario termination_private_dev; }
test_cri_stats() { _cri_scenario stats; }
test_cri_missing_command() { _cri_scenario missing_command; }
test_cri_bad_annotation_falls_back() {
  _cri_scenario bad_annotation_falls_back
  grep -q 'overlay-name' "$CTRD_LOG" || fail "no log line about the bad annotation"
}
test_cri_sandbox_lifecycle() { _cri_scenario sandbox_lifecycle; }
# The sandbox runs without a monitor of its own, as the shim's child; the shim reports
# its exit (StopPodSandbox's SIGKILL: 137) as a monitor would have.
test_cri_sandbox_without_monitor() {
  _cri_scenario sandbox_without_monitor
  local pod; pod=$(cat "$TEST_TMP/sandbox-id")
  grep -q "exit $pod init: status 137" "$CTRD_LOG" || fail "no exit 137 of the sandbox $pod in the shim's log"
}
test_cri_hundred_pods_leave_nothing() { _cri_scenario many_pods; }
