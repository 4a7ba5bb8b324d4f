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
// Two test files at a time in each group: infra/'s run the Pulumi programs in the SDK's mock
// runtime (CPU only); automation/'s and test/'s each start their own scratch clusters or lab in a
// temporary directory on free ports, and much of their time is a server's or pgBackRest's
// waiting, not computing. On two cores the whole suite took 14.3 min this way against 21 min one
// file at a time; the scenarios' own bounds (a dead store's drill within 15 s, ...) held.
// FP_DR_TEST_CONCURRENCY=1 runs one file at a time (to time a scenario alone).
const concurrency = Number(process.env.FP_DR_TEST_CONCURRENCY ?? 2);
const groups = [
  { files: files.filter((f) => f.startsWith("infra")), concurrency },
  { files: files.filter((f) => f.startsWith("automation")), concurrency },
  { files: files.filter((f) => f.startsWith("test")), concurrency },
].filter((g) => g.files.length > 0);
let status = 0;
for (const g of groups) {
  const args = ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${g.concurrency}`, ...g.files];
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env });
  if (res.status !== 0) status = res.status ?? 1;
}
process.exit(status);
