# shellcheck shell=bash
# Helpers of the audit trail's tests (audit_trail.sh, audit_runtime.sh).

# test/run gives every test REAPER_AUDIT_DIR=$TEST_TMP/audit.
audit() { "$REAPER" audit --dir "$REAPER_AUDIT_DIR" "$@"; }

# wait_records N [FILTERS...]: bounded wait until `reaper audit FILTERS` shows N records.
wait_records() {
  local n=$1 i got=0; shift
  for ((i = 0; i < 200; i++)); do
    got=$(audit --json "$@" | wc -l)
    ((got >= n)) && return 0
    sleep 0.025
  done
  echo "wait_records: $got records for $*, wanted $n; trail: $(cat "$REAPER_AUDIT_DIR"/audit.jsonl* 2>&1)" >&2
  return 1
}

# check_record JSON-LINE PYTHON-EXPRESSION...: each expression (over the record `r`) is true.
check_record() {
  local line=$1; shift
  "$PY" - "$line" "$@" <<'PY' || fail "audit record check failed for: $line"
import json, sys
r = json.loads(sys.argv[1])
for expr in sys.argv[2:]:
    if not eval(expr):
        print("false: %s" % expr, file=sys.stderr)
        sys.exit(1)
PY
}

read_counter() { sed -n "s/^$1 0*\([0-9]\)/\1/p" "$REAPER_AUDIT_DIR/counters"; }

