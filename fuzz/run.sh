#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer for a given time, at the lowest CPU priority, on
# a copy of its seed corpus; what it finds is left in fuzz/findings/TARGET/ (crash-*,
# leak-*, timeout-* files: fix the defect, then move the input into fuzz/corpus/TARGET/
# so the replay in every test run keeps trying it).
#   fuzz/run.sh TARGET SECONDS       e.g. fuzz/run.sh oci_spec 300
#   fuzz/run.sh list                 the targets
# The libFuzzer build (clang 19 with AddressSanitizer and UndefinedBehaviorSanitizer)
# is set up in build-fuzz/ on first use; clang-19 and its runtime come from Debian.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
targets=$(sed -n "s/^  '\([a-z_]*\)' : {.*/\1/p" "$top/fuzz/meson.build")

if [[ ${1:-} == list ]]; then echo "$targets"; exit 0; fi
if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]] || ! grep -qx "$1" <<<"$targets"; then
  echo "usage: fuzz/run.sh TARGET SECONDS (TARGET one of: $(echo "$targets" | tr '\n' ' '))" >&2
  exit 2
fi
target=$1 seconds=$2

need=()
for p in clang-19 libclang-rt-19-dev llvm-19 meson ninja-build pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  echo "fuzz/run.sh: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [[ ! -f $build/build.ninja ]]; then
  CXX=clang++-19 meson setup "$build" "$top" --wrap-mode=nodownload -Dfuzz=true -Dtests=false \
    -Dstatic=false -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
    >/dev/null
fi
nice -n 19 ninja -C "$build" "fuzz/fuzz-$target" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$top/fuzz/corpus/$target" "$work/corpus"
findings=$top/fuzz/findings/$target
mkdir -p "$findings"
# The corpus copy grows with what libFuzzer finds interesting; the seeds in the tree stay
# as they are. -rss_limit_mb keeps one target from taking the shared machine's memory.
status=0
ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-19/bin/llvm-symbolizer \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  nice -n 19 "$build/fuzz/fuzz-$target" "$work/corpus" -max_total_time="$seconds" \
  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
  >"$work/log" 2>&1 || status=$?
grep -E '^(==[0-9]+==|SUMMARY|stat::|Done|#[0-9]+ +DONE)' "$work/log" || true
# A defect's report (the sanitizer's, or libFuzzer's deadly signal) in full.
((status == 0)) || grep -B2 -A40 -m1 -E 'ERROR: |runtime error|deadly signal' "$work/log" || true
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
found=$(find "$findings" -type f | wc -l)
echo "fuzz/run.sh: $target: ${runs:-?} executions in ${seconds}s, $found finding(s) in $findings"
exit "$status"
