# `reaper metrics --listen` and a large audit trail (docs/metrics.md, "Cost"): a scrape
# reads only what the trail gained since the last one, through appends, a record half
# written, rotation, the oldest file removed and a file rewritten in place, and says at
# each step what a fresh `reaper metrics` of the same trail says. No containerd: the trail
# is written here, in the format reaper writes (docs/audit.md).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/runtime-helpers.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/metrics-helpers.sh"

# trail_records FILE FIRST COUNT [failed-open|failed-exit|half|rest]: appends COUNT start
# and exit records of processes FIRST.. to FILE; then, with failed-open, the start of a
# process that could not be exec'd (id FIRST+COUNT) whose exit is left for the next call
# with failed-exit (which writes that exit first); half ends FILE with the first half of a
# record, rest writes its second half.
trail_records() {
  "$PY" - "$@" <<'PY'
import json, sys
path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else ""
T = 1796380745000000000
def rec(event, n, **extra):
    r = {"v": 1, "event": event, "time": "2026-12-04T10:00:00Z", "timeNs": T + n * 1000,
         "namespace": "k8s.io" if n % 2 else "trail", "container": "c", "containerId": "id%d" % n,
         "execId": "e%d" % n if n % 3 == 0 else None, "pid": 1000 + n, "argv": ["/bin/sh", "-c", "x" * 300],
         "cwd": "/", "user": {"uid": 0, "gid": 0, "groups": [0]}, "terminal": False, "error": None}
    r.update(extra)
    return json.dumps(r, separators=(",", ":")) + "\n"
def exit_of(n, **extra):
    fields = {"signal": 9, "exitStatus": 137} if n % 5 == 0 else {"exitStatus": n % 2, "signal": None}
    fields.update(extra)
    return rec("exit", n, durationNs=5000, **fields)
out = []
if mode == "failed-exit":
    out.append(exit_of(first - 1, exitStatus=127, signal=None))
if mode == "rest":
    out.append(rec("start", first - 1, spawnNs=T)[40:])
for n in range(first, first + count):
    out.append(rec("start", n, spawnNs=T + n * 1000 - (n % 7) * 400000))
    out.append(exit_of(n))
if mode == "failed-open":
    out.append(rec("start", first + count, error='exec: "x": executable file not found in $PATH'))
if mode == "half":
    out.append(rec("start", first + count, spawnNs=T)[:40])
with open(path, "a") as f:
    f.write("".join(out))
PY
}

# The families the audit trail makes, as text.
trail_families() { grep -E '^(# (HELP|TYPE) )?reaper_(process_|spawn_to_running|audit_trail_unreadable)'; }

