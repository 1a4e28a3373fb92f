# The shim reports a process's exit only once its output has been read (docs/pods.md,
# "Output and kubectl logs"): containerd's CRI stops reading soon after it sees an exit.
# These tests act as containerd by hand (test/lib/ttrpc_task.py) with a stdout FIFO of
# their own, so they decide when, and whether, it is read.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

SHIM="$BUILD/containerd-shim-reaper-v2"
tt() { "$PY" "$TOP/test/lib/ttrpc_task.py" "$@"; }

# Starts a shim daemon for a bundle whose process runs SCRIPT with stdout on a FIFO.
# Sets SOCK, DAEMON, FIFO; the daemon is killed at the end.
_output_shim() {
  local bundle=$TEST_TMP/bundle addr
  mkdir -p "$bundle"
  FIFO=$TEST_TMP/stdout
  mkfifo "$FIFO"
  "$PY" - "$bundle/config.json" "$1" <<'PYEOF'
import json, sys
json.dump({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
           "process": {"args": ["/bin/sh", "-c", sys.argv[2]], "cwd": "/",
                       "env": ["PATH=/usr/bin:/bin"]}}, open(sys.argv[1], "w"))
PYEOF
  export REAPER_ROOT=$TEST_TMP/reaper-root
  addr=$(cd "$bundle" && "$SHIM" -namespace rtest-out -address /nonexistent.sock \
    -publish-binary /bin/true -id out1 start </dev/null 2>&1) || fail "start: $addr"
  SOCK=${addr#unix://}
  DAEMON=$(socket_owner "$SOCK") || fail "no daemon holds $SOCK"
  trap 'kill -KILL '"$DAEMON"' 2>/dev/null; rm -f '"$SOCK"'; harness_cleanup' EXIT
  tt "$SOCK" create out1 "$bundle" "$FIFO" >/dev/null || fail "Create"
  tt "$SOCK" start out1 >/dev/null || fail "Start"
}

test_exit_waits_until_the_output_was_read() {
  _output_shim 'seq 1 3000; exit 3'
  local waitout=$TEST_TMP/wait.out
  tt "$SOCK" wait out1 >"$waitout" & local waiter=$!
  # 13 kB sit unread in the FIFO: the exit is not reported while nobody reads them.
  sleep 1
  pid_alive "$waiter" || fail "Wait returned with the output unread: $(<"$waitout")"
  # Now read it: the exit follows, and once the shim has let go of the FIFO (as it does
  # when it reports the exit), the reader sees all 3000 lines, then EOF.
  wc -l <"$FIFO" >"$TEST_TMP/lines" & local reader=$!
  wait "$waiter" || fail "Wait failed"
  assert_eq 3 "$(<"$waitout")" "exit status"
  wait "$reader" || fail "reader"
  assert_eq 3000 "$(<"$TEST_TMP/lines")" "lines read"
  tt "$SOCK" delete out1 >/dev/null || fail "Delete"
}

test_exit_unread_output_is_reported_after_the_limit() {
  _output_shim 'echo nobody-reads-this; exit 4'
  local start=$SECONDS status
  status=$(tt "$SOCK" wait out1) || fail "Wait failed"
  assert_eq 4 "$status" "exit status"
  local took=$((SECONDS - start))
  ((took >= 4 && took <= 8)) || fail "Wait took $took s; the limit is 5 s without a read"
  tt "$SOCK" delete out1 >/dev/null || fail "Delete"
}
