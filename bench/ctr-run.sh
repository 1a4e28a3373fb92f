#!/usr/bin/env bash
# Benchmark: `ctr run --rm ID /bin/true` latency and shim memory for reaper, runc and crun,
# and the floors (floor: a shim that only answers; floorrun: one that also forks and execs the
# process, the physical minimum), on a private containerd (test/lib/containerd.sh), with
# reaper's time per shim RPC. Not a test; needs root. See README.md.
#   bench/ctr-run.sh [--rounds N] [--build DIR] [--containerd VERSION] [--run-on-disk]
#                    [--timeline]   (each step of reaper's and the floors' runs, side by side)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
rounds=20 build=$top/build version=1.6 timeline=0

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
source "$here/lib.sh"
bench_options ctr-run.sh "$@"

source "$top/test/lib/containerd.sh"
build=$(cd "$build" 2>/dev/null && pwd) || build=""
REAPER=${REAPER:-${build:+$build/reaper}}

# reaper's state, overlay groups and node configuration of its own (a missing config file
# is an empty configuration), exported before containerd starts so that its shims inherit
# them; REAPER_SHIM_TIMINGS=1 makes reaper's shim log its time per RPC (read below).
bench_roots reaper-ctr-bench
export REAPER_SHIM_TIMINGS=1
# --timeline: the shims append their steps here, the timed runs their start and end.
((timeline)) && export REAPER_SHIM_TIMELINE=$tmp/timeline.log
cleanup() {
  containerd_stop
  [[ -n ${REAPER:-} ]] && remove_overlay_root
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The floors (bench/lib.sh), built into the same build directory if not there yet.
bench_floor_build

busybox_rootfs "$tmp/rootfs" || exit 1
containerd_start "$version" --no-cri || exit 1
rootfs=$tmp/rootfs
bench_floor_link

# Removes a container (and its task) whatever state it is in.
remove() { cctr task delete -f "$1" >/dev/null 2>&1; cctr container delete "$1" >/dev/null 2>&1; }

# One timed run, in microseconds on stdout; fails when the run fails.
timed_run() {  # timed_run RUNTIME ID
  local t0
  local mark=$timeline  # the timed rounds only, not the warm-up
  [[ $2 == warmup-* ]] && mark=0
  bench_us; t0=$BENCH_US
  ((mark)) && echo "0 ctr:begin:$1 ${t0}000" >>"$REAPER_SHIM_TIMELINE"
  bench_ctr_run "$1" --rm --rootfs "$rootfs" "$2" /bin/true || { remove "$2"; return 1; }
  bench_us
  ((mark)) && echo "0 ctr:end:$1 ${BENCH_US}000" >>"$REAPER_SHIM_TIMELINE"
  echo $((BENCH_US - t0))
}

# Availability (and warm-up: the first run of each runtime is not counted).
runtimes=()
for rt in reaper runc crun floor floorrun; do
  bench_missing "$rt" && continue
  : >"$tmp/errors"
  if timed_run "$rt" "warmup-$rt" >/dev/null; then
    runtimes+=("$rt")
  else
    echo "$rt: unavailable ($(tr -s '\n' ' ' <"$tmp/errors" | cut -c1-300))"
  fi
done
((${#runtimes[@]})) || { echo "no runtime works" >&2; exit 1; }

echo "containerd $("$CTRD_CTR" --version | awk '{print $3}'), $rounds rounds, interleaved:" \
  "ctr run --rm --rootfs <busybox> ID /bin/true"
log_from=$(($(wc -l <"$(containerd_log)") + 1))  # reaper's per-RPC lines of the timed runs only
for ((i = 1; i <= rounds; i++)); do
  for rt in "${runtimes[@]}"; do
    us=$(timed_run "$rt" "bench-$rt-$i") || { echo "$rt: run $i failed: $(tail -n 1 "$tmp/errors")" >&2; exit 1; }
    echo "$us" >>"$tmp/$rt.us"
  done
done

log_to=$(wc -l <"$(containerd_log)")
sed -n "${log_from},${log_to}p" "$(containerd_log)" >"$tmp/rounds.log"

declare -A med p90
bench_table "${runtimes[@]}"
bench_floor_distance
if [[ -n ${med[reaper]:-} ]]; then
  if [[ -n ${med[crun]:-} ]]; then
    awk -v a="${med[reaper]}" -v b="${med[crun]}" -v f="${med[floor]:-}" 'BEGIN {
      ok = a / b <= 0.42 || (f != "" && a - f <= 5)
      printf "target (reaper/crun <= 0.42, or within 5 ms of the floor): %s\n", ok ? "met" : "missed" }'
  fi
fi

# Reaper's shim, per RPC, over the timed runs (bench/lib.sh).
bench_shim_share "$tmp/rounds.log"
((timeline)) && python3 "$here/timeline.py" "$REAPER_SHIM_TIMELINE"

# Shim memory: one shim holding one sleeping task per runtime.
echo "shim memory with one sleeping task (ctr run -d ... /bin/sleep 1000):"
# The shim is the nearest ancestor of the task whose name starts with containerd-shim.
shim_of() {  # shim_of PID
  local p=$1 comm rest n
  for ((n = 0; n < 10 && p > 1; n++)); do
    read -r comm <"/proc/$p/comm" 2>/dev/null || return 1
    [[ $comm == containerd-shim* ]] && { echo "$p"; return 0; }
    # reaper: the task's parent is its monitor (reported separately), a child of the shim.
    [[ $comm == reaper-monitor ]] && MONITOR_PID=$p
    read -r rest <"/proc/$p/stat" 2>/dev/null || return 1
    rest=${rest##*) }; rest=${rest#* }; p=${rest%% *}
  done
  return 1
}
# mem_line LABEL PID: VmRSS split into anonymous and file pages (status), then PSS and USS
# (smaps_rollup: PSS shares each page among the processes mapping it, USS is what only this
# process maps, i.e. what its end would free); sets MEM_RSS.
mem_line() {
  local label=$1 pid=$2 rss anon file pss uss
  read -r rss anon file < <(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 }
    END { print r, a, f }' "/proc/$pid/status")
  read -r pss uss < <(awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { print p, u }' \
    "/proc/$pid/smaps_rollup")
  MEM_RSS=$rss
  printf '%-8s %-8s VmRSS %5s kB (anon %4s, file %4s)  PSS %5s kB  USS %5s kB  pid %s\n' \
    "$label" "${3:-}" "$rss" "$anon" "$file" "$pss" "$uss" "$pid"
}
budget=2048  # kB: the shim's VmRSS budget with one sleeping task (docs/shim.md, "Memory")
for rt in "${runtimes[@]}"; do
  [[ $rt == floor* ]] && continue  # benchmark shims, nothing to hold to a budget
  id=rss-$rt
  if ! bench_ctr_run "$rt" -d --rootfs "$rootfs" "$id" /bin/sleep 1000; then
    echo "$rt: ctr run -d failed: $(tail -n 1 "$tmp/errors")"; remove "$id"; continue
  fi
  pid=$(cctr task ls | awk -v id="$id" '$1 == id { print $2 }')
  MONITOR_PID=
  shim_of "$pid" >/dev/null  # sets MONITOR_PID for reaper
  monitor=$MONITOR_PID
  if shim=$(shim_of "$pid"); then
    mem_line "$rt" "$shim" shim
    shim_rss=$MEM_RSS
    if [[ -n $monitor ]]; then
      # The per-container process that spawned and waits for the task.
      mem_line "$rt" "$monitor" monitor
      echo "$rt      shim + monitor VmRSS $((shim_rss + MEM_RSS)) kB"
    fi
    if [[ $rt == reaper ]]; then
      if ((shim_rss <= budget)); then verdict=met; else verdict="missed by $((shim_rss - budget)) kB"; fi
      echo "reaper   shim VmRSS $shim_rss kB against the budget of $budget kB: $verdict"
    fi
  else
    echo "$rt: shim of task pid ${pid:-?} not found"
  fi
  remove "$id"
done

# Exit to Wait: the shim logs, for every exit, how long after the monitor recorded it the
# pending Wait calls were answered; containerd copies the shim's log into its own. The
# timed runs only (not the warm-up's or the memory run's).
if [[ " ${runtimes[*]} " == *" reaper "* ]]; then
  grep -o 'Wait replies [0-9]* us after the exit' "$tmp/rounds.log" | grep -v '^Wait replies 0 ' |
    awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "reaper exit -> Wait reply: no sample"; exit }
      printf "reaper exit recorded -> Wait replied: median %.3f ms, p90 %.3f ms, max %.3f ms (n=%d)\n",
        v[int((NR + 1) / 2)] / 1000, v[int(NR * 0.9 + 0.5)] / 1000, v[NR] / 1000, NR }'
fi
