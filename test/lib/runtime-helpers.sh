# Helpers for the reaper-runtime integration tests (test/integration/runtime_*.sh).
# Sourced by each of those files; harness.sh (rt, make_bundle, capture, assert_*,
# pids_with_mark) is already loaded by test/run. marked_pids below gives pids_with_mark's
# answer without forking per process (pids_with_mark takes seconds on a loaded machine).
#
# These helpers observe the system (the process table, /proc, files, exit codes); none of
# them asks the runtime to confirm its own claims except where the runtime's answer is
# the thing under test (state, list, ps).

# The system interpreter when there is one: a pyenv shim first in PATH costs about a second
# per call on a loaded machine, and the tests call python for every JSON look-up.
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=python3; fi

# ---------------------------------------------------------------- names and bundles

# uniq NAME: a container id / mark unique on this machine for this test ($$ is the test's
# bash, alive for the whole test).
uniq() { echo "$1-$$"; }
new_mark() { echo "mark-$1-$$-$RANDOM$RANDOM"; }

# mark_env MARK [VAR=VALUE...]: a process.env JSON array with a minimal PATH, the mark
# and the extra variables.
mark_env() {
  local mark=$1; shift
  local json='"PATH=/usr/bin:/bin","REAPER_TEST_MARK='"$mark"'"' v
  for v in "$@"; do json+=',"'"$v"'"'; done
  echo "[$json]"
}

# rt_bundle DIR ARGS...: writes DIR/config.json running ARGS; the same interface as
# harness.sh's make_bundle (BUNDLE_ENV, BUNDLE_CWD, BUNDLE_TERMINAL, BUNDLE_USER,
# BUNDLE_EXTRA), but its defaults are expanded outside the here-document (inside one,
# make_bundle's ${BUNDLE_USER:-{"uid": 0, ...}} loses its quotes and gains a brace), and the
# result is checked to be valid JSON.
rt_bundle() {
  local dir=$1; shift
  mkdir -p "$dir"
  local args="" a
  for a in "$@"; do
    a=${a//\\/\\\\}; a=${a//\"/\\\"}
    args+="${args:+,}\"$a\""
  done
  local user=${BUNDLE_USER:-'{"uid": 0, "gid": 0}'}
  local env=${BUNDLE_ENV:-'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'}
  local terminal=${BUNDLE_TERMINAL:-false} cwd=${BUNDLE_CWD:-/} extra=${BUNDLE_EXTRA:-}
  cat >"$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": $terminal,
    "user": $user,
    "args": [$args],
    "env": $env,
    "cwd": "$cwd"
  },
  "root": {"path": "rootfs"}$extra
}
JSON
  "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$dir/config.json" ||
    fail "test setup: invalid config.json written: $(cat "$dir/config.json")"
}

# marked_bundle DIR MARK ARGS...: rt_bundle with the mark in process.env (unless the
# caller set BUNDLE_ENV).
marked_bundle() {
  local dir=$1 mark=$2; shift 2
  BUNDLE_ENV=${BUNDLE_ENV:-$(mark_env "$mark")} rt_bundle "$dir" "$@"
}

# ---------------------------------------------------------------- JSON

# json_field KEY < JSON: prints a top-level member (objects/arrays as compact sorted JSON,
# null as "null", booleans as true/false). Exit 3 when the member is absent, 2 when the
# input is not JSON.
json_field() { json_eval "d[sys.argv[2]]" "$1"; }

# json_eval EXPR [ARG] < JSON: prints the python expression EXPR over the parsed document d
# (sys.argv[2] is ARG).
json_eval() {
  "$PY" -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError as e:
    print("invalid JSON: %s" % e, file=sys.stderr); sys.exit(2)
try:
    v = eval(sys.argv[1])
except (KeyError, IndexError, TypeError):
    sys.exit(3)
if v is None: print("null")
elif isinstance(v, bool): print("true" if v else "false")
elif isinstance(v, (dict, list)): print(json.dumps(v, sort_keys=True, separators=(",", ":")))
else: print(v)
' "$1" "${2:-}"
}

# state_field ID KEY: a member of `rt state ID`.
state_field() { rt state "$1" 2>/dev/null | json_field "$2"; }

