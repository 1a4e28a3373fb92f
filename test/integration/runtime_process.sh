# reaper-runtime: what the workload sees (docs/runtime-cli.md, "The workload's process"):
# argv/PATH, environment, cwd, credentials, umask, rlimits, fds, session, stdio, PTY.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"

# expected_env MARK VAR=VALUE...: the sorted lines of mark_env MARK VAR=VALUE...
expected_env() {
  local mark=$1; shift
  printf '%s\n' "PATH=/usr/bin:/bin" "REAPER_TEST_MARK=$mark" "$@" | LC_ALL=C sort
}

test_env_is_exactly_process_env() {
  local id mark b=$TEST_TMP/b
  id=$(uniq env) mark=$(new_mark env)
  BUNDLE_ENV=$(mark_env "$mark" A=1 "B=two words") rt_bundle "$b" env
  FOO_LEAK=1 rt_create "$id" "$b"
  FOO_LEAK=1 rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  assert_eq "$(expected_env "$mark" A=1 "B=two words")" "$(workload_out "$id" | LC_ALL=C sort)" "env output"
}

test_proc_environ_has_nothing_of_the_runtime() {
  local id mark b=$TEST_TMP/b got
  id=$(uniq environ) mark=$(new_mark environ)
  marked_bundle "$b" "$mark" cat /proc/self/environ
  FOO_LEAK=1 rt_create "$id" "$b"
  FOO_LEAK=1 rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  got=$(tr '\0' '\n' <"$TEST_TMP/$id.out" | LC_ALL=C sort)
  assert_not_contains "$got" FOO_LEAK "environ"
  assert_not_contains "$got" TEST_TMP "environ"
  assert_eq "$(expected_env "$mark")" "$got" "/proc/self/environ"
}

test_default_path_is_used_for_lookup_but_not_added_to_env() {
  local id b=$TEST_TMP/b
  id=$(uniq nopath)
  BUNDLE_ENV='["ONLY=1"]' rt_bundle "$b" env
  run_bundle "$id" "$b"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus ($(workload_err "$id"))"
  assert_eq "ONLY=1" "$(workload_out "$id")" "env of a workload whose env has no PATH"
}

test_args0_is_looked_up_in_process_env_path() {
  local id mark b=$TEST_TMP/b bin=$TEST_TMP/bin
  id=$(uniq pathlookup) mark=$(new_mark pathlookup)
  mkdir -p "$bin"
  printf '#!/bin/sh\necho "private-prog $*"\n' >"$bin/private-prog-$$"; chmod 0755 "$bin/private-prog-$$"
  BUNDLE_ENV='["PATH='"$bin"':/usr/bin:/bin","REAPER_TEST_MARK='"$mark"'"]' rt_bundle "$b" "private-prog-$$" x y
  run_bundle "$id" "$b"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus ($(workload_err "$id"))"
  assert_eq "private-prog x y" "$(workload_out "$id")" "output"
}

test_argv_is_process_args() {
  local id mark b=$TEST_TMP/b
  id=$(uniq argv) mark=$(new_mark argv)
  marked_bundle "$b" "$mark" sh -c 'printf "[%s]" "$0" "$@"' zero 'one two' '' 'th"ree'
  run_bundle "$id" "$b"
  assert_eq '[zero][one two][][th"ree]' "$(workload_out "$id")" "argv"
}

test_cwd_is_process_cwd() {
  local id mark b=$TEST_TMP/b wd=$TEST_TMP/work\ dir
  id=$(uniq cwd) mark=$(new_mark cwd)
  mkdir -p "$wd"
  BUNDLE_CWD=$wd marked_bundle "$b" "$mark" pwd
  (cd /tmp && rt_create "$id" "$b") || exit 1
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  assert_eq "$wd" "$(workload_out "$id")" "pwd"
}

test_user_1000_gets_uid_gid_groups_and_umask() {
  local id mark b=$TEST_TMP/b
  id=$(uniq user1000) mark=$(new_mark user1000)
  BUNDLE_USER='{"uid":1000,"gid":1000,"additionalGids":[27],"umask":63}' \
    marked_bundle "$b" "$mark" sh -c 'id -u; id -g; id -G; umask; grep -E "^(Uid|Gid|Groups):" /proc/$$/status'
  run_bundle "$id" "$b"
  assert_eq "1000
1000
1000 27
0077
Uid:	1000	1000	1000	1000
Gid:	1000	1000	1000	1000
Groups:	27" "$(workload_out "$id" | sed 's/[[:space:]]*$//')" "credentials ($(workload_err "$id"))"
}

