# The examples of examples/, run through containerd's CRI plugin: test/cri/examples.py
# reads each example's manifests and makes kubelet's CRI calls for their pod templates
# (handler from deploy/kubernetes's RuntimeClass), then checks what the example's README
# says to expect. An example whose manifests stop working fails here.
# test-timeout: 240
# containerd: matrix

source "$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cri.sh"

_example() {
  trap 'containerd_stop; harness_cleanup' EXIT
  export REAPER_ROOT=$TEST_TMP/reaper-root
  cri_setup || fail "CRI fixture did not start"
  cri_py "$TOP/test/cri/examples.py" "$1" || fail "example $1 failed"
  cri_assert_nothing_left
}

test_example_01_scheduling() { _example scheduling; }
test_example_02_client_server() { _example client_server; }
test_example_03_client_server_runas() { _example client_server_runas; }
test_example_04_volumes() { _example volumes; }
