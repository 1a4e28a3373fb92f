# Shell test harness. A test file under test/integration/ defines functions named
# test_*; test/run executes each one in its own bash process (with a timeout), with
# this file sourced first. A test passes when its function returns 0; one that cannot
# test anything here prints a line "SKIP: REASON" (test/run shows it) and returns 0.
#
# Environment provided to every test:
#   REAPER      absolute path of the built multi-call binary
#   TEST_TMP    a fresh private directory, removed after the test
#   RT_ROOT     a private reaper-runtime --root under TEST_TMP
#   REAPER_OVERLAY_ROOT, REAPER_CONFIG   the test's own overlay groups and node config
#               (a missing config file is an empty configuration)
#   REAPER_AUDIT_DIR  the test's own audit trail
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

assert_eq() {  # assert_eq EXPECTED ACTUAL [what]
  [[ "$1" == "$2" ]] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() { [[ "$1" != "$2" ]] || fail "${3:-value}: did not expect '$1'"; }
assert_contains() {  # assert_contains HAYSTACK NEEDLE [what]
  [[ "$1" == *"$2"* ]] || fail "${3:-output}: '$2' not found in: $1"
}
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "${3:-output}: unexpected '$2' in: $1"; }
assert_file() { [[ -e "$1" ]] || fail "missing file $1"; }
assert_no_file() { [[ ! -e "$1" ]] || fail "file should not exist: $1"; }

# Runs a command, capturing stdout in $out, stderr in $err and the exit status in $rc.
# shellcheck disable=SC2034  # rc, out, err are its results, read by the caller
capture() {
  local of ef
  of=$(mktemp -p "$TEST_TMP") ef=$(mktemp -p "$TEST_TMP")
  "$@" >"$of" 2>"$ef"; rc=$?
  out=$(cat "$of") err=$(cat "$ef")
  rm -f "$of" "$ef"
}

# reaper-runtime with the test's private root.
rt() { "$REAPER" reaper-runtime --root "$RT_ROOT" "$@"; }

# make_bundle DIR ARGS... : writes DIR/config.json running ARGS on the host.
# Optional environment: BUNDLE_ENV (JSON array), BUNDLE_CWD, BUNDLE_TERMINAL (true|false),
# BUNDLE_USER (JSON object), BUNDLE_EXTRA (extra top-level JSON members, with leading comma).
make_bundle() {
  local dir=$1; shift
  mkdir -p "$dir"
  local args="" a
  for a in "$@"; do
    a=${a//\\/\\\\}; a=${a//\"/\\\"}
    args+="${args:+,}\"$a\""
  done
  local user='{"uid": 0, "gid": 0}'
  local env='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
  [[ -n "${BUNDLE_USER:-}" ]] && user=$BUNDLE_USER
  [[ -n "${BUNDLE_ENV:-}" ]] && env=$BUNDLE_ENV
  cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": ${BUNDLE_TERMINAL:-false},
    "user": $user,
    "args": [$args],
    "env": $env,
    "cwd": "${BUNDLE_CWD:-/}"
  },
  "root": {"path": "rootfs"}${BUNDLE_EXTRA:-}
}
JSON
}

# Processes (pids) whose environment carries MARK=value: used to find everything a
# test started, daemonised descendants included, without trusting the runtime.
pids_with_mark() {  # pids_with_mark VALUE
  local p env
  for p in /proc/[0-9]*; do
    { env=$(tr '\0' '\n' <"$p/environ"); } 2>/dev/null || continue
    [[ $'\n'"$env"$'\n' == *$'\n'"REAPER_TEST_MARK=$1"$'\n'* ]] && echo "${p#/proc/}"
  done
}

# Removes every container the test left in its private root, then the root itself.
harness_cleanup() {
  local id
  if [[ -d "$RT_ROOT" ]]; then
    for id in "$RT_ROOT"/*; do
      [[ -e $id ]] && rt delete --force "${id##*/}" >/dev/null 2>&1
    done
  fi
  # The groups' namespaces are bind mounts and their layers tmpfs mounts: drop them
  # before the directory.
  local g
  for g in "$REAPER_OVERLAY_ROOT"/*; do
    [[ -e $g ]] || continue
    g=${g##*/}
    "$REAPER" overlay rm "$g" >/dev/null 2>&1 ||
      { umount -l "$REAPER_OVERLAY_ROOT/$g/mnt"; umount -l "$REAPER_OVERLAY_ROOT/$g/layers"; } 2>/dev/null
  done
  # The root itself may have been made a private mount of its own.
  while mountpoint -q "$REAPER_OVERLAY_ROOT" 2>/dev/null; do umount -l "$REAPER_OVERLAY_ROOT" || break; done
  rm -rf "$TEST_TMP"
}
