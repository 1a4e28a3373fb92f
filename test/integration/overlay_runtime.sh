# Host protection through reaper-runtime: the overlay groups, masking, per-container
# volume mounts, DNS, node configuration and pod annotations (docs/overlay.md).
# Every test has its own overlay root ($REAPER_OVERLAY_ROOT) and node config file
# ($REAPER_CONFIG, absent unless the test writes it); the harness removes its groups.
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# ov_bundle DIR SCRIPT [PY-EDIT]: a bundle running `sh -c SCRIPT`, then edited by PY-EDIT.
ov_bundle() {
  rt_bundle "$1" /bin/sh -c "$2"
  [[ -z "${3:-}" ]] || edit_config "$1" "$3"
}
# ov_run ID SCRIPT [PY-EDIT]: runs it to the end; its stdout in $out, stderr in $err.
ov_run() {
  ov_bundle "$TEST_TMP/$1" "$2" "${3:-}"
  run_bundle "$1" "$TEST_TMP/$1"
  out=$(workload_out "$1") err=$(workload_err "$1")
}
# In namespace NS (as the CRI annotates a pod's containers).
in_ns() { echo 'c["annotations"] = {"io.kubernetes.cri.sandbox-namespace": "'"$1"'"'"${2:-}"'}'; }
group_of() { "$REAPER" state --root "$RT_ROOT" --json "$1" | json_field overlayGroup; }
builds() { grep -c '^built' "$REAPER_OVERLAY_ROOT/$1/build.log"; }

test_writes_stay_in_the_group_and_off_the_host() {
  local f=reaper-ovl-$$
  ov_run w1 "echo one > /tmp/$f; echo two > /etc/$f; echo done"
  assert_eq "done" "$out"
  assert_no_file "/tmp/$f"; assert_no_file "/etc/$f"
  ov_run w2 "cat /tmp/$f /etc/$f"
  assert_eq $'one\ntwo' "$out" "second workload of the group"
  ov_run w3 "cat /tmp/$f 2>&1 || echo absent" "$(in_ns other)"
  assert_eq absent "${out##*$'\n'}" "a workload of another group"
  # Reads see the host, including files the host writes later.
  echo host-now > "/tmp/$f.host"
  ov_run w4 "cat /tmp/$f.host; head -c 4 /etc/os-release"
  rm -f "/tmp/$f.host"
  assert_eq $'host-now\nPRET' "$out"
}

test_separate_host_filesystem_is_layered_too() {
  local mnt=/mnt/reaper-ovl-$$
  mkdir -p "$mnt" && mount -t tmpfs tmpfs "$mnt" || fail "mount test tmpfs"
  echo on-host > "$mnt/file"
  ov_run s1 "cat $mnt/file; echo changed > $mnt/file; echo new > $mnt/new; cat $mnt/file"
  local host_file; host_file=$(cat "$mnt/file"); local host_new; host_new=$([[ -e $mnt/new ]] && echo yes || echo no)
  ov_run s2 "cat $mnt/new"
  local second=$out
  umount "$mnt"; rmdir "$mnt"
  assert_eq $'on-host\nchanged' "$(workload_out s1)" "read host content, then the group's"
  assert_eq on-host "$host_file" "the host's file is unchanged"
  assert_eq no "$host_new" "no new file on the host filesystem"
  assert_eq new "$second" "the group sees its own write"
  grep -q "^  layer [0-9]*: $mnt (tmpfs" "$REAPER_OVERLAY_ROOT/node/build.log" ||
    fail "no layer for $mnt in build.log: $(cat "$REAPER_OVERLAY_ROOT/node/build.log")"
}

test_sensitive_files_are_masked() {
  [[ -f /etc/shadow ]] || fail "test needs /etc/shadow"
  local secret=$TEST_TMP/secret-key secretdir=/etc/reaper-ovl-secret-$$
  echo 'PRIVATE KEY' > "$secret"; mkdir -p "$secretdir"; echo x > "$secretdir/inner"
  echo "REAPER_MASK_PATHS=/etc/reaper-ovl-secret-$$:/run/reaper-tests/$(basename "$TEST_TMP")/secret-key" > "$REAPER_CONFIG"
  ov_run m1 "cut -d: -f2 /etc/shadow | sort -u; wc -c < $secret; ls -A $secretdir | wc -l"
  rm -rf "$secretdir"
  assert_eq $'!\n0\n0' "$out" "shadow hashes, a masked file, a masked directory"
  assert_eq 'PRIVATE KEY' "$(cat "$secret")" "the host's file (under /run) is untouched"
}