# scrape_matches STEP: the server's scrape and a fresh `reaper metrics` say the same of
# the trail; sets SCRAPED (the scrape's text) and READ (bytes the server read for it).
scrape_matches() {
  local before after r fresh
  before=$(awk '/^rchar:/ { print $2 }' "/proc/$SERVER_PID/io")
  r=$(http_req "$PORT" 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
  after=$(awk '/^rchar:/ { print $2 }' "/proc/$SERVER_PID/io")
  assert_eq 200 "$(status_of "$r")" "$1: GET /metrics"
  SCRAPED=$(body_of "$r" | tr -d '\r' | trail_families)
  READ=$((after - before))
  fresh=$("$REAPER" metrics --root "$REAPER_ROOT" | trail_families)
  assert_eq "$fresh" "$SCRAPED" "$1: the scrape against a fresh count"
}

# v_of EXPR...: each holds over SCRAPED (metrics-check.py's v() and n()).
v_of() { metrics_check_text "$SCRAPED" "$@"; }
metrics_check_text() {
  local text=$1; shift
  printf '%s\n' "$@" >"$TEST_TMP/exprs"
  printf '%s\n' "$text" | "$PY" "$METRICS_PY" check "$TEST_TMP/exprs" "" || fail "metrics check failed"
}

test_metrics_listen_reads_only_what_the_trail_gained() {
  local d=$REAPER_AUDIT_DIR size
  mkdir -p "$d"
  # Three files of 6000 processes each (about 5 MiB each). The exit of process 5999's
  # failed start is in the next file; the live file has one of its own.
  trail_records "$d/audit.jsonl.2" 0 5999 failed-open
  trail_records "$d/audit.jsonl.1" 6000 5999 failed-exit
  trail_records "$d/audit.jsonl" 12000 6000 failed-open
  trail_records "$d/audit.jsonl" 18001 10 failed-exit
  size=$(cat "$d"/audit.jsonl* | wc -c)
  ((size > 12 * 1024 * 1024)) || fail "trail of $size bytes only"
  REAPER_ROOT=$TEST_TMP/state  # no containers: only the trail counts
  mkdir -p "$REAPER_ROOT"
  start_server
  trap 'kill -KILL "$SERVER_PID" 2>/dev/null; harness_cleanup' EXIT

  scrape_matches first
  ((READ >= size)) || fail "the first scrape read $READ bytes of a $size-byte trail"
  v_of "v('reaper_process_starts_total') == 18010" "v('reaper_process_exits_total') == 18010" \
    "v('reaper_process_exits_total', **{'class': 'exec_failed'}) == 2" \
    "v('reaper_process_starts_total', result='exec_failed') == 2" \
    "v('reaper_spawn_to_running_seconds_count') == 18008" "v('reaper_audit_trail_unreadable_lines') == 0"

  # Appends, the last record half written: the scrape reads those bytes, not the trail.
  trail_records "$d/audit.jsonl" 18011 3 half
  scrape_matches append
  ((READ < 1024 * 1024)) || fail "a scrape after an append read $READ bytes of a $size-byte trail"
  v_of "v('reaper_process_starts_total') == 18013" "v('reaper_audit_trail_unreadable_lines') == 0"

  # Rotation, as the writer does it (renames), with the half record left in what becomes
  # audit.jsonl.1 (a line that will never be completed), then a new live file.
  mv "$d/audit.jsonl.2" "$d/audit.jsonl.3"
  mv "$d/audit.jsonl.1" "$d/audit.jsonl.2"
  mv "$d/audit.jsonl" "$d/audit.jsonl.1"
  trail_records "$d/audit.jsonl" 20000 5
  scrape_matches rotation
  ((READ < 1024 * 1024)) || fail "a scrape after a rotation read $READ bytes"
  v_of "v('reaper_process_starts_total') == 18018" "v('reaper_audit_trail_unreadable_lines') == 1"

  # The oldest file goes, with the start that made an exit of the next one exec_failed.
  rm "$d/audit.jsonl.3"
  scrape_matches "oldest removed"
  ((READ < 1024 * 1024)) || fail "a scrape after the oldest file went read $READ bytes"
  v_of "v('reaper_process_exits_total', **{'class': 'exec_failed'}) == 1" \
    "v('reaper_process_exits_total', **{'class': 'error'}) >= 1"

  # A file rewritten in place (same inode, other records) is counted from its start.
  : >"$d/audit.jsonl.2"
  trail_records "$d/audit.jsonl.2" 30000 7000
  scrape_matches "rewritten in place"

  # The live file truncated and written again, shorter than what was read of it.
  : >"$d/audit.jsonl"
  trail_records "$d/audit.jsonl" 40000 2
  scrape_matches "live file truncated"

  # A half record completed is counted once.
  trail_records "$d/audit.jsonl" 40002 1 half
  scrape_matches "half written"
  trail_records "$d/audit.jsonl" 40004 0 rest
  scrape_matches "completed"

  stop_server
  SERVER_PID=""
}

# The trail as reaper-runtime's monitors write and rotate it (files of 4 KiB, three of
# them, so the oldest is dropped again and again), with a process that cannot be exec'd
# among the others: after every second container the server's scrape says what a fresh
# count says.
test_metrics_listen_follows_the_trail_reaper_writes() {
  export REAPER_AUDIT_MAX_SIZE=4k REAPER_AUDIT_FILES=3
  REAPER_ROOT=$TEST_TMP/state  # no containers of containerd: only the trail counts
  mkdir -p "$REAPER_ROOT" "$REAPER_AUDIT_DIR"
  printf 'junk\n' >"$TEST_TMP/junk"
  chmod +x "$TEST_TMP/junk"  # passes the lookup at create, fails its execve (ENOEXEC)
  rt_bundle "$TEST_TMP/ok" sh -c 'exit 0' "$(printf 'x%.0s' {1..300})"
  rt_bundle "$TEST_TMP/bad" "$TEST_TMP/junk"
  start_server
  trap 'kill -KILL "$SERVER_PID" 2>/dev/null; harness_cleanup' EXIT
  local i
  for i in $(seq 1 16); do
    if ((i % 5 == 0)); then run_bundle "w$i" "$TEST_TMP/bad"; else run_bundle "w$i" "$TEST_TMP/ok"; fi
    rt delete "w$i" || fail "delete w$i"
    ((i % 2)) || scrape_matches "after $i containers"
  done
  assert_file "$REAPER_AUDIT_DIR/audit.jsonl.2"
  v_of "v('reaper_process_exits_total', **{'class': 'exec_failed'}) >= 1" \
    "v('reaper_process_starts_total') < 32"
  stop_server
  SERVER_PID=""
}
