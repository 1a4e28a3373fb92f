# shellcheck shell=bash
# What every benchmark script starts with: its options and reaper's own roots. Sourced;
# the caller sets its defaults (rounds, build, version, and pods if it takes --pods) and
# a usage() first.

# bench_options NAME ARGS...: --rounds N, --build DIR (or a bare directory), --containerd
# VERSION, and --pods N when the caller has a `pods` variable (then either may be 0: only
# the latency or only the memory part); checks them and root. Sets the caller's variables.
# shellcheck disable=SC2034
bench_options() {
  local name=$1
  shift
  while (($#)); do
    case $1 in
      --rounds) rounds=${2:-}; shift 2 || usage ;;
      --rounds=*) rounds=${1#*=}; shift ;;
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
}

# bench_roots PREFIX: reaper's state root, overlay root and node configuration (a missing
# file is an empty configuration) under a new /run/PREFIX.XXXXXX, kept in $tmp; exported
# before containerd starts, so its shims inherit them. The caller's cleanup removes $tmp.
bench_roots() {
  tmp=$(mktemp -d "/run/$1.XXXXXX") || exit 1
  export REAPER_ROOT=$tmp/state REAPER_OVERLAY_ROOT=$tmp/overlay REAPER_CONFIG=$tmp/reaper.conf
  mkdir -p "$REAPER_ROOT" "$REAPER_OVERLAY_ROOT"
}
