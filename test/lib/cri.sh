# shellcheck shell=bash
# CRI fixture: a private containerd with its CRI plugin, the test images imported, and
# the project's own CRI client (test/cri/cri.py) to drive it the way kubelet does.
# Source after harness.sh and containerd.sh.
#
#   cri_setup [CONTAINERD-ARGS...]  containerd_start, then imports into namespace k8s.io
#       $CTRD_SANDBOX_IMAGE and $CRI_IMAGE (both a static busybox; the sandbox image's
#       entrypoint sleeps, for runc/crun pods; reaper runs neither image's contents).
#   cri_py SCRIPT ARGS...  runs a Python CRI script with Debian's python3 and
#       CRI_SOCK/CRI_IMAGE/CRI_LOG_ROOT/CTRD_* in its environment.
#   cri_import_images   (re)imports the images into a running fixture.

CRI_IMAGE=${CRI_IMAGE:-localhost/rtest/busybox:v1}
_cri_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRI_PYTHON=${CRI_PYTHON:-/usr/bin/python3}   # Debian's, with python3-grpcio

cri_import_images() {
  local dir=${TEST_TMP:-$CTRD_DIR}/cri-images
  if [[ ! -f $dir/busybox.tar ]]; then
    mkdir -p "$dir" && busybox_rootfs "$dir/rootfs" || return 1
    "$CRI_PYTHON" "$_cri_top/test/cri/cri.py" build-image "$CTRD_SANDBOX_IMAGE" "$dir/rootfs" \
      "$dir/pause.tar" /bin/sleep 2147483647 || return 1
    "$CRI_PYTHON" "$_cri_top/test/cri/cri.py" build-image "$CRI_IMAGE" "$dir/rootfs" \
      "$dir/busybox.tar" /bin/sh || return 1
    rm -rf "$dir/rootfs"
  fi
  cctr_ns k8s.io images import "$dir/pause.tar" >/dev/null &&
    cctr_ns k8s.io images import "$dir/busybox.tar" >/dev/null
}

cri_setup() {
  containerd_start "$@" || return 1
  cri_import_images || { echo "cri_setup: image import failed" >&2; return 1; }
  CRI_LOG_ROOT=$CTRD_DIR/pods
  mkdir -p "$CRI_LOG_ROOT"
}

cri_py() {
  local script=$1; shift
  CRI_SOCK=$CTRD_SOCK CRI_IMAGE=$CRI_IMAGE CRI_LOG_ROOT=$CRI_LOG_ROOT \
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$_cri_top/test/cri \
    "$CRI_PYTHON" "$script" "$@"
}

# After every pod was removed: no process of containerd's but containerd itself, no shim
# socket of ours, no reaper state, no mount under containerd's directories but its own
# snapshotter's and the CRI plugin's fixed ones.
cri_assert_nothing_left() {
  local pids left
  mapfile -t pids < <(containerd_pids)
  left=$(printf '%s\n' "${pids[@]}" | grep -vx "$CTRD_PID" || true)
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  [[ -z $left ]] || fail "processes left: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"
  local sockets
  sockets=$(ls "$CTRD_STATE"/io.containerd.runtime.v2.task/k8s.io 2>/dev/null)
  [[ -z $sockets ]] || fail "task bundles left: $sockets"
  if [[ -d ${REAPER_ROOT:-/nonexistent}/k8s.io ]]; then
    [[ -z $(ls -A "$REAPER_ROOT/k8s.io") ]] || fail "reaper state left: $(ls "$REAPER_ROOT/k8s.io")"
  fi
  local mounts
  mounts=$(nsenter -t "$CTRD_PID" -m -- awk '{print $5}' /proc/self/mountinfo |
    grep -E "^$CTRD_DIR/(state|root)/io.containerd.(grpc.v1.cri|runtime)" || true)
  [[ -z $mounts ]] || fail "mounts left in containerd's namespace: $mounts"
}