# The runtime itself runs with supplementary groups 10 and 20: they must not leak into a
# root workload that has no additionalGids.
test_root_without_additional_gids_has_no_supplementary_groups() {
  local id mark b=$TEST_TMP/b
  id=$(uniq nogroups) mark=$(new_mark nogroups)
  BUNDLE_USER='{"uid":0,"gid":0}' marked_bundle "$b" "$mark" sh -c 'id -G; grep "^Groups:" /proc/$$/status'
  setpriv --groups 10,20 "$REAPER" reaper-runtime --root "$RT_ROOT" create --bundle "$b" "$id" \
    </dev/null >"$TEST_TMP/$id.out" 2>"$TEST_TMP/$id.err" || fail "create: $(workload_err "$id")"
  setpriv --groups 10,20 "$REAPER" reaper-runtime --root "$RT_ROOT" start "$id" </dev/null || fail "start"
  wait_stopped "$id" || fail "not stopped"
  assert_eq "0
Groups:" "$(workload_out "$id" | sed 's/[[:space:]]*$//')" "groups of root with no additionalGids"
}

test_additional_gids_10_20_for_root() {
  local id mark b=$TEST_TMP/b
  id=$(uniq gids1020) mark=$(new_mark gids1020)
  BUNDLE_USER='{"uid":0,"gid":0,"additionalGids":[10,20]}' marked_bundle "$b" "$mark" id -G
  run_bundle "$id" "$b"
  assert_eq "0 10 20" "$(workload_out "$id")" "id -G"
}

test_additional_gids_10_20_for_user_1000() {
  local id mark b=$TEST_TMP/b
  id=$(uniq gids1000) mark=$(new_mark gids1000)
  BUNDLE_USER='{"uid":1000,"gid":1000,"additionalGids":[10,20]}' marked_bundle "$b" "$mark" sh -c 'id -u; id -G'
  run_bundle "$id" "$b"
  assert_eq "1000
1000 10 20" "$(workload_out "$id")" "id -u; id -G"
}

test_umask_defaults_to_0022_whatever_the_callers() {
  local id mark b=$TEST_TMP/b
  id=$(uniq umaskdef) mark=$(new_mark umaskdef)
  marked_bundle "$b" "$mark" sh -c umask
  umask 0077
  rt_create "$id" "$b"
  rt_start "$id"
  umask 0022
  wait_stopped "$id" || fail "not stopped"
  assert_eq 0022 "$(workload_out "$id")" "umask"
}

test_umask_63_is_0077() {
  local id mark b=$TEST_TMP/b
  id=$(uniq umask63) mark=$(new_mark umask63)
  BUNDLE_USER='{"uid":0,"gid":0,"umask":63}' marked_bundle "$b" "$mark" sh -c "umask; touch $TEST_TMP/f"
  run_bundle "$id" "$b"
  assert_eq 0077 "$(workload_out "$id")" "umask"
  assert_eq 600 "$(stat -c %a "$TEST_TMP/f")" "mode of a file the workload created"
}

test_rlimits_are_applied() {
  local id mark b=$TEST_TMP/b
  id=$(uniq rlimits) mark=$(new_mark rlimits)
  marked_bundle "$b" "$mark" sh -c 'ulimit -Sn; ulimit -Hn'
  edit_config "$b" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}]'
  run_bundle "$id" "$b"
  assert_eq "256
512" "$(workload_out "$id")" "RLIMIT_NOFILE soft, hard ($(workload_err "$id"))"
}

test_no_new_privileges_is_honoured() {
  local id mark b=$TEST_TMP/b
  id=$(uniq nnp) mark=$(new_mark nnp)
  marked_bundle "$b" "$mark" sh -c 'grep "^NoNewPrivs:" /proc/$$/status'
  edit_config "$b" 'c["process"]["noNewPrivileges"] = True'
  run_bundle "$id" "$b"
  assert_eq "NoNewPrivs:	1" "$(workload_out "$id")" "NoNewPrivs"
}

test_oom_score_adj_is_applied() {
  local id mark b=$TEST_TMP/b
  id=$(uniq oom) mark=$(new_mark oom)
  marked_bundle "$b" "$mark" sh -c 'cat /proc/$$/oom_score_adj'
  edit_config "$b" 'c["process"]["oomScoreAdj"] = 123'
  run_bundle "$id" "$b"
  assert_eq 123 "$(workload_out "$id")" "oom_score_adj"
}

