# shellcheck shell=bash
# Help and usage errors of every personality and every verb (docs/cli.md, "Exit codes"):
# help is usage on stdout and exit 0; a usage error is a one-line reason and a hint on
# stderr, exit 2, nothing on stdout; no input makes a personality hang.
# shellcheck source=../lib/harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"

# run_bounded ARGS...: capture with a timeout, so a hang fails instead of stalling.
run_bounded() { capture timeout 10 "$@" </dev/null; }

expect_help() {  # expect_help WHAT ARGS...
  local what=$1; shift
  run_bounded "$@"
  assert_eq 0 "$rc" "$what: exit status (stderr: $err)"
  assert_contains "$out" "usage: " "$what: stdout"
  assert_eq "" "$err" "$what: stderr"
}

expect_usage_error() {  # expect_usage_error WHAT PREFIX ARGS...
  local what=$1 prefix=$2; shift 2
  run_bounded "$@"
  assert_eq 2 "$rc" "$what: exit status (stdout: $out, stderr: $err)"
  assert_eq "" "$out" "$what: stdout"
  [[ $err == "$prefix: "* ]] || fail "$what: stderr does not start with '$prefix: ': $err"
  assert_contains "$err" "help" "$what: hint"
}

reaper_verbs() { "$REAPER" help | awk '/^  [a-z-]+  /{print $1}'; }

test_reaper_help_lists_every_verb() {
  local verbs
  verbs=$(reaper_verbs)
  for v in list state ps wait doctor config overlay audit install-links completion version help; do
    grep -qx "$v" <<<"$verbs" || fail "reaper help does not list $v: $verbs"
  done
  for form in --help -h help; do expect_help "reaper $form" "$REAPER" "$form"; done
}

test_reaper_every_verb_has_help() {
  local v
  for v in $(reaper_verbs); do
    expect_help "reaper $v --help" "$REAPER" "$v" --help
    assert_contains "$out" "reaper [--root DIR] $v" "reaper $v --help"
    expect_help "reaper $v -h" "$REAPER" "$v" -h
    expect_help "reaper help $v" "$REAPER" help "$v"
    expect_help "reaper --root /nowhere $v --help" "$REAPER" --root /nowhere "$v" --help
  done
}

test_reaper_usage_errors_exit_2() {
  expect_usage_error "no verb" reaper "$REAPER" --root /nowhere
  expect_usage_error "unknown verb" reaper "$REAPER" bogus
  expect_usage_error "unknown flag" reaper "$REAPER" list --bogus
  expect_usage_error "missing id" reaper "$REAPER" state
  expect_usage_error "extra argument" reaper "$REAPER" state a b
  expect_usage_error "extra argument to list" reaper "$REAPER" list extra
  expect_usage_error "extra argument to wait" reaper "$REAPER" wait a b
  expect_usage_error "--root without value" reaper "$REAPER" list --root
  expect_usage_error "help of an unknown verb" reaper "$REAPER" help bogus
  expect_usage_error "overlay without verb" reaper "$REAPER" overlay
  expect_usage_error "unknown overlay verb" reaper "$REAPER" overlay bogus
  expect_usage_error "completion of another shell" reaper "$REAPER" completion fish
  expect_usage_error "ps without id" reaper "$REAPER" ps
  expect_usage_error "-n without value" reaper "$REAPER" list -n
  expect_usage_error "a namespace that is a path" reaper "$REAPER" state -n a/b x
  expect_usage_error "doctor with an argument" reaper "$REAPER" doctor extra
  expect_usage_error "config without verb" reaper "$REAPER" config
  expect_usage_error "unknown config verb" reaper "$REAPER" config bogus
  expect_usage_error "config check with two files" reaper "$REAPER" config check a b
}

test_reaper_global_flags_before_or_after_the_verb() {
  local root=$TEST_TMP/root
  mkdir -p "$root"
  run_bounded "$REAPER" --root "$root" state nothere
  assert_eq 1 "$rc" "state of an unknown id, --root first ($err)"
  assert_contains "$err" '"nothere"'
  run_bounded "$REAPER" state nothere --root "$root"
  assert_eq 1 "$rc" "state of an unknown id, --root last ($err)"
  run_bounded "$REAPER" list --root="$root"
  assert_eq 0 "$rc" "list --root= ($err)"
}

# A workload that exits 1 and a wait that could not wait must not look alike.
test_reaper_wait_unknown_id_is_not_a_workload_exit() {
  mkdir -p "$TEST_TMP/root"
  run_bounded "$REAPER" --root "$TEST_TMP/root" wait nothere
  assert_eq 125 "$rc" "wait on an unknown id ($err)"
  [[ $err == "reaper: "* ]] || fail "wait: stderr prefix: $err"
}

