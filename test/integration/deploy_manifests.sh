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
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "reaper-v2-allowed-namespaces"),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "reaper-v2-allowed-namespaces"),
])
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
# Admission: the binding selects namespaces without the allow label, the policy denies the class.
vap = one("ValidatingAdmissionPolicy")
b = one("ValidatingAdmissionPolicyBinding")
check(b["spec"]["policyName"] == vap["metadata"]["name"], "binding names the policy")
check(b["spec"]["validationActions"] == ["Deny"], "binding denies")
check(vap["spec"]["failurePolicy"] == "Fail", "failurePolicy")
rules = vap["spec"]["matchConstraints"]["resourceRules"]
check(rules == [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}], f"rules {rules}")
exprs = [v["expression"] for v in vap["spec"]["validations"]]
check(len(exprs) == 1 and "object.spec.runtimeClassName != " + repr(rc["metadata"]["name"]) in exprs[0]
      and exprs[0].startswith("!has(object.spec.runtimeClassName) ||"), f"expression {exprs}")
(m,) = b["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
check(m["operator"] == "NotIn" and m["values"] == ["true"], f"namespaceSelector {m}")
label = m["key"] + "=true"
for doc in ("docs/security.md", "docs/install.md"):
    text = open("'"$TOP"'/" + doc).read()
    check("kubectl label namespace" in text and label in text, f"{doc} does not tell how to set {label}")
check(label in vap["spec"]["validations"][0]["message"], "denial message names the label")
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
# renders exactly the objects of deploy/kubernetes/ (mode=uninstall: the uninstall one).
test_helm_chart_renders_the_kubernetes_manifests() {
  local ref
  for ref in $(helm_values_refs "$CHART"); do
    py 'v = yaml.safe_load(open(sys.argv[1]))
for p in sys.argv[2].split(".")[2:]:
    check(isinstance(v, dict) and p in v, sys.argv[2] + " is not in values.yaml"); v = v[p]' \
      "$CHART/values.yaml" "$ref" || fail "$ref"
  done
  helm_render "$CHART" >"$TEST_TMP/default.yaml" || fail "render with defaults"
  helm_render "$CHART" mode=uninstall >"$TEST_TMP/uninstall.yaml" || fail "render mode=uninstall"
  helm_render "$CHART" admission.enabled=false namespace.create=false nodeSelector={} tolerations=[] \
    >"$TEST_TMP/minimal.yaml" || fail "render minimal"
  helm_render "$CHART" runtimeClass.name=hostrun nodeLabel.key=example.com/reaper \
    >"$TEST_TMP/renamed.yaml" || fail "render renamed"
  py '
a, b = objs([sys.argv[1]]), objs(MAIN)
check(sorted(a) == sorted(b), f"objects: chart {sorted(a)} vs manifests {sorted(b)}")
for k in a:
    check(a[k] == b[k], f"{k} differs:\nchart:     {json.dumps(a[k], sort_keys=True)}\nmanifests: {json.dumps(b[k], sort_keys=True)}")
u = objs([sys.argv[2]])
check(u[("DaemonSet", "reaper-installer")] == daemonset(UNINSTALL), "mode=uninstall DaemonSet vs uninstall manifest")
m = objs([sys.argv[3]])
kinds = sorted(k for k, _ in m)
check("Namespace" not in kinds and "ValidatingAdmissionPolicy" not in kinds, f"minimal: {kinds}")
spec = m[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]
check("nodeSelector" not in spec and "tolerations" not in spec, "empty nodeSelector/tolerations dropped")
r = objs([sys.argv[4]])
check(("RuntimeClass", "hostrun") in r and r[("RuntimeClass", "hostrun")]["handler"] == "reaper-v2", "renamed class keeps the handler")
check(r[("RuntimeClass", "hostrun")]["scheduling"]["nodeSelector"] == {"example.com/reaper": "true"}, "renamed node label")
env = env_of(r[("DaemonSet", "reaper-installer")]["spec"]["template"]["spec"]["initContainers"][0])
check(env["REAPER_INSTALL_NODE_LABEL"] == "example.com/reaper=true", "renamed label reaches the installer")
check("!= \x27hostrun\x27" in r[("ValidatingAdmissionPolicy", "reaper-v2-allowed-namespaces")]["spec"]["validations"][0]["expression"], "policy follows the class name")
' "$TEST_TMP/default.yaml" "$TEST_TMP/uninstall.yaml" "$TEST_TMP/minimal.yaml" "$TEST_TMP/renamed.yaml" ||
    fail "chart vs manifests"
  # The renderer itself refuses what it does not know, so a template beyond the subset fails here.
  mkdir -p "$TEST_TMP/chart/templates"
  cp "$CHART/values.yaml" "$TEST_TMP/chart/"
  echo 'x: {{ .Values.nope }}' >"$TEST_TMP/chart/templates/a.yaml"
  capture helm_render "$TEST_TMP/chart"
  assert_ne 0 "$rc" "missing value must fail"
  echo 'x: {{ include "t" . }}' >"$TEST_TMP/chart/templates/a.yaml"
  capture helm_render "$TEST_TMP/chart"
  assert_ne 0 "$rc" "unknown construct must fail"
}
