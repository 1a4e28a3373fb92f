# shellcheck shell=bash
# Every container visible to the operator's CLI (docs/cli.md, "Containers and namespaces"):
# `reaper list`, `state`, `ps` and `wait` see the containers of every containerd namespace
# under the state root (the shim's <root>/<namespace>/<id>) and reaper-runtime's
# (<root>/<id>), with a NAMESPACE column; -n narrows; an id unique across namespaces
# resolves, an ambiguous one is an error naming the namespaces, a missing one says where
# the CLI looked. REAPER_ROOT from reaper.conf is honoured by the shim, reaper-runtime and
# the CLI alike. Containers are started through a real containerd (ctr) and reaper-runtime.
# test-timeout: 120
# containerd: matrix
source "$(dirname "${BASH_SOURCE[0]}")/../lib/shim-helpers.sh"

NS2=rtest-second

# ctr in namespace NS, running ID through reaper detached: sleep 1000 from the empty rootfs.
run_in() {  # run_in NS ID
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$1" run --fifo-dir "$CTRD_FIFO" \
    --runtime io.containerd.reaper.v2 --env "PATH=$CTRD_DEFAULT_PATH" --rootfs -d "$ROOTFS" "$2" sleep 1000
}

# A reaper-runtime container ID (sleep 1000) under the runtime's DEFAULT root: no --root.
runtime_run() {  # runtime_run ID
  make_bundle "$TEST_TMP/bundle-$1" sleep 1000
  timeout 10 "$REAPER" reaper-runtime run --detach --bundle "$TEST_TMP/bundle-$1" "$1" \
    </dev/null >/dev/null 2>"$TEST_TMP/rt-$1.err" || fail "reaper-runtime run $1: $(cat "$TEST_TMP/rt-$1.err")"
}

# Cleanup: reaper-runtime's containers under ROOT, then the fixture and the harness.
cleanup_root() {
  local d
  for d in "${CLEAN_ROOT:-/nonexistent}"/*/state.json; do
    [[ -f $d ]] || continue
    d=${d%/state.json}
    "$REAPER" reaper-runtime --root "$CLEAN_ROOT" delete --force "${d##*/}" >/dev/null 2>&1
  done
}

# The fixture with the state root from the environment (shim_up) or from reaper.conf.
setup() {  # setup env|conf
  if [[ $1 == conf ]]; then
    unset REAPER_ROOT
    CLEAN_ROOT=$TEST_TMP/conf-root
    printf '# the node'"'"'s state root\nREAPER_ROOT=%s\n' "$CLEAN_ROOT" >"$REAPER_CONFIG"
    trap 'cleanup_root; containerd_stop; harness_cleanup' EXIT
    containerd_start --no-cri || fail "containerd_start"
    ROOTFS=$TEST_TMP/rootfs
    mkdir -p "$ROOTFS"
  else
    shim_up
    CLEAN_ROOT=$REAPER_ROOT
    trap 'cleanup_root; containerd_stop; harness_cleanup' EXIT
  fi
}

stop_in() {  # stop_in NS ID: kill and delete a ctr container
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$1" task kill -s KILL "$2" >/dev/null 2>&1
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$1" task delete "$2" >/dev/null 2>&1 ||
    "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$1" task delete --force "$2" >/dev/null 2>&1
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$1" container delete "$2" >/dev/null 2>&1
}

# The fields "NAMESPACE ID STATUS" of `reaper list`, sorted.
list_rows() { "$REAPER" list "$@" | awk 'NR > 1 { print $1, $2, $3 }' | sort; }

test_list_shows_every_namespace_and_n_narrows() {
  setup env
  run_in "$CTRD_NS" a1 || fail "ctr run a1: $(containerd_log_tail 10)"
  run_in "$NS2" b1 || fail "ctr run b1"
  runtime_run r1
  local want
  want=$(printf '%s\n' "- r1 running" "$CTRD_NS a1 running" "$NS2 b1 running" | sort)
  assert_eq "$want" "$(list_rows)" "reaper list (default root from REAPER_ROOT)"
  assert_eq "NAMESPACE" "$("$REAPER" list | awk 'NR == 1 { print $1 }')" "header"
  assert_eq "$NS2 b1 running" "$(list_rows -n "$NS2")" "list -n $NS2"
  assert_eq "$CTRD_NS a1 running" "$(list_rows --namespace "$CTRD_NS")" "list --namespace"
  assert_eq "- r1 running" "$(list_rows -n -)" "list -n - (reaper-runtime's)"
  assert_eq "" "$(list_rows -n nosuchns)" "list -n of an unknown namespace"
  # --json: one object per container, "namespace" null for reaper-runtime's.
  local json
  json=$("$REAPER" list --json) || fail "list --json"
  assert_eq "$want" "$(python3 -c '
import json, sys
for c in json.loads(sys.argv[1]): print(c["namespace"] or "-", c["id"], c["status"])' "$json" | sort)" "list --json"
  assert_eq $'a1\nb1\nr1' "$("$REAPER" list -q | sort)" "list -q"
  stop_in "$CTRD_NS" a1; stop_in "$NS2" b1
}