test_runtime_help_for_every_verb() {
  local verbs v
  expect_help "reaper-runtime --help" "$REAPER" reaper-runtime --help
  expect_help "reaper-runtime -h" "$REAPER" reaper-runtime -h
  expect_help "reaper-runtime help" "$REAPER" reaper-runtime help
  verbs=$("$REAPER" reaper-runtime help | awk 'NR > 1 {print $1}' | grep -vx help)
  [[ $(wc -w <<<"$verbs") -ge 13 ]] || fail "too few runtime verbs in help: $verbs"
  for v in $verbs; do
    expect_help "reaper-runtime $v --help" "$REAPER" reaper-runtime "$v" --help
    assert_contains "$out" " $v" "reaper-runtime $v --help"
    expect_help "reaper-runtime $v -h" "$REAPER" reaper-runtime "$v" -h
    expect_help "reaper-runtime help $v" "$REAPER" reaper-runtime help "$v"
    expect_help "reaper-runtime --root R $v --help" "$REAPER" reaper-runtime --root "$TEST_TMP" "$v" --help
  done
}

test_runtime_usage_errors_exit_2() {
  expect_usage_error "no verb" reaper-runtime "$REAPER" reaper-runtime
  expect_usage_error "unknown verb" reaper-runtime "$REAPER" reaper-runtime bogus
  expect_usage_error "unknown global flag" reaper-runtime "$REAPER" reaper-runtime --bogus state x
  expect_usage_error "bad log format" reaper-runtime "$REAPER" reaper-runtime --log-format xml list
  expect_usage_error "help of an unknown verb" reaper-runtime "$REAPER" reaper-runtime help bogus
}

# exec's command keeps its own -h: only flags before the first argument ask for help.
test_runtime_exec_command_keeps_its_help_flag() {
  run_bounded "$REAPER" reaper-runtime --root "$TEST_TMP/none" exec nothere ls -h
  assert_ne 0 "$rc" "exec into an unknown container"
  assert_not_contains "$out" "usage:" "exec ... ls -h"
}

test_shim_help() {
  local form
  for form in -help --help -h help; do
    expect_help "shim $form" "$REAPER" containerd-shim-reaper-v2 "$form"
  done
  expect_usage_error "shim without action" containerd-shim-reaper-v2 "$REAPER" containerd-shim-reaper-v2
  expect_usage_error "shim unknown action" containerd-shim-reaper-v2 "$REAPER" containerd-shim-reaper-v2 -namespace x bogus
}

test_sandbox_help_does_not_hang() {
  local form
  for form in --help -h help; do
    expect_help "sandbox $form" "$REAPER" reaper-sandbox "$form"
  done
  expect_usage_error "sandbox with an argument" reaper-sandbox "$REAPER" reaper-sandbox extra
}

test_overlay_helper_help() {
  local form
  for form in --help -h help "help build"; do
    # shellcheck disable=SC2086 # "help build" is two words
    expect_help "reaper-overlay $form" "$REAPER" reaper-overlay $form
  done
  expect_usage_error "reaper-overlay by hand" reaper-overlay "$REAPER" reaper-overlay build /x k
}

# Every personality also answers under its own name (a link), not only as `reaper NAME`.
test_help_through_links() {
  local name
  "$REAPER" install-links "$TEST_TMP" >/dev/null || fail "install-links"
  for name in reaper reaper-runtime containerd-shim-reaper-v2 reaper-overlay reaper-sandbox; do
    [[ $name == reaper ]] && continue
    expect_help "$name --help" "$TEST_TMP/$name" --help
  done
}

test_completion_script_completes_verbs() {
  local script=$TEST_TMP/reaper.bash
  "$REAPER" completion bash >"$script" || fail "completion bash"
  bash -n "$script" || fail "the completion script does not parse"
  out=$(REAPER_BIN=$REAPER bash -c '
    source "$1"
    COMP_WORDS=(reaper st); COMP_CWORD=1; _reaper; echo "${COMPREPLY[*]}"
    COMP_WORDS=(reaper help ov); COMP_CWORD=2; _reaper; echo "${COMPREPLY[*]}"
    COMP_WORDS=(reaper overlay l); COMP_CWORD=2; _reaper; echo "${COMPREPLY[*]}"
    COMP_WORDS=(reaper do); COMP_CWORD=1; _reaper; echo "${COMPREPLY[*]}"
    COMP_WORDS=(reaper config c); COMP_CWORD=2; _reaper; echo "${COMPREPLY[*]}"
    COMP_WORDS=(reaper list --n); COMP_CWORD=2; _reaper; echo "${COMPREPLY[*]}"' _ "$script")
  assert_eq $'state\noverlay\nlist\ndoctor\ncheck\n--namespace' "$out" "completions"
}
