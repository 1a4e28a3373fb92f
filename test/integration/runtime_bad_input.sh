# reaper-runtime: every bad input is refused with exit 1 and a "reaper-runtime: " message,
# and leaves nothing half-made: no state for the failed id, nothing outside RT_ROOT, no
# process, an existing container unchanged (docs/runtime-cli.md, "Ids", "Exit status of
# the CLI").
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# tree_listing: every path under TEST_TMP except RT_ROOT itself (which the runtime may
# create) and the capture temp files.
tree_listing() { (cd "$TEST_TMP" && find . -path ./root -prune -o -print | grep -v '/tmp\.' | sort); }

# refuse_create_id ID: create with a valid bundle under a bad id must be refused and create
# nothing anywhere.
refuse_create_id() {
  local bad=$1 mark b=$TEST_TMP/b before after
  mark=$(new_mark badid)
  marked_bundle "$b" "$mark" sleep 1000
  before=$(tree_listing)
  capture rt create --bundle "$b" "$bad" </dev/null
  assert_refused "create with id '$bad'"
  after=$(tree_listing)
  assert_eq "$before" "$after" "files under TEST_TMP after a refused create"
  assert_root_empty
  assert_eq "" "$(marked_pids "$mark")" "processes started for a refused id"
  assert_nothing_left "" "$mark"  # (the bad id itself is no usable search key)
}

test_empty_id_is_refused() { refuse_create_id ""; }
test_257_char_id_is_refused() { refuse_create_id "$(printf 'a%.0s' {1..257})"; }
test_dot_id_is_refused() { refuse_create_id "."; }
test_dotdot_id_is_refused() { refuse_create_id ".."; }
test_dotdot_slash_id_is_refused() { refuse_create_id "../x"; assert_no_file "$TEST_TMP/x"; }
test_slash_id_is_refused() { refuse_create_id "a/b"; assert_no_file "$RT_ROOT/a"; }
test_space_id_is_refused() { refuse_create_id "a b"; }
test_non_ascii_id_is_refused() { refuse_create_id "é"; }
test_newline_id_is_refused() { refuse_create_id $'a\nb'; }

