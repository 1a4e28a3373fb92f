# `containerd-shim-reaper-v2 start` run by hand as containerd runs it (docs/shim.md "Binary
# contract"): a start that fails says why on stderr, exits 1, and leaves no daemon and no
# socket behind.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

SHIM="$BUILD/containerd-shim-reaper-v2"

# Live processes whose command line holds WORD.
_processes_with() {
  local f
  for f in /proc/[0-9]*/cmdline; do
    tr '\0' ' ' <"$f" 2>/dev/null | grep -q -- "$1" && { f=${f#/proc/}; echo "${f%%/*}"; }
  done
  return 0
}

test_start_that_cannot_write_the_address_leaves_no_daemon() {
  local bundle=$TEST_TMP/bundle id="start-fail-$$" before after
  mkdir -p "$bundle"
  printf '%s' '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["true"], "cwd": "/"}}' \
    >"$bundle/config.json"
  # The bundle's `address` cannot be replaced: a directory stands in its place.
  mkdir "$bundle/address"
  export REAPER_ROOT=$TEST_TMP/reaper-root
  before=$(find /run/containerd/s -maxdepth 1 -type s 2>/dev/null | sort)
  capture bash -c 'cd "$1" && exec "$2" -namespace rtest-start -address /nonexistent.sock \
    -publish-binary /bin/true -id "$3" start </dev/null' _ "$bundle" "$SHIM" "$id"
  assert_eq 1 "$rc" "start's status (out: $out)"
  assert_contains "$err" "address" "start's error"
  assert_eq "" "$out" "what start printed for containerd"
  local -a left; mapfile -t left < <(_processes_with "$id")
  ((${#left[@]} == 0)) || { kill -KILL "${left[@]}" 2>/dev/null; fail "processes left: $(describe_pids "${left[@]}")"; }
  after=$(find /run/containerd/s -maxdepth 1 -type s 2>/dev/null | sort)
  assert_eq "$before" "$after" "sockets under /run/containerd/s"
  assert_eq "" "$(find "$bundle" -name 'address.tmp')" "a temporary address file"
}
