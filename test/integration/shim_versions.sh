# What differs between containerd versions at the shim's edges (docs/compatibility.md):
# what containerd itself does is checked against the version under test; what only
# versions we cannot install do (2.0.0-2.0.5's attach without `start`, 2.3's
# BootstrapParams) is done here by hand, the way those versions do it.
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

SHIM="$BUILD/containerd-shim-reaper-v2"
tt() { "$PY" "$TOP/test/lib/ttrpc_task.py" "$@"; }

# The bundle files: our `address` in every version; 2.x adds its own bootstrap.json
# (version 2: we print a plain address, so 2.x keeps task API v2 and per-container start).
test_bundle_address_and_bootstrap_json() {
  shim_up
  capture rrun -d b1 sleep 1000
  assert_eq 0 "$rc" "run (stderr: $err)"
  local b; b=$(bundle_dir b1)
  assert_file "$b/address"
  [[ $(<"$b/address") == unix:///run/containerd/s/* ]] || fail "address: $(<"$b/address")"
  case ${CTRD_VERSION:-1.6} in
    2*)
      assert_file "$b/bootstrap.json"
      assert_eq "{\"version\":2,\"address\":\"$(<"$b/address")\",\"protocol\":\"ttrpc\"}" \
        "$(<"$b/bootstrap.json")" "bootstrap.json" ;;
    *) assert_no_file "$b/bootstrap.json" ;;
  esac
  cctr task kill -s KILL b1 >/dev/null; wait_task_status b1 STOPPED || fail "b1 not stopped"
  cctr task delete b1 >/dev/null || fail "task delete"
}

# -info prints a RuntimeInfo; containerd 2.x asks for it (`ctr plugins inspect-runtime`;
# 2.2+ also at the first Create of every non-runc runtime) and echoes the options back.
test_info_prints_runtime_info() {
  local dec
  dec=$("$SHIM" -info </dev/null | protoc --decode_raw) || fail "-info output does not decode"
  assert_contains "$dec" '1: "io.containerd.reaper.v2"' "RuntimeInfo.name"
  assert_contains "$dec" "$("$REAPER" --version | awk '{print $3}')" "RuntimeInfo.version"
  [[ ${CTRD_VERSION_UNDER_TEST:-1.6} == 2* ]] || return 0
  shim_up
  echo 'x = 1' >"$TEST_TMP/rt.toml"
  capture cctr plugins inspect-runtime --runtime io.containerd.reaper.v2 --runtime-config-path "$TEST_TMP/rt.toml"
  assert_eq 0 "$rc" "inspect-runtime (stderr: $err)"
  assert_contains "$out" '"Name": "io.containerd.reaper.v2"'
  assert_contains "$out" "$TEST_TMP/rt.toml" "options echoed back"
}

