# shellcheck shell=bash
# `reaper doctor` and `reaper config check` (docs/troubleshooting.md): a good node (a real
# containerd with the reaper handler in its configuration, the links in place) passes
# every check with exit 0; a containerd without the handler and a misspelt key in
# reaper.conf are failures with a hint and exit 1; --json carries the same verdicts.
# test-timeout: 120
source "$(dirname "${BASH_SOURCE[0]}")/../lib/containerd.sh"

# The personalities linked in a directory of their own, first on PATH (containerd's shim
# lookup), no kubeconfig reachable: the node label is then skipped, not failed.
links_setup() {
  BIN=$TEST_TMP/bin
  mkdir -p "$BIN"
  "$REAPER" install-links "$BIN" >/dev/null || fail "install-links"
  export HOME=$TEST_TMP/home
  unset KUBECONFIG KUBERNETES_SERVICE_HOST
}

doctor() {  # doctor ARGS...: against the fixture's containerd, links in $BIN
  PATH=$BIN:$PATH "$REAPER" doctor --bin-dir "$BIN" --containerd-config "$CTRD_CONFIG" \
    --address "$CTRD_SOCK" "$@"
}

# "NAME RESULT" per check, from --json ($1) or from the human report ($1, ✔ ✘ –).
json_verdicts() {
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
for c in r["checks"]: print(c["name"] + "|" + c["result"])
print("ok|" + str(r["ok"]).lower())' "$1"
}
text_verdicts() {
  python3 -c '
import sys
marks = {"\u2714": "ok", "\u2718": "fail", "\u2013": "skipped"}
lines = sys.argv[1].splitlines()
for l in lines:
    if l[:1] in marks: print(l[2:18].rstrip() + "|" + marks[l[:1]])
print("ok|" + ("true" if lines[-1] == "reaper can work on this node." else "false"))' "$1"
}
verdict_of() { json_verdicts "$1" | awk -F'|' -v n="$2" '$1 == n { print $2 }'; }

test_doctor_on_a_good_node() {
  trap 'containerd_stop; harness_cleanup' EXIT
  containerd_start 1.6 || fail "containerd_start"
  links_setup
  capture doctor
  assert_eq 0 "$rc" "doctor's exit status (stdout: $out; stderr: $err)"
  local name
  for name in binary links overlayfs "mount API" pidfd "child subreaper" containerd \
    "reaper handler" reaper.conf "overlay root"; do
    grep -q "^✔ $name " <<<"$out" || fail "no ✔ for $name in: $out"
  done
  assert_contains "$out" "containerd $CTRD_BIN_VERSION at $CTRD_SOCK"
  assert_contains "$out" "runtime reaper-v2 (io.containerd.reaper.v2)"
  assert_contains "$out" "– node label"
  assert_contains "$out" "no kubeconfig"
  assert_not_contains "$out" "✘"
  assert_eq "reaper can work on this node." "$(tail -n 1 <<<"$out")" "last line"
  local text=$out
  capture doctor --json
  assert_eq 0 "$rc" "doctor --json exit status ($err)"
  assert_eq "$(text_verdicts "$text")" "$(json_verdicts "$out")" "verdicts of --json and of the text"
  assert_eq skipped "$(verdict_of "$out" "node label")" "node label in --json"
}