test_useradd_works_inside_and_host_shadow_is_unchanged() {
  command -v useradd >/dev/null || fail "needs useradd"
  local before user=rovl$$
  before=$(sha256sum /etc/shadow /etc/passwd)
  ov_run u1 "useradd -M $user && grep -c '^$user:' /etc/shadow /etc/passwd"
  assert_eq $'/etc/shadow:1\n/etc/passwd:1' "$out" "useradd inside (stderr: $err)"
  assert_eq "$before" "$(sha256sum /etc/shadow /etc/passwd)" "host files"
  ov_run u2 "grep -c '^$user:' /etc/shadow || true" "$(in_ns other)"
  assert_eq 0 "$out" "another group's shadow"
}

test_twenty_concurrent_first_starts_make_one_namespace() {
  local i pids=()
  for i in $(seq 1 20); do ov_bundle "$TEST_TMP/c$i" "echo $i > /tmp/reaper-ovl-c$i-$$"; done
  for i in $(seq 1 20); do
    rt run --bundle "$TEST_TMP/c$i" "c$i" </dev/null >/dev/null 2>"$TEST_TMP/c$i.err" & pids+=($!)
  done
  local rc=0; for i in "${pids[@]}"; do wait "$i" || rc=1; done
  assert_eq 0 "$rc" "all 20 runs: $(cat "$TEST_TMP"/c*.err)"
  assert_eq 1 "$(builds node)" "namespaces built"
  ov_run all "cat /tmp/reaper-ovl-c*-$$ | wc -l"
  assert_eq 20 "$out" "every write in the one group"
}

# root_mounts: how many mounts are stacked on the overlay root.
root_mounts() { awk -v r="$REAPER_OVERLAY_ROOT" '$5 == r' /proc/self/mountinfo | wc -l; }

test_concurrent_first_starts_bind_the_root_once() {
  command -v strace >/dev/null || fail "strace is not installed (deploy/build.sh installs it)"
  # strace holds each process's first mount() for a second: both starts read the mount
  # table before either has bound the root onto itself, the window a bind lost to.
  local i pids=()
  for i in 1 2; do
    ov_bundle "$TEST_TMP/r$i" "echo r$i"
    strace -f -qq -o /dev/null -e trace=mount -e inject=mount:delay_enter=1000000:when=1 \
      "$REAPER" reaper-runtime --root "$RT_ROOT" run --bundle "$TEST_TMP/r$i" "r$i" \
      </dev/null >"$TEST_TMP/r$i.out" 2>&1 & pids+=($!)
  done
  local rc=0; for i in "${pids[@]}"; do wait "$i" || rc=1; done
  assert_eq 0 "$rc" "both runs: $(cat "$TEST_TMP"/r*.out)"
  assert_eq 1 "$(root_mounts)" "mounts on the overlay root"
  assert_eq 1 "$(builds node)" "namespaces built"
  for i in 1 2; do rt delete "r$i" >/dev/null 2>&1; done
  "$REAPER" overlay rm node >/dev/null || fail "overlay rm node"
  assert_eq 0 "$(root_mounts)" "mounts on the overlay root once its last group is gone"
}

test_stale_namespace_is_recreated() {
  ov_run a "echo kept > /etc/reaper-ovl-stale-$$; echo ok"
  assert_eq ok "$out"
  # A reboot (or a crash) leaves the file but not the namespace bind.
  umount "$REAPER_OVERLAY_ROOT/node/mnt" || fail "unmount the namespace file"
  ov_run b "cat /etc/reaper-ovl-stale-$$"
  assert_eq kept "$out" "the upper layer survives a re-creation"
  assert_eq 2 "$(builds node)" "namespaces built"
}

