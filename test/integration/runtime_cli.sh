# reaper-runtime: state / list / ps / exec / features / version / global flags, and the
# operator views `reaper state` and `reaper list` (docs/runtime-cli.md, "Verbs").
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# ---------------------------------------------------------------- state

test_state_json_fields_of_created_container() {
  local id mark b=$TEST_TMP/b json pid
  id=$(uniq statejson) mark=$(new_mark statejson)
  BUNDLE_EXTRA=',"annotations":{"a":"b","org.example/k":"v v"}' marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  capture rt state "$id"
  assert_eq 0 "$rc" "state exit status ($err)"
  json=$out
  [[ -n "$(json_field ociVersion <<<"$json")" ]] || fail "no ociVersion in $json"
  assert_eq "$id" "$(json_field id <<<"$json")" "id"
  assert_eq created "$(json_field status <<<"$json")" "status"
  assert_eq int "$(json_eval 'type(d["pid"]).__name__' <<<"$json")" "type of pid"
  pid=$(json_field pid <<<"$json")
  ((pid > 0)) && pid_alive "$pid" || fail "pid $pid is not a live process"
  assert_eq "$(realpath "$b")" "$(json_field bundle <<<"$json")" "bundle"
  assert_eq '{"a":"b","org.example/k":"v v"}' "$(json_field annotations <<<"$json")" "annotations"
}

test_state_status_goes_created_running_stopped() {
  local id mark b=$TEST_TMP/b
  id=$(uniq statelife) mark=$(new_mark statelife)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  assert_eq created "$(state_field "$id" status)" "after create"
  rt_start "$id"
  assert_eq running "$(state_field "$id" status)" "after start"
  rt kill "$id" KILL || fail "kill"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 137 "$(state_field "$id" exitStatus)" "exitStatus"
  assert_eq "$id" "$(state_field "$id" id)" "id of a stopped container"
}

