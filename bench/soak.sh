#!/usr/bin/env bash
# Soak: N pods through containerd's CRI plugin with the reaper-v2 handler (MIN..MAX in
# flight; each pod logs, fails, is restarted, takes an exec, is removed), then E execs into
# one long-lived container; prints before/after figures and exits 1 if one grew beyond its
# tolerance; the shim's memory is shown at 0, 300, 1000, 3000 … E execs. Not a timed test;
# needs root. See README.md.
#   bench/soak.sh [--pods N] [--in-flight MIN-MAX] [--execs E] [--smaps DIR] [--build DIR]
#                 [--containerd VERSION]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
pods=1000 lo=4 hi=8 execs=300 build=$top/build version=1.6 smaps_dir=""

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --pods) pods=${2:-}; shift 2 || usage ;;
    --in-flight) lo=${2%%-*} hi=${2##*-}; shift 2 || usage ;;
    --execs) execs=${2:-}; shift 2 || usage ;;
    --smaps) smaps_dir=${2:-}; shift 2 || usage ;;
    --build) build=${2:-}; shift 2 || usage ;;
    --containerd) version=${2:-}; shift 2 || usage ;;
    -h|--help) usage ;;
    *) echo "soak.sh: unknown argument $1" >&2; usage ;;
  esac
done
for n in "$pods" "$lo" "$hi" "$execs"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "soak.sh: --pods, --in-flight and --execs need numbers" >&2; exit 2; }
done
((lo >= 1 && lo <= hi)) || { echo "soak.sh: --in-flight MIN-MAX needs 1 <= MIN <= MAX" >&2; exit 2; }
((EUID == 0)) || { echo "soak.sh: must run as root" >&2; exit 2; }
if [[ -n $smaps_dir ]]; then
  if ! mkdir -p "$smaps_dir" || ! smaps_dir=$(cd "$smaps_dir" && pwd); then
    echo "soak.sh: cannot make --smaps directory $smaps_dir" >&2; exit 2
  fi
fi

source "$top/test/lib/containerd.sh"
source "$top/test/lib/cri.sh"
build=$(cd "$build" 2>/dev/null && pwd) || build=""
REAPER=${REAPER:-${build:+$build/reaper}}
[[ -x ${REAPER:-} ]] || { echo "soak.sh: no reaper binary at ${REAPER:-<unset>} (bash deploy/build.sh DIR)" >&2; exit 1; }
REAPER=$(realpath "$REAPER")
export REAPER

