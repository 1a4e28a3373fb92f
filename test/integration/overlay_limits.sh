# Bounded overlay memory and group collection (docs/overlay.md, "Size limits" and
# "Collecting idle groups"): each group's upper layers live in a tmpfs of its own
# limit, a workload filling it gets ENOSPC while the host and other groups are unharmed,
# the limit survives a rebuild, and idle groups are collected by events, never in use.
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

lim_run() {
  rt_bundle "$TEST_TMP/$1" /bin/sh -c "$2"
  [[ -z "${3:-}" ]] || edit_config "$TEST_TMP/$1" "$3"
  run_bundle "$1" "$TEST_TMP/$1"
  out=$(workload_out "$1") err=$(workload_err "$1")
}
annotate() {  # annotate NAMESPACE [EXTRA-PY-DICT-ITEMS]
  echo 'c["annotations"] = {"io.kubernetes.cri.sandbox-namespace": "'"$1"'"'"${2:-}"'}'
}
# group_field GROUP FIELD: a field of `reaper overlay list --json` for GROUP.
group_field() {
  "$REAPER" overlay list --json |
    json_eval "[g for g in d if g['group'] == sys.argv[2]][0]['$2']" "$1"
}
MiB=$((1024 * 1024))

test_group_limit_gives_enospc_and_spares_host_and_others() {
  local f=reaper-big-$$ run_free_before run_free_after
  echo "REAPER_OVERLAY_SIZE=8m" > "$REAPER_CONFIG"
  run_free_before=$(df -k --output=avail /run | tail -1)
  lim_run a1 "dd if=/dev/zero of=/tmp/$f bs=1M count=20 2>&1" "$(annotate fill)"
  assert_contains "$out" "No space left on device" "the workload's dd"
  assert_no_file "/tmp/$f"
  assert_eq $((8 * MiB)) "$(group_field k8s.fill limitBytes)" "the group's limit"
  (( $(group_field k8s.fill usedBytes) > 6 * MiB )) || fail "used bytes: $(group_field k8s.fill usedBytes)"
  run_free_after=$(df -k --output=avail /run | tail -1)
  (( run_free_before - run_free_after < 4096 )) || fail "/run lost $((run_free_before - run_free_after)) KiB"
  # Another group still has its whole limit; the full one can still delete and write.
  lim_run b1 "dd if=/dev/zero of=/tmp/$f bs=1M count=6 2>/dev/null && echo wrote" "$(annotate other)"
  assert_eq wrote "$out" "another group writes (stderr: $err)"
  lim_run a2 "rm /tmp/$f; echo small > /tmp/$f.2 && cat /tmp/$f.2" "$(annotate fill)"
  assert_eq small "$out" "the full group after freeing space"
  grep -q "^reaper-layers $REAPER_OVERLAY_ROOT/k8s.fill/layers tmpfs .*size=8192k" /proc/mounts ||
    fail "no 8 MiB tmpfs on the group's layers: $(grep "$REAPER_OVERLAY_ROOT" /proc/mounts)"
}

test_limit_survives_a_rebuild_and_pods_choose_only_when_allowed() {
  local f=reaper-keep-$$
  printf 'REAPER_OVERLAY_SIZE=16m\nREAPER_OVERLAY_SIZE_MAX=64m\n' > "$REAPER_CONFIG"
  lim_run r1 "echo kept > /etc/$f; echo ok" "$(annotate rb ', "reaper.runtime/overlay-size": "4m"')"
  assert_eq ok "$out"
  assert_eq $((4 * MiB)) "$(group_field k8s.rb limitBytes)" "the pod's own limit"
  # A rebuild (the namespace bind gone, as after a crash), by a pod that asks nothing.
  umount "$REAPER_OVERLAY_ROOT/k8s.rb/mnt" || fail "unmount the namespace file"
  lim_run r2 "cat /etc/$f; dd if=/dev/zero of=/tmp/$f bs=1M count=8 2>&1" "$(annotate rb)"
  assert_contains "$out" "kept" "the upper layer survives"
  assert_contains "$out" "No space left on device" "still the 4 MiB limit"
  assert_eq 2 "$(grep -c '^built' "$REAPER_OVERLAY_ROOT/k8s.rb/build.log")" "namespaces built"
  assert_eq $((4 * MiB)) "$(group_field k8s.rb limitBytes)" "the limit after the rebuild"
  # Above the maximum, or on a node that allows no choice: the node's default.
  lim_run r3 "echo ok" "$(annotate big ', "reaper.runtime/overlay-size": "1g"')"
  assert_eq $((16 * MiB)) "$(group_field k8s.big limitBytes)" "a request above the maximum"
  echo "REAPER_OVERLAY_SIZE=16m" > "$REAPER_CONFIG"
  lim_run r4 "echo ok" "$(annotate nochoice ', "reaper.runtime/overlay-size": "4m"')"
  assert_eq $((16 * MiB)) "$(group_field k8s.nochoice limitBytes)" "no REAPER_OVERLAY_SIZE_MAX"
}

test_gc_collects_idle_groups_and_never_one_in_use() {
  echo "REAPER_OVERLAY_IDLE=never" > "$REAPER_CONFIG"
  lim_run i1 "echo ok" "$(annotate idle)"
  rt_bundle "$TEST_TMP/busy" /bin/sh -c "exec sleep 60"
  edit_config "$TEST_TMP/busy" "$(annotate busy)"
  rt_create busy "$TEST_TMP/busy"; rt_start busy
  [[ -n "$(group_field k8s.idle lastUse)" ]] || fail "no last use for k8s.idle"
  capture "$REAPER" overlay gc --idle 1h
  assert_eq 0 "$rc" "gc (stderr: $err)"
  assert_file "$REAPER_OVERLAY_ROOT/k8s.idle"
  capture "$REAPER" overlay gc --idle 0
  assert_eq 0 "$rc" "gc --idle 0 (stderr: $err)"
  assert_contains "$out" "removed k8s.idle"
  assert_contains "$out" "kept k8s.busy: in use"
  assert_no_file "$REAPER_OVERLAY_ROOT/k8s.idle"
  assert_eq true "$(group_field k8s.busy inUse)" "the busy group"
  rt kill busy KILL; wait_stopped busy; rt delete busy
}

test_last_container_exit_collects_its_idle_group() {
  local i
  echo "REAPER_OVERLAY_IDLE=0" > "$REAPER_CONFIG"
  rt_bundle "$TEST_TMP/long" /bin/sh -c "exec sleep 60"
  edit_config "$TEST_TMP/long" "$(annotate ev)"
  rt_create long "$TEST_TMP/long"; rt_start long
  lim_run short "echo ok" "$(annotate ev)"
  assert_eq ok "$out"
  # The short container's exit left the group in use by the long one: it stays.
  assert_eq true "$(group_field k8s.ev inUse)" "the group after the first exit"
  rt kill long KILL; wait_stopped long
  # The last container's monitor collects the group as it goes (no command, no timer).
  for ((i = 0; i < 200; i++)); do [[ -e "$REAPER_OVERLAY_ROOT/k8s.ev" ]] || break; sleep 0.025; done
  assert_no_file "$REAPER_OVERLAY_ROOT/k8s.ev"
  rt delete long
}