test_state_bundle_defaults_to_current_directory() {
  local id mark b=$TEST_TMP/bundle-here
  id=$(uniq statecwd) mark=$(new_mark statecwd)
  marked_bundle "$b" "$mark" sleep 1000
  (cd "$b" && rt create "$id" </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err") ||
    fail "create without --bundle in the bundle directory: $(cat "$TEST_TMP/err")"
  assert_eq "$(realpath "$b")" "$(state_field "$id" bundle)" "bundle"
}

test_create_accepts_runc_compatibility_flags() {
  local id mark b=$TEST_TMP/b
  id=$(uniq compat) mark=$(new_mark compat)
  marked_bundle "$b" "$mark" sh -c 'exit 3'
  rt_create "$id" "$b" --no-pivot --no-new-keyring
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  assert_eq 3 "$(state_field "$id" exitStatus)" "exitStatus"
}

# ---------------------------------------------------------------- list

# two_containers: A created, B running; sets IDA IDB BA BB.
two_containers() {
  IDA=$(uniq lista) IDB=$(uniq listb) BA=$TEST_TMP/ba BB=$TEST_TMP/bb
  marked_bundle "$BA" "$(new_mark lista)" sleep 1000
  marked_bundle "$BB" "$(new_mark listb)" sleep 1000
  rt_create "$IDA" "$BA"
  rt_create "$IDB" "$BB"
  rt_start "$IDB"
}

test_list_table_shows_every_container() {
  two_containers
  capture rt list
  assert_eq 0 "$rc" "list exit status ($err)"
  local header line
  header=$(head -n1 <<<"$out")
  [[ "$header" =~ ^ID[[:space:]]+PID[[:space:]]+STATUS[[:space:]]+BUNDLE[[:space:]]+CREATED ]] ||
    fail "list header: $header"
  line=$(grep -E "^${IDA}[[:space:]]" <<<"$out") || fail "no row for $IDA in: $out"
  assert_contains "$line" " $(state_field "$IDA" pid) " "row of $IDA"
  assert_contains "$line" created "row of $IDA"
  assert_contains "$line" "$(realpath "$BA")" "row of $IDA"
  line=$(grep -E "^${IDB}[[:space:]]" <<<"$out") || fail "no row for $IDB in: $out"
  assert_contains "$line" running "row of $IDB"
  assert_contains "$line" "$(realpath "$BB")" "row of $IDB"
  assert_eq 3 "$(grep -c . <<<"$out")" "lines (header + 2 rows): $out"
}

test_list_json_is_an_array_of_states() {
  two_containers
  capture rt list --format json
  assert_eq 0 "$rc" "list --format json exit status ($err)"
  assert_eq "[[\"$IDA\",\"created\",\"$(realpath "$BA")\"],[\"$IDB\",\"running\",\"$(realpath "$BB")\"]]" \
    "$(json_eval 'sorted([x["id"], x["status"], x["bundle"]] for x in d)' <<<"$out")" "list json"
  assert_eq "$(state_field "$IDB" pid)" "$(json_eval '[x["pid"] for x in d if x["id"] == sys.argv[2]][0]' "$IDB" <<<"$out")" "pid of $IDB"
}

test_list_quiet_prints_only_ids() {
  two_containers
  capture rt list -q
  assert_eq 0 "$rc" "list -q ($err)"
  assert_eq "$(printf '%s\n' "$IDA" "$IDB" | sort)" "$(sort <<<"$out")" "list -q"
  capture rt list --quiet
  assert_eq "$(printf '%s\n' "$IDA" "$IDB" | sort)" "$(sort <<<"$out")" "list --quiet"
}

test_list_json_of_empty_root_is_empty_array() {
  capture rt list --format json
  assert_eq 0 "$rc" "list on an empty root ($err)"
  assert_eq "[]" "$(json_eval d <<<"$out")" "list json of no containers"
}

# ---------------------------------------------------------------- ps

test_ps_json_lists_workload_and_its_children() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq psjson) mark=$(new_mark psjson)
  marked_bundle "$b" "$mark" sh -c 'sleep 1000 & sleep 1001 & wait'
  rt_create "$id" "$b"; rt_start "$id"
  wait_marked_count "$mark" sleep 2
  pid=$(state_field "$id" pid)
  capture rt ps --format json "$id"
  assert_eq 0 "$rc" "ps exit status ($err)"
  assert_eq "$(marked_pids "$mark" | sort -n | tr '\n' ' ')" \
    "$(json_eval 'sorted(d)' <<<"$out" | tr -d '[]' | tr ',' '\n' | sort -n | tr '\n' ' ')" \
    "ps pids vs the processes carrying the mark (ps: $out)"
  assert_contains " $(json_eval 'sorted(d)' <<<"$out" | tr -d '[]' | tr ',' ' ') " " $pid " "ps includes the workload"
}

test_ps_includes_setsid_daemon() {
  local id mark b=$TEST_TMP/b p ps
  id=$(uniq psdaemon) mark=$(new_mark psdaemon)
  marked_bundle "$b" "$mark" sh -c '(setsid sleep 1002 &); sleep 1000'
  rt_create "$id" "$b"; rt_start "$id"
  wait_marked_count "$mark" sleep 2
  capture rt ps --format json "$id"
  assert_eq 0 "$rc" "ps ($err)"
  ps=" $(json_eval 'sorted(d)' <<<"$out" | tr -d '[]' | tr ',' ' ') "
  for p in $(marked_pids "$mark"); do
    assert_contains "$ps" " $p " "ps of a container with a daemon ($(proc_cmdline "$p"))"
  done
}

test_ps_table_has_pid_cmd_header_and_every_pid() {
  local id mark b=$TEST_TMP/b p
  id=$(uniq pstable) mark=$(new_mark pstable)
  marked_bundle "$b" "$mark" sh -c 'sleep 1000 & wait'
  rt_create "$id" "$b"; rt_start "$id"
  wait_marked_count "$mark" sleep 1
  capture rt ps "$id"
  assert_eq 0 "$rc" "ps ($err)"
  [[ "$(head -n1 <<<"$out")" =~ ^[[:space:]]*PID[[:space:]]+CMD ]] || fail "ps header: $out"
  for p in $(marked_pids "$mark"); do
    grep -qE "^[[:space:]]*${p}[[:space:]]" <<<"$out" || fail "pid $p missing from ps table: $out"
  done
  grep -qE "sleep" <<<"$out" || fail "no CMD column content: $out"
}

