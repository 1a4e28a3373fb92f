// Validates Kubernetes objects against the API schemas of several Kubernetes versions.
//   node k8s-schema-check.mjs OBJECTS.json PACKAGE...
// OBJECTS.json: [{"source": "...", "object": {...}}]. PACKAGE: an npm alias of
// kubernetes-models (test/lib/node/package.json: k8s-1.33, k8s-1.36), generated from the
// OpenAPI schema of that Kubernetes release. Two checks per object and version:
//   - the package's validator (JSON Schema from the OpenAPI spec: types, required fields,
//     formats, enums);
//   - the TypeScript compiler, assigning the object as a literal to the kind's interface:
//     it refuses any field the schema does not have, at any depth ("Object literal may only
//     specify known properties"), which the OpenAPI schema alone does not forbid.
// A kind the version does not have is an error. Prints "ok"/"FAIL" lines; exit 1 on failure.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [objectsFile, ...packages] = process.argv.slice(2);
const items = JSON.parse(readFileSync(objectsFile, "utf8"));
let failed = 0;

function typeName(o) { return `I${o.kind}`; }
function modulePath(pkg, o) { return `${pkg}/${o.apiVersion}/${o.kind}`; }

for (const pkg of packages) {
  // 1. The validators.
  for (const { source, object } of items) {
    const where = `${pkg} ${source}: ${object.kind} ${object.metadata?.name}`;
    let mod;
    try { mod = await import(modulePath(pkg, object)); } catch (e) {
      failed++; console.log(`FAIL ${where}: ${object.apiVersion} ${object.kind} is not in this version`); continue;
    }
    try { new mod[object.kind](object).validate(); } catch (e) {
      failed++; console.log(`FAIL ${where}: ${e.message}`);
    }
  }
  // 2. Unknown fields and types, through the compiler.
  const dir = mkdtempSync(join(here, ".tscheck-"));
  const lines = [];
  items.forEach(({ object }, i) => {
    lines.push(`import type { ${typeName(object)} as T${i} } from ${JSON.stringify(modulePath(pkg, object))};`);
  });
  items.forEach(({ object }, i) => {
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object)};`);
  });
  writeFileSync(join(dir, "check.ts"), lines.join("\n") + "\n");
  const tsc = spawnSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict",
    "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "--pretty", "false",
    join(dir, "check.ts")], { encoding: "utf8" });
  const out = (tsc.stdout || "") + (tsc.stderr || "");
  if (tsc.status !== 0) {
    for (const line of out.split("\n").filter(Boolean)) {
      const m = line.match(/check\.ts\((\d+),\d+\): (.*)/);
      const idx = m ? Number(m[1]) - 1 - items.length : -1;
      const it = items[idx];
      failed++;
      console.log(`FAIL ${pkg} ${it ? `${it.source}: ${it.object.kind} ${it.object.metadata?.name}: ${m[2]}` : line}`);
    }
  }
  spawnSync("rm", ["-rf", dir]);
  console.log(`${tsc.status === 0 ? "ok  " : "FAIL"} ${pkg}: ${items.length} objects`);
}
process.exit(failed ? 1 : 0);
