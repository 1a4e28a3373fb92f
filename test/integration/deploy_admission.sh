# The admission policies (deploy/kubernetes/50-admission-policy.yaml and the chart's)
# evaluated by a real CEL evaluator against admission requests built like the API
# server's: every side door refused, the ways in that should stay open allowed
# (test/lib/admission-cases.mjs lists them; test/lib/admission-eval.mjs says what of the
# API server is modelled). Needs node and the npm packages of test/lib/node-deps.sh.
# test-timeout: 300
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node-deps.sh"

PY=/usr/bin/python3

# yaml_to_json FILE... > JSON array of every document
yaml_to_json() {
  "$PY" -c 'import sys, json, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d is not None]
json.dump(docs, sys.stdout)' "$@"
}

# admission_run OBJECTS.json CONFIG_JSON: runs every case; prints the evaluator's lines.
admission_run() {
  node_deps || fail "npm packages not available"
  local d=$TEST_TMP/eval
  mkdir -p "$d"
  cp "$TOP/test/lib/admission-eval.mjs" "$TOP/test/lib/admission-cases.mjs" "$d/"
  ln -sfn "$NODE_DEPS/node_modules" "$d/node_modules"
  printf '%s\n' "$2" >"$d/config.json"
  node "$d/admission-eval.mjs" "$1" "$d/admission-cases.mjs" "$d/config.json"
}

MANIFEST_CONFIG='{"allowKey": "reaper.runtime/allowed", "allowValue": "true",
  "adminGroups": ["system:masters", "reaper-admins"], "classes": ["reaper-v2"], "handler": "reaper-v2"}'

test_admission_manifests_close_every_side_door() {
  yaml_to_json "$TOP"/deploy/kubernetes/*.yaml >"$TEST_TMP/objs.json" || fail "manifests"
  capture admission_run "$TEST_TMP/objs.json" "$MANIFEST_CONFIG"
  [[ $rc == 0 ]] || fail "admission cases:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "of"
  # Each door has its refusal among the cases that ran.
  local door
  for door in "already labelled" "labels an existing namespace" "status subresource" \
    "second RuntimeClass" "Deployment with a reaper pod template in an unlabelled" \
    "CronJob with a reaper pod template in an unlabelled" "tenant exec into" "tenant attach into" \
    "ephemeral container to a reaper pod"; do
    grep -q "^ok .*$door.*(denied by" <<<"$out" || fail "no refused case for: $door"$'\n'"$out"
  done
}

# The examples (examples/): their namespace is an administrator's to create (it carries
# the allow label); in it a tenant may create every example workload; elsewhere none.
test_admission_examples_admitted_only_in_their_namespace() {
  yaml_to_json "$TOP"/deploy/kubernetes/*.yaml >"$TEST_TMP/objs.json" || fail "manifests"
  yaml_to_json "$TOP"/examples/*.yaml "$TOP"/examples/*/*.yaml >"$TEST_TMP/examples.json" || fail "examples"
  node_deps || fail "npm packages not available"
  local d=$TEST_TMP/eval
  mkdir -p "$d"
  cp "$TOP"/test/lib/admission-{eval,cases,example-cases}.mjs "$d/"
  ln -sfn "$NODE_DEPS/node_modules" "$d/node_modules"
  "$PY" -c 'import json, sys
c = json.loads(sys.argv[1]); c["examples"] = json.load(open(sys.argv[2]))
print(json.dumps(c))' "$MANIFEST_CONFIG" "$TEST_TMP/examples.json" >"$d/config.json" || fail "config"
  capture node "$d/admission-eval.mjs" "$TEST_TMP/objs.json" "$d/admission-example-cases.mjs" "$d/config.json"
  [[ $rc == 0 ]] || fail "admission cases:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "16 of 16 admission cases as expected"
}

