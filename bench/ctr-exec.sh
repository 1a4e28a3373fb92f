#!/usr/bin/env bash
# Benchmark: `ctr task exec --exec-id X TASK /bin/true` latency into a running task, for
# reaper, runc and crun, and the floors (floor: a shim that only answers; floorrun: one that
# also forks and execs the process), on a private containerd (test/lib/containerd.sh). Not a
# test; needs root. See README.md.
#   bench/ctr-exec.sh [--rounds N] [--build DIR] [--containerd VERSION] [--run-on-disk]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
rounds=30 build=$top/build version=1.6

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
source "$here/lib.sh"
bench_options ctr-exec.sh "$@"

source "$top/test/lib/containerd.sh"
build=$(cd "$build" 2>/dev/null && pwd) || build=""
REAPER=${REAPER:-${build:+$build/reaper}}

# reaper's state, overlay groups, node configuration (a missing file is an empty one) and
# audit trail of its own (audit stays on, as by default: its cost is part of an exec's);
# exported before containerd starts, so its shims inherit them.
bench_roots reaper-exec-bench
export REAPER_AUDIT_DIR=$tmp/audit
# reaper's shim logs its time per RPC into containerd's log (read below).
export REAPER_SHIM_TIMINGS=1
cleanup() {
  # The tasks first, through containerd (a floor's socket goes with its Shutdown).
  if [[ -n ${CTRD_PID:-} ]]; then
    for rt in "${runtimes[@]}"; do remove "task-$rt"; done
  fi
  containerd_stop
  [[ -x ${REAPER:-} ]] && remove_overlay_root
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The floors (bench/lib.sh), built into the same build directory if not there yet: the
# floor's task "runs" (`sleep`) until killed and each exec exits at its Start; the
# physical floor's task and execs are the host's sleep and true, really run.
bench_floor_build

busybox_rootfs "$tmp/rootfs" || exit 1
runtimes=()
containerd_start "$version" --no-cri || exit 1
bench_floor_link

# Removes a container (and its task) whatever state it is in.
remove() { cctr task delete -f "$1" >/dev/null 2>&1; cctr container delete "$1" >/dev/null 2>&1; }

# One timed exec, in microseconds on stdout; fails when the exec fails or /bin/true does
# not exit 0 (ctr task exec exits with the process's status). The whole command is bounded:
# a hanging shim must not hang the benchmark.
timed_exec() {  # timed_exec TASK EXEC-ID
  local t0
  bench_us; t0=$BENCH_US
  cctr --timeout 60s task exec --fifo-dir "$CTRD_FIFO" --exec-id "$2" "$1" /bin/true \
    </dev/null >/dev/null 2>>"$tmp/errors" || return 1
  bench_us
  echo $((BENCH_US - t0))
}

# Where the floor's own time goes, timed the same way once a round: any program's start
# (/bin/true), ctr's own start (ctr --version, no call), and ctr with one call to
# containerd (ctr version).
timed_client() {  # timed_client NAME COMMAND...
  local t0 name=$1
  shift
  bench_us; t0=$BENCH_US
  "$@" </dev/null >/dev/null 2>>"$tmp/errors" || { echo "$name failed: $(tail -n 1 "$tmp/errors")" >&2; exit 1; }
  bench_us
  echo $((BENCH_US - t0)) >>"$tmp/client-$name.us"
}

# One long-running task per runtime (its first exec is the warm-up, not counted); a
# runtime whose task or warm-up fails is reported unavailable and left out.
for rt in reaper runc crun floor floorrun; do
  bench_missing "$rt" && continue
  : >"$tmp/errors"
  if bench_ctr_run "$rt" -d --rootfs "$tmp/rootfs" "task-$rt" /bin/sleep 1000 &&
    timed_exec "task-$rt" warmup >/dev/null; then
    runtimes+=("$rt")
  else
    echo "$rt: unavailable ($(tr -s '\n' ' ' <"$tmp/errors" | cut -c1-300))"
    remove "task-$rt"
  fi
done
((${#runtimes[@]})) || { echo "no runtime works" >&2; exit 1; }

echo "containerd $("$CTRD_CTR" --version | awk '{print $3}') ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))," \
  "$rounds rounds, interleaved: ctr task exec --exec-id X <task running sleep 1000> /bin/true"
log_from=$(($(wc -l <"$(containerd_log)") + 1))  # reaper's per-RPC lines of the timed rounds only
for ((i = 1; i <= rounds; i++)); do
  for rt in "${runtimes[@]}"; do
    us=$(timed_exec "task-$rt" "e$i") || { echo "$rt: exec $i failed: $(tail -n 1 "$tmp/errors")" >&2; exit 1; }
    echo "$us" >>"$tmp/$rt.us"
  done
  timed_client true /bin/true
  timed_client start "$CTRD_CTR" --version
  timed_client call cctr version
done

log_to=$(wc -l <"$(containerd_log)")
sed -n "${log_from},${log_to}p" "$(containerd_log)" >"$tmp/rounds.log"

declare -A med p90
bench_table "${runtimes[@]}"
bench_floor_distance
# The target is half of crun's median; when the floor itself is above that, no shim can
# meet it, and what is left to measure is reaper's distance from the floor.
if [[ -n ${med[reaper]:-} && -n ${med[crun]:-} ]]; then
  awk -v a="${med[reaper]}" -v c="${med[crun]}" -v f="${med[floor]:-}" 'BEGIN {
    printf "target (reaper/crun <= 0.50): %s (%.2f)", a / c <= 0.5 ? "met" : "missed", a / c
    if (f == "") printf "; floor unavailable\n"
    else if (f / c > 0.5)
      printf "; the target is below the client'"'"'s own floor (floor/crun %.2f), reaper - floor %.1f ms\n", f / c, a - f
    else printf "; the floor is below the target (floor/crun %.2f), reaper - floor %.1f ms\n", f / c, a - f
  }'
fi
read -r c_true _ < <(bench_stats "$tmp/client-true.us")
read -r c_start _ < <(bench_stats "$tmp/client-start.us")
read -r c_call _ < <(bench_stats "$tmp/client-call.us")
echo "the client alone (medians): any program (/bin/true) $c_true ms, ctr --version $c_start ms," \
  "ctr version (one call to containerd) $c_call ms"
# Reaper's shim per RPC over the timed execs (bench/lib.sh): Exec, the States, Start (the
# exec's monitor and process launched), Delete, and the exit -> Wait reply.
bench_shim_share "$tmp/rounds.log"
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
