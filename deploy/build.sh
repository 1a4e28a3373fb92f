#!/usr/bin/env bash
# Installs reaper's build and test dependencies from Debian's packages (when missing)
# and builds the static multi-call binary into build/. Idempotent; run as root.
#   deploy/build.sh [BUILD_DIR]
#   REAPER_MESON_OPTIONS="-Dwerror=true -Dbench=true" deploy/build.sh   (what CI builds with)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}

packages=(
  meson ninja-build pkg-config g++ lld git file
  protobuf-compiler libprotobuf-dev libboost1.81-dev libboost-json1.81-dev libfmt-dev catch2
  python3 python3-grpcio python3-protobuf python3-yaml python3-jsonschema python3-prometheus-client util-linux procps shellcheck strace
  containerd runc crun busybox-static buildah
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# REAPER_MESON_OPTIONS: more options for a new build directory (CI: -Dwerror=true -Dbench=true).
# Debian's packages only (installed above): the wraps of subprojects/ are for systems
# without them (subprojects/README.md), never a silent substitute here.
read -r -a options <<<"${REAPER_MESON_OPTIONS:-}"
if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build" "$top" --wrap-mode=nofallback "${options[@]}" >/dev/null
elif ((${#options[@]})); then
  meson configure "$build" "${options[@]}" >/dev/null
fi
# ninja prints the compiler's errors on its standard output: shown only when it fails.
if ! ninja -C "$build" >"$build/ninja.log"; then
  cat "$build/ninja.log" >&2
  exit 1
fi
ln -sf reaper "$build/reaper-runtime"
ln -sf reaper "$build/containerd-shim-reaper-v2"
echo "built $build/reaper ($(file -b "$build/reaper" | cut -d, -f1-5))" >&2