# The evaluator really judges: a policy that lets everything through (each validation
# made true) fails the refused cases, and a binding that selects the wrong namespaces
# fails the allowed ones.
test_admission_cases_fail_on_broken_policies() {
  yaml_to_json "$TOP"/deploy/kubernetes/*.yaml >"$TEST_TMP/objs.json" || fail "manifests"
  "$PY" - "$TEST_TMP/objs.json" "$TEST_TMP/open.json" "$TEST_TMP/inverted.json" <<'PY' || fail "mutate"
import json, sys, copy
objs = json.load(open(sys.argv[1]))
open_ = copy.deepcopy(objs)
for o in open_:
    if o["kind"] == "ValidatingAdmissionPolicy":
        for v in o["spec"]["validations"]:
            v["expression"] = "true || (" + v["expression"] + ")"
json.dump(open_, open(sys.argv[2], "w"))
inv = copy.deepcopy(objs)
for o in inv:
    if o["kind"] == "ValidatingAdmissionPolicyBinding" and "matchResources" in o["spec"]:
        for e in o["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]:
            e["operator"] = {"In": "NotIn", "NotIn": "In"}[e["operator"]]
json.dump(inv, open(sys.argv[3], "w"))
PY
  capture admission_run "$TEST_TMP/open.json" "$MANIFEST_CONFIG"
  assert_ne 0 "$rc" "an open policy must fail the cases"
  assert_contains "$out" "FAIL tenant creates a namespace already labelled: expected deny"
  capture admission_run "$TEST_TMP/inverted.json" "$MANIFEST_CONFIG"
  assert_ne 0 "$rc" "inverted bindings must fail the cases"
  assert_contains "$out" "FAIL pod of class reaper-v2 in an allowed namespace: expected allow"
}

# The chart's policies with other names: renamed class, an extra class, another admin
# group, another allow label; the same cases with that configuration.
test_admission_chart_variants_close_every_side_door() {
  source "$TOP/test/lib/deploy-render.sh"
  local chart=$TOP/deploy/helm/reaper
  helm_render "$chart" >"$TEST_TMP/default.yaml" || fail "render defaults"
  yaml_to_json "$TEST_TMP/default.yaml" >"$TEST_TMP/default.json"
  capture admission_run "$TEST_TMP/default.json" "$MANIFEST_CONFIG"
  [[ $rc == 0 ]] || fail "chart defaults:"$'\n'"$out"
  cat >"$TEST_TMP/values.yaml" <<'YAML'
runtimeClass:
  name: hostrun
admission:
  adminGroups: ["platform:node-admins"]
  extraRuntimeClassNames: ["hostrun-debug"]
  namespaceLabel:
    key: example.com/node-tools
    value: "allowed"
YAML
  helm_render "$chart" -f "$TEST_TMP/values.yaml" >"$TEST_TMP/renamed.yaml" || fail "render renamed"
  yaml_to_json "$TEST_TMP/renamed.yaml" >"$TEST_TMP/renamed.json"
  capture admission_run "$TEST_TMP/renamed.json" '{"allowKey": "example.com/node-tools", "allowValue": "allowed",
    "adminGroups": ["platform:node-admins"], "classes": ["hostrun", "hostrun-debug"], "handler": "reaper-v2"}'
  [[ $rc == 0 ]] || fail "renamed chart:"$'\n'"$out"
  assert_contains "$out" "ok   pod of class hostrun-debug in an unlabelled namespace (denied by reaper-pods)"
  # Without restrictPodAccess, exec into allowed namespaces is open again (and the cases say so).
  helm_render "$chart" --set admission.restrictPodAccess=false >"$TEST_TMP/open.yaml" || fail "render"
  yaml_to_json "$TEST_TMP/open.yaml" >"$TEST_TMP/open.json"
  capture admission_run "$TEST_TMP/open.json" "$MANIFEST_CONFIG"
  assert_ne 0 "$rc" "exec cases must fail without the pod-access policies"
  assert_contains "$out" "FAIL tenant exec into a pod of an allowed namespace"
}