# containerd 2.3 writes a BootstrapParams on start's stdin (not a bare Any) and may name
# another socket directory in it: start honours it and prints a plain address there.
test_start_with_bootstrap_params_socket_dir() {
  local bundle=$TEST_TMP/bundle sdir=$TEST_TMP/s params=$TEST_TMP/params
  mkdir -p "$bundle"
  echo '{"ociVersion":"1.2.1","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"}}' >"$bundle/config.json"
  # BootstrapParams{2 namespace, 4 containerd_version, 5 ttrpc, 6 grpc, 7 binary, 9 socket_dir}
  "$PY" - "$params" "$sdir" <<'EOF'
import sys
def f(n, s):
    s = s.encode(); return bytes([n << 3 | 2, len(s)]) + s
open(sys.argv[1], "wb").write(f(2, "rtest-bp") + f(4, "2.3.0") + f(5, "/nonexistent.sock.ttrpc")
    + f(6, "/nonexistent.sock") + f(7, "/usr/bin/containerd") + f(9, sys.argv[2]))
EOF
  local addr daemon
  export REAPER_ROOT=$TEST_TMP/reaper-root
  addr=$(cd "$bundle" && "$SHIM" -namespace rtest-bp -address /nonexistent.sock -publish-binary /usr/bin/containerd \
    -id bp1 start <"$params" 2>&1) || fail "start: $addr"
  [[ $addr == "unix://$sdir/"* ]] || fail "address not in the socket_dir: $addr"
  [[ -S ${addr#unix://} ]] || fail "no socket at $addr"
  assert_eq "$addr" "$(<"$bundle/address")" "address file"
  daemon=$(socket_owner "${addr#unix://}") || fail "no daemon holds $addr"
  trap 'kill -KILL '"$daemon"' 2>/dev/null; harness_cleanup' EXIT
  # The daemon answers on its socket; it serves no task yet, so Connect says NotFound (as
  # runc's shim does: a restarted containerd then cleans such a task up).
  capture tt "${addr#unix://}" connect bp1
  [[ $rc != 0 ]] || fail "Connect to a task the shim does not serve answered: $out"
  assert_contains "$err" "not found" "Connect's error"
  tt "${addr#unix://}" shutdown bp1 || fail "Shutdown"
  local i
  for ((i = 0; i < 100; i++)); do pid_alive "$daemon" || break; sleep 0.05; done
  pid_alive "$daemon" && fail "daemon $daemon did not exit after Shutdown with no container"
  assert_no_file "${addr#unix://}"
}

# containerd 2.0.0-2.0.5 Creates a pod's app containers on the pause container's shim
# without `start` (and without the `delete` binary), and sends no Shutdown after deleting
# them; 2.0.0-2.0.5 and 2.1.0-2.1.1 send Shutdown only for the pause container. Done by
# hand here: the daemon serves the extra container, outlives the pause container's
# deletion and Shutdown, and exits once its last container is deleted.
test_container_attached_without_start() {
  shim_up
  capture rrun -d --annotation io.containerd.reaper.v2.group=pod1 pause sleep 1000
  assert_eq 0 "$rc" "run pause (stderr: $err)"
  local sock daemon bundle=$TEST_TMP/app-bundle appout=$TEST_TMP/app-out
  sock=$(shim_addr pause) || fail "no address for pause"
  daemon=$(socket_owner "$sock") || fail "no daemon for $sock"
  mkdir -p "$bundle"
  "$PY" - "$(bundle_dir pause)/config.json" "$bundle/config.json" "$appout" <<'EOF'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["process"]["args"] = ["sh", "-c", "echo attached > %s; exec sleep 1000" % sys.argv[3]]
json.dump(spec, open(sys.argv[2], "w"))
EOF
  capture tt "$sock" create app "$bundle"
  assert_eq 0 "$rc" "Create without start (stderr: $err)"
  local pid=$out
  capture tt "$sock" start app
  assert_eq "$pid" "$out" "Start pid (stderr: $err)"
  wait_file "$appout" 5 || fail "the attached container did not run"
  assert_eq attached "$(<"$appout")"

  # The pause container goes first, with containerd's Delete + Shutdown.
  cctr task kill -s KILL pause >/dev/null; wait_task_status pause STOPPED || fail "pause not stopped"
  cctr task delete pause >/dev/null || fail "task delete pause"
  pid_alive "$daemon" || fail "the daemon exited with a container left"
  capture tt "$sock" state app
  assert_eq "2 $pid 0" "$out" "State of app: RUNNING (stderr: $err)"

  # The last container: Kill, Wait, Delete, no Shutdown: the daemon leaves by itself.
  tt "$sock" kill app 9 || fail "Kill"
  capture tt "$sock" wait app
  assert_eq 137 "$out" "Wait (stderr: $err)"
  capture tt "$sock" delete app
  assert_eq "$pid 137" "$out" "Delete (stderr: $err)"
  local i
  for ((i = 0; i < 100; i++)); do pid_alive "$daemon" || break; sleep 0.05; done
  pid_alive "$daemon" && fail "daemon $daemon still runs after its last container was deleted"
  assert_no_file "$sock"
}
