// Admission requests against reaper's policies, allowed and refused, including each side
// door: a namespace created already labelled, a label set by a non-administrator (also
// through a subresource), a second RuntimeClass with reaper's handler, workload objects
// whose template asks for reaper in an unlabelled namespace, exec/attach/port-forward and
// ephemeral containers. Used by test/lib/admission-eval.mjs.
// config: {allowKey, allowValue, adminGroups, classes, handler}.

const GVR = {
  Namespace: ["", "v1", "namespaces"], RuntimeClass: ["node.k8s.io", "v1", "runtimeclasses"],
  Pod: ["", "v1", "pods"], Deployment: ["apps", "v1", "deployments"],
  StatefulSet: ["apps", "v1", "statefulsets"], DaemonSet: ["apps", "v1", "daemonsets"],
  ReplicaSet: ["apps", "v1", "replicasets"], Job: ["batch", "v1", "jobs"],
  CronJob: ["batch", "v1", "cronjobs"], ReplicationController: ["", "v1", "replicationcontrollers"],
};

function user(name, groups) { return { username: name, uid: name, groups }; }

// An AdmissionRequest (admission.k8s.io/v1) as the API server builds it.
export function request({ op, kind, sub = "", ns = "", who, object = null, oldObject = null, name, version }) {
  const [group, v, resource] = GVR[kind];
  const objKind = sub === "exec" ? "PodExecOptions" : sub === "attach" ? "PodAttachOptions"
    : sub === "portforward" ? "PodPortForwardOptions" : kind;
  return {
    uid: "0", kind: { group, version: version || v, kind: objKind },
    resource: { group, version: version || v, resource }, subResource: sub,
    requestKind: { group, version: version || v, kind: objKind },
    requestResource: { group, version: version || v, resource }, requestSubResource: sub,
    name: name || object?.metadata?.name || oldObject?.metadata?.name || "", namespace: ns,
    operation: op, userInfo: who, object, oldObject, dryRun: false,
    options: op === "CREATE" ? { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" }
      : op === "UPDATE" ? { apiVersion: "meta.k8s.io/v1", kind: "UpdateOptions" } : null,
  };
}

function namespace(name, labels) {
  const o = { apiVersion: "v1", kind: "Namespace", metadata: { name }, spec: { finalizers: ["kubernetes"] } };
  if (labels) o.metadata.labels = labels;
  return o;
}

function podSpec(cls) {
  const s = { containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "id"] }] };
  if (cls !== undefined) s.runtimeClassName = cls;
  return s;
}

// A workload of KIND in NS whose pod template uses class CLS (undefined: none).
function workload(kind, ns, cls, name = "w") {
  const template = { metadata: { labels: { app: name } }, spec: podSpec(cls) };
  const meta = { name, namespace: ns };
  const sel = { matchLabels: { app: name } };
  switch (kind) {
    case "Deployment": case "ReplicaSet": case "DaemonSet":
      return { apiVersion: "apps/v1", kind, metadata: meta, spec: { selector: sel, template } };
    case "StatefulSet":
      return { apiVersion: "apps/v1", kind, metadata: meta, spec: { selector: sel, serviceName: name, template } };
    case "Job":
      return { apiVersion: "batch/v1", kind, metadata: meta, spec: { template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } } } };
    case "CronJob":
      return { apiVersion: "batch/v1", kind, metadata: meta, spec: { schedule: "@daily", jobTemplate: { spec: { template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } } } } } };
    case "ReplicationController":
      return { apiVersion: "v1", kind, metadata: meta, spec: { selector: { app: name }, template } };
  }
  throw new Error(kind);
}

