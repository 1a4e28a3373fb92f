#!/usr/bin/env bash
# Checks that the ordering file BUILD's reaper is linked with (src/text-order.txt: the
# hot-first layout of docs/shim.md, "Memory") still names the binary's functions. lld
# silently skips a listed name the binary no longer defines (a function renamed or removed
# since profile.sh wrote the list), and that function's code moves among the cold code,
# where a shim calling it maps one more 64 KiB window. Fails when more than 3% of the
# listed names are missing. Links an unstripped copy of BUILD's reaper to read its symbols
# (about a second). What it cannot see: a new function on a hot path, not listed at all.
#   bench/text-order/check.sh [BUILD_DIR [LIST]]   LIST: check another file against BUILD
# Exit status: 0 current, 1 stale, 2 error, 77 not checked: BUILD does not link with an
# ordering file (meson.build: a sanitizer, fuzz or dynamic build, or no lld).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd) || exit 2
# shellcheck source=bench/text-order/link.sh
source "$here/link.sh"
tolerance=3  # percent of the listed names (the three lists so far lose 0.8-1.3% against 2b0b9cf)

[[ -f $build/build.ninja ]] || { echo "check.sh: $build is not a build directory" >&2; exit 2; }
if ! used=$(ordering_file "$build"); then
  echo "not checked: $build links reaper without --symbol-ordering-file" \
    "(a sanitizer, fuzz or dynamic build, or no lld)"
  exit 77
fi
list=${2:-$used}
[[ -f $list && -r $list ]] || { echo "check.sh: cannot read $list" >&2; exit 2; }

tmp=$(mktemp -d /tmp/reaper-text-order-check.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
if ! link_unstripped "$build" "$tmp/reaper" >"$tmp/link.log" 2>&1; then
  echo "check.sh: linking an unstripped copy of $build/reaper failed:" >&2
  cat "$tmp/link.log" >&2
  exit 2
fi
nm --defined-only "$tmp/reaper" | awk '{ print $NF }' >"$tmp/defined" || exit 2
# Missing names in the list's own order (a monitor's functions first).
awk 'NR == FNR { defined[$0] = 1; next } NF && !($1 in defined) { print $1 }' \
  "$tmp/defined" "$list" >"$tmp/missing"
listed=$(awk 'NF' "$list" | wc -l)
missing=$(wc -l <"$tmp/missing")
((listed > 0)) || { echo "check.sh: $list lists no names" >&2; exit 2; }
share="$((missing * 100 / listed)).$((missing * 1000 / listed % 10))%"
if ((missing * 100 > listed * tolerance)); then
  echo "$list is stale: $missing of its $listed names ($share) are not defined in" \
    "$build/reaper (tolerance $tolerance%)."
  echo "The first missing ones:"
  head -n 5 "$tmp/missing" | sed 's/^/  /'
  echo "Fix: rerun bench/text-order/profile.sh (as root, needs gdb; about 3 minutes)," \
    "rebuild, commit the new list."
  exit 1
fi
echo "$list is current: $missing of its $listed names ($share) are not defined in" \
  "$build/reaper (tolerance $tolerance%)"
