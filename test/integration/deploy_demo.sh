# deploy/demo.sh runs and leaves nothing behind: no process, mount or directory of its own.
# test-timeout: 240

test_demo_leaves_nothing_running() {
  local before_mounts
  before_mounts=$(grep -c reaper-demo /proc/self/mountinfo)
  capture bash "$TOP/deploy/demo.sh"
  assert_eq 0 "$rc" "demo (stderr: $err)"
  assert_contains "$out" "exit code: 3"
  local left
  left=$(grep -l -a 'reaper-demo\.' /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -v "/proc/$$/" | grep -v "/proc/$BASHPID/" || true)
  [[ -z $left ]] || fail "processes of the demo left: $(for f in $left; do p=${f#/proc/}; p=${p%%/*}; tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done)"
  assert_eq "$before_mounts" "$(grep -c reaper-demo /proc/self/mountinfo)" "mounts of the demo left"
  compgen -G "/tmp/reaper-demo.*" >/dev/null && fail "demo directories left: $(echo /tmp/reaper-demo.*)"
  return 0
}
