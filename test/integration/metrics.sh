# `reaper metrics` (docs/metrics.md) against what really ran through a private containerd:
# containers of two namespaces that exit 0, exit 3, are killed by a signal or still run,
# execs that succeed or cannot be exec'd; the output is parsed with prometheus_client's
# text parser and its values compared with what ran, the audit trail and `reaper overlay
# list --json`. Then `--listen`: the same over HTTP, /healthz, errors, a silent client,
# no fd leak, SIGTERM.
# test-timeout: 180
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/audit-helpers.sh"

source "$(dirname "${BASH_SOURCE[0]}")/../lib/metrics-helpers.sh"

# shellcheck disable=SC2120  # called through capture with flags
reaper_metrics() { "$REAPER" metrics --root "$REAPER_ROOT" "$@"; }

# metrics_check TEXT EXPR...: each Python expression holds over TEXT's samples (v, n, groups).
metrics_check() {
  local text=$1; shift
  printf '%s\n' "$@" >"$TEST_TMP/exprs"
  "$REAPER" overlay list --json >"$TEST_TMP/groups.json" || fail "reaper overlay list --json"
  printf '%s' "$text" | "$PY" "$METRICS_PY" check "$TEST_TMP/exprs" "$TEST_TMP/groups.json" ||
    fail "metrics check failed"
}

