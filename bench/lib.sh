# shellcheck shell=bash
# What every benchmark script starts with: its options and reaper's own roots. Sourced;
# the caller sets its defaults (rounds, build, version, and pods if it takes --pods) and
# a usage() first.

# bench_options NAME ARGS...: --rounds N, --build DIR (or a bare directory), --containerd
# VERSION, --run-on-disk, and --pods N when the caller has a `pods` variable (then either
# may be 0: only the latency or only the memory part); checks them and root. Sets the
# caller's variables. Then, unless /run already is a tmpfs or --run-on-disk says otherwise,
# runs the script again in a private mount namespace with a tmpfs on /run: on a node /run
# is a tmpfs (systemd), so that is where containerd's state, the runtimes' state roots and
# their FIFOs live; a /run on the root disk (as on some VMs) makes every runtime's
# small state writes wait on the disk's journal, which containerd's own fsyncs hold.
# shellcheck disable=SC2034
bench_options() {
  local name=$1 on_disk=0
  shift
  local -a given=("$@")
  while (($#)); do
    case $1 in
      --run-on-disk) on_disk=1; shift ;;
      --rounds) rounds=${2:-}; shift 2 || usage ;;
      --rounds=*) rounds=${1#*=}; shift ;;
      --timeline) [[ -v timeline ]] || { echo "$name: unknown argument $1" >&2; usage; }
        timeline=1; shift ;;
      --pods | --pods=*) [[ -v pods ]] || { echo "$name: unknown argument $1" >&2; usage; }
        if [[ $1 == --pods ]]; then pods=${2:-}; shift 2 || usage; else pods=${1#*=}; shift; fi ;;
      --build) build=${2:-}; shift 2 || usage ;;
      --build=*) build=${1#*=}; shift ;;
      --containerd) version=${2:-}; shift 2 || usage ;;
      -h | --help) usage ;;
      *) if [[ -d $1 ]]; then build=$1; shift; else echo "$name: unknown argument $1" >&2; usage; fi ;;
    esac
  done
  if [[ -v pods ]]; then
    [[ $rounds =~ ^[0-9]+$ && $pods =~ ^[0-9]+$ ]] || { echo "$name: --rounds and --pods need a number" >&2; exit 2; }
  else
    [[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "$name: --rounds needs a positive number" >&2; exit 2; }
  fi
  ((EUID == 0)) || { echo "$name: must run as root" >&2; exit 2; }
  if [[ $(stat -f -c %T /run) == tmpfs ]]; then
    local how=""
    [[ -n ${BENCH_RUN_TMPFS:-} ]] && how=" of a private mount namespace (--run-on-disk keeps the machine's own /run)"
    echo "run-time state: /run is a tmpfs$how"
  elif ((on_disk)) || [[ -n ${BENCH_RUN_TMPFS:-} ]]; then
    echo "run-time state: /run on $(stat -f -c %T /run) (--run-on-disk)"
  else
    BENCH_RUN_TMPFS=1 exec unshare --mount --propagation private -- /bin/sh -c \
      'mount -t tmpfs -o mode=0755 bench-run /run && exec "$@"' sh bash "$0" "${given[@]}"
  fi
}

# bench_roots PREFIX: reaper's state root, overlay root and node configuration (a missing
# file is an empty configuration) under a new /run/PREFIX.XXXXXX, kept in $tmp; exported
# before containerd starts, so its shims inherit them. The caller's cleanup removes $tmp.
bench_roots() {
  tmp=$(mktemp -d "/run/$1.XXXXXX") || exit 1
  export REAPER_ROOT=$tmp/state REAPER_OVERLAY_ROOT=$tmp/overlay REAPER_CONFIG=$tmp/reaper.conf
  mkdir -p "$REAPER_ROOT" "$REAPER_OVERLAY_ROOT"
}

