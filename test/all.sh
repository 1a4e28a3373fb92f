#!/usr/bin/env bash
# Sets everything up (Debian packages, build) and runs the whole test suite.
# The last line of output is "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/deploy/build.sh" || { echo "0 passed, 1 failed"; exit 1; }
exec bash "$top/test/run" "$top/build" "$@"
