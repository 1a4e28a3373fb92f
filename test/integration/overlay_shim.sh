# Host protection through the shim: the overlay checks of overlay_runtime.sh, driven by
# ctr against a private containerd (test/lib/containerd.sh). containerd inherits this
# test's REAPER_OVERLAY_ROOT and REAPER_CONFIG, and so does every shim it starts.
# test-timeout: 180
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

test_ctr_writes_stay_in_the_group_and_off_the_host() {
  shim_up
  local f=reaper-ovs-$$
  capture rrun --rm w1 sh -c "echo one > /tmp/$f; echo two > /etc/$f; echo done"
  assert_eq "done" "$out" "first run (stderr: $err)"
  assert_no_file "/tmp/$f"; assert_no_file "/etc/$f"
  capture rrun --rm w2 sh -c "cat /tmp/$f /etc/$f"
  assert_eq $'one\ntwo' "$out" "a second container of the group (stderr: $err)"
  capture rrun --rm --annotation io.kubernetes.cri.sandbox-namespace=team-x w3 sh -c "cat /etc/$f 2>/dev/null || echo absent"
  assert_eq absent "$out" "a container of another group (stderr: $err)"
}

test_ctr_workload_sees_no_overlay_root() {
  shim_up
  local R=$REAPER_OVERLAY_ROOT
  capture rrun --rm --annotation io.kubernetes.cri.sandbox-namespace=team-y h1 sh -c "echo y > /etc/of-y; echo ok"
  assert_eq ok "$out" "a container of team-y (stderr: $err)"
  capture rrun --rm h2 sh -c "ls -A $R | wc -l; cat $R/k8s.team-y/layers/0/upper/etc/of-y 2>/dev/null || echo unreadable; touch $R/x 2>/dev/null || echo read-only"
  assert_eq $'0\nunreadable\nread-only' "$out" "the overlay root from another group (stderr: $err)"
  capture rrun --rm --annotation io.kubernetes.cri.sandbox-namespace=team-y h3 sh -c "ls -A $R | wc -l"
  assert_eq 0 "$out" "the overlay root from its own group (stderr: $err)"
  assert_no_file "$R/x"
}

test_ctr_group_limit_gives_enospc() {
  shim_up
  local f=reaper-ovs-big-$$
  echo "REAPER_OVERLAY_SIZE=8m" > "$REAPER_CONFIG"
  capture rrun --rm --annotation io.kubernetes.cri.sandbox-namespace=full e1 sh -c "dd if=/dev/zero of=/tmp/$f bs=1M count=20 2>&1"
  assert_contains "$out" "No space left on device" "a container filling its group (stderr: $err)"
  assert_no_file "/tmp/$f"
  capture rrun --rm e2 sh -c "dd if=/dev/zero of=/tmp/$f bs=1M count=6 2>/dev/null && echo wrote"
  assert_eq wrote "$out" "a container of another group (stderr: $err)"
  assert_no_file "/tmp/$f"
}

test_ctr_masks_and_useradd() {
  shim_up
  local before user=rovs$$
  before=$(sha256sum /etc/shadow)
  capture rrun --rm m1 sh -c "cut -d: -f2 /etc/shadow | sort -u; useradd -M $user && grep -c '^$user:' /etc/shadow"
  assert_eq $'!\n1' "$out" "hash-free shadow, then useradd (stderr: $err)"
  assert_eq "$before" "$(sha256sum /etc/shadow)" "the host's /etc/shadow"
}

test_ctr_volumes_private_read_only_and_seen_by_exec() {
  shim_up
  mkdir -p "$TEST_TMP/va" "$TEST_TMP/vb"; echo A > "$TEST_TMP/va/f"; echo B > "$TEST_TMP/vb/f"
  capture rrun -d --mount "type=bind,src=$TEST_TMP/va,dst=/data,options=rbind:ro" va sleep 60
  assert_eq 0 "$rc" "run va (stderr: $err)"
  capture rrun -d --mount "type=bind,src=$TEST_TMP/vb,dst=/data,options=rbind" vb sleep 60
  assert_eq 0 "$rc" "run vb (stderr: $err)"
  wait_task_status va RUNNING && wait_task_status vb RUNNING || fail "tasks not running"
  capture cctr task exec --exec-id e1 va cat /data/f
  assert_eq A "$out" "exec in va (stderr: $err)"
  capture cctr task exec --exec-id e2 vb cat /data/f
  assert_eq B "$out" "exec in vb (stderr: $err)"
  capture cctr task exec --exec-id e3 va sh -c 'echo x > /data/new 2>/dev/null && echo wrote || echo refused'
  assert_eq refused "$out" "write to a read-only volume"
  assert_no_file "$TEST_TMP/va/new"
  cctr task kill -s KILL va; cctr task kill -s KILL vb
  wait_task_status va STOPPED; wait_task_status vb STOPPED
  cctr task delete va >/dev/null; cctr task delete vb >/dev/null
  cctr containers delete va vb >/dev/null
}

test_ctr_dns_kubernetes_mode_from_annotation() {
  shim_up
  echo "nameserver 192.0.2.54" > "$TEST_TMP/resolv.conf"
  capture rrun --rm --annotation reaper.runtime/dns-mode=kubernetes \
    --mount "type=bind,src=$TEST_TMP/resolv.conf,dst=/etc/resolv.conf,options=rbind:ro" d1 cat /etc/resolv.conf
  assert_eq "nameserver 192.0.2.54" "$out" "the pod's resolver (stderr: $err)"
  capture rrun --rm d2 cat /etc/resolv.conf
  assert_eq "$(cat /etc/resolv.conf)" "$out" "host mode for the next container"
}