export function cases(config) {
  const { allowKey: key, allowValue: value, adminGroups, classes, handler } = config;
  const cls = classes[0];
  const admin = user("alice", [adminGroups[adminGroups.length - 1], "system:authenticated"]);
  const tenant = user("bob", ["developers", "system:authenticated"]);
  const gitops = user("system:serviceaccount:argocd:argocd-application-controller",
    ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"]);
  const rsController = user("system:serviceaccount:kube-system:replicaset-controller",
    ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]);
  const nsController = user("system:serviceaccount:kube-system:namespace-controller",
    ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]);
  const anonymous = { username: "system:anonymous", uid: "" };
  const allowed = { [key]: value, team: "infra" };
  const namespaces = { tools: allowed, apps: { team: "web" }, other: { [key]: "false" } };
  const list = [];
  const add = (name, expect, policy, request) => list.push({ name, expect, policy, request });

  // ---- the namespace label
  const P_NS = "reaper-namespace-label";
  add("tenant creates a namespace already labelled", "deny", P_NS,
    request({ op: "CREATE", kind: "Namespace", who: tenant, object: namespace("sneaky", { [key]: value }) }));
  add("GitOps service account creates a namespace already labelled", "deny", P_NS,
    request({ op: "CREATE", kind: "Namespace", who: gitops, object: namespace("sneaky", { [key]: value }) }));
  add("anonymous request without groups creates a labelled namespace", "deny", P_NS,
    request({ op: "CREATE", kind: "Namespace", who: anonymous, object: namespace("sneaky", { [key]: value }) }));
  add("tenant creates a namespace with the key set to another value", "deny", P_NS,
    request({ op: "CREATE", kind: "Namespace", who: tenant, object: namespace("sneaky", { [key]: "yes" }) }));
  add("tenant creates an unlabelled namespace", "allow", null,
    request({ op: "CREATE", kind: "Namespace", who: tenant, object: namespace("mine", { team: "web" }) }));
  add("tenant creates a namespace with no labels at all", "allow", null,
    request({ op: "CREATE", kind: "Namespace", who: tenant, object: namespace("bare") }));
  add("tenant labels an existing namespace", "deny", P_NS,
    request({ op: "UPDATE", kind: "Namespace", who: tenant, object: namespace("apps", { team: "web", [key]: value }), oldObject: namespace("apps", { team: "web" }) }));
  add("tenant labels an existing namespace that had no labels", "deny", P_NS,
    request({ op: "UPDATE", kind: "Namespace", who: tenant, object: namespace("bare", { [key]: value }), oldObject: namespace("bare") }));
  add("tenant sets the label through the status subresource", "deny", P_NS,
    request({ op: "UPDATE", kind: "Namespace", sub: "status", who: tenant, object: namespace("apps", { [key]: value }), oldObject: namespace("apps", {}) }));
  add("tenant changes other labels of an allowed namespace", "allow", null,
    request({ op: "UPDATE", kind: "Namespace", who: tenant, object: namespace("tools", { ...allowed, team: "ops" }), oldObject: namespace("tools", allowed) }));
  add("tenant removes the label", "deny", P_NS,
    request({ op: "UPDATE", kind: "Namespace", who: tenant, object: namespace("tools", { team: "infra" }), oldObject: namespace("tools", allowed) }));
  add("namespace controller finalizes an allowed namespace", "allow", null,
    request({ op: "UPDATE", kind: "Namespace", sub: "finalize", who: nsController, object: namespace("tools", allowed), oldObject: namespace("tools", allowed) }));
  add("administrator creates a labelled namespace", "allow", null,
    request({ op: "CREATE", kind: "Namespace", who: admin, object: namespace("node-tools", { [key]: value }) }));
  add("administrator labels a namespace", "allow", null,
    request({ op: "UPDATE", kind: "Namespace", who: admin, object: namespace("apps", { team: "web", [key]: value }), oldObject: namespace("apps", { team: "web" }) }));
  for (const g of adminGroups) {
    add(`member of ${g} labels a namespace`, "allow", null,
      request({ op: "UPDATE", kind: "Namespace", who: user("carol", [g]), object: namespace("apps", { [key]: value }), oldObject: namespace("apps") }));
  }

  // ---- RuntimeClasses with reaper's handler
  const P_RC = "reaper-runtimeclass";
  const rc = (name, h, extra = {}) => ({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name }, handler: h, ...extra });
  add("tenant creates a second RuntimeClass with reaper's handler", "deny", P_RC,
    request({ op: "CREATE", kind: "RuntimeClass", who: tenant, object: rc("sneaky", handler) }));
  add("tenant creates one under reaper's own class name", "deny", P_RC,
    request({ op: "CREATE", kind: "RuntimeClass", who: tenant, object: rc(cls, handler) }));
  add("tenant creates one through another API version", "deny", P_RC,
    request({ op: "CREATE", kind: "RuntimeClass", version: "v1beta1", who: tenant, object: rc("sneaky", handler) }));
  add("administrator creates one under a name the policies do not know", "deny", P_RC,
    request({ op: "CREATE", kind: "RuntimeClass", who: admin, object: rc("sneaky", handler) }));
  for (const c of classes) {
    add(`administrator creates RuntimeClass ${c}`, "allow", null,
      request({ op: "CREATE", kind: "RuntimeClass", who: admin, object: rc(c, handler) }));
  }
  add("tenant changes the scheduling of reaper's RuntimeClass", "deny", P_RC,
    request({ op: "UPDATE", kind: "RuntimeClass", who: tenant, object: rc(cls, handler, { scheduling: { nodeSelector: { a: "b" } } }), oldObject: rc(cls, handler) }));
  add("tenant creates a RuntimeClass with another handler", "allow", null,
    request({ op: "CREATE", kind: "RuntimeClass", who: tenant, object: rc("gvisor", "runsc") }));

  // ---- pods
  const P_POD = "reaper-pods";
  const pod = (ns, c, name = "p") => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns }, spec: podSpec(c) });
  for (const c of classes) {
    add(`pod of class ${c} in an unlabelled namespace`, "deny", P_POD,
      request({ op: "CREATE", kind: "Pod", ns: "apps", who: tenant, object: pod("apps", c) }));
    add(`pod of class ${c} created by a controller in an unlabelled namespace`, "deny", P_POD,
      request({ op: "CREATE", kind: "Pod", ns: "apps", who: rsController, object: pod("apps", c) }));
    add(`pod of class ${c} in a namespace whose label is not "${value}"`, "deny", P_POD,
      request({ op: "CREATE", kind: "Pod", ns: "other", who: admin, object: pod("other", c) }));
    add(`pod of class ${c} in an allowed namespace`, "allow", null,
      request({ op: "CREATE", kind: "Pod", ns: "tools", who: tenant, object: pod("tools", c) }));
  }
  add("pod without a RuntimeClass in an unlabelled namespace", "allow", null,
    request({ op: "CREATE", kind: "Pod", ns: "apps", who: tenant, object: pod("apps", undefined) }));
  add("pod of another RuntimeClass in an unlabelled namespace", "allow", null,
    request({ op: "CREATE", kind: "Pod", ns: "apps", who: tenant, object: pod("apps", "gvisor") }));

  // ---- workload objects, refused up front
  const P_WL = "reaper-workloads";
  for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"]) {
    add(`${kind} with a reaper pod template in an unlabelled namespace`, "deny", P_WL,
      request({ op: "CREATE", kind, ns: "apps", who: tenant, object: workload(kind, "apps", cls) }));
    add(`${kind} updated to a reaper pod template in an unlabelled namespace`, "deny", P_WL,
      request({ op: "UPDATE", kind, ns: "apps", who: gitops, object: workload(kind, "apps", cls), oldObject: workload(kind, "apps", undefined) }));
    add(`${kind} with a reaper pod template in an allowed namespace`, "allow", null,
      request({ op: "CREATE", kind, ns: "tools", who: tenant, object: workload(kind, "tools", cls) }));
    add(`${kind} without a RuntimeClass in an unlabelled namespace`, "allow", null,
      request({ op: "CREATE", kind, ns: "apps", who: tenant, object: workload(kind, "apps", undefined) }));
  }
  const rcNoTemplate = { apiVersion: "v1", kind: "ReplicationController", metadata: { name: "empty", namespace: "apps" }, spec: { replicas: 0 } };
  add("ReplicationController without a template", "allow", null,
    request({ op: "CREATE", kind: "ReplicationController", ns: "apps", who: tenant, object: rcNoTemplate }));
  const cronNoTemplate = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c", namespace: "apps" }, spec: { schedule: "@daily", jobTemplate: {} } };
  add("CronJob whose job template has no spec", "allow", null,
    request({ op: "CREATE", kind: "CronJob", ns: "apps", who: tenant, object: cronNoTemplate }));

  // ---- exec, attach, port-forward, ephemeral containers
  const P_ACC = "reaper-pod-access", P_EPH = "reaper-ephemeral-containers";
  const opts = sub => ({ apiVersion: "v1", kind: sub === "exec" ? "PodExecOptions" : sub === "attach" ? "PodAttachOptions" : "PodPortForwardOptions",
    ...(sub === "portforward" ? { ports: [22] } : { stdin: true, tty: true, container: "c", ...(sub === "exec" ? { command: ["sh"] } : {}) }) });
  for (const sub of ["exec", "attach", "portforward"]) {
    add(`tenant ${sub} into a pod of an allowed namespace (edit role has it)`, "deny", P_ACC,
      request({ op: "CONNECT", kind: "Pod", sub, ns: "tools", who: tenant, name: "p", object: opts(sub) }));
    add(`administrator ${sub} into a pod of an allowed namespace`, "allow", null,
      request({ op: "CONNECT", kind: "Pod", sub, ns: "tools", who: admin, name: "p", object: opts(sub) }));
    add(`tenant ${sub} into a pod of an unlabelled namespace`, "allow", null,
      request({ op: "CONNECT", kind: "Pod", sub, ns: "apps", who: tenant, name: "p", object: opts(sub) }));
  }
  const withEphemeral = p => ({ ...p, spec: { ...p.spec, ephemeralContainers: [{ name: "debugger", image: "busybox", stdin: true, tty: true }] } });
  add("tenant adds an ephemeral container to a reaper pod", "deny", P_EPH,
    request({ op: "UPDATE", kind: "Pod", sub: "ephemeralcontainers", ns: "tools", who: tenant, object: withEphemeral(pod("tools", cls)), oldObject: pod("tools", cls) }));
  add("administrator adds an ephemeral container to a reaper pod", "allow", null,
    request({ op: "UPDATE", kind: "Pod", sub: "ephemeralcontainers", ns: "tools", who: admin, object: withEphemeral(pod("tools", cls)), oldObject: pod("tools", cls) }));
  add("tenant adds an ephemeral container to another pod", "allow", null,
    request({ op: "UPDATE", kind: "Pod", sub: "ephemeralcontainers", ns: "apps", who: tenant, object: withEphemeral(pod("apps", undefined)), oldObject: pod("apps", undefined) }));
  return { namespaces, list };
}