test_doctor_without_the_handler_fails_with_a_hint() {
  trap 'containerd_stop; harness_cleanup' EXIT
  containerd_start 1.6 --no-cri || fail "containerd_start"   # its config has no reaper handler
  links_setup
  capture doctor
  assert_eq 1 "$rc" "doctor's exit status (stdout: $out)"
  grep -q "^✘ reaper handler .*no runtime with runtime_type io.containerd.reaper.v2" <<<"$out" ||
    fail "no ✘ for the handler in: $out"
  assert_contains "$out" "hint: deploy/installer/install.sh install"
  grep -q "^✔ containerd " <<<"$out" || fail "containerd itself is fine: $out"
  assert_contains "$(tail -n 1 <<<"$out")" "1 check(s) failed"
  local text=$out
  capture doctor --json
  assert_eq 1 "$rc" "doctor --json exit status"
  assert_eq "$(text_verdicts "$text")" "$(json_verdicts "$out")" "verdicts of --json and of the text"
  assert_eq fail "$(verdict_of "$out" "reaper handler")"
  assert_eq false "$(verdict_of "$out" ok)"
  # The links, broken: one personality missing is a failure with the command that fixes it.
  rm "$BIN/reaper-sandbox"
  capture doctor
  grep -q "^✘ links .*missing in $BIN: reaper-sandbox" <<<"$out" || fail "no ✘ for the links in: $out"
  assert_contains "$out" "install-links $BIN"
  # No containerd at the address: a failure, not a hang.
  capture doctor --address "$TEST_TMP/none.sock"
  grep -q "^✘ containerd .*no containerd socket at $TEST_TMP/none.sock" <<<"$out" || fail "containerd: $out"
}

test_misspelt_key_is_a_warning_everywhere() {
  printf '# node settings\nREAPER_DNS_MODE=host\nREAPER_BOGUS=1\n' >"$REAPER_CONFIG"
  capture "$REAPER" config check
  assert_eq 1 "$rc" "config check of a misspelt key"
  assert_eq "" "$out" "config check stdout"
  assert_eq "$REAPER_CONFIG:3: unknown setting \"REAPER_BOGUS\" ignored" "$err" "config check stderr"
  capture "$REAPER" config check "$REAPER_CONFIG"
  assert_eq 1 "$rc" "config check FILE"
  # doctor: the same warning under a ✘ reaper.conf, whatever else the node has.
  capture "$REAPER" doctor --address "$TEST_TMP/none.sock"
  assert_eq 1 "$rc" "doctor with a misspelt key"
  grep -q "^✘ reaper.conf " <<<"$out" || fail "no ✘ for reaper.conf in: $out"
  assert_contains "$out" "    $REAPER_CONFIG:3: unknown setting \"REAPER_BOGUS\" ignored"
  assert_contains "$out" "hint: correct or remove"
  capture "$REAPER" doctor --json --address "$TEST_TMP/none.sock"
  assert_eq fail "$(verdict_of "$out" reaper.conf)"
  assert_eq "$REAPER_CONFIG:3: unknown setting \"REAPER_BOGUS\" ignored" \
    "$(python3 -c 'import json,sys; print(*[n for c in json.loads(sys.argv[1])["checks"] if c["name"] == "reaper.conf" for n in c["notes"]])' "$out")" \
    "the warning in --json"
  # Every problem is reported, not only the first: a bad value does not hide the rest.
  printf 'REAPER_DNS_MODE=sideways\nREAPER_BOGUS=1\nREAPER_OVERLAY_SIZE=huge\n' >"$TEST_TMP/bad.conf"
  capture "$REAPER" config check "$TEST_TMP/bad.conf"
  assert_eq 1 "$rc" "config check of bad values"
  assert_eq 3 "$(wc -l <<<"$err")" "one line per problem: $err"
  assert_contains "$err" "$TEST_TMP/bad.conf:1: REAPER_DNS_MODE"
  assert_contains "$err" "$TEST_TMP/bad.conf:2: unknown setting"
  assert_contains "$err" "$TEST_TMP/bad.conf:3: REAPER_OVERLAY_SIZE"
  # Only the file counts: a misspelt variable in the caller's environment is not the node's.
  printf 'REAPER_DNS_MODE=host\n' >"$REAPER_CONFIG"
  capture env REAPER_BOGUS=1 REAPER_DNS_MODE=sideways "$REAPER" config check
  assert_eq 0 "$rc" "config check of a clean file ($err)"
  assert_eq "$REAPER_CONFIG: ok" "$out"
  capture "$REAPER" config check "$TEST_TMP/missing.conf"
  assert_eq 1 "$rc" "config check of a missing FILE"
  rm "$REAPER_CONFIG"
  capture "$REAPER" config check
  assert_eq 0 "$rc" "no node config: the defaults apply"
  assert_contains "$out" "the defaults apply"
}