# ---------------------------------------------------------------- reaper state / list

test_reaper_state_is_human_readable() {
  local id mark b=$TEST_TMP/b pid
  id=$(uniq rstate) mark=$(new_mark rstate)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"; rt_start "$id"
  pid=$(state_field "$id" pid)
  capture "$REAPER" state --root "$RT_ROOT" "$id"
  assert_eq 0 "$rc" "reaper state exit status ($err)"
  [[ "$out" != "{"* ]] || fail "reaper state without --json printed JSON: $out"
  assert_contains "$out" running "reaper state"
  assert_contains "$out" "$pid" "reaper state"
  assert_contains "$out" "$(realpath "$b")" "reaper state"
}

test_reaper_state_shows_exit_code_of_stopped_container() {
  local id mark b=$TEST_TMP/b
  id=$(uniq rstatex) mark=$(new_mark rstatex)
  marked_bundle "$b" "$mark" sh -c 'exit 7'
  run_bundle "$id" "$b"
  capture "$REAPER" state --root "$RT_ROOT" "$id"
  assert_eq 0 "$rc" "reaper state exit status ($err)"
  assert_contains "$out" stopped "reaper state"
  grep -qiE 'exit[^0-9]*7([^0-9]|$)' <<<"$out" || fail "reaper state does not show exit code 7: $out"
}

test_reaper_state_json() {
  local id mark b=$TEST_TMP/b
  id=$(uniq rstatejson) mark=$(new_mark rstatejson)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  capture "$REAPER" state --root "$RT_ROOT" --json "$id"
  assert_eq 0 "$rc" "reaper state --json exit status ($err)"
  assert_eq "$id" "$(json_field id <<<"$out")" "id"
  assert_eq created "$(json_field status <<<"$out")" "status"
  assert_eq "$(state_field "$id" pid)" "$(json_field pid <<<"$out")" "pid"
}

test_reaper_state_of_unknown_id_fails() {
  capture "$REAPER" state --root "$RT_ROOT" "$(uniq rnone)"
  [[ $rc -ne 0 ]] || fail "reaper state of an unknown id succeeded: $out"
}

test_reaper_list_shows_containers() {
  two_containers
  capture "$REAPER" list --root "$RT_ROOT"
  assert_eq 0 "$rc" "reaper list exit status ($err)"
  grep -E "$IDA" <<<"$out" | grep -q created || fail "reaper list: no '$IDA ... created' in: $out"
  grep -E "$IDB" <<<"$out" | grep -q running || fail "reaper list: no '$IDB ... running' in: $out"
}

# ---------------------------------------------------------------- version / features

test_version_is_the_same_string_on_every_personality() {
  local v1 v2 v3 v4
  v1=$("$REAPER" --version) || fail "reaper --version failed"
  v2=$("$REAPER" reaper-runtime --version) || fail "reaper reaper-runtime --version failed"
  v3=$("$REAPER" reaper-runtime version) || fail "reaper reaper-runtime version failed"
  v4=$(rt --version) || fail "reaper-runtime --root R --version failed"
  [[ -n "$v2" ]] || fail "empty version"
  assert_eq "$v2" "$v1" "reaper --version"
  assert_eq "$v2" "$v3" "reaper-runtime version"
  assert_eq "$v2" "$v4" "reaper-runtime --root R --version"
}