# bench_us: the time now in microseconds, in a variable (BENCH_US), without a fork.
bench_us() { BENCH_US=${EPOCHREALTIME//[.,]/}; }

# bench_stats FILE (one time in microseconds a line) -> "median p90 min max" in ms
# (p90 = nearest rank).
bench_stats() {
  sort -n "$1" | awk '{ v[NR] = $1 } END {
    n = NR; med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    r = int(0.9 * n); if (r < 0.9 * n) r++; if (r < 1) r = 1
    printf "%.1f %.1f %.1f %.1f\n", med / 1000, v[r] / 1000, v[1] / 1000, v[n] / 1000 }'
}

# bench_table RUNTIME...: the table of $tmp/RUNTIME.us, then reaper's ratios to runc and
# crun; fills the caller's associative arrays med and p90 (declare -A med p90 first).
bench_table() {
  local rt base m p lo hi
  printf '%-8s %10s %10s %10s %10s\n' runtime "median ms" "p90 ms" "min ms" "max ms"
  for rt in "$@"; do
    read -r m p lo hi < <(bench_stats "$tmp/$rt.us")
    # shellcheck disable=SC2004  # med and p90 are the caller's associative arrays
    med[$rt]=$m p90[$rt]=$p
    printf '%-8s %10s %10s %10s %10s\n' "$rt" "$m" "$p" "$lo" "$hi"
  done
  if [[ -z ${med[reaper]:-} ]]; then
    echo "reaper/runc, reaper/crun: n/a (reaper unavailable)"
    return
  fi
  for base in runc crun; do
    [[ -n ${med[$base]:-} ]] || continue
    awk -v a="${med[reaper]}" -v b="${med[$base]}" -v c="${p90[reaper]}" -v d="${p90[$base]}" -v n="$base" \
      'BEGIN { printf "reaper/%s: median %.2f, p90 %.2f\n", n, a / b, c / d }'
  done
}

# The floor: containerd-shim-floor-v2 (bench/floor_shim), a shim that runs nothing and
# only answers, so that a run against it is what ctr and containerd cost on their own.
# The physical floor, `floorrun`: the same binary run by the name
# containerd-shim-floorrun-v2, which also forks and execs each process and nothing else,
# so that a runtime's distance from it is the shim's own overhead.
# bench_floor_build: sets $floor to the binary, building it into $build with -Dbench=true
# when it is not there yet ($FLOOR_SHIM names another one); a failed build is logged in
# $tmp/floor-build.log and leaves the floor unavailable. Call it before containerd_start.
bench_floor_build() {
  floor=${FLOOR_SHIM:-${build:+$build/bench/floor_shim/containerd-shim-floor-v2}}
  if [[ -z ${FLOOR_SHIM:-} && -n $build && ! -x $floor ]]; then
    echo "building the floor shim: meson configure $build -Dbench=true" >&2
    { meson configure "$build" -Dbench=true && nice ninja -C "$build" bench/floor_shim/containerd-shim-floor-v2; } \
      >"$tmp/floor-build.log" 2>&1 || echo "floor shim: build failed (see below)" >&2
  fi
}

# bench_floor_link: after containerd_start, the floor as runtime io.containerd.floor.v2
# and the physical floor as io.containerd.floorrun.v2 (containerd finds a runtime's shim
# on its PATH, whose first entry is the fixture's shim directory; the binary's mode
# follows the name it is run by).
bench_floor_link() {
  [[ -x ${floor:-} ]] || return 0
  local name
  for name in floor floorrun; do
    ln -sf "$(realpath "$floor")" "$CTRD_SHIM_DIR/containerd-shim-$name-v2"
  done
}

# bench_missing RUNTIME: true, with a line saying why, when reaper has no binary or the
# floor no shim; the caller then leaves the runtime out.
bench_missing() {
  case $1 in
    reaper) [[ -x ${REAPER:-} ]] && return 1
      echo "reaper: unavailable (no binary at ${REAPER:-<unset>})" ;;
    floor | floorrun) [[ -x ${floor:-} ]] && return 1
      echo "$1: unavailable (no floor shim at ${floor:-<unset>}$(
        [[ -s $tmp/floor-build.log ]] && echo "; $(tail -n 3 "$tmp/floor-build.log" | tr -s '\n' ' ')"))" ;;
    *) return 1 ;;
  esac
}