# The runtime is given extra open fds (3..9); the workload's shell must have only 0 1 2.
test_only_fds_0_1_2_are_open_in_workload() {
  local id mark b=$TEST_TMP/b
  id=$(uniq fds) mark=$(new_mark fds)
  marked_bundle "$b" "$mark" sh -c 'ls /proc/$$/fd; ls -l /proc/$$/fd >&2'
  rt_create "$id" "$b" 3</dev/null 5>"$TEST_TMP/five" 7<>"$TEST_TMP/seven" 9</dev/null
  rt_start "$id" 4</dev/null 8>"$TEST_TMP/eight"
  wait_stopped "$id" || fail "not stopped"
  assert_eq "0
1
2" "$(workload_out "$id")" "fds of the workload (ls -l: $(workload_err "$id"))"
}

test_workload_is_a_session_leader() {
  local id mark b=$TEST_TMP/b
  id=$(uniq setsid) mark=$(new_mark setsid)
  marked_bundle "$b" "$mark" sh -c 'echo $$ $$; cut -d" " -f5,6 /proc/$$/stat'
  run_bundle "$id" "$b"
  local lines
  mapfile -t lines < <(workload_out "$id")
  assert_eq "${lines[0]}" "${lines[1]:-}" "pid pid vs pgrp session"
}

test_stdout_and_stderr_are_the_callers() {
  local id mark b=$TEST_TMP/b
  id=$(uniq stdio) mark=$(new_mark stdio)
  marked_bundle "$b" "$mark" sh -c 'echo to-stdout; echo to-stderr >&2'
  run_bundle "$id" "$b"
  assert_eq to-stdout "$(workload_out "$id")" "stdout file"
  assert_contains "$(workload_err "$id")" to-stderr "stderr file"
  assert_not_contains "$(workload_out "$id")" to-stderr "stdout file"
}

test_stdin_is_the_callers() {
  local id mark b=$TEST_TMP/b
  id=$(uniq stdin) mark=$(new_mark stdin)
  marked_bundle "$b" "$mark" cat
  printf 'hi-from-stdin\n' | rt create --bundle "$b" "$id" >"$TEST_TMP/$id.out" 2>"$TEST_TMP/$id.err"
  assert_eq 0 "${PIPESTATUS[1]}" "create ($(workload_err "$id"))"
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped (cat never saw EOF on stdin?)"
  assert_eq hi-from-stdin "$(workload_out "$id")" "cat output"
}

test_terminal_workload_gets_pty_as_stdio_and_controlling_tty() {
  local id mark b=$TEST_TMP/b got
  id=$(uniq pty) mark=$(new_mark pty)
  BUNDLE_TERMINAL=true marked_bundle "$b" "$mark" sh -c \
    'tty; stty size; [ -t 0 ] && echo STDIN_IS_TTY; [ -t 1 ] && echo STDOUT_IS_TTY; [ -t 2 ] && echo STDERR_IS_TTY; ( : </dev/tty ) 2>/dev/null && echo HAS_CTTY'
  start_receiver pty --winsize 37 111
  rt_create "$id" "$b" --console-socket "$TEST_TMP/pty.sock"
  wait_receiver_got pty
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  finish_receiver pty
  got=$(tr -d '\r' <"$TEST_TMP/pty.pty")
  [[ "$got" =~ /dev/pts/[0-9]+ ]] || fail "tty did not print a /dev/pts path: $got"
  assert_contains "$got" "37 111" "stty size (window size set on the master before start)"
  assert_contains "$got" STDIN_IS_TTY "pty output"
  assert_contains "$got" STDOUT_IS_TTY "pty output"
  assert_contains "$got" STDERR_IS_TTY "pty output"
  assert_contains "$got" HAS_CTTY "pty output (open /dev/tty)"
  assert_eq 0 "$(state_field "$id" exitStatus)" "exitStatus"
}

test_terminal_input_reaches_workload() {
  local id mark b=$TEST_TMP/b got
  id=$(uniq ptyin) mark=$(new_mark ptyin)
  BUNDLE_TERMINAL=true marked_bundle "$b" "$mark" sh -c 'read x; echo "got:$x"'
  start_receiver ptyin --input $'hello-pty\n'
  rt_create "$id" "$b" --console-socket "$TEST_TMP/ptyin.sock"
  wait_receiver_got ptyin
  rt_start "$id"
  wait_stopped "$id" || fail "not stopped"
  finish_receiver ptyin
  got=$(tr -d '\r' <"$TEST_TMP/ptyin.pty")
  assert_contains "$got" "got:hello-pty" "pty output"
}

test_terminal_without_console_socket_is_refused() {
  local id mark b=$TEST_TMP/b
  id=$(uniq ptynosock) mark=$(new_mark ptynosock)
  BUNDLE_TERMINAL=true marked_bundle "$b" "$mark" sleep 1000
  capture rt create --bundle "$b" "$id" </dev/null
  assert_refused "terminal:true without --console-socket"
  assert_nothing_left "$id" "$mark"
}
