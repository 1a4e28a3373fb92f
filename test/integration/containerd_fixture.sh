# Tests of the private-containerd fixture (test/lib/containerd.sh) with runc and crun:
# they prove the fixture before any reaper end-to-end test relies on it, for each version.
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh"

_proc_state() {  # _proc_state PID: the state letter, fails when the process is gone
  local s
  read -r s 2>/dev/null <"/proc/$1/stat" || return 1
  s=${s##*) }; echo "${s%% *}"
}

# Starts the fixture and makes sure it is stopped (then the harness cleanup runs) on exit.
_fixture_up() {
  trap 'containerd_stop; harness_cleanup' EXIT
  containerd_start "$@" || fail "containerd_start $*"
  busybox_rootfs "$TEST_TMP/rootfs" || fail "busybox_rootfs"
}

# Echo and exit-status propagation through `ctr run --rm` for one runtime.
_check_runtime() {  # _check_runtime RUNTIME
  local rt=$1
  capture cctr_run "$rt" --rm --rootfs "$TEST_TMP/rootfs" "echo-$rt" /bin/echo hello
  assert_eq 0 "$rc" "$rt: ctr run status (stderr: $err)"
  assert_eq hello "$out" "$rt: ctr run output"
  capture cctr_run "$rt" --rm --rootfs "$TEST_TMP/rootfs" "exit-$rt" sh -c 'exit 7'
  assert_eq 7 "$rc" "$rt: exit status (stderr: $err)"
  capture cctr containers ls -q
  assert_eq "" "$out" "$rt: containers left after --rm"
}

test_fixture_runc_echo_and_exit_status() {
  _fixture_up
  _check_runtime runc
}

test_fixture_crun_echo_and_exit_status() {
  _fixture_up
  _check_runtime crun
}

# The variants: no CRI plugin, containerd in the host's mount namespace (runc only: crun
# refuses the hybrid cgroup layout there).
test_fixture_no_cri_no_unshare_runc() {
  _fixture_up --no-cri --no-unshare
  capture cctr plugins ls
  assert_eq "" "$(grep -E '^io\.containerd\.grpc\.v1 +cri ' <<<"$out")" "cri plugin listed"
  grep -q ' /sys/fs/cgroup/unified ' "/proc/$CTRD_PID/mountinfo" ||
    fail "containerd is not in the host mount namespace"
  _check_runtime runc
}

test_fixture_setup_is_private() {
  _fixture_up
  local sock=$CTRD_SOCK
  ((${#sock} < 108)) || fail "socket path too long: $sock"
  assert_ne default "$CTRD_NS" "namespace"
  # The CRI plugin is loaded and the reaper shim is first on containerd's PATH.
  capture cctr plugins ls
  assert_contains "$(grep -E '^io\.containerd\.grpc\.v1 +cri ' <<<"$out")" " ok" "cri plugin"
  local env_path
  env_path=$(tr '\0' '\n' <"/proc/$CTRD_PID/environ" | sed -n 's/^PATH=//p')
  assert_eq "$CTRD_SHIM_DIR" "${env_path%%:*}" "first PATH entry of containerd"
  assert_eq "$REAPER" "$(readlink "$CTRD_SHIM_DIR/containerd-shim-reaper-v2")" "shim symlink"
  # crun works because containerd's mount namespace has no cgroup2 mount; the host keeps it.
  mountpoint -q /sys/fs/cgroup/unified || fail "host lost /sys/fs/cgroup/unified"
  grep -q ' /sys/fs/cgroup/unified ' "/proc/$CTRD_PID/mountinfo" &&
    fail "containerd still sees /sys/fs/cgroup/unified"
  # runc state goes to the private root, not /run/containerd/runc.
  cctr_run runc -d --rootfs "$TEST_TMP/rootfs" bg sleep 1000 >/dev/null || fail "ctr run -d"
  assert_file "$CTRD_RUNC_ROOT/$CTRD_NS/bg"
  cctr task delete -f bg >/dev/null || fail "task delete"
  cctr container delete bg || fail "container delete"
}

# Everything the fixture's containerd started is gone after containerd_stop, even with
# running tasks and a mount left under its root.
test_fixture_stop_leaves_nothing() {
  _fixture_up
  local dir=$CTRD_DIR sock=$CTRD_SOCK ns=$CTRD_NS rt p
  local -a shim_socks=() pids=()
  for rt in runc crun; do
    cctr_run "$rt" -d --rootfs "$TEST_TMP/rootfs" "sleeper-$rt" sleep 1000 >/dev/null ||
      fail "$rt: ctr run -d"
    p=$(cctr task ls | awk -v id="sleeper-$rt" '$1 == id { print $2 }')
    [[ -n $p ]] || fail "$rt: no task pid"
    kill -0 "$p" || fail "$rt: task $p not running"
    pids+=("$p")
    p=$(ctrd_shim_address "$CTRD_STATE/io.containerd.runtime.v2.task/$ns/sleeper-$rt") ||
      fail "$rt: no shim address in the bundle"
    shim_socks+=("${p#unix://}")
  done
  [[ -S ${shim_socks[0]} ]] || fail "no shim socket ${shim_socks[0]}"
  mkdir -p "$CTRD_ROOT/leftover-mount"
  mount -t tmpfs rtest-leftover "$CTRD_ROOT/leftover-mount" || fail "mount"

  containerd_stop || fail "containerd_stop"

  assert_eq "" "${CTRD_PID:-}" "CTRD_PID after stop"
  for p in "${pids[@]}"; do
    [[ $(_proc_state "$p") == "" || $(_proc_state "$p") == Z ]] || fail "task process $p still alive"
  done
  local live="" f
  # shellcheck disable=SC2013  # /proc/PID/cmdline paths, one a word
  for f in $(grep -lzxF -- "$sock" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}; p=${p%%/*}
    [[ $(_proc_state "$p") == [^Z]* ]] && live+=" $p:$(tr '\0' ' ' <"$f" 2>/dev/null)"
  done
  assert_eq "" "$live" "processes naming $sock"
  assert_eq "" "$(awk -v d="$dir" 'index($5, d) == 1' /proc/self/mountinfo)" "mounts under $dir"
  assert_no_file "$dir"
  for p in "${shim_socks[@]}"; do assert_no_file "$p"; done
  assert_eq "" "$(ls -d /sys/fs/cgroup/*/"$ns" 2>/dev/null)" "cgroups of namespace $ns"
  containerd_stop || fail "second containerd_stop"
}

# The containerd that runs is the version under test (test/run's matrix; 1.6 otherwise),
# with its own runc shim, the config version that containerd reads, and the reaper-v2
# handler exactly as the deploy/ drop-in for that config version declares it.
test_fixture_runs_the_version_under_test() {
  _fixture_up
  local want=${CTRD_VERSION_UNDER_TEST:-1.6} server fmt dropin
  server=$(cctr version | awk '/^Server:/ { s = 1 } s && $1 == "Version:" { print $2; exit }')
  [[ $server == "$want"* ]] || fail "server version $server, wanted $want"
  assert_eq "$CTRD_BIN_VERSION" "$server" "CTRD_BIN_VERSION"
  fmt=$(sed -n 's/^version = //p' "$CTRD_CONFIG")
  case $want in
    2*) assert_eq 3 "$fmt" "config version"; dropin="reaper-v3.toml" ;;
    *) assert_eq 2 "$fmt" "config version"; dropin="reaper-v2.toml" ;;
  esac
  # The handler keys of the drop-in, as containerd merged them (config dump).
  local dump table key
  dump=$("$CTRD_BIN" --config "$CTRD_CONFIG" config dump 2>/dev/null) || fail "config dump"
  table=$(awk '/^ *\[plugins.*\.containerd\.runtimes\.reaper-v2\]/ { t = 1; next } t && /^ *\[/ { exit } t' <<<"$dump")
  for key in runtime_type pod_annotations container_annotations; do
    local v
    v=$(sed -n "s/^ *$key = //p" "$TOP/deploy/containerd/$dropin")
    [[ -n $v ]] || fail "$dropin has no $key"
    assert_eq "$v" "$(sed -n "s/^ *$key = //p" <<<"$table" | tr "'" '"')" "reaper-v2 $key from $dropin"
  done
  # A runc task's shim is the one shipped with this containerd.
  cctr_run runc -d --rootfs "$TEST_TMP/rootfs" own-shim sleep 1000 >/dev/null || fail "ctr run -d"
  local task shim want_shim
  task=$(cctr task ls | awk '$1 == "own-shim" { print $2 }')
  shim=$(ps -o ppid= -p "$task" | tr -d ' ')
  want_shim=$(PATH=${CTRD_EXTRA_PATH:+$CTRD_EXTRA_PATH:}$PATH command -v containerd-shim-runc-v2)
  assert_eq "$want_shim" "$(readlink "/proc/$shim/exe")" "runc shim binary"
  cctr task delete -f own-shim >/dev/null || fail "task delete"
  cctr container delete own-shim || fail "container delete"
}
