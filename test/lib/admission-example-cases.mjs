// Admission requests for the manifests of examples/: the examples' namespace (labelled
// to allow reaper pods) may be created by an administrator only, and then a tenant may
// create every workload of the examples in it; the same workloads in a namespace without
// the label are refused. Used by test/lib/admission-eval.mjs with a config that adds
// {examples: [objects of examples/]} to the usual one (admission-cases.mjs).
import { request } from "./admission-cases.mjs";

const WORKLOADS = new Set(["Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob"]);

export function cases(config) {
  const admin = { username: "alice", uid: "alice", groups: [config.adminGroups[config.adminGroups.length - 1], "system:authenticated"] };
  const tenant = { username: "bob", uid: "bob", groups: ["developers", "system:authenticated"] };
  const ns = config.examples.find(o => o.kind === "Namespace");
  if (!ns) throw new Error("examples: no Namespace");
  const nsName = ns.metadata.name;
  const namespaces = { [nsName]: ns.metadata.labels || {}, "plain-apps": { team: "web" } };
  const list = [];
  const add = (name, expect, req) => list.push({ name, expect, request: req });
  add(`administrator creates namespace ${nsName}`, "allow",
    request({ op: "CREATE", kind: "Namespace", who: admin, object: ns }));
  add(`tenant creates namespace ${nsName} (labelled)`, "deny",
    request({ op: "CREATE", kind: "Namespace", who: tenant, object: ns }));
  for (const o of config.examples.filter(x => WORKLOADS.has(x.kind))) {
    if (o.metadata.namespace !== nsName) throw new Error(`${o.kind} ${o.metadata.name}: not in ${nsName}`);
    add(`tenant creates ${o.kind} ${o.metadata.name} in ${nsName}`, "allow",
      request({ op: "CREATE", kind: o.kind, ns: nsName, who: tenant, object: o }));
    const elsewhere = { ...o, metadata: { ...o.metadata, namespace: "plain-apps" } };
    add(`tenant creates ${o.kind} ${o.metadata.name} in an unlabelled namespace`, "deny",
      request({ op: "CREATE", kind: o.kind, ns: "plain-apps", who: tenant, object: elsewhere }));
  }
  return { namespaces, list };
}