# docs/runtime-cli.md: `reaper version X.Y.Z (revision R)` on every personality, X.Y.Z being the
# project version in meson.build.
test_version_string_has_the_documented_format() {
  local v want
  v=$("$REAPER" reaper-runtime --version) || fail "reaper reaper-runtime --version failed"
  want=$(grep -m1 -oP "^\s*version\s*:\s*'\K[^']+" "$TOP/meson.build")
  [[ "$v" =~ ^reaper\ version\ ([0-9]+\.[0-9]+\.[0-9]+)\ \(revision\ [^\)]+\)$ ]] ||
    fail "version string '$v' is not 'reaper version X.Y.Z (revision R)'"
  [[ -z "$want" ]] || assert_eq "$want" "${BASH_REMATCH[1]}" "version vs meson.build"
}

test_version_via_reaper_runtime_argv0() {
  ln -s "$REAPER" "$TEST_TMP/reaper-runtime"
  local v
  v=$("$TEST_TMP/reaper-runtime" --version) || fail "reaper-runtime (argv0) --version failed"
  assert_eq "$("$REAPER" reaper-runtime --version)" "$v" "version via argv0 reaper-runtime"
}

test_features_is_valid_oci_features_json() {
  capture rt features
  assert_eq 0 "$rc" "features exit status ($err)"
  "$PY" -m json.tool >/dev/null <<<"$out" || fail "features is not valid JSON: $out"
  [[ -n "$(json_field ociVersionMin <<<"$out")" ]] || fail "no ociVersionMin: $out"
  [[ -n "$(json_field ociVersionMax <<<"$out")" ]] || fail "no ociVersionMax: $out"
  assert_eq "[]" "$(json_field hooks <<<"$out")" "hooks"
  assert_eq list "$(json_eval 'type(d["mountOptions"]).__name__' <<<"$out")" "type of mountOptions"
  assert_eq dict "$(json_eval 'type(d["linux"]).__name__' <<<"$out")" "type of linux"
}

# ---------------------------------------------------------------- global flags

test_log_file_receives_diagnostics() {
  local log=$TEST_TMP/rt.log
  capture "$REAPER" reaper-runtime --root "$RT_ROOT" --log "$log" --debug state "$(uniq nolog)"
  assert_eq 1 "$rc" "state of an unknown id with --log"
  [[ -s "$log" ]] || fail "--log file is empty or missing after an error (stderr: $err)"
}

test_log_format_json_writes_json_lines() {
  local log=$TEST_TMP/rt.log
  capture "$REAPER" reaper-runtime --root "$RT_ROOT" --log "$log" --log-format json --debug state "$(uniq nologj)"
  assert_eq 1 "$rc" "state of an unknown id with --log-format json"
  [[ -s "$log" ]] || fail "--log file is empty or missing (stderr: $err)"
  "$PY" -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    missing = {"level", "msg", "time"} - set(o)
    assert not missing, "missing %s in %s" % (missing, line)
' "$log" || fail "log is not one {level,msg,time} object per line: $(cat "$log")"
}

test_systemd_cgroup_and_debug_flags_are_accepted() {
  capture "$REAPER" reaper-runtime --root "$RT_ROOT" --systemd-cgroup --debug list
  assert_eq 0 "$rc" "--systemd-cgroup --debug list ($err)"
}

# ---------------------------------------------------------------- exec

# running_container ID MARK [USER-JSON] [CWD]: a running `sleep 1000`.
running_container() {
  BUNDLE_USER=${3:-} BUNDLE_CWD=${4:-/} marked_bundle "$TEST_TMP/b.$1" "$2" sleep 1000
  rt_create "$1" "$TEST_TMP/b.$1"
  rt_start "$1"
}

# ARGS follow the id; "--" is only needed when they start with "-". The other exec tests
# use the form without "--" so that they do not depend on its handling.
test_exec_exits_with_the_process_status() {
  local id mark
  id=$(uniq exec5) mark=$(new_mark exec5)
  running_container "$id" "$mark"
  capture timeout 20 "$REAPER" reaper-runtime --root "$RT_ROOT" exec "$id" sh -c 'echo from-exec; exit 5'
  assert_eq 5 "$rc" "exec exit status ($err)"
  assert_eq from-exec "$out" "exec stdout"
  assert_eq running "$(state_field "$id" status)" "container after exec"
}

