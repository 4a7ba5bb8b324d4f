#!/usr/bin/env node
// Runs every *.test.ts under infra/, automation/ and test/ with Node's own test runner (TypeScript
// through tsx). Unit tests sit beside the code they prove; test/ holds the slow scenarios.
// Usage: node test/run-tests.cjs [path-substring …]   (no argument: everything)
const { readdirSync, statSync } = require("node:fs");
const { join, relative } = require("node:path");
const { spawnSync } = require("node:child_process");

const root = join(__dirname, "..");
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

const files = ["infra", "automation", "test"]
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
// Tests prove the sources: a dr they start never runs a dist/ build that happens to be current.
const env = { ...process.env, FP_DR_FROM_SOURCE: process.env.FP_DR_FROM_SOURCE ?? "1" };
// infra/'s tests run the Pulumi programs in the SDK's mock runtime: CPU only, no cluster, port or
// shared file, so two files run at once (49 s → 31 s on two cores). Everything else one file at a
// time: the scenarios time real recoveries and share the machine's cores with their clusters.
const groups = [
  { files: files.filter((f) => f.startsWith("infra")), concurrency: 2 },
  { files: files.filter((f) => !f.startsWith("infra")), concurrency: 1 },
].filter((g) => g.files.length > 0);
let status = 0;
for (const g of groups) {
  const args = ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${g.concurrency}`, ...g.files];
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env });
  if (res.status !== 0) status = res.status ?? 1;
}
process.exit(status);
