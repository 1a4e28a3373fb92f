#!/usr/bin/env bash
# Builds the installer image (Containerfile) from local files only: there is no base
# image, so no registry is contacted.
#   deploy/installer/build-image.sh [IMAGE]      default localhost/reaper-installer:0.1.0
# Environment: REAPER (the binary; build/reaper), BUSYBOX (a static busybox; Debian's
# busybox-static), KUBECTL (a static kubectl; kubectl on PATH), ENGINE (buildah, podman or
# docker; may carry options: "buildah --storage-driver vfs"), BUILD_ARGS (more options of
# `build`, e.g. "--isolation chroot" or "--arch arm64"), CONTEXT_ONLY=DIR (only prepare the
# build context in DIR; no engine needed).
# Then push the image where the cluster pulls from, or load it on every node
# (e.g. `ctr -n k8s.io images import`), and use it in deploy/kubernetes or the chart.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
image=${1:-localhost/reaper-installer:0.1.0}
reaper=${REAPER:-$top/build/reaper}
busybox=${BUSYBOX:-$(command -v busybox || true)}
kubectl=${KUBECTL:-$(command -v kubectl || true)}

die() { echo "build-image.sh: $*" >&2; exit 1; }
static() {  # static WHAT FILE
  [[ -n $2 && -x $2 ]] || die "$1 not found (set ${1^^})"
  ! ldd "$2" >/dev/null 2>&1 || die "$1 $2 is dynamically linked: the image has no libraries"
}
static reaper "$reaper"
static busybox "$busybox"
static kubectl "$kubectl"

ctx=${CONTEXT_ONLY:-$(mktemp -d)}
[[ -n ${CONTEXT_ONLY:-} ]] || trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/containerd"
cp "$reaper" "$ctx/reaper"
cp "$busybox" "$ctx/busybox"
cp "$kubectl" "$ctx/kubectl"
cp "$here/install.sh" "$here/uninstall-all.sh" "$ctx/"
cp "$top/deploy/containerd/reaper-v2.toml" "$top/deploy/containerd/reaper-v3.toml" "$ctx/containerd/"
cp "$here/Containerfile" "$ctx/Containerfile"
if [[ -n ${CONTEXT_ONLY:-} ]]; then
  echo "build context in $ctx: ${ENGINE:-podman} build -t $image $ctx"
  exit 0
fi
engine=${ENGINE:-$(command -v buildah || command -v podman || command -v docker || true)}
[[ -n $engine ]] || die "no buildah, podman or docker; CONTEXT_ONLY=DIR prepares the context for building elsewhere"
# ENGINE may carry options, e.g. "buildah --storage-driver vfs" or "buildah --isolation chroot".
# shellcheck disable=SC2086
$engine build ${BUILD_ARGS:-} -t "$image" -f "$ctx/Containerfile" "$ctx"