# runc's exec flags for what reaper lacks are accepted (containerd, conmon and Docker may pass
# them); --no-new-privs is honoured.
test_exec_accepts_runcs_other_flags() {
  local id mark
  id=$(uniq execflags) mark=$(new_mark execflags)
  running_container "$id" "$mark"
  capture timeout 20 "$REAPER" reaper-runtime --root "$RT_ROOT" exec --no-new-privs --cap CAP_CHOWN \
    --apparmor unconfined --process-label x --cgroup y --ignore-paused "$id" grep NoNewPrivs /proc/self/status
  assert_eq 0 "$rc" "exec with runc's flags ($err)"
  assert_eq "NoNewPrivs:	1" "$out" "no_new_privs of the exec'd process"
}

test_exec_double_dash_separates_args() {
  local id mark
  id=$(uniq execdd) mark=$(new_mark execdd)
  running_container "$id" "$mark"
  capture timeout 20 "$REAPER" reaper-runtime --root "$RT_ROOT" exec "$id" -- sh -c 'echo after-dashdash; exit 5'
  assert_eq 5 "$rc" "exit status of exec ID -- sh -c 'exit 5' ($err)"
  assert_eq after-dashdash "$out" "exec stdout"
}

test_exec_uses_container_env_cwd_and_user() {
  local id mark
  id=$(uniq execenv) mark=$(new_mark execenv)
  running_container "$id" "$mark" '{"uid":1000,"gid":1000}' /tmp
  FOO_LEAK=1 capture rt exec "$id" env
  assert_eq 0 "$rc" "exec env ($err)"
  assert_eq "$(printf '%s\n' PATH=/usr/bin:/bin "REAPER_TEST_MARK=$mark" | sort)" "$(sort <<<"$out")" "exec env"
  capture rt exec "$id" pwd
  assert_eq /tmp "$out" "exec cwd"
  capture rt exec "$id" id -u
  assert_eq 1000 "$out" "exec uid ($err)"
}

test_exec_flags_change_env_cwd_user_and_groups() {
  local id mark
  id=$(uniq execflags) mark=$(new_mark execflags)
  running_container "$id" "$mark"
  capture rt exec --env X_ADDED=1 -e Y_ADDED=two --cwd /tmp --user 1000:1000 -g 10 --additional-gids 20 "$id" \
    sh -c 'echo "$X_ADDED $Y_ADDED $REAPER_TEST_MARK"; pwd; id -u; id -G'
  assert_eq 0 "$rc" "exec with flags ($err)"
  assert_eq "1 two $mark
/tmp
1000
1000 10 20" "$out" "exec with flags"
}

test_exec_process_file_honours_user_1000() {
  local id mark pf=$TEST_TMP/process.json
  id=$(uniq execproc) mark=$(new_mark execproc)
  running_container "$id" "$mark"
  cat >"$pf" <<'JSON'
{"terminal": false, "user": {"uid": 1000, "gid": 1000, "additionalGids": [20]},
 "args": ["sh", "-c", "id -u; id -G; echo \"$ONLY\"; pwd; exit 4"],
 "env": ["PATH=/usr/bin:/bin", "ONLY=from-process-json"], "cwd": "/tmp"}
JSON
  capture rt exec --process "$pf" "$id"
  assert_eq 4 "$rc" "exec --process exit status ($err)"
  assert_eq "1000
1000 20
from-process-json
/tmp" "$out" "exec --process output"
}

test_exec_process_has_only_fds_0_1_2() {
  local id mark
  id=$(uniq execfds) mark=$(new_mark execfds)
  running_container "$id" "$mark"
  capture rt exec "$id" sh -c 'ls /proc/$$/fd' 5>"$TEST_TMP/five" 7</dev/null
  assert_eq 0 "$rc" "exec ($err)"
  assert_eq "0
1
2" "$out" "fds of the exec'd process"
}

