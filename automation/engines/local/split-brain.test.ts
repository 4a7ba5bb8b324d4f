// Proves which site states are split brain (the scenario on real clusters is in
// test/recovery.test.ts): a fenced site that runs is critical whatever its mode; two service
// sites accepting writes are critical and the message names the one DNS answers with; drill
// and scratch sites, opened for writes on purpose, and stopped fenced sites are not flagged.
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitBrainFindings, type SiteRoleView } from "./split-brain";

const site = (name: string, role: string, over: Partial<SiteRoleView> = {}): SiteRoleView => ({ name, role, state: "running", inRecovery: false, fenced: false, serves: false, ...over });

test("a failover's normal end (old primary fenced and stopped, a drill open for writes) is not flagged", () => {
  assert.deepEqual(splitBrainFindings([site("primary", "primary", { state: "stopped", inRecovery: undefined, fenced: true }), site("secondary", "secondary", { serves: true }), site("drill-1", "drill")]), []);
});

test("a fenced site that runs is critical, read-only or not", () => {
  const f = splitBrainFindings([site("primary", "primary", { inRecovery: true, fenced: true }), site("secondary", "secondary", { serves: true })]);
  assert.deepEqual(f.map((x) => [x.check, x.severity]), [["fenced-site-running", "critical"]]);
  assert.match(f[0].message, /site primary is fenced .* running, read-only, in recovery/);
});

test("two service sites accepting writes are split brain, naming the one the service name answers with", () => {
  const f = splitBrainFindings([site("primary", "primary", { fenced: true }), site("secondary", "secondary", { serves: true }), site("scratch-1", "scratch")]);
  assert.deepEqual(f.map((x) => x.check), ["fenced-site-running", "split-brain"]);
  assert.match(f[1].message, /^split brain: 2 sites accept writes \(primary, secondary\); the service name answers secondary/);
  assert.equal(f[1].severity, "critical");
});
