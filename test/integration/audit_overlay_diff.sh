# `reaper overlay diff`: what a group's workloads changed relative to the host, read from
# the group's upper layers after ctr containers ran through a private containerd.
# test-timeout: 120
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

# containerd runs in a mount namespace of its own: the groups' layers are mounted there.
rdiff() { nsenter -t "$CTRD_PID" -m -- "$REAPER" overlay diff "$@"; }

diff_setup() {
  shim_up
  D=/var/tmp/reaper-diff-$$
  trap 'rm -rf "$D"; containerd_stop; harness_cleanup' EXIT
  mkdir -p "$D/gone-dir"
  echo host > "$D/changed"; echo host > "$D/deleted"; echo host > "$D/same"; echo host > "$D/mode"
  echo host > "$D/gone-dir/a"; chmod 644 "$D/mode"
  G=k8s.diff-$$
  capture rrun --rm --annotation io.kubernetes.cri.sandbox-namespace="diff-$$" d1 sh -c "
    echo new > $D/added; echo more >> $D/changed; rm $D/deleted; chmod 600 $D/mode
    cat $D/same >/dev/null; touch $D/same; rm -r $D/gone-dir; echo done"
  assert_eq "done" "$out" "the container's changes (stderr: $err)"
  assert_eq host "$(cat "$D/changed")" "the host's file after the run"
}

test_overlay_diff_added_changed_deleted_masked() {
  diff_setup
  capture rdiff "$G"
  assert_eq 0 "$rc" "overlay diff (stderr: $err)"
  local want
  want=$(printf '%s\n' "A $D/added" "C $D/changed (content)" "C $D/mode (mode)" "D $D/deleted" "D $D/gone-dir/")
  assert_eq "$want" "$(grep -F "$D/" <<<"$out" | sort)" "the group's changes under $D"
  assert_contains "$out" "M /etc/shadow" "the masked /etc/shadow"
  assert_not_contains "$out" "C /etc/shadow" "masked, not changed"
  assert_not_contains "$out" "$D/same" "a file touched but not changed"
}

test_overlay_diff_json_and_prefix() {
  diff_setup
  capture rdiff "$G" "$D/" --json
  assert_eq 0 "$rc" "overlay diff --json (stderr: $err)"
  local got
  got=$(python3 -c '
import json, sys
for e in sorted(json.loads(sys.argv[1]), key=lambda e: e["path"]):
    print(e["kind"], e["path"], e["type"], ",".join(e.get("changes", [])), e["layer"])' "$out")
  local want
  want=$(printf '%s\n' "added $D/added file  0" "changed $D/changed file content 0" "deleted $D/deleted file  0" \
    "deleted $D/gone-dir dir  0" "changed $D/mode file mode 0")
  assert_eq "$want" "$got" "the JSON entries below $D"
  capture rdiff "$G" "$D/added"
  assert_eq "A $D/added" "$out" "a prefix naming one file"
  capture rdiff "$G" relative
  assert_ne 0 "$rc" "a relative prefix is refused"
  capture rdiff ../etc
  assert_ne 0 "$rc" "a bad group key is refused"
  assert_contains "$err" "is not an overlay group" "a bad group key's message"
}
