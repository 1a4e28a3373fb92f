#!/usr/bin/env bash
# Builds reaper, then runs a host command through `reaper-runtime` from an OCI bundle
# written here, and shows its output, its exit code and `reaper state`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/deploy/build.sh"
reaper="$top/build/reaper"
work=$(mktemp -d /tmp/reaper-demo.XXXXXX)
root="$work/state"
trap '"$reaper" reaper-runtime --root "$root" delete --force demo >/dev/null 2>&1; rm -rf "$work"' EXIT

mkdir -p "$work/bundle"
cat >"$work/bundle/config.json" <<'JSON'
{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["sh", "-c", "echo \"hello from $(hostname), uid $(id -u), pid $$\"; uname -sr; exit 3"],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/"
  },
  "root": {"path": "rootfs"}
}
JSON

run() { echo "\$ $*"; "$@"; }
rt="$reaper reaper-runtime --root $root"
run $rt create --bundle "$work/bundle" demo
run $rt start demo
echo "\$ reaper wait demo"
code=0; "$reaper" wait --root "$root" demo || code=$?
echo "exit code: $code"
echo "\$ reaper state demo"
"$reaper" state --root "$root" demo
