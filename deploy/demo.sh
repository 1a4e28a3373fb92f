#!/usr/bin/env bash
# Builds reaper, starts a private containerd (own socket, root and state; stopped at the
# end), and runs host commands through it with the reaper shim: output, exit code, and
# what `reaper state` knows about a running task.
set -uo pipefail  # not -e: the fixture functions test with (( )) and [[ ]]
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/deploy/build.sh" || exit 1
export REAPER="$top/build/reaper" BUILD="$top/build"
source "$top/test/lib/containerd.sh"
work=$(mktemp -d /tmp/reaper-demo.XXXXXX)
export REAPER_ROOT="$work/reaper"   # where the shim keeps container state (default /run/reaper)
export REAPER_OVERLAY_ROOT="$work/overlay"   # the demo's own overlay groups (default /run/reaper/overlay)
# At the end nothing stays: containerd and its shims stopped, the overlay groups removed
# (their layers, namespaces and helpers; the root's self-bind goes with the last one).
finish() {
  containerd_stop
  "$REAPER" overlay gc --idle 0 >/dev/null || echo "demo: could not remove the overlay groups under $REAPER_OVERLAY_ROOT" >&2
  while mountpoint -q "$REAPER_OVERLAY_ROOT" 2>/dev/null; do umount -l "$REAPER_OVERLAY_ROOT" || break; done
  rm -rf "$work"
}
trap finish EXIT
containerd_start 1.6 --no-cri || exit 1
mkdir -p "$work/rootfs"   # reaper ignores the rootfs: the host's own binaries run

show() { echo "\$ $*" | sed "s|$work|\$WORK|g; s|--address [^ ]*|--address \$SOCK|"; }

show ctr run --rm --runtime io.containerd.reaper.v2 --rootfs rootfs demo sh -c '...; exit 3'
code=0
cctr_run reaper --rm --rootfs "$work/rootfs" demo \
  sh -c 'echo "hello from $(hostname), uid $(id -u), pid $$"; uname -sr; exit 3' || code=$?
echo "exit code: $code"
echo
show ctr run -d --runtime io.containerd.reaper.v2 --rootfs rootfs sleeper sleep 300
cctr_run reaper -d --rootfs "$work/rootfs" sleeper sleep 300 >/dev/null
cctr task ls
echo
show reaper state --root "\$REAPER_ROOT/$CTRD_NS" sleeper
"$REAPER" state --root "$REAPER_ROOT/$CTRD_NS" sleeper
cctr task kill -s KILL sleeper
cctr task delete sleeper >/dev/null 2>&1 || true
cctr container delete sleeper >/dev/null 2>&1 || true
