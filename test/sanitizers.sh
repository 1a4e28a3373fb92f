#!/usr/bin/env bash
# Builds reaper with AddressSanitizer and UndefinedBehaviorSanitizer, with symbols
# (dynamically linked: the sanitizer runtimes are not static), then runs the unit tests
# with leak checking and the integration tests against that build.
#   test/sanitizers.sh               the unit tests, then the whole suite
#   test/sanitizers.sh FILTER...     the unit tests, then the tests each FILTER selects
#                                    (test/run's FILTER), e.g. what .ci/run runs
# Every sanitizer report, from any reaper process (a shim or a monitor whose death no
# test would notice included), is written under a directory of the run and counts as one
# failure. Ends with one line "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZER_BUILD:-$top/build-sanitizers}
bash "$top/deploy/build.sh" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
if [[ ! -f "$build/build.ninja" ]]; then
  # -g1: line tables for the reports' stacks, without the full debug information that
  # made a quarter of the build's time.
  meson setup "$build" "$top" --wrap-mode=nodownload -Db_sanitize=address,undefined \
    -Dstatic=false -Doptimization=1 -Ddebug=false -Dcpp_args=-g1 >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C "$build" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
ln -sf reaper "$build/reaper-runtime"
ln -sf reaper "$build/containerd-shim-reaper-v2"

reports=$(mktemp -d /tmp/reaper-sanitizer-reports.XXXXXX)
trap 'rm -rf "$reports"' EXIT
# Reports go to files (pid-suffixed): a daemon's stderr may be nobody's.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
passed=0 failed=0

# Unit tests, with leak checking (the personalities exit through _exit on purpose, so
# leaks are checked here only).
log=$(mktemp)
ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan-unit" "$build/test/unit/unit-tests" >"$log" 2>&1
if line=$(grep -E '^All tests passed' "$log"); then
  n=$(sed -E 's/.* in ([0-9]+) test case.*/\1/' <<<"$line")
  passed=$((passed + n)); echo "PASS unit-tests, sanitized ($n test cases)"
else
  cat "$log"; failed=$((failed + 1)); echo "FAIL unit-tests, sanitized"
fi
rm -f "$log"

# Sanitized binaries run several times slower: the per-test limit grows to match.
export ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan" TEST_TIMEOUT=${TEST_TIMEOUT:-600}
filters=("$@")
((${#filters[@]})) || filters=("")
for filter in "${filters[@]}"; do
  log=$(mktemp)
  if [[ -z $filter ]]; then
    # The whole suite (its unit-test pass repeats the one above, without leak checking).
    bash "$top/test/run" "$build" | tee "$log"
  else
    bash "$top/test/run" "$build" "$filter" | tee "$log"
  fi
  if line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1); then
    read -r p _ f _ <<<"$line"
    passed=$((passed + p)); failed=$((failed + ${f%,}))
  else
    failed=$((failed + 1)); echo "FAIL test/run $filter (no result line)"
  fi
  rm -f "$log"
done

if compgen -G "$reports/*" >/dev/null; then
  failed=$((failed + 1)); echo "FAIL sanitizer reports:"
  for r in "$reports"/*; do echo "--- $r"; head -n 60 "$r"; done
else
  passed=$((passed + 1)); echo "PASS no sanitizer report from any process"
fi
echo "$passed passed, $failed failed"
((failed == 0))