test_dead_helper_leaves_nothing_that_blocks() {
  # What a helper killed mid-way leaves: the lock, an empty namespace file, layers.
  mkdir -p "$REAPER_OVERLAY_ROOT/node/layers/0/work/work" &&
    touch "$REAPER_OVERLAY_ROOT/node/lock" "$REAPER_OVERLAY_ROOT/node/mnt"
  ov_run a "echo ok"
  assert_eq ok "$out"
  # A helper that cannot finish is an error for the workload, never a hang.
  ov_bundle "$TEST_TMP/b" "echo never > $TEST_TMP/ran"
  REAPER_OVERLAY_ROOT=/proc/self capture rt create --bundle "$TEST_TMP/b" b
  assert_refused "overlay root in /proc"
  assert_no_file "$TEST_TMP/ran"
}

test_overlay_failure_refuses_the_workload() {
  touch "$TEST_TMP/not-a-dir"
  ov_bundle "$TEST_TMP/f" "echo ran > $TEST_TMP/ran"
  REAPER_OVERLAY_ROOT="$TEST_TMP/not-a-dir/overlay" capture rt create --bundle "$TEST_TMP/f" f
  assert_refused "overlay root under a file"
  assert_contains "$err" "overlay"
  assert_no_file "$TEST_TMP/ran"
  capture rt state f
  [[ $rc -ne 0 ]] || fail "a refused container must not exist: $out"
}

vol() {  # vol SRC DEST [OPTIONS-JSON]
  echo '{"destination": "'"$2"'", "type": "bind", "source": "'"$1"'", "options": '"${3:-[\"rbind\"]}"'}'
}
with_mounts() { echo 'c["mounts"] = ['"$1"']'; }

test_volume_mounts_are_private_to_each_container() {
  mkdir -p "$TEST_TMP/va" "$TEST_TMP/vb"; echo A > "$TEST_TMP/va/f"; echo B > "$TEST_TMP/vb/f"
  ov_bundle "$TEST_TMP/pa" "cat /data/f; sleep 30" "$(with_mounts "$(vol "$TEST_TMP/va" /data)")"
  ov_bundle "$TEST_TMP/pb" "cat /data/f; sleep 30" "$(with_mounts "$(vol "$TEST_TMP/vb" /data)")"
  rt_create pa "$TEST_TMP/pa"; rt_create pb "$TEST_TMP/pb"
  rt_start pa; rt_start pb
  wait_file "$(io_file pa out)"; sleep 0.2
  local i; for i in $(seq 50); do [[ -s $(io_file pa out) && -s $(io_file pb out) ]] && break; sleep 0.05; done
  assert_eq A "$(workload_out pa)"; assert_eq B "$(workload_out pb)"
  # exec joins its container's namespace and sees the same volume.
  assert_eq A "$(rt exec pa /bin/cat /data/f)" "exec in pa"
  assert_eq B "$(rt exec pb /bin/cat /data/f)" "exec in pb"
  ov_run pc "cat /data/f 2>/dev/null || echo none"
  assert_eq none "$out" "a container without the volume"
  rt kill pa KILL; rt kill pb KILL
}

test_read_only_volume_refuses_writes() {
  mkdir -p "$TEST_TMP/ro"
  ov_run r "echo x > /vol/f 2>/dev/null && echo wrote || echo refused" \
    "$(with_mounts "$(vol "$TEST_TMP/ro" /vol '["rbind","ro"]')")"
  assert_eq refused "$out"
  assert_no_file "$TEST_TMP/ro/f"
}

test_volume_only_in_host_namespace_is_visible() {
  ov_run first "echo group exists"
  # Mounted after the group's namespace was made: only the host namespace has it, as
  # kubelet's tmpfs secret volumes.
  mkdir -p "$TEST_TMP/secret" && mount -t tmpfs tmpfs "$TEST_TMP/secret" || fail "mount tmpfs"
  echo token > "$TEST_TMP/secret/token"
  ov_run s "cat /var/run/secrets/test/token" \
    "$(with_mounts "$(vol "$TEST_TMP/secret" /var/run/secrets/test '["rbind","ro"]')")"
  umount "$TEST_TMP/secret"
  assert_eq token "$out" "stderr: $err"
}

