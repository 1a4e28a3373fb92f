# Consistency of the cluster deployment files: the Kubernetes manifests, the Helm chart,
# the containerd drop-ins, the installer image and the installer script must agree on
# names, labels and paths. Needs /usr/bin/python3 with python3-yaml (tomllib: 3.11).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/deploy-render.sh"

PY=/usr/bin/python3
K8S=$TOP/deploy/kubernetes
CHART=$TOP/deploy/helm/reaper

# py CODE ARGS...: runs CODE with yaml, tomllib, json and helpers load(file) -> [docs],
# objs(files) -> {(kind, name): obj}.
py() {
  local code=$1; shift
  "$PY" - "$@" <<PYEOF
import sys, json, glob, os, re, tomllib, yaml
def load(f):
    with open(f) as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]
def objs(files):
    out = {}
    for f in files:
        for d in load(f):
            key = (d["kind"], d["metadata"]["name"])
            assert key not in out, f"duplicate {key}"
            out[key] = d
    return out
def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)
K8S = "$K8S"
MAIN = sorted(glob.glob(K8S + "/*.yaml"))
UNINSTALL = sorted(glob.glob(K8S + "/uninstall/*.yaml"))
def one(kind, files=None):
    found = [d for (k, _), d in objs(files or MAIN).items() if k == kind]
    check(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0]
def daemonset(files=None):
    return one("DaemonSet", files)
def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}
$code
PYEOF
}

