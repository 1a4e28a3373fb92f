#!/usr/bin/env bash
# Benchmark: CRI pod start/teardown latency and the shim memory of many running pods, for
# the CRI handlers reaper-v2, runc and crun of one private containerd (test/lib/containerd.sh
# with its CRI plugin), driven by bench/cri_pods.py. Not a test; needs root. See README.md.
#   bench/cri-pods.sh [--rounds N] [--pods N] [--build DIR] [--containerd VERSION] [--run-on-disk]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
rounds=15 pods=50 build=$top/build version=1.6

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
source "$here/lib.sh"
bench_options cri-pods.sh "$@"

source "$top/test/lib/containerd.sh"
source "$top/test/lib/cri.sh"
build=$(cd "$build" 2>/dev/null && pwd) || build=""
REAPER=${REAPER:-${build:+$build/reaper}}
[[ -x ${REAPER:-} ]] || { echo "cri-pods.sh: no reaper binary at ${REAPER:-<unset>} (bash deploy/build.sh DIR)" >&2; exit 1; }
REAPER=$(realpath "$REAPER")
export REAPER

# reaper's state, overlay groups and node configuration of its own (a missing config file
# is an empty configuration); exported before containerd starts, so its shims inherit them.
bench_roots reaper-cri-bench
cleanup() {
  containerd_stop
  remove_overlay_root
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# TEST_TMP: where cri_import_images builds the images (else under containerd's directory).
TEST_TMP=$tmp cri_setup "$version" || exit 1
echo "containerd $CTRD_BIN_VERSION ($(nproc) cores), reaper $REAPER"
CTRD_PID=$CTRD_PID cri_py "$here/cri_pods.py" --rounds "$rounds" --pods "$pods" reaper-v2 runc crun