# The node's reaper shims as the metric defines them: comm cut to 15 characters, argv[0].
node_shims() {
  local f p a0
  for f in /proc/[0-9]*/comm; do
    p=${f#/proc/}; p=${p%%/*}
    [[ $(cat "$f" 2>/dev/null) == containerd-shim ]] || continue
    [[ $(_proc_state_letter "$p") == Z ]] && continue
    a0=$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | head -n 1)
    [[ ${a0##*/} == containerd-shim-reaper-v2 ]] && echo "$p"
  done
  return 0
}
_proc_state_letter() { local s; read -r s 2>/dev/null <"/proc/$1/stat" || return 0; s=${s##*) }; echo "${s%% *}"; }

NS2=""
# What ran: namespace 1: exit 0, exit 3, a running one with an exec that writes 300 kB
# into its group's upper layer and one that cannot be exec'd; namespace 2: one killed by SIGKILL,
# one running. 6 processes started, 1 failed to exec, 5 exits.
_run_workloads() {
  shim_up
  NS2="$CTRD_NS-two"
  capture rrun -d m-ok sh -c 'exit 0'; assert_eq 0 "$rc" "run m-ok ($err)"
  capture rrun -d m-err sh -c 'exit 3'; assert_eq 0 "$rc" "run m-err ($err)"
  capture rrun -d m-run sleep 1000; assert_eq 0 "$rc" "run m-run ($err)"
  CTRD_NS=$NS2 capture rrun -d m-sig sleep 1000; assert_eq 0 "$rc" "run m-sig ($err)"
  CTRD_NS=$NS2 capture rrun -d m-run2 sleep 1000; assert_eq 0 "$rc" "run m-run2 ($err)"
  wait_task_status m-ok STOPPED || fail "m-ok did not stop"
  wait_task_status m-err STOPPED || fail "m-err did not stop"
  wait_task_status m-run RUNNING || fail "m-run not running"
  CTRD_NS=$NS2 wait_task_status m-run2 RUNNING || fail "m-run2 not running"
  # /tmp/metrics-junk is executable and no program: it passes the lookup of its exec's
  # start and fails its execve (ENOEXEC), an exec_failed start.
  capture cctr task exec --exec-id fill m-run sh -c \
    'head -c 300000 /dev/zero >/tmp/metrics-fill; echo junk >/tmp/metrics-junk; chmod +x /tmp/metrics-junk'
  assert_eq 0 "$rc" "exec fill ($err)"
  capture cctr task exec --exec-id nope m-run /tmp/metrics-junk
  assert_eq 126 "$rc" "exec of a file execve refuses ($err)"
  CTRD_NS=$NS2 wait_task_status m-sig RUNNING || fail "m-sig not running"
  capture cctr_ns "$NS2" task kill -s KILL m-sig; assert_eq 0 "$rc" "kill m-sig ($err)"
  CTRD_NS=$NS2 wait_task_status m-sig STOPPED || fail "m-sig did not stop"
  wait_records 12 || fail "12 audit records expected"
}

test_metrics_match_what_ran() {
  _run_workloads
  local before after text
  before=$(node_shims | wc -l)
  capture reaper_metrics
  assert_eq 0 "$rc" "reaper metrics ($err)"
  text=$out
  after=$(node_shims | wc -l)
  local shims="v('reaper_shims') >= 5"
  [[ $before == "$after" ]] && shims="v('reaper_shims') == $before"
  local ns1=$CTRD_NS ns2=$NS2
  metrics_check "$text" \
    "v('reaper_containers', namespace='$ns1', status='stopped') == 2" \
    "v('reaper_containers', namespace='$ns1', status='running') == 1" \
    "v('reaper_containers', namespace='$ns1', status='created') == 0" \
    "n('reaper_containers', namespace='$ns1', status='paused') == 1" \
    "v('reaper_containers', namespace='$ns2', status='stopped') == 1" \
    "v('reaper_containers', namespace='$ns2', status='running') == 1" \
    "v('reaper_containers') == 5" \
    "v('reaper_process_starts_total', namespace='$ns1', process='init', result='started') == 3" \
    "v('reaper_process_starts_total', namespace='$ns1', process='exec', result='started') == 1" \
    "v('reaper_process_starts_total', namespace='$ns1', process='exec', result='exec_failed') == 1" \
    "v('reaper_process_starts_total', namespace='$ns2', process='init', result='started') == 2" \
    "v('reaper_process_starts_total') == 7" \
    "v('reaper_process_exits_total', namespace='$ns1', process='init', **{'class': 'ok'}) == 1" \
    "v('reaper_process_exits_total', namespace='$ns1', process='init', **{'class': 'error'}) == 1" \
    "v('reaper_process_exits_total', namespace='$ns1', process='exec', **{'class': 'ok'}) == 1" \
    "v('reaper_process_exits_total', namespace='$ns1', process='exec', **{'class': 'exec_failed'}) == 1" \
    "v('reaper_process_exits_total', namespace='$ns2', process='init', **{'class': 'signal'}) == 1" \
    "v('reaper_process_exits_total') == 5" \
    "v('reaper_spawn_to_running_seconds_count') == 6" \
    "v('reaper_spawn_to_running_seconds_bucket', le='+Inf') == 6" \
    "0 < v('reaper_spawn_to_running_seconds_sum') < 60" \
    "v('reaper_audit_records_written_total') == 12" \
    "v('reaper_audit_records_dropped_total') == 0" \
    "v('reaper_audit_trail_unreadable_lines') == 0" \
    "len(groups) >= 1" \
    "v('reaper_overlay_groups') == len(groups)" \
    "all(v('reaper_overlay_group_used_bytes', group=g['group']) == g['usedBytes'] for g in groups)" \
    "all(n('reaper_overlay_group_limit_bytes', group=g['group']) == (g['limitBytes'] is not None) for g in groups)" \
    "all(v('reaper_overlay_group_limit_bytes', group=g['group']) == (g['limitBytes'] or 0) for g in groups)" \
    "all(v('reaper_overlay_group_used_bytes', group=g['group']) > 0 for g in groups)" \
    "v('reaper_overlay_group_in_use') == sum(g['inUse'] for g in groups)" \
    "$shims" \
    "v('reaper_shims') >= 5" \
    "v('reaper_shim_resident_memory_bytes') >= v('reaper_shims') * 100000" \
    "v('reaper_shim_resident_memory_max_bytes') <= v('reaper_shim_resident_memory_bytes')" \
    "v('reaper_build_info') == 1"
  # Buckets are cumulative.
  printf '%s' "$text" | "$PY" -c '
import json, sys
b = [(float(s[1]["le"]), s[2]) for s in json.load(sys.stdin) if s[0] == "reaper_spawn_to_running_seconds_bucket"]
b.sort()
assert all(x[1] <= y[1] for x, y in zip(b, b[1:])), b
' < <(printf '%s' "$text" | "$PY" "$METRICS_PY" parse) || fail "histogram buckets not cumulative"
  # --output writes the same families atomically; a bad flag changes nothing.
  capture reaper_metrics --output "$TEST_TMP/reaper.prom"
  assert_eq 0 "$rc" "--output ($err)"
  assert_eq "$(printf '%s' "$text" | "$PY" "$METRICS_PY" families)" \
    "$("$PY" "$METRICS_PY" families <"$TEST_TMP/reaper.prom")" "families of --output"
  capture reaper_metrics --bogus
  assert_eq 2 "$rc" "unknown flag"
  capture reaper_metrics --listen 127.0.0.1
  assert_eq 2 "$rc" "--listen without a port"
  assert_contains "$err" "ADDRESS:PORT" "--listen error"
  capture reaper_metrics --listen '::1:80'
  assert_eq 2 "$rc" "unbracketed IPv6"
}

# The spawnNs of start records (docs/audit.md) is what the histogram is made of.
test_metrics_start_records_carry_spawn_time() {
  shim_up
  capture rrun --rm m-one true; assert_eq 0 "$rc" "run ($err)"
  wait_records 2 || fail "records"
  check_record "$(audit --json | sed -n 1p)" 'r["event"] == "start"' \
    'isinstance(r["spawnNs"], int)' 'r["spawnNs"] <= r["timeNs"]' 'r["timeNs"] - r["spawnNs"] < 30e9'
  check_record "$(audit --json | sed -n 2p)" 'r["event"] == "exit"' '"spawnNs" not in r'
}

test_metrics_listen_serves_metrics_and_health() {
  _run_workloads
  trap 'kill -KILL "$SERVER_PID" 2>/dev/null; containerd_stop; harness_cleanup' EXIT
  start_server
  local r fds_before fds_after
  fds_before=$(find "/proc/$SERVER_PID/fd" -mindepth 1 | wc -l)
  r=$(http_req "$PORT" 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
  assert_eq 200 "$(status_of "$r")" "GET /metrics: $r"
  assert_contains "$r" "Content-Type: text/plain; version=0.0.4" "content type"
  local served; served=$(body_of "$r" | tr -d '\r')
  assert_eq "$(reaper_metrics | "$PY" "$METRICS_PY" families)" \
    "$(printf '%s' "$served" | "$PY" "$METRICS_PY" families)" "the same families as stdout"
  metrics_check "$served" "v('reaper_containers') == 5" "v('reaper_process_exits_total') == 5" \
    "v('reaper_spawn_to_running_seconds_count') == 6"
  r=$(http_req "$PORT" 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  assert_eq 200 "$(status_of "$r")" "GET /healthz"
  assert_eq ok "$(body_of "$r" | tr -d '\r')" "/healthz body"
  r=$(http_req "$PORT" 'HEAD /healthz HTTP/1.0\r\n\r\n')
  assert_eq 200 "$(status_of "$r")" "HEAD /healthz"
  assert_eq "" "$(body_of "$r" | tr -d '\r')" "HEAD has no body"
  r=$(http_req "$PORT" 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n')
  assert_eq 404 "$(status_of "$r")" "unknown path"
  r=$(http_req "$PORT" 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
  assert_eq 405 "$(status_of "$r")" "POST"
  assert_contains "$r" "Allow: GET, HEAD" "405's Allow"
  r=$(http_req "$PORT" 'hello there\r\n\r\n')
  assert_eq 400 "$(status_of "$r")" "garbage"
  r=$(http_req "$PORT" '\x00\x01\xff\r\n\r\n')
  assert_eq 400 "$(status_of "$r")" "binary garbage"
  r=$(http_req "$PORT" 'GET /metrics HTTP/1.1\r\n\r\n')
  assert_eq 400 "$(status_of "$r")" "HTTP/1.1 without Host"
  r=$(http_req "$PORT" 'GET /metrics HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')
  assert_eq 400 "$(status_of "$r")" "a header without a colon"
  r=$(http_req "$PORT" "GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n")
  assert_eq 431 "$(status_of "$r")" "an oversized head"
  # A client that connects and says nothing, and one that stops half-way, do not delay
  # another; the server drops them after its read deadline.
  "$PY" - "$PORT" <<'PY' || fail "a silent client blocked another"
import socket, sys, time
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port))
partial = socket.create_connection(("127.0.0.1", port))
partial.sendall(b"GET /metr")
t = time.monotonic()
other = socket.create_connection(("127.0.0.1", port), timeout=3)
other.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
answer = other.recv(4096)
assert answer.startswith(b"HTTP/1.1 200"), answer
assert time.monotonic() - t < 2, "answered after %.1fs" % (time.monotonic() - t)
silent.settimeout(15)
assert silent.recv(1) == b"", "silent client not dropped"
partial.settimeout(15)
assert partial.recv(1) == b"", "partial client not dropped"
PY
  # No fd left behind by all of that.
  fds_after=$(find "/proc/$SERVER_PID/fd" -mindepth 1 | wc -l)
  assert_eq "$fds_before" "$fds_after" "server fds (before/after)"
  # SIGTERM: it ends at once, status 0, the port closed, nothing left.
  kill -TERM "$SERVER_PID"
  local i st
  for ((i = 0; i < 100; i++)); do
    [[ $(_proc_state_letter "$SERVER_PID") == [^Z]* ]] || break
    sleep 0.02
  done
  [[ $(_proc_state_letter "$SERVER_PID") == [^Z]* ]] && fail "server still running 2 s after SIGTERM"
  wait "$SERVER_PID"; st=$?
  assert_eq 0 "$st" "exit status after SIGTERM"
  assert_eq "" "$(pgrep -P "$$" -f 'metrics --root' || true)" "processes left"
  "$PY" -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2); sys.exit(1)
except ConnectionRefusedError: pass' "$PORT" || fail "port $PORT still accepts after SIGTERM"
  SERVER_PID=""
  capture reaper_metrics --listen "127.0.0.1:$PORT" --output x
  assert_eq 2 "$rc" "--listen with --output"
}