test_bad_mount_entries_are_refused() {
  local cases=(
    "$(vol '' /x)|empty"
    "$(vol "$TEST_TMP/missing" /x)|missing"
    "$(vol "$TEST_TMP" relative/x)|absolute"
    "$(vol "$TEST_TMP" /a/../x)|'..'"
    "$(vol relative /x)|absolute"
  )
  local c i=0
  for c in "${cases[@]}"; do
    i=$((i + 1))
    ov_bundle "$TEST_TMP/bad$i" "echo ran > $TEST_TMP/ran$i" "$(with_mounts "${c%|*}")"
    capture rt create --bundle "$TEST_TMP/bad$i" "bad$i"
    assert_refused "mount case $i"
    assert_contains "$err" "${c##*|}" "mount case $i"
    assert_no_file "$TEST_TMP/ran$i"
  done
  # A destination that leads through a symlink into the host's /dev.
  ov_run mk "ln -s /dev /tmp/reaper-ovl-devlink-$$ && echo ok"
  ov_bundle "$TEST_TMP/sl" "echo ran > $TEST_TMP/ran-sl" \
    "$(with_mounts "$(vol "$TEST_TMP" /tmp/reaper-ovl-devlink-$$/x)")"
  capture rt create --bundle "$TEST_TMP/sl" sl
  assert_refused "destination through a symlink"
  assert_contains "$err" "host's /dev"
  assert_no_file "$TEST_TMP/ran-sl"; assert_no_file /dev/x
}

test_dns_host_and_kubernetes_modes() {
  echo "nameserver 192.0.2.53" > "$TEST_TMP/pod-resolv.conf"
  local m; m=$(vol "$TEST_TMP/pod-resolv.conf" /etc/resolv.conf '["rbind","ro"]')
  ov_run h "cat /etc/resolv.conf" "$(with_mounts "$m")"
  assert_eq "$(cat /etc/resolv.conf)" "$out" "host mode: the host's resolver"
  ov_run k "cat /etc/resolv.conf" "$(with_mounts "$m"); c['annotations'] = {'reaper.runtime/dns-mode': 'kubernetes'}"
  assert_eq "nameserver 192.0.2.53" "$out" "kubernetes mode: the pod's own"
  ov_run h2 "cat /etc/resolv.conf"
  assert_eq "$(cat /etc/resolv.conf)" "$out" "the next pod of the group still sees the host's"
  echo "REAPER_DNS_MODE=kubernetes" > "$REAPER_CONFIG"
  ov_run k2 "cat /etc/resolv.conf" "$(with_mounts "$m")"
  assert_eq "nameserver 192.0.2.53" "$out" "kubernetes mode from the node config"
  ov_bundle "$TEST_TMP/k3" "true"
  capture rt create --bundle "$TEST_TMP/k3" k3
  assert_refused "kubernetes mode without the pod's resolv.conf"
  assert_contains "$err" "resolv.conf"
}

test_resolv_conf_symlink_is_never_written_through() {
  # A group made on a host whose resolv.conf is a symlink into /run (systemd-resolved).
  local target; target=/run/reaper-tests/$(basename "$TEST_TMP")/stub-resolv.conf
  echo "nameserver 127.0.0.53" > "$target"
  cp -a /etc/resolv.conf "$TEST_TMP/resolv.saved"
  # The overlay sees the host's /etc: make the link there for the duration of the build.
  mv /etc/resolv.conf "$TEST_TMP/resolv.orig" && ln -s "$target" /etc/resolv.conf
  ov_run a "cat /etc/resolv.conf; echo 'nameserver 198.51.100.1' > /etc/resolv.conf; cat /etc/resolv.conf"
  rm -f /etc/resolv.conf; mv "$TEST_TMP/resolv.orig" /etc/resolv.conf
  assert_eq $'nameserver 127.0.0.53\nnameserver 198.51.100.1' "$out"
  assert_eq "nameserver 127.0.0.53" "$(cat "$target")" "the host's resolver file"
}

