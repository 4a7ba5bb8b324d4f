// The exit-status table. Proves: every catalogue code has a class and so one status; no two
// classes share a status; the verdicts (health, status, objectives) never share a status with
// an error; README.md's table and `dr --help` print exactly what the catalogue says.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DrError, errorCatalogue, exitFor, type ErrorCode } from "./errors";
import { exitClasses, verdictExit, type ExitClass } from "./exit-status";
import { exitStatusHelp, exitStatusMarkdown } from "./exit-table";

const classes = Object.entries(exitClasses) as [string, ExitClass][];
const codes = Object.keys(errorCatalogue) as ErrorCode[];

test("every error code has a class, and its status is that class's", () => {
  for (const code of codes) {
    const cls = errorCatalogue[code].class as string;
    assert.ok(cls in exitClasses, `${code} has no class (${cls})`);
    assert.equal(new DrError(code, "x").exitCode, exitClasses[cls as keyof typeof exitClasses].exit, code);
  }
});

test("no two classes share a status; verdicts and errors never do", () => {
  const statuses = classes.map(([, c]) => c.exit);
  assert.equal(new Set(statuses).size, statuses.length, `shared: ${statuses.join(" ")}`);
  const verdicts = new Set(classes.filter(([, c]) => c.verdict).map(([, c]) => c.exit));
  for (const code of codes) assert.ok(!verdicts.has(exitFor(code)), `${code} exits ${exitFor(code)}, a verdict's status`);
  // health's scale is a verdict, and a usage error is not on it
  assert.deepEqual(["ok", "warning", "critical"].map((v) => verdictExit(v as "ok")), [0, 1, 2]);
  assert.notEqual(exitFor("USAGE"), verdictExit("critical"));
  assert.notEqual(exitFor("GATE_FAILED"), exitClasses.objectiveMissed.exit);
  for (const [name, c] of classes) assert.ok(c.exit >= 0 && c.exit <= 255, `${name}: ${c.exit}`);
});

test("README.md prints the table generated from the catalogue", () => {
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  const section = /<!-- exit-status:begin[^>]*-->\n([\s\S]*?)\n<!-- exit-status:end -->/.exec(readme);
  assert.ok(section, "README.md has no exit-status section");
  assert.equal(section[1], exitStatusMarkdown(), "README's exit-status table differs from the catalogue: paste exitStatusMarkdown() (automation/core/exit-table.ts)");
  for (const code of codes) assert.ok(section[1].includes(`\`${code}\``), `${code} missing from README`);
});

test("dr --help prints the same table", () => {
  const r = spawnSync(process.execPath, [join(__dirname, "..", "cli", "dr.cjs"), "--help"], { encoding: "utf8", timeout: 60_000, env: { ...process.env, FP_DR_LAB_DIR: "/nonexistent/fp-dr-exit-test" } });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(exitStatusHelp()), r.stdout);
  for (const code of codes) assert.match(r.stdout, new RegExp(`\\b${code}\\b`), `${code} missing from dr --help`);
});