# bench_ctr_run RUNTIME CTR-RUN-ARGS...: `ctr run` as cctr_run does it, the floors
# included, with a bound on the whole command (a hanging shim must not hang the
# benchmark); ctr's errors are appended to $tmp/errors.
# The flags are looked up at a runtime's first run and kept (BENCH_FLAGS), so the first
# run must be made in the script's own shell, not in a $(...) (the warm-up is): a process
# substitution costs a fork of bash, about 4 ms here, which must not fall inside the timed
# window of reaper, runc and crun and not of the floors.
declare -gA BENCH_FLAGS=()
bench_ctr_run() {
  local -a flags
  if [[ -z ${BENCH_FLAGS[$1]:-} ]]; then
    if [[ $1 == floor || $1 == floorrun ]]; then
      BENCH_FLAGS[$1]="--runtime"$'\n'"io.containerd.$1.v2"
    else
      BENCH_FLAGS[$1]=$(ctr_runtime_flags "$1") || return 1
    fi
  fi
  IFS=$'\n' read -r -d '' -a flags <<<"${BENCH_FLAGS[$1]}"
  shift
  cctr --timeout 60s run --fifo-dir "$CTRD_FIFO" "${flags[@]}" --env "PATH=$CTRD_DEFAULT_PATH" "$@" \
    </dev/null >/dev/null 2>>"$tmp/errors"
}

# bench_floor_distance: after bench_table, reaper's distance from each floor's median and
# that floor's ratio to crun's (the caller's med array): `reaper - floor` is the shim's
# share plus the process's cost, `reaper - floorrun` the shim's own overhead above the
# physical minimum, `floorrun - floor` what running the process costs at the least.
# Nothing for a floor (or reaper) that is unavailable.
bench_floor_distance() {
  local f
  for f in floor floorrun; do
    [[ -n ${med[reaper]:-} && -n ${med[$f]:-} ]] || continue
    awk -v a="${med[reaper]}" -v f="${med[$f]}" -v c="${med[crun]:-0}" -v n="$f" 'BEGIN {
      printf "reaper - %s: %.1f ms (median); %s/crun %s\n", n, a - f, n, (c > 0) ? sprintf("%.2f", f / c) : "n/a" }'
  done
  [[ -n ${med[floor]:-} && -n ${med[floorrun]:-} ]] || return 0
  awk -v r="${med[floorrun]}" -v f="${med[floor]}" 'BEGIN {
    printf "floorrun - floor: %.1f ms (median; the least a process costs here)\n", r - f }'
}

# bench_shim_share LOG: reaper's shim per RPC, from the lines its REAPER_SHIM_TIMINGS=1
# writes into containerd's log (LOG: the part of it the timed rounds wrote; $rounds runs):
# each Task RPC from its frame's read to its reply's write, `start` from main() to the
# address printed, exit -> Wait from the recorded exit to the Wait reply (the Wait RPC's
# own time is the process's life), the median of each and how many calls a run makes;
# their sum, weighted by the calls, is the shim's share of reaper's median. The daemon's
# start-up (forked by `start` -> serving) overlaps `start`'s end and containerd's connect,
# so it is shown but not summed (what of it outlasts `start` delays the first Create unseen:
# that request waits in the socket until the daemon serves). Nothing without reaper.
bench_shim_share() {
  local log=$1
  [[ -n ${med[reaper]:-} ]] || return 0
  {
    grep -o 'start: address printed [0-9]* us' "$log" | awk '{ print "start", $4 }'
    grep -o 'rpc [A-Za-z]* [0-9]* us' "$log" | awk '$2 != "Wait" { print $2, $3 }'
    grep -o 'Wait replies [0-9]* us after the exit' "$log" | awk '{ print "exit->Wait", $3 }'
    grep -o 'daemon: serving [0-9]* us after start forked' "$log" | awk '{ print "(daemon-up)", $3 }'
  } >"$tmp/rpc.us"
  if [[ ! -s $tmp/rpc.us ]]; then
    echo "reaper's shim per RPC: no sample (REAPER_SHIM_TIMINGS lines missing from containerd's log)"
    return 0
  fi
  echo "reaper's shim per RPC (median over the timed runs; calls per run):"
  awk -v runs="$rounds" -v total="${med[reaper]}" '
    { n[$1]++; v[$1, n[$1]] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
    END {
      for (i = 1; i <= k; i++) {
        m = order[i]; c = n[m]
        for (a = 1; a <= c; a++) x[a] = v[m, a]
        for (a = 2; a <= c; a++) { t = x[a]; for (b = a - 1; b >= 1 && x[b] > t; b--) x[b + 1] = x[b]; x[b + 1] = t }
        med = (c % 2) ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
        per = c / runs
        printf "  %-12s %8.3f ms  x %.1f\n", m, med / 1000, per
        if (m !~ /^\(/) share += med * per
      }
      printf "  shim share   %8.3f ms of %.1f ms (%.0f %%)\n", share / 1000, total, 100 * share / 1000 / total
    }' "$tmp/rpc.us"
}