test_ids_resolve_across_namespaces() {
  setup env
  run_in "$CTRD_NS" a1 || fail "ctr run a1"
  run_in "$NS2" b1 || fail "ctr run b1"
  run_in "$CTRD_NS" dup || fail "ctr run dup"
  run_in "$NS2" dup || fail "ctr run dup in $NS2"
  # Unique ids resolve without -n, whichever namespace they are in.
  capture "$REAPER" state b1
  assert_eq 0 "$rc" "state b1 ($err)"
  assert_contains "$out" "Namespace: $NS2"
  assert_contains "$out" "Status:    running"
  capture "$REAPER" state --json a1
  assert_eq "$CTRD_NS running" "$(python3 -c 'import json,sys; c=json.loads(sys.argv[1]); print(c["namespace"], c["status"])' "$out")" "state --json a1"
  local pid; pid=$("$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$NS2" task ls | awk '$1 == "b1" { print $2 }')
  capture "$REAPER" ps b1
  assert_eq 0 "$rc" "ps b1 ($err)"
  assert_contains "$out" "$pid"
  assert_contains "$out" "sleep 1000"
  # An id in two namespaces: an error naming both; -n picks one.
  capture "$REAPER" state dup
  assert_eq 1 "$rc" "state of an ambiguous id"
  assert_contains "$err" "several namespaces"
  assert_contains "$err" "$CTRD_NS"
  assert_contains "$err" "$NS2"
  assert_contains "$err" "-n NS"
  capture "$REAPER" ps dup
  assert_eq 1 "$rc" "ps of an ambiguous id"
  capture "$REAPER" state -n "$NS2" dup
  assert_eq 0 "$rc" "state -n $NS2 dup ($err)"
  assert_contains "$out" "Namespace: $NS2"
  # wait resolves the same way: the workload's status (SIGKILL: 137).
  "$REAPER" wait b1 >/dev/null 2>&1 & local waiter=$!
  "$CTRD_CTR" --address "$CTRD_SOCK" --namespace "$NS2" task kill -s KILL b1 || fail "kill b1"
  local st; wait "$waiter"; st=$?
  assert_eq 137 "$st" "reaper wait b1 after SIGKILL"
  capture "$REAPER" wait dup
  assert_eq 125 "$rc" "wait on an ambiguous id"
  assert_contains "$err" "several namespaces"
  stop_in "$CTRD_NS" a1; stop_in "$NS2" b1; stop_in "$CTRD_NS" dup; stop_in "$NS2" dup
}

test_missing_id_says_where_it_looked() {
  setup env
  run_in "$NS2" b1 || fail "ctr run b1"
  capture "$REAPER" state nothere
  assert_eq 1 "$rc" "state of a missing id"
  assert_contains "$err" '"nothere" does not exist'
  assert_contains "$err" "$REAPER_ROOT (reaper-runtime's)"
  assert_contains "$err" "$REAPER_ROOT/$NS2"
  capture "$REAPER" wait nothere
  assert_eq 125 "$rc" "wait on a missing id"
  assert_contains "$err" "$REAPER_ROOT/$NS2"
  capture "$REAPER" state -n "$CTRD_NS" b1
  assert_eq 1 "$rc" "state -n of the wrong namespace"
  assert_contains "$err" "$REAPER_ROOT/$CTRD_NS"
  capture "$REAPER" list -n ../x
  assert_eq 2 "$rc" "a namespace that is not a name"
  stop_in "$NS2" b1
}

# REAPER_ROOT in reaper.conf (REAPER_CONFIG), not in the environment: the shim keeps its
# containers there, reaper-runtime's default --root is there, the CLI lists there.
test_reaper_root_from_reaper_conf() {
  setup conf
  [[ -z ${REAPER_ROOT:-} ]] || fail "test setup: REAPER_ROOT is set"
  run_in "$CTRD_NS" c1 || fail "ctr run c1: $(containerd_log_tail 10)"
  runtime_run r2
  assert_file "$CLEAN_ROOT/$CTRD_NS/c1/state.json"
  assert_file "$CLEAN_ROOT/r2/state.json"
  assert_eq "$(printf '%s\n' "- r2 running" "$CTRD_NS c1 running" | sort)" "$(list_rows)" "reaper list"
  capture "$REAPER" state c1
  assert_eq 0 "$rc" "state c1 ($err)"
  assert_contains "$(printf '%s' "$out" | grep State:)" "$CLEAN_ROOT/$CTRD_NS/c1"
  # The environment still wins over the file.
  assert_eq "" "$(REAPER_ROOT=$TEST_TMP/elsewhere "$REAPER" list -q)" "REAPER_ROOT from the environment"
  stop_in "$CTRD_NS" c1
  assert_no_file "$CLEAN_ROOT/$CTRD_NS/c1"
}
