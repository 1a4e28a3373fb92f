# shellcheck shell=bash
# The npm packages the deploy tests use (test/lib/node/package.json, versions pinned in
# its package-lock.json): installed once into /var/cache/reaper-tests/node with `npm ci`
# and reused while the lock file is unchanged. Needs node and npm (Debian's nodejs and npm
# packages are installed when missing) and the npm registry the first time.
#   node_deps        sets NODE_DEPS (the directory holding node_modules); non-zero on failure

NODE_DEPS_CACHE=${NODE_DEPS_CACHE:-/var/cache/reaper-tests/node}

node_deps() {
  local src lock stamp
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/node" && pwd)
  lock=$(sha256sum "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
  NODE_DEPS=$NODE_DEPS_CACHE
  stamp=$NODE_DEPS/.installed-$lock
  [[ -f $stamp ]] && return 0
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >/dev/null ||
      { echo "node_deps: cannot install nodejs and npm" >&2; return 1; }
  fi
  mkdir -p "$NODE_DEPS"
  (
    flock 9
    [[ -f $stamp ]] && exit 0
    cp "$src/package.json" "$src/package-lock.json" "$NODE_DEPS/"
    rm -f "$NODE_DEPS"/.installed-*
    (cd "$NODE_DEPS" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
      { echo "node_deps: npm ci failed:" >&2; tail -n 20 "$NODE_DEPS/npm.log" >&2; exit 1; }
    touch "$stamp"
  ) 9>"$NODE_DEPS_CACHE.lock"
}