test_256_char_id_is_accepted() {
  local id mark b=$TEST_TMP/b
  local suffix=-$$
  id=$(printf 'a%.0s' {1..256}); id=${id:0:256-${#suffix}}$suffix
  assert_eq 256 "${#id}" "test setup: id length"
  mark=$(new_mark id256)
  marked_bundle "$b" "$mark" sh -c 'exit 6'
  run_bundle "$id" "$b"
  assert_eq 6 "$(state_field "$id" exitStatus)" "exitStatus of a container with a 256-char id"
  rt delete "$id" || fail "delete of a 256-char id"
  assert_nothing_left "$id" "$mark"
}

test_id_with_all_allowed_characters_is_accepted() {
  local id="Az09._-$$" mark b=$TEST_TMP/b
  mark=$(new_mark idchars)
  marked_bundle "$b" "$mark" true
  run_bundle "$id" "$b"
  rt delete "$id" || fail "delete"
  assert_nothing_left "$id" "$mark"
}

# Every verb refuses a hostile id before building a path: a decoy at RT_ROOT/../x (that is,
# TEST_TMP/x) survives all of them, delete --force included.
test_dotdot_id_cannot_reach_outside_root_on_any_verb() {
  local decoy=$TEST_TMP/x verb
  mkdir -p "$RT_ROOT" "$decoy"; echo keep >"$decoy/state.json"; echo keep >"$decoy/config.json"
  for verb in "state" "start" "kill" "kill --all" "delete" "delete --force" "ps" "exec"; do
    if [[ $verb == exec ]]; then
      capture rt exec ../x true
    else
      # shellcheck disable=SC2086  # an unset verb must vanish, not become ""
      capture rt $verb ../x
    fi
    assert_refused "$verb ../x"
  done
  assert_eq keep "$(cat "$decoy/state.json" 2>/dev/null)" "decoy outside RT_ROOT"
  assert_eq keep "$(cat "$decoy/config.json" 2>/dev/null)" "decoy outside RT_ROOT"
}

# refuse_config WHAT: create of $TEST_TMP/b (already prepared) must be refused; nothing left.
refuse_config() {
  local what=$1 id mark=$2
  id=$(uniq badcfg)
  capture rt create --bundle "$TEST_TMP/b" "$id" </dev/null
  assert_refused "$what"
  assert_nothing_left "$id" "$mark"
}

test_missing_bundle_directory_is_refused() {
  local id
  id=$(uniq nobundle)
  capture rt create --bundle "$TEST_TMP/does-not-exist" "$id" </dev/null
  assert_refused "missing bundle directory"
  assert_nothing_left "$id" ""
}

test_missing_config_json_is_refused() {
  mkdir -p "$TEST_TMP/b"
  refuse_config "bundle without config.json" ""
  assert_contains "$err" "config.json" "stderr"
}

test_malformed_json_is_refused() {
  mkdir -p "$TEST_TMP/b"
  printf '{"ociVersion": "1.0.2", "process": {"args": ["true"], ' >"$TEST_TMP/b/config.json"
  refuse_config "truncated config.json" ""
}

test_unknown_top_level_field_is_refused() {
  local mark; mark=$(new_mark bogus)
  BUNDLE_EXTRA=',"bogus": 1' marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  refuse_config "unknown top-level field" "$mark"
  assert_contains "$err" bogus "stderr names the field"
}

test_unknown_process_field_is_refused() {
  local mark; mark=$(new_mark procbogus)
  marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  edit_config "$TEST_TMP/b" 'c["process"]["argz"] = ["x"]'
  refuse_config "unknown process field" "$mark"
  assert_contains "$err" argz "stderr names the field"
}

test_args_as_string_is_refused() {
  local mark; mark=$(new_mark argsstr)
  marked_bundle "$TEST_TMP/b" "$mark" ls
  edit_config "$TEST_TMP/b" 'c["process"]["args"] = "ls"'
  refuse_config '"args": "ls"' "$mark"
}

test_uid_as_string_is_refused() {
  local mark; mark=$(new_mark uidstr)
  BUNDLE_USER='{"uid": "0", "gid": 0}' marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  refuse_config '"uid": "0"' "$mark"
}

test_missing_process_args_is_refused() {
  local mark; mark=$(new_mark noargs)
  marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  edit_config "$TEST_TMP/b" 'del c["process"]["args"]'
  refuse_config "process without args" "$mark"
}

test_empty_args_is_refused() {
  local mark; mark=$(new_mark emptyargs)
  marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  edit_config "$TEST_TMP/b" 'c["process"]["args"] = []'
  refuse_config "empty args" "$mark"
}

test_missing_process_is_refused() {
  local mark; mark=$(new_mark noprocess)
  marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  edit_config "$TEST_TMP/b" 'del c["process"]'
  refuse_config "config without process" "$mark"
}

test_relative_cwd_is_refused() {
  local mark; mark=$(new_mark relcwd)
  BUNDLE_CWD=tmp marked_bundle "$TEST_TMP/b" "$mark" sleep 1000
  refuse_config "relative process.cwd" "$mark"
}

# Fields the OCI spec defines but reaper ignores are accepted; hooks are not run.
test_spec_fields_reaper_ignores_are_accepted() {
  local id mark b=$TEST_TMP/b hook=$TEST_TMP/hook
  id=$(uniq ignored) mark=$(new_mark ignored)
  printf '#!/bin/sh\ntouch %s/hook-ran\n' "$TEST_TMP" >"$hook"; chmod 0755 "$hook"
  marked_bundle "$b" "$mark" sh -c 'echo ran'
  edit_config "$b" '
c["hostname"] = "ignored-host"
c["mounts"] = [{"destination": "/proc", "type": "proc", "source": "proc"}]
c["hooks"] = {"prestart": [{"path": "'"$hook"'"}], "poststart": [{"path": "'"$hook"'"}]}
c["linux"] = {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}],
              "resources": {"memory": {"limit": 1048576}},
              "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"},
              "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}
c["process"]["capabilities"] = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]}
c["process"]["apparmorProfile"] = "unconfined"
c["process"]["consoleSize"] = {"height": 24, "width": 80}
c["annotations"] = {"x": "y"}'
  run_bundle "$id" "$b"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus ($(workload_err "$id"))"
  assert_eq ran "$(workload_out "$id")" "output"
  assert_no_file "$TEST_TMP/hook-ran"
}