test_ctr_overlay_failure_refuses_the_task() {
  shim_up
  # The shims read the node configuration at each create: a broken file refuses the
  # workload (and names the line); an overlay that cannot be made, likewise.
  echo "not a setting" > "$REAPER_CONFIG"
  capture rrun --rm f1 sh -c "echo ran > $TEST_TMP/ran"
  rm -f "$REAPER_CONFIG"
  assert_ne 0 "$rc" "ctr run with a broken node configuration"
  assert_contains "$err" "reaper.conf:1" "ctr's error"
  assert_no_file "$TEST_TMP/ran"
  # A group whose directory cannot be made (a file is in the way).
  mkdir -p "$REAPER_OVERLAY_ROOT" && touch "$REAPER_OVERLAY_ROOT/node.x"
  capture rrun --rm --annotation reaper.runtime/overlay-name=x f3 sh -c "echo ran > $TEST_TMP/ran"
  assert_ne 0 "$rc" "ctr run when the group directory is a file"
  assert_contains "$err" "node.x" "ctr's error"
  assert_no_file "$TEST_TMP/ran"
  capture rrun --rm f2 echo fine
  assert_eq fine "$out" "the next container, with the overlay fixed (stderr: $err)"
}

test_ctr_killed_helper_is_replaced() {
  shim_up
  capture rrun --rm k1 sh -c "echo kept > /etc/reaper-ovs-k-$$; echo ok"
  assert_eq ok "$out" "first run (stderr: $err)"
  local g=$REAPER_OVERLAY_ROOT/node
  # Where the kernel refuses to bind the namespace file (as inside containerd's private
  # namespace on some kernels), a helper process holds the namespace: kill it.
  if [[ -f $g/helper ]]; then
    kill -KILL "$(cut -d' ' -f1 "$g/helper")" || fail "kill the helper"
  else
    nsenter -t "$CTRD_PID" -m umount "$g/mnt" || fail "unmount the namespace file in containerd's namespace"
  fi
  capture rrun --rm k2 cat /etc/reaper-ovs-k-$$
  assert_eq kept "$out" "a run after the helper died (stderr: $err)"
  assert_eq 2 "$(grep -c '^built' "$g/build.log")" "namespaces built"
}

# A CRI pod sandbox (known by its annotation only): no /pause is needed on the host; its
# task is a real process that lives until it is stopped, then reports stopped and status 0.
test_ctr_pod_sandbox_by_annotation() {
  shim_up
  capture rrun -d --annotation io.kubernetes.cri.container-type=sandbox sb1 /pause
  assert_eq 0 "$rc" "sandbox run (stderr: $err)"
  wait_task_status sb1 RUNNING || fail "sandbox not RUNNING"
  local pid; pid=$(task_pid sb1)
  pid_alive "$pid" || fail "the sandbox pid $pid is not a live process"
  assert_eq "reaper-sandbox" "$(tr '\0' ' ' < "/proc/$pid/cmdline" | awk '{print $2}')" "sandbox process"
  # No monitor of its own (docs/shim.md, "The pod sandbox"): the shim's child, its record
  # kept by the shim, seen by the operator's CLI as any container.
  local shim; shim=$(socket_owner "$(shim_addr sb1)") || fail "no shim for sb1"
  assert_eq "$shim" "$(awk '{print $4}' "/proc/$pid/stat")" "the sandbox's parent"
  assert_eq "running $pid" "$("$REAPER" state --root "$REAPER_ROOT/$CTRD_NS" --json sb1 | "$PY" -c 'import json,sys; s=json.load(sys.stdin); print(s["status"], s["pid"])')" \
    "reaper state of the sandbox"
  assert_eq "$pid" "$("$REAPER" ps --root "$REAPER_ROOT/$CTRD_NS" --json sb1 | "$PY" -c 'import json,sys; print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)))')" \
    "reaper ps of the sandbox"
  capture cctr task kill -s TERM sb1
  wait_task_status sb1 STOPPED || fail "sandbox did not stop after TERM"
  assert_eq 0 "$("$REAPER" state --root "$REAPER_ROOT/$CTRD_NS" --json sb1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["exitStatus"])')" \
    "exit status of the sandbox after TERM"
  capture cctr task delete sb1
  assert_eq 0 "$rc" "task delete (stderr: $err)"
  pid_alive "$pid" && fail "sandbox process still alive"
  cctr containers delete sb1 >/dev/null
  # The command's name means nothing: a workload that is not a sandbox runs /pause itself.
  capture rrun --rm notsb /pause
  assert_ne 0 "$rc" "a non-sandbox /pause (absent on the host)"
}

# The group outlives its containers: later containers join the same namespace (whether
# a bind or a helper holds it), nothing rebuilds it.
test_ctr_group_outlives_its_containers() {
  shim_up
  local i
  for i in 1 2 3; do
    capture rrun --rm o$i sh -c "echo $i >> /etc/reaper-ovs-o-$$; cat /etc/reaper-ovs-o-$$ | wc -l"
    assert_eq "$i" "$out" "run $i sees the group's earlier writes (stderr: $err)"
  done
  assert_eq 1 "$(grep -c '^built' "$REAPER_OVERLAY_ROOT/node/build.log")" "namespaces built"
}
