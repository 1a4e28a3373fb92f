# Every object of deploy/kubernetes/ and of the chart rendered with several sets of values
# validated against the Kubernetes API schemas of 1.33 and 1.36 (kubernetes-models, from
# each release's OpenAPI spec), unknown fields refused (test/lib/k8s-schema-check.mjs).
# The chart needs 1.30+; 1.30-1.32 have no schema package, and the kinds used here are the
# same from 1.30 on. Needs node and the npm packages of test/lib/node-deps.sh.
# test-timeout: 300
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node-deps.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/deploy-render.sh"

SCHEMA_VERSIONS=(k8s-1.33 k8s-1.36)

# schema_check FILE...: every document of the YAML files, as "source" and "object".
schema_check() {
  node_deps || fail "npm packages not available"
  local d=$TEST_TMP/schema
  mkdir -p "$d"
  cp "$TOP/test/lib/k8s-schema-check.mjs" "$d/"
  ln -sfn "$NODE_DEPS/node_modules" "$d/node_modules"
  /usr/bin/python3 -c 'import sys, json, yaml, os
out = [{"source": os.path.basename(f), "object": d} for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d is not None]
json.dump(out, sys.stdout)' "$@" >"$d/objects.json" || fail "YAML"
  node "$d/k8s-schema-check.mjs" "$d/objects.json" "${SCHEMA_VERSIONS[@]}"
}

test_schema_manifests_valid_in_every_version() {
  capture schema_check "$TOP"/deploy/kubernetes/*.yaml "$TOP"/deploy/kubernetes/uninstall/*.yaml
  [[ $rc == 0 ]] || fail "schema:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "ok   k8s-1.33: 20 objects"
  assert_contains "$out" "ok   k8s-1.36: 20 objects"
}

# The examples' manifests (examples/*/), which test/integration/examples_cri.sh runs.
test_schema_examples_valid_in_every_version() {
  capture schema_check "$TOP"/examples/*.yaml "$TOP"/examples/*/*.yaml
  [[ $rc == 0 ]] || fail "schema:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "ok   k8s-1.33: 12 objects"
  assert_contains "$out" "ok   k8s-1.36: 12 objects"
}

test_schema_chart_variants_valid_in_every_version() {
  local chart=$TOP/deploy/helm/reaper v=$TEST_TMP/values
  mkdir -p "$v"
  printf 'nodeSelector: null\naffinity: null\ntolerations: []\nadmission:\n  enabled: false\nnamespace:\n  create: false\ncleanup:\n  enabled: false\n' >"$v/minimal.yaml"
  printf '%s\n' 'priorityClassName: system-node-critical' 'tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]' \
    'image: {digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", pullSecrets: [{name: regcred}]}' \
    'metrics: {enabled: true, port: 9500}' 'maxUnavailable: "20%"' \
    'reaperConf: {REAPER_ROOT: /run/reaper, REAPER_MASK_PATHS: "/etc/a:/etc/b", REAPER_ANNOTATIONS: false}' \
    'admission: {adminGroups: [ops], extraRuntimeClassNames: [reaper-debug], restrictPodAccess: false}' \
    'containerd: {flavor: k3s, restartCommand: "systemctl restart k3s", validateCommand: none}' >"$v/custom.yaml"
  helm_render "$chart" >"$TEST_TMP/default.yaml" || fail "render"
  helm_render "$chart" --set mode=uninstall >"$TEST_TMP/uninstall.yaml" || fail "render"
  helm_render "$chart" -f "$v/minimal.yaml" >"$TEST_TMP/minimal.yaml" || fail "render"
  helm_render "$chart" -f "$v/custom.yaml" >"$TEST_TMP/custom.yaml" || fail "render"
  capture schema_check "$TEST_TMP"/{default,uninstall,minimal,custom}.yaml
  [[ $rc == 0 ]] || fail "schema:"$'\n'"$out"$'\n'"$err"
  assert_contains "$out" "ok   k8s-1.36"
}

# The check can fail: an unknown field at any depth, a wrong type, a missing required
# field and a kind the version does not have are each refused, in every version.
test_schema_refuses_unknown_fields_and_wrong_types() {
  local f
  /usr/bin/python3 - "$TOP/deploy/kubernetes/30-installer.yaml" "$TEST_TMP" <<'PY' || fail "mutate"
import sys, yaml, copy
ds = yaml.safe_load(open(sys.argv[1]))
def write(name, o):
    yaml.safe_dump(o, open(f"{sys.argv[2]}/{name}.yaml", "w"))
o = copy.deepcopy(ds); o["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1; write("deep-unknown", o)
o = copy.deepcopy(ds); o["metadata"]["labelz"] = {"a": "b"}; write("meta-unknown", o)
o = copy.deepcopy(ds); o["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailabel"] = 1; write("misspelt", o)
o = copy.deepcopy(ds); o["spec"]["template"]["spec"]["hostPID"] = "yes"; write("wrong-type", o)
o = copy.deepcopy(ds); del o["spec"]["selector"]; write("missing-required", o)
o = copy.deepcopy(ds); o["apiVersion"] = "apps/v9"; write("unknown-version", o)
PY
  local all=(deep-unknown meta-unknown misspelt wrong-type missing-required unknown-version)
  local files=()
  for f in "${all[@]}"; do files+=("$TEST_TMP/$f.yaml"); done
  capture schema_check "${files[@]}"
  assert_ne 0 "$rc" "must be refused: $out"
  for f in "${all[@]}"; do
    assert_contains "$out" "FAIL k8s-1.33 $f.yaml: DaemonSet" "$f in 1.33"
    assert_contains "$out" "FAIL k8s-1.36 $f.yaml: DaemonSet" "$f in 1.36"
  done
}