test_config_file_rules() {
  ov_bundle "$TEST_TMP/c" "echo ok"
  printf '# comment\nREAPER_DNS_MODE\n' > "$REAPER_CONFIG"
  capture rt create --bundle "$TEST_TMP/c" c1
  assert_refused "line without ="; assert_contains "$err" "reaper.conf:2"
  echo "PATH=/tmp" > "$REAPER_CONFIG"
  capture rt create --bundle "$TEST_TMP/c" c2
  assert_refused "non-REAPER key"; assert_contains "$err" "REAPER_"
  echo "REAPER_DNS_MODE=sideways" > "$REAPER_CONFIG"
  capture rt create --bundle "$TEST_TMP/c" c3
  assert_refused "bad value"; assert_contains "$err" "host or kubernetes"
  printf 'REAPER_FUTURE_SETTING=1\nREAPER_DNS_MODE=kubernetes\n' > "$REAPER_CONFIG"
  # The environment wins over the file; the unknown key is only a warning.
  REAPER_DNS_MODE=host rt run --bundle "$TEST_TMP/c" c4 </dev/null >"$TEST_TMP/c4.out" 2>"$TEST_TMP/c4.err" ||
    fail "env over file: $(cat "$TEST_TMP/c4.err")"
  assert_eq ok "$(cat "$TEST_TMP/c4.out")"
  assert_contains "$(cat "$TEST_TMP/c4.err")" "REAPER_FUTURE_SETTING"
  local g; for g in c1 c2 c3; do capture rt state $g; [[ $rc -ne 0 ]] || fail "$g exists"; done
}

test_annotation_rules() {
  ov_run a "echo ok" 'c["annotations"] = {"reaper.runtime/overlay-name": "tools"}'
  assert_eq node.tools "$(group_of a)"
  ov_run b "echo ok" "$(in_ns team-a ', "reaper.runtime/overlay-name": "tools"')"
  assert_eq k8s.team-a.tools "$(group_of b)"
  # Invalid values fall back to the node setting, with a log line; admin keys are ignored.
  ov_run c "echo ok" 'c["annotations"] = {"reaper.runtime/overlay-name": "Bad_Name", "reaper.runtime/overlay-root": "/tmp/x"}'
  assert_eq node "$(group_of c)"
  assert_contains "$err" "annotation reaper.runtime/overlay-name ignored" "log line"
  assert_contains "$err" "annotation reaper.runtime/overlay-root ignored" "log line"
  assert_no_file /tmp/x
  # The node switch turns annotations off.
  echo "REAPER_ANNOTATIONS=false" > "$REAPER_CONFIG"
  ov_run d "echo ok" 'c["annotations"] = {"reaper.runtime/overlay-name": "tools"}'
  assert_eq node "$(group_of d)"
  # Node-wide groups: the namespace no longer splits them.
  echo "REAPER_OVERLAY_GROUPS=node" > "$REAPER_CONFIG"
  ov_run e "echo ok" "$(in_ns team-b)"
  assert_eq node "$(group_of e)"
}

test_overlay_list_and_rm() {
  ov_bundle "$TEST_TMP/l" "sleep 30"
  rt_create l "$TEST_TMP/l"; rt_start l
  capture "$REAPER" overlay list
  assert_contains "$out" "node"; assert_contains "$out" "in use"
  capture "$REAPER" overlay rm node
  [[ $rc -ne 0 ]] || fail "rm of a group in use succeeded"
  assert_contains "$err" "in use"
  rt kill l KILL; wait_stopped l; rt delete l
  capture "$REAPER" overlay rm node
  assert_eq 0 "$rc" "rm after the container is gone: $err"
  assert_no_file "$REAPER_OVERLAY_ROOT/node"
  capture "$REAPER" overlay rm ../etc
  [[ $rc -ne 0 ]] || fail "rm of an invalid name succeeded"
  assert_contains "$err" "not an overlay group"
  grep -q " $REAPER_OVERLAY_ROOT/node/mnt " /proc/self/mountinfo && fail "a namespace file is still mounted"
  return 0
}
