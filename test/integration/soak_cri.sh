# The soak's short version: bench/soak.sh with 100 pods through containerd's CRI plugin
# (4-8 in flight, each with log output, a restart and an exec) and 100 execs into one
# long-lived container; it fails when a process, zombie, fd, mount, state file, overlay
# file, task bundle or log file is left over, or the shim's RSS grows (its table says
# which). The 1000-pod run and its figures: bench/README.md.
# test-timeout: 240

test_soak_hundred_pods_nothing_grows() {
  capture nice bash "$TOP/bench/soak.sh" --pods 100 --execs 100 --build "$BUILD"
  [[ $rc -eq 0 ]] || fail "soak (rc $rc):"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "nothing grew" "the soak's verdict"
  # The table has every figure, each with its growth.
  local n; n=$(grep -cE '^(processes|zombies|containerd|fds|mounts|files|long-lived).* [+-][0-9]+ +[0-9]+$' <<<"$out")
  assert_eq 11 "$n" "figures in the soak's table"$'\n'"$out"
  # Everything the soak started is gone: its containerd, shims and directories.
  local left; left=$(find /run -maxdepth 1 -name 'reaper-soak.*' -newer "$TEST_TMP" 2>/dev/null)
  [[ -z $left ]] || fail "the soak left $left"
}
