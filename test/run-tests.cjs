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
const args = ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=1", ...files];
// Tests prove the sources: a dr they start never runs a dist/ build that happens to be current.
const env = { ...process.env, FP_DR_FROM_SOURCE: process.env.FP_DR_FROM_SOURCE ?? "1" };
const res = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit", env });
process.exit(res.status ?? 1);
