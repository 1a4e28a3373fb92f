// Runs admission requests through reaper's ValidatingAdmissionPolicies the way the API
// server does, with a real CEL evaluator (@bufbuild/cel) for every expression.
//   node admission-eval.mjs MANIFESTS.json CASES.mjs CONFIG.json
// MANIFESTS.json: the objects of the manifests or of a rendered chart (JSON array).
// CASES.mjs: exports cases(config) -> [{name, expect: "allow"|"deny", policy?, request}].
// CONFIG.json: what the manifests were made with (allow label, admin groups, class names).
// Prints one line per case, "ok" or "FAIL", and exits 1 when any case fails.
//
// What is the API server's and modelled here (not CEL): choosing the bindings whose policy
// matches the request (resourceRules: groups, versions, operations, resources with
// subresources and "*") and whose namespaceSelector matches the namespace's labels
// (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist); variables evaluated in
// order into `variables`; failurePolicy Fail (an evaluation error denies). What differs:
// Kubernetes evaluates variables lazily and type-checks expressions against the OpenAPI
// schema before use; here objects are untyped CEL maps, so a misspelt field is only
// caught when an expression reaches it (every case runs with zero evaluation errors for
// that reason, see below). Kubernetes' extra CEL libraries (authorizer, quantity, regex
// extensions, optionals) are not available and the policies do not use them.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { run } from "@bufbuild/cel";

const [manifestsFile, casesFile, configFile] = process.argv.slice(2);
const objects = JSON.parse(readFileSync(manifestsFile, "utf8"));
const config = JSON.parse(readFileSync(configFile, "utf8"));
const { cases } = await import(pathToFileURL(casesFile).href);

// JSON -> CEL values: objects become maps, integral numbers ints.
function cel(v) {
  if (Array.isArray(v)) return v.map(cel);
  if (v !== null && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, cel(x)]));
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return v;
}

const policies = new Map(objects.filter(o => o.kind === "ValidatingAdmissionPolicy").map(p => [p.metadata.name, p]));
const bindings = objects.filter(o => o.kind === "ValidatingAdmissionPolicyBinding");
for (const b of bindings) {
  if (!policies.has(b.spec.policyName)) throw new Error(`binding ${b.metadata.name}: no policy ${b.spec.policyName}`);
}

function listMatch(list, value) { return list.includes("*") || list.includes(value); }

function resourceMatch(entry, resource, sub) {
  if (entry === "*/*") return true;
  const [r, s] = entry.split("/");
  if (s === undefined) return (r === "*" || r === resource) && !sub;
  return (r === "*" || r === resource) && (s === "*" ? !!sub : s === sub);
}

function ruleMatch(rule, req) {
  return listMatch(rule.apiGroups, req.resource.group) &&
    listMatch(rule.apiVersions, req.resource.version) &&
    listMatch(rule.operations, req.operation) &&
    rule.resources.some(r => resourceMatch(r, req.resource.resource, req.subResource || ""));
}

function selectorMatch(sel, labels) {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels || {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions || []) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case "In": if (!has || !e.values.includes(labels[e.key])) return false; break;
      case "NotIn": if (has && e.values.includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: throw new Error(`selector operator ${e.operator}`);
    }
  }
  return true;
}

// The API server's answer to one request: {allowed, policy, message, errors}.
function admit(req, namespaces) {
  const nsLabels = req.namespace ? (namespaces[req.namespace] || {}) : {};
  for (const b of bindings) {
    const p = policies.get(b.spec.policyName);
    const rules = p.spec.matchConstraints.resourceRules;
    if (!rules.some(r => ruleMatch(r, req))) continue;
    if (req.namespace && !selectorMatch(p.spec.matchConstraints.namespaceSelector, nsLabels)) continue;
    if (req.namespace && !selectorMatch(b.spec.matchResources?.namespaceSelector, nsLabels)) continue;
    if (!b.spec.validationActions.includes("Deny")) continue;
    const vars = new Map();
    const nsObject = req.namespace ? { apiVersion: "v1", kind: "Namespace", metadata: { name: req.namespace, labels: nsLabels } } : null;
    const act = {
      object: cel(req.object ?? null), oldObject: cel(req.oldObject ?? null),
      request: cel(req), params: null, namespaceObject: cel(nsObject), variables: vars,
    };
    try {
      for (const v of p.spec.variables || []) vars.set(v.name, run(v.expression, act));
      for (const v of p.spec.validations) {
        const ok = run(v.expression, act);
        if (typeof ok !== "boolean") throw new Error(`${v.expression}: not a bool (${ok})`);
        if (!ok) {
          const message = v.messageExpression ? run(v.messageExpression, act) : v.message;
          return { allowed: false, policy: p.metadata.name, message, errors: [] };
        }
      }
    } catch (e) {
      if (p.spec.failurePolicy !== "Fail") throw new Error(`policy ${p.metadata.name}: failurePolicy ${p.spec.failurePolicy}`);
      return { allowed: false, policy: p.metadata.name, message: "evaluation error", errors: [String(e.message || e)] };
    }
  }
  return { allowed: true, errors: [] };
}

let failed = 0;
const { namespaces, list } = cases(config);
for (const c of list) {
  const r = admit(c.request, namespaces);
  const problems = [];
  if (r.errors.length) problems.push(`evaluation error: ${r.errors.join("; ")}`);
  if ((c.expect === "allow") !== r.allowed) problems.push(`expected ${c.expect}, got ${r.allowed ? "allow" : `deny by ${r.policy}: ${r.message}`}`);
  if (c.expect === "deny" && c.policy && r.policy !== c.policy) problems.push(`denied by ${r.policy}, expected ${c.policy}`);
  if (c.expect === "deny" && c.message && !String(r.message).includes(c.message)) problems.push(`message "${r.message}" lacks "${c.message}"`);
  if (problems.length) { failed++; console.log(`FAIL ${c.name}: ${problems.join("; ")}`); }
  else console.log(`ok   ${c.name}${r.allowed ? "" : ` (denied by ${r.policy})`}`);
}
console.log(`${list.length - failed} of ${list.length} admission cases as expected`);
process.exit(failed ? 1 : 0);