test_manifests_parse_with_intended_kinds() {
  local f
  for f in "$K8S"/*.yaml "$K8S"/uninstall/*.yaml "$CHART"/Chart.yaml "$CHART"/values.yaml; do
    "$PY" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" || fail "$f does not parse"
  done
  py '
got = sorted((d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in objs(MAIN).values())
want = sorted([
    ("v1", "Namespace", "reaper-system"),
    ("v1", "ServiceAccount", "reaper-installer"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "reaper-installer"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "reaper-installer"),
    ("v1", "ConfigMap", "reaper-node-config"),
    ("apps/v1", "DaemonSet", "reaper-installer"),
    ("node.k8s.io/v1", "RuntimeClass", "reaper-v2"),
] + [("admissionregistration.k8s.io/v1", k, "reaper-" + n)
       for n in ("namespace-label", "runtimeclass", "pods", "workloads", "pod-access", "ephemeral-containers")
       for k in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")])
check(got == want, f"objects: {got}")
got = sorted((d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in objs(UNINSTALL).values())
check(got == [("apps/v1", "DaemonSet", "reaper-installer")], f"uninstall objects: {got}")
# Namespaced objects are in the namespace; cluster-scoped ones have none.
for (kind, name), d in objs(MAIN).items():
    ns = d["metadata"].get("namespace")
    if kind in ("ServiceAccount", "ConfigMap", "DaemonSet"):
        check(ns == "reaper-system", f"{kind} {name} namespace {ns}")
    else:
        check(ns is None, f"{kind} {name} must be cluster-scoped")
# Files apply in name order: the Namespace first.
check(os.path.basename(MAIN[0]).startswith("00-") and load(MAIN[0])[0]["kind"] == "Namespace", "namespace file first")
' || fail "manifest objects"
  py 'c = yaml.safe_load(open(sys.argv[1])); check(c["apiVersion"] == "v2" and c["name"] == "reaper", str(c))' \
    "$CHART/Chart.yaml" || fail "Chart.yaml"
}

# One handler name everywhere: RuntimeClass, both drop-ins, and the fixture's config.
test_manifests_handler_matches_containerd_configs() {
  source "$TOP/test/lib/containerd.sh"
  _ctrd_handler_table "$TOP/deploy/containerd/reaper-v2.toml" >"$TEST_TMP/fixture-table.toml"
  [[ -s $TEST_TMP/fixture-table.toml ]] || fail "the fixture finds no handler table"
  py '
rc = one("RuntimeClass")
handler = rc["handler"]
check(handler == "reaper-v2", f"handler {handler}")
def runtimes(doc, plugin):
    return doc["plugins"][plugin]["containerd"]["runtimes"]
for name, version, plugin in (("reaper-v2.toml", 2, "io.containerd.grpc.v1.cri"),
                              ("reaper-v3.toml", 3, "io.containerd.cri.v1.runtime")):
    path = "'"$TOP"'/deploy/containerd/" + name
    text = open(path).read()
    doc = tomllib.loads(text)
    check(doc["version"] == version, name + ": version " + str(doc.get("version")))
    rts = runtimes(doc, plugin)
    check(list(rts) == [handler], f"{name}: runtimes {list(rts)} vs handler {handler}")
    r = rts[handler]
    check(r["runtime_type"] == "io.containerd.reaper.v2", f"{name}: runtime_type")
    check(r["pod_annotations"] == ["reaper.runtime/*"] and r["container_annotations"] == ["reaper.runtime/*"], f"{name}: annotations")
    # The handler table is the last table: nothing after its header but its keys.
    tail = text[text.index("[plugins.\"" + plugin + "\".containerd.runtimes." + handler + "]"):]
    check(len(re.findall(r"^\s*\[", tail, re.M)) == 1, f"{name}: the handler table is not last")
fix = tomllib.loads(open(sys.argv[1]).read())
check(list(runtimes(fix, "io.containerd.grpc.v1.cri")) == [handler], "fixture handler")
' "$TEST_TMP/fixture-table.toml" || fail "handler names"
}

# The node label the installer sets is the one the RuntimeClass schedules on; the
# namespace label of the admission policy is the one the docs tell administrators to set.
test_manifests_labels_agree() {
  local installer_label
  installer_label=$(sed -n 's/^NODE_LABEL=\${REAPER_INSTALL_NODE_LABEL:-\(.*\)}$/\1/p' "$TOP/deploy/installer/install.sh")
  [[ -n $installer_label ]] || fail "no default node label in install.sh"
  py '
rc = one("RuntimeClass")
sel = rc["scheduling"]["nodeSelector"]
check(len(sel) == 1, f"nodeSelector {sel}")
key, value = next(iter(sel.items()))
check(f"{key}={value}" == sys.argv[1], f"RuntimeClass selects {key}={value}, installer sets {sys.argv[1]}")
ds = daemonset()
init = ds["spec"]["template"]["spec"]["initContainers"][0]
check(env_of(init)["REAPER_INSTALL_NODE_LABEL"] == sys.argv[1], "DaemonSet node label env")
# Admission (what the policies decide: deploy_admission.sh): every binding names its
# policy and denies; the namespace-scoped ones select by the allow label.
vaps = {n: d for (k, n), d in objs(MAIN).items() if k == "ValidatingAdmissionPolicy"}
for (k, n), b in objs(MAIN).items():
    if k != "ValidatingAdmissionPolicyBinding":
        continue
    check(b["spec"]["policyName"] == n and n in vaps, f"binding {n} names its policy")
    check(b["spec"]["validationActions"] == ["Deny"], f"binding {n} denies")
    check(vaps[n]["spec"]["failurePolicy"] == "Fail", f"{n}: failurePolicy")
    for m in b["spec"].get("matchResources", {}).get("namespaceSelector", {}).get("matchExpressions", []):
        check(m["key"] == "reaper.runtime/allowed" and m["values"] == ["true"], f"{n}: namespaceSelector {m}")
label = "reaper.runtime/allowed=true"
for n in ("reaper-pods", "reaper-workloads", "reaper-runtimeclass"):
    text = json.dumps(vaps[n]["spec"]["variables"] + vaps[n]["spec"]["validations"])
    check(rc["metadata"]["name"] in text, f"{n} names the RuntimeClass")
for doc in ("docs/security.md", "docs/install.md"):
    text = open("'"$TOP"'/" + doc).read()
    check("kubectl label namespace" in text and label in text, f"{doc} does not tell how to set {label}")
check(label in vaps["reaper-pods"]["spec"]["validations"][0]["message"], "denial message names the label")
' "$installer_label" || fail "labels"
}

# The DaemonSet runs what the image has where the Containerfile puts it, with the env the
# installer reads; the uninstall DaemonSet is the same object running `uninstall`.
test_manifests_daemonset_matches_image_and_installer() {
  py '
ds = daemonset()
spec = ds["spec"]["template"]["spec"]
check(spec["hostPID"] is True, "hostPID (nsenter -t 1)")
check(spec["serviceAccountName"] == "reaper-installer", "service account")
(init,) = spec["initContainers"]
(idle,) = spec["containers"]
check(init["securityContext"]["privileged"] is True, "privileged installer")
check(init["command"] == ["/bin/sh", "/opt/reaper/install.sh", "install"], "command " + str(init["command"]))
check(idle["command"] == ["/opt/reaper/bin/reaper", "reaper-sandbox"], "idle " + str(idle["command"]))
check(init["image"] == idle["image"], "one image")
# Files of the image, from the Containerfile COPY lines.
image = {}
for line in open("'"$TOP"'/deploy/installer/Containerfile"):
    w = line.split()
    if w[:1] == ["COPY"]:
        srcs, dst = w[1:-1], w[-1]
        for s in srcs:
            image[dst + os.path.basename(s) if dst.endswith("/") else dst] = s
for path in ("/opt/reaper/install.sh", "/opt/reaper/bin/reaper", "/bin/busybox",
             "/opt/reaper/containerd/reaper-v2.toml", "/opt/reaper/containerd/reaper-v3.toml"):
    check(path in image, f"image lacks {path}: {sorted(image)}")
env = env_of(init)
script = open("'"$TOP"'/deploy/installer/install.sh").read()
for name in env:
    check(name == "NODE_NAME" or re.search(r"\$\{" + name + r"[:}+-]", script), f"install.sh does not read {name}")
mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
vols = {v["name"]: v for v in spec["volumes"]}
check(vols["host"]["hostPath"]["path"] == "/" and mounts["host"] == env["REAPER_INSTALL_ROOT"], "node root at REAPER_INSTALL_ROOT")
check(os.path.dirname(env["REAPER_INSTALL_REAPER_CONF"]) == mounts["node-config"], "reaper.conf from the ConfigMap mount")
cm = one("ConfigMap")
check(vols["node-config"]["configMap"]["name"] == cm["metadata"]["name"], "ConfigMap volume")
check(list(cm["data"]) == [os.path.basename(env["REAPER_INSTALL_REAPER_CONF"])], "ConfigMap key")
defaults = dict(re.findall(r"^[A-Z_]+=\$\{(REAPER_INSTALL_[A-Z_]+):-([^}]*)\}$", script, re.M))
for k in ("REAPER_INSTALL_ROOT", "REAPER_INSTALL_BIN_DIR", "REAPER_INSTALL_CONTAINERD_CONFIG", "REAPER_INSTALL_CONFD"):
    check(env[k] == defaults[k], f"{k}: DaemonSet {env[k]}, install.sh default {defaults.get(k)}")
# The uninstall DaemonSet: the same object but for the verb.
u = daemonset(UNINSTALL)
u["spec"]["template"]["spec"]["initContainers"][0]["command"][-1] = "install"
check(u == ds, "uninstall DaemonSet differs from the installer beyond its verb")
# reaper.conf keys are ones reaper knows (src/core/node_config.cpp).
known = set(re.findall(r"\{\"(REAPER_[A-Z_]+)\"", open("'"$TOP"'/src/core/node_config.cpp").read()))
for line in cm["data"]["reaper.conf"].splitlines():
    if line and not line.startswith("#"):
        check(line.split("=")[0] in known, f"unknown reaper.conf key in {line}")
' || fail "DaemonSet"
  # The ConfigMap's reaper.conf is one reaper accepts.
  py 'print(one("ConfigMap")["data"]["reaper.conf"], end="")' >"$TEST_TMP/reaper.conf" || fail "ConfigMap"
  REAPER_CONFIG=$TEST_TMP/reaper.conf REAPER_OVERLAY_ROOT=$TEST_TMP/ov "$REAPER" overlay list >/dev/null ||
    fail "reaper rejects the ConfigMap's reaper.conf"
}

# The installer as the DaemonSet runs it: the image's layout (from the Containerfile)
# under a scratch dir, the DaemonSet's env with /host and the ConfigMap mount moved into
# TEST_TMP, busybox's sh.
test_manifests_daemonset_env_installs_from_image_layout() {
  local img=$TEST_TMP/image node=$TEST_TMP/host rec=$TEST_TMP/rec
  mkdir -p "$img/opt/reaper/bin" "$img/opt/reaper/containerd" "$img/bb" "$node/etc/containerd" "$TEST_TMP/cm"
  cp "$REAPER" "$img/opt/reaper/bin/reaper"
  cp "$TOP/deploy/installer/install.sh" "$img/opt/reaper/install.sh"
  cp "$TOP"/deploy/containerd/reaper-v*.toml "$img/opt/reaper/containerd/"
  busybox --install -s "$img/bb" || fail "busybox"
  printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x/pause:1"\n' >"$node/etc/containerd/config.toml"
  py 'print(one("ConfigMap")["data"]["reaper.conf"], end="")' >"$TEST_TMP/cm/reaper.conf" || fail "ConfigMap"
  printf '#!%s/bb/sh\necho "$*" >>%s/calls\n' "$img" "$TEST_TMP" >"$rec"; chmod +x "$rec"
  local -a envs
  mapfile -t envs < <(py '
env = env_of(daemonset()["spec"]["template"]["spec"]["initContainers"][0])
env["NODE_NAME"] = "node-1"
env["REAPER_INSTALL_ROOT"] = sys.argv[1]
env["REAPER_INSTALL_REAPER_CONF"] = sys.argv[2] + "/" + os.path.basename(env["REAPER_INSTALL_REAPER_CONF"])
env["REAPER_INSTALL_RESTART_CMD"] = sys.argv[3] + " restart"
env["REAPER_INSTALL_CONTAINERD_CMD"] = "none"
env["REAPER_INSTALL_LABEL_CMD"] = sys.argv[3] + " label"
for k, v in env.items(): print(f"{k}={v}")
' "$node" "$TEST_TMP/cm" "$rec") || fail "env"
  capture env -i PATH="$img/bb" TMPDIR="$TEST_TMP" "${envs[@]}" "$img/bb/sh" "$img/opt/reaper/install.sh" install
  assert_eq 0 "$rc" "install (stderr: $err)"
  assert_eq reaper "$(readlink "$node/usr/local/bin/containerd-shim-reaper-v2")" "shim link"
  cmp -s "$REAPER" "$node/usr/local/bin/reaper" || fail "binary"
  cmp -s "$TEST_TMP/cm/reaper.conf" "$node/etc/reaper/reaper.conf" || fail "reaper.conf"
  grep -q '^# BEGIN reaper-installer' "$node/etc/containerd/config.toml" || fail "handler block"
  assert_eq $'restart\nlabel node-1 reaper.runtime/installed=true' "$(cat "$TEST_TMP/calls")" "calls"
}

# Every .Values path the templates use exists, and the chart with its default values
# renders exactly the objects of deploy/kubernetes/ (mode=uninstall: the uninstall one),
# plus its pre-delete cleanup hook.
test_helm_chart_renders_the_kubernetes_manifests() {
  local ref
  for ref in $(helm_values_refs "$CHART"); do
    py 'v = yaml.safe_load(open(sys.argv[1]))
for p in sys.argv[2].split(".")[2:]:
    check(isinstance(v, dict) and p in v, sys.argv[2] + " is not in values.yaml"); v = v[p]' \
      "$CHART/values.yaml" "$ref" || fail "$ref"
  done
  helm_render "$CHART" >"$TEST_TMP/default.yaml" || fail "render with defaults"
  helm_render "$CHART" --set mode=uninstall >"$TEST_TMP/uninstall.yaml" || fail "render mode=uninstall"
  printf 'nodeSelector: null\naffinity: null\ntolerations: []\nadmission:\n  enabled: false\nnamespace:\n  create: false\ncleanup:\n  enabled: false\n' >"$TEST_TMP/minimal-values.yaml"
  helm_render "$CHART" -f "$TEST_TMP/minimal-values.yaml" >"$TEST_TMP/minimal.yaml" || fail "render minimal"
  helm_render "$CHART" --set runtimeClass.name=hostrun --set nodeLabel.key=example.com/reaper \
    >"$TEST_TMP/renamed.yaml" || fail "render renamed"
  py '
HOOKS = {("ServiceAccount", "reaper-cleanup"), ("Role", "reaper-cleanup"), ("RoleBinding", "reaper-cleanup"), ("Job", "reaper-cleanup")}
a, b = objs([sys.argv[1]]), objs(MAIN)
check(HOOKS <= set(a), f"cleanup hook objects missing: {sorted(HOOKS - set(a))}")
for k in HOOKS:
    check(a[k]["metadata"]["annotations"]["helm.sh/hook"] == "pre-delete", f"{k} is a pre-delete hook")
    del a[k]
check(sorted(a) == sorted(b), f"objects: chart {sorted(a)} vs manifests {sorted(b)}")
for k in a:
    check(a[k] == b[k], f"{k} differs:\nchart:     {json.dumps(a[k], sort_keys=True)}\nmanifests: {json.dumps(b[k], sort_keys=True)}")
u = objs([sys.argv[2]])
check(u[("DaemonSet", "reaper-installer")] == daemonset(UNINSTALL), "mode=uninstall DaemonSet vs uninstall manifest")
m = objs([sys.argv[3]])
kinds = sorted(k for k, _ in m)
check("Namespace" not in kinds and "ValidatingAdmissionPolicy" not in kinds and "Job" not in kinds, f"minimal: {kinds}")
spec = m[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]
check("nodeSelector" not in spec and "tolerations" not in spec and "affinity" not in spec, "empty node selection dropped")
r = objs([sys.argv[4]])
check(("RuntimeClass", "hostrun") in r and r[("RuntimeClass", "hostrun")]["handler"] == "reaper-v2", "renamed class keeps the handler")
check(r[("RuntimeClass", "hostrun")]["scheduling"]["nodeSelector"] == {"example.com/reaper": "true"}, "renamed node label")
env = env_of(r[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]["initContainers"][0])
check(env["REAPER_INSTALL_NODE_LABEL"] == "example.com/reaper=true", "renamed label reaches the installer")
check("in [\"hostrun\"]" in r[("ValidatingAdmissionPolicy", "reaper-pods")]["spec"]["variables"][0]["expression"], "policy follows the class name")
' "$TEST_TMP/default.yaml" "$TEST_TMP/uninstall.yaml" "$TEST_TMP/minimal.yaml" "$TEST_TMP/renamed.yaml" ||
    fail "chart vs manifests"
}

# The renderer refuses what it cannot render as Helm would, and types values as Helm
# does: --set image.tag=1.10 is the string "1.10" (the old renderer printed 1.1).
test_helm_renderer_refuses_rather_than_differs() {
  helm_render "$CHART" --set image.tag=1.10 >"$TEST_TMP/t.yaml" || fail "render tag 1.10"
  py 'ds = [d for d in load(sys.argv[1]) if d["kind"] == "DaemonSet"][0]
check(ds["spec"]["template"]["spec"]["initContainers"][0]["image"] == "localhost/reaper-installer:1.10", "tag 1.10")' \
    "$TEST_TMP/t.yaml" || fail "--set image.tag=1.10 must render 1.10"
  mkdir -p "$TEST_TMP/chart/templates"
  cp "$CHART/Chart.yaml" "$CHART/values.yaml" "$TEST_TMP/chart/"
  echo 'big: 10000000' >"$TEST_TMP/big.yaml"
  local tpl
  for tpl in 'x: {{ .Values.nope }}' 'x: {{ .Values.nope.deeper }}' 'x: {{ tpl "a" . }}' \
    '{{ $x := 1 }}' '{{ with .Values.image }}{{ end }}' '{{ template "a" . }}' \
    'x: {{ .Values.image }}' 'x: {{-.Values.mode }}' '{{ if .Values.mode }}' 'x: {{ lookup "v1" "Pod" "" "" }}' \
    'x: {{ .Files.Get "a" }}' 'x: {{ .Values.big }}' 'x: {{ eq .Values.mode 1 }}' 'x: {{ fail "stop here" }}'; do
    printf '%s\n' "$tpl" >"$TEST_TMP/chart/templates/a.yaml"
    capture helm_render "$TEST_TMP/chart" -f "$TEST_TMP/big.yaml"
    assert_ne 0 "$rc" "must refuse: $tpl (got: $out)"
    assert_contains "$err" "render:" "refusal of: $tpl"
  done
  rm "$TEST_TMP/chart/templates/a.yaml"
  # --set with structure, and values the schema refuses: a mode typo, an unknown key.
  local bad
  for bad in 'tolerations=[]' 'nodeSelector={}' 'a=b,c=d' 'mode=instal' 'bogus=1' \
    'reaperConf.REAPER_BOGUS=1' 'image.tag=a#b' 'admission.adminGroups=x'; do
    capture helm_render "$CHART" --set "$bad"
    assert_ne 0 "$rc" "must refuse --set $bad"
  done
  capture helm_render "$CHART" --set mode=instal
  assert_contains "$err" "mode" "the schema names the bad value"
  # In the template itself: without the schema, a mode typo still fails the release.
  cp "$CHART"/templates/*.yaml "$CHART"/templates/_helpers.tpl "$TEST_TMP/chart/templates/"
  capture helm_render "$TEST_TMP/chart" --set mode=instal
  assert_ne 0 "$rc" "template must fail on a bad mode"
  assert_contains "$err" "mode must be install or uninstall"
  # Quoted environment values: a "#" reaches the installer whole.
  helm_render "$CHART" --set containerd.restartCommand='systemctl restart containerd #now' >"$TEST_TMP/q.yaml" || fail "render"
  py 'ds = [d for d in load(sys.argv[1]) if d["kind"] == "DaemonSet"][0]
check(env_of(ds["spec"]["template"]["spec"]["initContainers"][0])["REAPER_INSTALL_RESTART_CMD"] == "systemctl restart containerd #now", "quoted")' \
    "$TEST_TMP/q.yaml" || fail "env value truncated"
}

# reaper.conf: every setting reaper knows can be set from values (and only those), the
# ConfigMap's digest is the DaemonSet's annotation, and a changed setting changes it.
test_helm_chart_reaper_conf_settings_and_checksum() {
  py '
known = sorted(set(re.findall(r"\{\"(REAPER_[A-Z_]+)\"", open("'"$TOP"'/src/core/node_config.cpp").read())))
check(known, "no settings found in node_config.cpp")
schema = json.load(open("'"$CHART"'/values.schema.json"))
check(sorted(schema["properties"]["reaperConf"]["properties"]) == known, f"schema reaperConf vs node_config.cpp {known}")
values = yaml.safe_load(open("'"$CHART"'/values.yaml"))
check(sorted(values["reaperConf"]) == known, "values.yaml reaperConf lists every setting")
example = open("'"$TOP"'/deploy/reaper.conf.example").read()
for k in known:
    check(k in example, f"{k} not in deploy/reaper.conf.example")
' || fail "settings"
  printf 'reaperConf:\n  REAPER_MASK_PATHS: "/etc/a:/etc/b"\n  REAPER_DNS_MODE: kubernetes\n  REAPER_ANNOTATIONS: false\n  REAPER_ROOT: /run/reaper-x\n' >"$TEST_TMP/v.yaml"
  helm_render "$CHART" -f "$TEST_TMP/v.yaml" >"$TEST_TMP/changed.yaml" || fail "render"
  helm_render "$CHART" >"$TEST_TMP/default.yaml" || fail "render"
  py '
import hashlib
def parts(f):
    o = objs([f])
    conf = o[("ConfigMap", "reaper-node-config")]["data"]["reaper.conf"]
    ann = o[("DaemonSet", "reaper-installer")]["spec"]["template"]["metadata"]["annotations"]["checksum/reaper-conf"]
    env = env_of(o[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]["initContainers"][0])
    return conf, ann, env
c1, a1, e1 = parts(sys.argv[1])
c2, a2, e2 = parts(sys.argv[2])
for c, a in ((c1, a1), (c2, a2)):
    check(hashlib.sha256(c.rstrip("\n").encode()).hexdigest() == a, "annotation is the ConfigMap digest")
check(a1 != a2, "a changed setting changes the checksum")
lines = [l for l in c2.splitlines() if not l.startswith("#")]
check(lines == ["REAPER_ANNOTATIONS=false", "REAPER_DNS_MODE=kubernetes", "REAPER_MASK=true",
                "REAPER_MASK_PATHS=/etc/a:/etc/b", "REAPER_OVERLAY_GROUPS=namespace", "REAPER_ROOT=/run/reaper-x"], f"conf {lines}")
check(e2.get("REAPER_INSTALL_SHIM_ROOT") == "/run/reaper-x" and "REAPER_INSTALL_SHIM_ROOT" not in e1, "shim root reaches the installer")
cm = one("ConfigMap")["data"]["reaper.conf"]
ann = daemonset()["spec"]["template"]["metadata"]["annotations"]["checksum/reaper-conf"]
check(hashlib.sha256(cm.rstrip("\n").encode()).hexdigest() == ann, "deploy/kubernetes: annotation is the ConfigMap digest")
' "$TEST_TMP/default.yaml" "$TEST_TMP/changed.yaml" || fail "checksum"
  py 'print(objs([sys.argv[1]])[("ConfigMap", "reaper-node-config")]["data"]["reaper.conf"], end="")' \
    "$TEST_TMP/changed.yaml" >"$TEST_TMP/reaper.conf" || fail "ConfigMap"
  REAPER_CONFIG=$TEST_TMP/reaper.conf "$REAPER" overlay list >/dev/null || fail "reaper rejects the rendered reaper.conf"
}

# Node selection, priority, resources, kubeVersion, metrics, NOTES and the cleanup hook.
test_helm_chart_operator_values() {
  py 'c = yaml.safe_load(open(sys.argv[1])); check(c.get("kubeVersion") == ">=1.30.0-0", "kubeVersion")' "$CHART/Chart.yaml" || fail "Chart.yaml"
  helm_render "$CHART" >"$TEST_TMP/default.yaml" || fail "render"
  printf '%s\n' 'priorityClassName: system-node-critical' 'tolerations:' '  - key: gpu' '    operator: Exists' \
    '    effect: NoSchedule' 'nodeSelector:' '  node.example.com/pool: tools' 'image:' \
    '  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' \
    '  pullSecrets: [{name: regcred}]' 'metrics:' '  enabled: true' '  port: 9500' >"$TEST_TMP/v.yaml"
  helm_render "$CHART" -f "$TEST_TMP/v.yaml" >"$TEST_TMP/custom.yaml" || fail "render custom"
  py '
d = objs([sys.argv[1]])[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]
check(not d.get("tolerations"), "no toleration by default")
terms = d["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
check(terms == [{"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}], "not the control plane")
check("priorityClassName" not in d and [c["name"] for c in d["containers"]] == ["idle"], "defaults")
check(all("resources" in c for c in d["containers"] + d["initContainers"]), "resources everywhere")
c = objs([sys.argv[2]])
s = c[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]
check(s["priorityClassName"] == "system-node-critical", "priority class")
check(s["tolerations"][0]["key"] == "gpu" and s["nodeSelector"] == {"kubernetes.io/os": "linux", "node.example.com/pool": "tools"}, "node selection (maps merge, as in Helm)")
check(s["initContainers"][0]["image"] == "localhost/reaper-installer@sha256:" + "0123456789abcdef" * 4, "digest")
check(s["imagePullSecrets"] == [{"name": "regcred"}], "pull secrets")
m = [x for x in s["containers"] if x["name"] == "metrics"][0]
check(m["command"][-3:] == ["metrics", "--listen", "0.0.0.0:9500"] and m["ports"][0]["containerPort"] == 9500, "metrics")
check(m["readinessProbe"]["httpGet"]["path"] == "/healthz", "healthz probe")
job = c[("Job", "reaper-cleanup")]
check(job["spec"]["template"]["spec"]["containers"][0]["command"] == ["/bin/sh", "/opt/reaper/uninstall-all.sh"], "hook command")
check(job["spec"]["template"]["spec"]["containers"][0]["image"] == s["initContainers"][0]["image"], "hook image")
' "$TEST_TMP/default.yaml" "$TEST_TMP/custom.yaml" || fail "operator values"
  helm_render "$CHART" --notes >"$TEST_TMP/notes" || fail "NOTES"
  assert_contains "$(cat "$TEST_TMP/notes")" "kubectl label namespace NAMESPACE reaper.runtime/allowed=true"
  helm_render "$CHART" --notes --set mode=uninstall >"$TEST_TMP/notes" || fail "NOTES"
  assert_contains "$(cat "$TEST_TMP/notes")" "removing reaper from every node"
}

# The pre-delete hook's script: switches the DaemonSet to uninstall and waits for it; a
# rollout that does not finish fails it (and so helm uninstall).
test_helm_cleanup_hook_script() {
  local k=$TEST_TMP/kubectl
  printf '#!/bin/sh\necho "$*" >>%s/calls\ncase "$*" in\n  *"get daemonset"*) cat %s/verb ;;\n  *"rollout status"*) exit "$(cat %s/rollout)" ;;\nesac\n' \
    "$TEST_TMP" "$TEST_TMP" "$TEST_TMP" >"$k"
  chmod +x "$k"
  echo install >"$TEST_TMP/verb"; echo 0 >"$TEST_TMP/rollout"
  capture env NAMESPACE=reaper-system KUBECTL="$k" TIMEOUT_SECONDS=60 busybox sh "$TOP/deploy/installer/uninstall-all.sh"
  assert_eq 0 "$rc" "cleanup (stderr: $err)"
  assert_contains "$(cat "$TEST_TMP/calls")" '"value": "uninstall"'
  assert_contains "$(cat "$TEST_TMP/calls")" "rollout status daemonset/reaper-installer --timeout=60s"
  : >"$TEST_TMP/calls"; echo 1 >"$TEST_TMP/rollout"; echo uninstall >"$TEST_TMP/verb"
  capture env NAMESPACE=reaper-system KUBECTL="$k" busybox sh "$TOP/deploy/installer/uninstall-all.sh"
  assert_ne 0 "$rc" "a rollout that does not finish fails the hook"
  assert_not_contains "$(cat "$TEST_TMP/calls")" "patch" "already uninstalling: no patch"
  assert_contains "$err" "did not finish"
  echo something-else >"$TEST_TMP/verb"
  capture env NAMESPACE=reaper-system KUBECTL="$k" busybox sh "$TOP/deploy/installer/uninstall-all.sh"
  assert_ne 0 "$rc" "an unknown DaemonSet command is left alone"
}