test_kill_with_unknown_signal_name_is_refused() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq sigbad) mark=$(new_mark sigbad)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  pid=$(state_field "$id" pid)
  capture rt kill "$id" NOPE
  assert_refused "kill NOPE"
  sleep 0.2
  pid_alive "$pid" || fail "workload died on a refused kill"
  assert_eq running "$(state_field "$id" status)" "status"
}

test_kill_with_out_of_range_signal_is_refused() {
  local id mark b=$TEST_TMP/b pid s
  id=$(uniq sig999) mark=$(new_mark sig999)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  pid=$(state_field "$id" pid)
  for s in 999 65 9x NOPE9; do
    capture rt kill "$id" "$s"
    assert_refused "kill $s"
  done
  sleep 0.2
  pid_alive "$pid" || fail "workload died on a refused kill"
  assert_eq running "$(state_field "$id" status)" "status"
}

test_create_on_existing_id_is_refused_and_leaves_it_unchanged() {
  local id mark mark2 before after pid
  id=$(uniq dup) mark=$(new_mark dup) mark2=$(new_mark dup2)
  marked_bundle "$TEST_TMP/b1" "$mark" sleep 1000
  marked_bundle "$TEST_TMP/b2" "$mark2" sleep 1000
  rt_create "$id" "$TEST_TMP/b1"
  before=$(rt state "$id")
  pid=$(state_field "$id" pid)
  capture rt create --bundle "$TEST_TMP/b2" "$id" </dev/null
  assert_refused "second create of $id"
  after=$(rt state "$id")
  assert_eq "$before" "$after" "state of the existing container"
  pid_alive "$pid" || fail "existing container's process died"
  assert_eq "" "$(marked_pids "$mark2")" "processes of the refused create"
  rt_start "$id"
  assert_eq running "$(state_field "$id" status)" "existing container still starts"
  assert_eq "sleep 1000" "$(proc_cmdline "$pid")" "the original workload"
}

test_start_twice_is_refused() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq start2) mark=$(new_mark start2)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  pid=$(state_field "$id" pid)
  capture rt start "$id" </dev/null
  assert_refused "second start"
  assert_eq running "$(state_field "$id" status)" "status"
  assert_eq "$pid" "$(state_field "$id" pid)" "pid"
  pid_alive "$pid" || fail "workload died"
}

test_start_of_stopped_container_is_refused() {
  local id mark b=$TEST_TMP/b
  id=$(uniq startstopped) mark=$(new_mark startstopped)
  marked_bundle "$b" "$mark" sh -c 'echo once'
  run_bundle "$id" "$b"
  capture rt start "$id" </dev/null
  assert_refused "start of a stopped container"
  sleep 0.2
  assert_eq once "$(workload_out "$id")" "the workload ran once"
  assert_eq stopped "$(state_field "$id" status)" "status"
}

test_start_of_unknown_id_is_refused() {
  local id; id=$(uniq unknownstart)
  capture rt start "$id" </dev/null
  assert_refused "start of an unknown id"
  assert_root_empty
}

test_state_of_unknown_id_is_refused() {
  local id; id=$(uniq unknownstate)
  capture rt state "$id"
  assert_refused "state of an unknown id"
  assert_root_empty
}

test_kill_of_unknown_id_is_refused() {
  local id; id=$(uniq unknownkill)
  capture rt kill "$id" KILL
  assert_refused "kill of an unknown id"
  assert_root_empty
}

test_delete_of_unknown_id_is_an_error() {
  local id; id=$(uniq unknowndel)
  capture rt delete "$id"
  assert_refused "delete of an unknown id"
  assert_root_empty
}

test_delete_force_of_unknown_id_is_a_noop() {
  local id; id=$(uniq unknowndelf)
  capture rt delete --force "$id"
  assert_eq 0 "$rc" "delete --force of an unknown id ($err)"
  assert_root_empty
}

# A usage error (unknown verb) exits 2, apart from a verb's failures (docs/cli.md).
test_unknown_verb_is_refused() {
  capture rt frobnicate
  assert_eq 2 "$rc" "unknown verb: exit status (stderr: $err)"
  assert_contains "$err" "reaper-runtime: " "unknown verb: stderr"
}
