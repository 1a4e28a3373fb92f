#!/usr/bin/env bash
# Builds reaper with AddressSanitizer and UndefinedBehaviorSanitizer, with symbols (dynamically linked:
# the sanitizer runtimes are not static) and runs the whole suite against that build.
#   test/sanitizers.sh [FILTER]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZER_BUILD:-$top/build-sanitizers}
bash "$top/deploy/build.sh" >/dev/null || exit 1
if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build" "$top" -Db_sanitize=address,undefined -Dstatic=false -Doptimization=1 -Ddebug=true >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || exit 1
ln -sf reaper "$build/containerd-shim-reaper-v2"
# Leak checking is for the unit tests; the personalities exit through _exit on purpose.
ASAN_OPTIONS=detect_leaks=1 "$build/test/unit/unit-tests" | tail -n 1 || exit 1
# Sanitized binaries run several times slower: the per-test limit grows to match.
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TEST_TIMEOUT=${TEST_TIMEOUT:-600}
exec bash "$top/test/run" "$build" "${1:-}"