# reaper's own state root, overlay root and (empty) node configuration, exported before
# containerd starts so that its shims inherit them.
tmp=$(mktemp -d /run/reaper-soak.XXXXXX) || exit 1
export REAPER_ROOT=$tmp/state REAPER_OVERLAY_ROOT=$tmp/overlay REAPER_CONFIG=$tmp/reaper.conf
mkdir -p "$REAPER_ROOT" "$REAPER_OVERLAY_ROOT"
long=$tmp/long.json
cleanup() {
  containerd_stop
  remove_overlay_root
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- figures
# Each figure: name, tolerance (the growth allowed), how it is measured. The order is the
# table's.
names=(procs zombies ctrd_fds shim_fds host_mounts ctrd_mounts state_files overlay_files
  bundles log_files shim_rss_kb)
declare -A label=(
  [procs]="processes (containerd, shims, their descendants)"
  [zombies]="zombies (children of those)"
  [ctrd_fds]="containerd fds"
  [shim_fds]="fds of the long-lived pod's shim"
  [host_mounts]="mounts under the soak's dirs, host namespace"
  [ctrd_mounts]="mounts under the soak's dirs, containerd's namespace"
  [state_files]="files under reaper's state root"
  [overlay_files]="files under reaper's overlay root"
  [bundles]="containerd task bundles (k8s.io)"
  [log_files]="files under the pod log root"
  [shim_rss_kb]="long-lived pod's shim VmRSS (kB), across the execs")
# containerd keeps a few connections and timers of its own whose number varies (gRPC
# streams of the client, event subscriptions); 8 fds is far below one per pod. The shim's
# RSS may move by a few pages as its allocator settles; a leak of 1 kB per exec is 300 kB.
declare -A tolerance=([procs]=0 [zombies]=0 [ctrd_fds]=8 [shim_fds]=0 [host_mounts]=0
  [ctrd_mounts]=0 [state_files]=0 [overlay_files]=0 [bundles]=0 [log_files]=0 [shim_rss_kb]=128)
declare -A before=() after=() total_mounts=()

# Mount points under the soak's directories, in the mount namespace of pid $1.
ours_mounts() {
  awk -v a="$tmp" -v b="$CTRD_DIR" '{ m = $5 } index(m, a "/") == 1 || m == a ||
    index(m, b "/") == 1 || m == b { n++ } END { print n + 0 }' "/proc/$1/mountinfo"
}

# Zombies whose parent is containerd, a shim or one of their descendants.
zombie_count() {
  local -A tree=()
  local p st rest n=0
  for p in $(containerd_pids); do tree[$p]=1; done
  for p in /proc/[0-9]*; do
    read -r rest 2>/dev/null <"$p/stat" || continue
    rest=${rest##*) }; st=${rest%% *}; rest=${rest#* }
    [[ $st == Z && -n ${tree[${rest%% *}]:-} ]] && ((n++))
  done
  echo "$n"
}

# count ROOT FIND-ARGS...: entries found; their list is kept in $tmp/list.<figure>.<ARRAY>
# for the report of what grew.
count() { find "$@" 2>/dev/null | tee "$tmp/list.$figure.$array" | wc -l; }

# measure ARRAY: every figure into the associative array named ARRAY.
# shellcheck disable=SC2034,SC2154  # `into` names the caller's array; its keys are words
measure() {
  local -n into=$1
  local array=$1 figure shim; shim=$(sed -n 's/.*"shim": *\([0-9]*\).*/\1/p' "$long")
  into[procs]=$(containerd_pids | wc -l)
  into[zombies]=$(zombie_count)
  figure=ctrd_fds; into[ctrd_fds]=$(count "/proc/$CTRD_PID/fd" -mindepth 1 -printf '%f %l\n')
  figure=shim_fds; into[shim_fds]=$(count "/proc/$shim/fd" -mindepth 1 -printf '%f %l\n')
  into[host_mounts]=$(ours_mounts self)
  into[ctrd_mounts]=$(ours_mounts "$CTRD_PID")
  figure=state_files; into[state_files]=$(count "$REAPER_ROOT" -mindepth 1)
  # merged/ is where a group's overlay was assembled (in the group's namespace only).
  figure=overlay_files; into[overlay_files]=$(count "$REAPER_OVERLAY_ROOT" -mindepth 1 -path '*/merged/*' -prune -o -print)
  figure=bundles; into[bundles]=$(count "$CTRD_STATE/io.containerd.runtime.v2.task/k8s.io" -mindepth 1 -maxdepth 1)
  figure=log_files; into[log_files]=$(count "$CRI_LOG_ROOT" -mindepth 1)
  into[shim_rss_kb]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$shim/status")
  total_mounts[$1]="$(wc -l </proc/self/mountinfo) host, $(wc -l <"/proc/$CTRD_PID/mountinfo") containerd's"
}

# The shim's memory after N execs (kB, from /proc/PID/smaps_rollup and smaps): RSS, PSS,
# anonymous pages (of which the brk heap), file pages; a copy of smaps in --smaps DIR.
memory_header() {
  printf '%8s %8s %8s %8s %8s %8s\n' execs RSS PSS anon heap file
}
memory_row() {
  local pid=$1 n=$2
  [[ -n $smaps_dir ]] && cp "/proc/$pid/smaps" "$smaps_dir/smaps.$n"
  # shellcheck disable=SC2016  # awk's own fields
  awk -v n="$n" '
    FILENAME ~ /rollup/ && $1 == "Rss:" { rss = $2 }
    FILENAME ~ /rollup/ && $1 == "Pss:" { pss = $2 }
    FILENAME ~ /rollup/ && $1 == "Anonymous:" { anon = $2 }
    FILENAME !~ /rollup/ && /^[0-9a-f]+-[0-9a-f]+ / { heap = $NF == "[heap]" }
    FILENAME !~ /rollup/ && heap && $1 == "Rss:" { heap_kb += $2 }
    END { printf "%8d %8d %8d %8d %8d %8d\n", n, rss, pss, anon, heap_kb, rss - anon }' \
    "/proc/$pid/smaps_rollup" "/proc/$pid/smaps"
}

# grown: the figures of `after` beyond their tolerance, one per line.
grown() {
  local k
  for k in "${names[@]}"; do
    ((after[$k] - before[$k] > tolerance[$k])) && echo "$k"
  done
  return 0
}

step() { echo "[$(date +%T)] $*"; }
fail_run() { echo "soak.sh: $*" >&2; containerd_log_tail 20 >&2; exit 1; }

# ---------------------------------------------------------------- the run
TEST_TMP=$tmp cri_setup "$version" || exit 1
step "containerd $CTRD_BIN_VERSION ($(nproc) cores), reaper $REAPER; load $(cut -d' ' -f1-3 /proc/loadavg)"
# One pod first, so what lives as long as containerd does (the overlay group, the CRI
# plugin's caches) exists before the first figures are taken.
cri_py "$here/soak_pods.py" cycle 1 1 1 >/dev/null || fail_run "the warm-up pod failed"
cri_py "$here/soak_pods.py" long-start "$long" || fail_run "the long-lived pod did not start"
# 10 execs first: the container's exec directory exists, the shim's allocator has settled.
cri_py "$here/soak_pods.py" execs "$long" 10 || fail_run "the first execs failed"
measure before
step "before: ${total_mounts[before]} mounts in all"

start=$SECONDS
step "$pods pods, $lo-$hi in flight"
cri_py "$here/soak_pods.py" cycle "$pods" "$lo" "$hi" || fail_run "the pods failed"
pod_secs=$((SECONDS - start))
# The shim's RSS across the execs alone.
declare -A rss=()
measure rss
before[shim_rss_kb]=${rss[shim_rss_kb]}
start=$SECONDS
step "$execs execs into the long-lived container"
# In stages, the shim's memory taken at each checkpoint: a leak grows with the execs, an
# allocator or page cache settling does not.
shim=$(sed -n 's/.*"shim": *\([0-9]*\).*/\1/p' "$long")
memory_header
memory_row "$shim" 0
done_execs=0
for at in 300 1000 3000 10000 30000 100000 "$execs"; do
  ((at > execs)) && at=$execs
  ((at > done_execs)) || continue
  cri_py "$here/soak_pods.py" execs "$long" $((at - done_execs)) || fail_run "the execs failed"
  done_execs=$at
  memory_row "$shim" "$at"
done
exec_secs=$((SECONDS - start))

# A removed pod's shim exits (and init reaps it) after RemovePodSandbox has returned:
# give the last ones up to 10 s to go before calling anything a leak.
settle=$((SECONDS + 10))
while measure after; [[ -n $(grown) ]] && ((SECONDS < settle)); do sleep 0.1; done
step "after: ${total_mounts[after]} mounts in all; load $(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n%-62s %8s %8s %6s %5s\n' figure before after growth limit
bad=0
for k in "${names[@]}"; do
  d=$((after[$k] - before[$k])) verdict=""
  ((d > tolerance[$k])) && { verdict="  GREW"; bad=1; }
  printf '%-62s %8s %8s %+6d %5s%s\n' "${label[$k]}" "${before[$k]}" "${after[$k]}" "$d" \
    "${tolerance[$k]}" "$verdict"
done
for k in $(grown); do
  [[ -f $tmp/list.$k.after ]] || continue
  echo "new in $k:"
  # shellcheck disable=SC2016  # awk's own $0
  awk 'NR == FNR { seen[$0] = 1; next } !seen[$0] { print "  " $0 }' "$tmp/list.$k.before" "$tmp/list.$k.after"
done
printf '\n%d pods in %d s (%s pods/s), %d execs in %d s\n' "$pods" "$pod_secs" \
  "$(awk -v n="$pods" -v s="$pod_secs" 'BEGIN { printf "%.2f", s ? n / s : 0 }')" "$execs" "$exec_secs"

# Last, the long-lived pod goes too, and then nothing of reaper may be left at all.
cri_py "$here/soak_pods.py" long-stop "$long" || fail_run "the long-lived pod's removal failed"
for ((i = 0; i < 100; i++)); do
  left=$(containerd_pids | grep -vx "$CTRD_PID")
  [[ -z $left ]] && break
  sleep 0.1
done
if [[ -n $left ]]; then
  echo "processes left after the last pod: $(echo "$left" | tr '\n' ' ')"; bad=1
fi
if [[ -n $(ls -A "$REAPER_ROOT/k8s.io" 2>/dev/null) ]]; then
  echo "reaper state left after the last pod: $(ls "$REAPER_ROOT/k8s.io")"; bad=1
fi
((bad)) && { echo "soak.sh: something grew (see GREW above)" >&2; exit 1; }
echo "nothing grew"
