#!/usr/bin/env bash
# Rewrites src/text-order.txt, the hot-first layout of the reaper binary's text (docs/shim.md,
# "Memory"). Links an unstripped copy of BUILD's reaper, then runs it as the shim of a private
# containerd 1.6 three times under gdb (gdb_profile.py: a one-shot breakpoint on every
# function): following the shim daemons, each daemon's first monitor, and that monitor's
# workload child up to its exec (it runs in the monitor's memory), through
# `ctr run --rm /bin/true`, `ctr run -d sleep`, task ls, ps, two execs, metrics, pause,
# resume, kill, delete. The functions that ran, the monitors' (and workloads') first,
# become the ordering file. Needs root and gdb; about 5 minutes. Rebuild afterwards. check.sh (run by
# the suite) fails once more than a few percent of the listed names have gone from the binary.
#   bench/text-order/profile.sh [BUILD_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd) || exit 2
((EUID == 0)) || { echo "profile.sh: must run as root" >&2; exit 2; }
command -v gdb >/dev/null || { echo "profile.sh: needs gdb" >&2; exit 2; }

tmp=$(mktemp -d /tmp/reaper-text-order.XXXXXX)
# BUILD's link without strip and without the current ordering.
# shellcheck source=bench/text-order/link.sh
source "$here/link.sh"
link_unstripped "$build" "$tmp/reaper" '-Wl,--symbol-ordering-file=*' -Wl,--no-warn-symbol-ordering || exit 1
nm -S --defined-only "$tmp/reaper" | awk 'NF == 4 && $3 ~ /^[tTwW]$/ && $2 !~ /^0+$/ { print $1, $4 }' \
  >"$tmp/functions"
mkdir "$tmp/hits"
# The shim containerd runs: `start` runs under gdb, which follows the daemon it forks
# (gdb_profile.py); every other action runs as is. containerd waits for the process it
# started and reads its stdout (the address) to the end, so gdb, which lives on with the
# daemon, is started aside: start's stdout reaches it as fd 3, a FIFO read here until start
# and the daemon have let it go (the shell gdb starts the program with makes it fd 1 again).
cat >"$tmp/shim" <<SHIM
#!/bin/bash
for a; do last=\$a; done
if [[ \$last == start ]]; then
  out=\$(mktemp -u "$tmp/start-out.XXXXXX") && mkfifo "\$out" || exit 1
  TEXT_ORDER_FUNCTIONS=$tmp/functions TEXT_ORDER_OUT=$tmp/hits/\$TEXT_ORDER_MODE \\
    setsid gdb -q -batch -nx -x "$here/gdb_profile.py" --args "$tmp/reaper" containerd-shim-reaper-v2 "\$@" \\
    0<&0 3>"\$out" >>"$tmp/gdb.log" 2>&1 &
  cat "\$out"
  rm -f "\$out"
  exit 0
fi
exec -a "\$0" "$tmp/reaper" "\$@"
SHIM
chmod +x "$tmp/shim"

export REAPER=$tmp/shim
# State, overlay groups and node configuration of its own, removed on exit (the node's
# /run/reaper is left alone).
export REAPER_ROOT=$tmp/state REAPER_OVERLAY_ROOT=$tmp/overlay REAPER_CONFIG=$tmp/reaper.conf
mkdir -p "$REAPER_ROOT" "$REAPER_OVERLAY_ROOT"
# shellcheck disable=SC1091
source "$top/test/lib/containerd.sh"
cleanup() { containerd_stop; REAPER=$tmp/reaper remove_overlay_root; rm -rf --one-file-system "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
busybox_rootfs "$tmp/rootfs" >/dev/null || exit 1

scenario() {
  cctr_run reaper --rm --rootfs "$tmp/rootfs" p1 /bin/true </dev/null &&
    cctr_run reaper -d --rootfs "$tmp/rootfs" p2 /bin/sleep 1000 </dev/null >/dev/null &&
    cctr task ls >/dev/null && cctr task ps p2 >/dev/null &&
    cctr task exec --exec-id e1 p2 /bin/true && cctr task exec --exec-id e2 p2 /bin/sh -c 'exit 0' &&
    cctr task metrics p2 >/dev/null && cctr task pause p2 && cctr task resume p2 &&
    cctr task kill p2 && stopped p2 && cctr task delete p2 >/dev/null && cctr container delete p2
}
# The workload mode profiles each daemon's first monitor's first child, the workload, up to
# its exec. A workload so profiled does not survive gdb's detach at its exec (it ends
# killed; not understood yet), so this mode's scenario only starts the two tasks, and what
# becomes of them is not checked: the profile was written before the detach.
scenario_workload() {
  cctr_run reaper --rm --rootfs "$tmp/rootfs" p1 /bin/true </dev/null
  cctr_run reaper -d --rootfs "$tmp/rootfs" p2 /bin/sleep 1000 </dev/null >/dev/null
  cctr task kill -s KILL p2 2>/dev/null
  stopped p2 && cctr task delete p2 >/dev/null 2>&1
  cctr container delete p2 2>/dev/null
  return 0
}
# ctr 1.6 has no `task wait`: the kill's exit shows in `task ls` within moments (bounded look).
stopped() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(cctr task ls | awk -v id="$1" '$1 == id { print $3 }') == STOPPED ]] && return 0
    sleep 0.1
  done
  return 1
}
for mode in shim monitor workload; do
  export TEXT_ORDER_MODE=$mode
  containerd_start 1.6 --no-cri >/dev/null || exit 1
  if [[ $mode == workload ]]; then scenario_workload; else scenario; fi || { echo "profile.sh: the $mode run failed; gdb's log:" >&2; tail -n 20 "$tmp/gdb.log" >&2; exit 1; }
  containerd_stop
done
python3 "$here/order.py" "$tmp/functions" "$tmp/hits" "$top/src/text-order.txt" || exit 1
echo "wrote $top/src/text-order.txt; rebuild to use it"