# wait_status ID STATUS [SECONDS=5]: bounded poll of `rt state` (tests only).
wait_status() {
  local id=$1 want=$2 secs=${3:-5} s="" i
  for ((i = 0; i < secs * 20; i++)); do
    s=$(state_field "$id" status) && [[ "$s" == "$want" ]] && return 0
    sleep 0.05
  done
  echo "wait_status: $id still '${s}' after ${secs}s, wanted '$want'; state: $(rt state "$id" 2>&1)" >&2
  return 1
}
wait_stopped() { wait_status "$1" stopped "${2:-5}"; }

# ---------------------------------------------------------------- driving the runtime

# rt_create ID BUNDLE [CREATE-FLAGS...]: create with stdin </dev/null, stdout to
# $TEST_TMP/ID.out and stderr to $TEST_TMP/ID.err (these become the workload's stdio).
rt_create() {
  local id=$1 bundle=$2; shift 2
  rt create --bundle "$bundle" "$@" "$id" </dev/null >"$(io_file "$id" out)" 2>"$(io_file "$id" err)" ||
    fail "create $id failed (rc $?): $(workload_err "$id")"
}

# io_file ID out|err: where rt_create sends the workload's stdout/stderr ($TEST_TMP/ID.out,
# or a hash of a long ID, which would not fit in a file name).
io_file() {
  local n=$1
  ((${#n} <= 100)) || n=long-$(printf '%s' "$n" | md5sum | cut -c1-16)
  echo "$TEST_TMP/$n.$2"
}

# rt_start ID: start, which must return within 10 s.
rt_start() {
  local rc
  timeout 10 "$REAPER" reaper-runtime --root "$RT_ROOT" start "$1" </dev/null; rc=$?
  [[ $rc -ne 124 ]] || fail "start $1 did not return within 10 s"
  [[ $rc -eq 0 ]] || fail "start $1 failed (rc $rc)"
}

# run_bundle ID BUNDLE: create + start + wait until stopped; the workload's output is in
# workload_out ID / workload_err ID.
run_bundle() {
  rt_create "$1" "$2"
  rt_start "$1"
  wait_stopped "$1" || fail "$1 did not stop"
}
workload_out() { cat "$(io_file "$1" out)"; }
workload_err() { cat "$(io_file "$1" err)"; }

# wait_file PATH [SECONDS=5]: bounded wait for PATH to exist (returns 1 on timeout).
wait_file() {
  local i
  for ((i = 0; i < ${2:-5} * 40; i++)); do
    [[ -e "$1" ]] && return 0
    sleep 0.025
  done
  [[ -e "$1" ]]
}

# ---------------------------------------------------------------- /proc

# proc_stat PID: prints "STATE PPID STARTTIME" of PID (fails if gone).
proc_stat() {
  local s rest
  { s=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  rest=${s##*) }
  local -a fields
  read -r -a fields <<<"$rest"
  echo "${fields[0]} ${fields[1]} ${fields[19]}"
}
proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }
proc_cmdline() {  # args joined by spaces
  local -a a
  mapfile -d '' a 2>/dev/null <"/proc/$1/cmdline" || return 1
  echo "${a[*]}"
}

# pid_alive PID: exists and is not a zombie.
pid_alive() {
  local st
  st=$(proc_stat "$1") || return 1
  [[ ${st%% *} != Z && ${st%% *} != X ]]
}

# snapshot_pids PID...: prints "PID:STARTTIME" for each live pid, to check later that exactly
# these processes are gone (starttime guards against pid reuse).
snapshot_pids() {
  local p st
  for p in "$@"; do
    st=$(proc_stat "$p") || continue
    echo "$p:${st##* }"
  done
}

# still_present SNAPSHOT...: prints "PID state=S ppid=P comm=C" for every snapshotted process
# that still exists in any state (a zombie counts: nobody reaped it).
still_present() {
  local e p t st
  for e in "$@"; do
    p=${e%%:*} t=${e##*:}
    st=$(proc_stat "$p") || continue
    [[ ${st##* } == "$t" ]] || continue
    local s pp
    read -r s pp _ <<<"$st"
    echo "$p state=$s ppid=$pp comm=$(proc_comm "$p")"
  done
}

# assert_snapshot_gone WHAT SNAPSHOT...: every snapshotted process is gone (not even a
# zombie), allowing 500 ms for SIGKILL delivery.
assert_snapshot_gone() {
  local what=$1; shift
  local left i
  for ((i = 0; i < 10; i++)); do
    left=$(still_present "$@")
    [[ -z "$left" ]] && return 0
    sleep 0.05
  done
  fail "$what: processes still present (a zombie means nobody reaped it): $left"
}

# wait_marked_count MARK COMM N [SECONDS=5]: waits until at least N live processes carrying
# MARK have comm COMM.
wait_marked_count() {
  local mark=$1 comm=$2 n=$3 secs=${4:-5} i p c
  for ((i = 0; i < secs * 20; i++)); do
    c=0
    for p in $(marked_pids "$mark"); do [[ "$(proc_comm "$p")" == "$comm" ]] && ((c++)); done
    ((c >= n)) && return 0
    sleep 0.05
  done
  fail "only $c '$comm' processes with mark $mark after ${secs}s (wanted $n)"
}

# _self_pids: this test's bash, its subshells and their ancestors (never leftovers).
_self_pids() {
  local p st
  for p in $$ $BASHPID; do
    while [[ $p -gt 1 ]]; do
      echo "$p"
      st=$(proc_stat "$p") || break
      p=$(cut -d' ' -f2 <<<"$st")
    done
  done
}

# leftover_pids ID [MARK]: live processes that belong to this test's containers: carrying
# MARK, or this test's environment (TEST_TMP=...: a forgotten descendant such as a
# monitor), or mentioning ID, RT_ROOT or TEST_TMP in their cmdline, or with a cwd or an
# open fd under TEST_TMP. Prints "PID comm cmdline" lines.
leftover_pids() {
  local id=$1 mark=${2:-} p pp st stt hit
  local -A self=() fdhit=()
  local -a env cmd
  for p in $(_self_pids); do self[$p]=1; done
  for p in $( (cd / && find /proc/[0-9]*/cwd /proc/[0-9]*/fd/ -maxdepth 1 -lname "$TEST_TMP/*" 2>/dev/null) |
              cut -d/ -f3 | sort -u); do
    fdhit[$p]=1
  done
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ -n "${self[$p]:-}" ]] && continue
    [[ $p == 2 ]] && continue
    { read -r st <"/proc/$p/stat"; } 2>/dev/null || continue
    read -r stt pp _ <<<"${st##*) }"
    [[ $stt == Z || $stt == X || $pp == 2 ]] && continue  # zombie, dead, kernel thread
    hit=${fdhit[$p]:-}
    env=() cmd=()
    mapfile -d '' env 2>/dev/null <"/proc/$p/environ"
    mapfile -d '' cmd 2>/dev/null <"/proc/$p/cmdline"
    local e
    for e in "${env[@]}"; do
      [[ -n "$mark" && "$e" == "REAPER_TEST_MARK=$mark" ]] && hit=1
      [[ "$e" == "TEST_TMP=$TEST_TMP" ]] && hit=1
    done
    for e in "${cmd[@]}"; do
      [[ ( -n "$id" && "$e" == *"$id"* ) || "$e" == *"$RT_ROOT"* || "$e" == *"$TEST_TMP"* ]] && hit=1
    done
    [[ -n "$hit" ]] && echo "$p $(proc_comm "$p") ${cmd[*]}"
  done
}

# assert_root_empty: RT_ROOT does not exist or has no entries.
assert_root_empty() {
  [[ ! -d "$RT_ROOT" ]] && return 0
  local l
  l=$(ls -A "$RT_ROOT")
  [[ -z "$l" ]] || fail "${1:-RT_ROOT} should be empty, has: $l"
}

# assert_nothing_left ID [MARK] [SNAPSHOT...]: after delete, no state, no process of the
# container (workload tree, monitor) and none of the snapshotted processes remains.
assert_nothing_left() {
  local id=$1 mark=${2:-}; shift 2 || shift $#
  assert_root_empty "RT_ROOT after deleting $id"
  (($#)) && assert_snapshot_gone "$id" "$@"
  local left i
  for ((i = 0; i < 10; i++)); do
    left=$(leftover_pids "$id" "$mark")
    [[ -z "$left" ]] && return 0
    sleep 0.05
  done
  fail "processes of $id left after delete:"$'\n'"$left"
}

# assert_refused WHAT: after a capture of a refused command: exit status 1 and a message on
# stderr prefixed "reaper-runtime: ".
assert_refused() {
  [[ $rc -ne 0 ]] || fail "$1: expected an error, got exit 0 (stdout: $out)"
  assert_eq 1 "$rc" "$1: exit status"
  assert_contains "$err" "reaper-runtime: " "$1: stderr"
}

# edit_config DIR PYTHON: rewrites DIR/config.json after running the python statements
# PYTHON on the parsed document c (e.g. 'c["process"]["args"] = "ls"').
edit_config() {
  "$PY" -c '
import json, sys
p = sys.argv[1] + "/config.json"
c = json.load(open(p))
exec(sys.argv[2])
json.dump(c, open(p, "w"), indent=1)
' "$1" "$2" || fail "edit_config $2"
}

# start_receiver NAME [console_receiver.py options...]: starts the console-socket receiver on
# $TEST_TMP/NAME.sock and waits until it listens. Sets RECV_PID; its stdout (what the PTY
# master read) goes to $TEST_TMP/NAME.pty, its stderr to $TEST_TMP/NAME.recv.err.
start_receiver() {
  local name=$1 i; shift
  "$PY" "$(dirname "${BASH_SOURCE[0]}")/console_receiver.py" "$TEST_TMP/$name.sock" \
    --ready "$TEST_TMP/$name.ready" --got "$TEST_TMP/$name.got" --stop "$TEST_TMP/$name.stop" \
    "$@" >"$TEST_TMP/$name.pty" 2>"$TEST_TMP/$name.recv.err" </dev/null &
  RECV_PID=$!
  wait_file "$TEST_TMP/$name.ready" 5
  [[ -e $TEST_TMP/$name.ready ]] || fail "console receiver did not start: $(cat "$TEST_TMP/$name.recv.err")"
}
# wait_receiver_got NAME: the receiver has the master (and applied winsize/input).
wait_receiver_got() {
  wait_file "$TEST_TMP/$1.got" 5
  [[ -e $TEST_TMP/$1.got ]] || fail "no PTY master received on the console socket: $(cat "$TEST_TMP/$1.recv.err")"
}
# finish_receiver NAME: lets the receiver drain and exit (call it in the test's own shell,
# not in a subshell); what it read from the master is then in $TEST_TMP/NAME.pty.
finish_receiver() {
  touch "$TEST_TMP/$1.stop"
  wait "$RECV_PID" || fail "console receiver failed ($?): $(cat "$TEST_TMP/$1.recv.err")"
}

# proc_sid PID: the session id of PID.
proc_sid() {
  local s rest
  { s=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  rest=${s##*) }
  local -a fields
  read -r -a fields <<<"$rest"
  echo "${fields[3]}"
}

# assert_no_marked_alive MARK WHAT: no live process carries MARK (500 ms grace for SIGKILL
# delivery).
assert_no_marked_alive() {
  local left i p
  for ((i = 0; i < 10; i++)); do
    left=$(marked_pids "$1"); [[ -z "$left" ]] && return 0; sleep 0.05
  done
  fail "$2: still alive: $(for p in $left; do echo "$p $(proc_cmdline "$p");"; done)"
}

# marked_pids MARK: the same answer as harness.sh's pids_with_mark, with bash builtins only
# (no two processes forked per /proc entry, no "No such process" noise).
marked_pids() {
  local p e
  local -a env
  for p in /proc/[0-9]*; do
    env=()
    mapfile -d '' env 2>/dev/null <"$p/environ" || continue
    for e in "${env[@]}"; do
      [[ "$e" == "REAPER_TEST_MARK=$1" ]] && { echo "${p#/proc/}"; break; }
    done
  done
}