test_exec_into_stopped_container_fails() {
  local id mark b=$TEST_TMP/b
  id=$(uniq execstopped) mark=$(new_mark execstopped)
  marked_bundle "$b" "$mark" true
  run_bundle "$id" "$b"
  capture rt exec "$id" touch "$TEST_TMP/exec-ran"
  assert_refused "exec into a stopped container"
  sleep 0.2
  assert_no_file "$TEST_TMP/exec-ran"
}

test_exec_into_created_container_fails() {
  local id mark b=$TEST_TMP/b
  id=$(uniq execcreated) mark=$(new_mark execcreated)
  marked_bundle "$b" "$mark" sleep 1000
  rt_create "$id" "$b"
  capture rt exec "$id" touch "$TEST_TMP/exec-ran"
  assert_refused "exec into a created container"
  sleep 0.2
  assert_no_file "$TEST_TMP/exec-ran"
  assert_eq created "$(state_field "$id" status)" "status"
}

test_exec_into_unknown_container_fails() {
  capture rt exec "$(uniq execnone)" true
  assert_refused "exec into an unknown container"
  assert_root_empty
}

test_exec_detach_returns_promptly_and_process_runs() {
  local id mark pf=$TEST_TMP/exec.pid pid i
  id=$(uniq execdetach) mark=$(new_mark execdetach)
  running_container "$id" "$mark"
  timeout 10 "$REAPER" reaper-runtime --root "$RT_ROOT" exec -d --pid-file "$pf" "$id" \
    sh -c "touch $TEST_TMP/detached-ran; exec sleep 1002" </dev/null >"$TEST_TMP/exec.out" 2>"$TEST_TMP/exec.err"
  rc=$?
  [[ $rc -ne 124 ]] || fail "exec --detach did not return"
  assert_eq 0 "$rc" "exec --detach ($(cat "$TEST_TMP/exec.err"))"
  wait_file "$TEST_TMP/detached-ran"
  assert_file "$TEST_TMP/detached-ran"
  pid=$(tr -d ' \n' <"$pf") || fail "no exec pid file"
  for ((i = 0; i < 100; i++)); do [[ "$(proc_cmdline "$pid")" == "sleep 1002" ]] && break; sleep 0.05; done
  assert_eq "sleep 1002" "$(proc_cmdline "$pid")" "process of the exec pid file"
  assert_contains "$(marked_pids "$mark")" "$pid" "the exec'd process carries the container env"
}

# ---------------------------------------------------------------- delete removes the monitor

test_nothing_left_after_delete_of_several_containers() {
  local mark1 mark2 id1 id2 id3 snap
  id1=$(uniq many1) id2=$(uniq many2) id3=$(uniq many3)
  mark1=$(new_mark many1) mark2=$(new_mark many2)
  marked_bundle "$TEST_TMP/m1" "$mark1" sh -c '(setsid sleep 1003 &); sleep 1000'
  marked_bundle "$TEST_TMP/m2" "$mark2" sh -c 'exit 1'
  rt_create "$id1" "$TEST_TMP/m1"; rt_start "$id1"
  rt_create "$id2" "$TEST_TMP/m2"; rt_start "$id2"
  rt_create "$id3" "$TEST_TMP/m1"
  wait_marked_count "$mark1" sleep 2
  wait_stopped "$id2" || fail "$id2 not stopped"
  # shellcheck disable=SC2046,SC2086  # lists of pids, split into words on purpose
  snap=$(snapshot_pids $(marked_pids "$mark1") $(state_field "$id3" pid))
  rt delete --force "$id1" || fail "delete --force $id1"
  rt delete "$id2" || fail "delete $id2"
  rt delete "$id3" || fail "delete $id3"
  # shellcheck disable=SC2086  # a list of pids, split into words on purpose
  assert_nothing_left "$id1" "$mark1" $snap
  assert_nothing_left "$id2" "$mark2"
  assert_nothing_left "$id3" ""
  capture rt list --format json
  assert_eq "[]" "$(json_eval d <<<"$out")" "list after deleting everything"
}
