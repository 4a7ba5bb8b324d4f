// Scenario: a datacenter failover killed with SIGKILL in the middle of the restore (files laid
// down, recovery not started) and, on the way back, right after the gate. `dr resume` finishes
// each run to the same result as an uninterrupted one: verified, DNS on the new site, writes
// through the service name; finished steps are not redone.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { RunRecord } from "../automation/core/run-record";
import { drSync } from "./harness/cli";
import { startTestLab, type TestLab } from "./harness/lab";

let t: TestLab;

before(async () => {
  t = await startTestLab();
});
after(async () => {
  await t?.destroy();
});


function newestRun(): string {
  const dir = join(t.dir, "journal");
  const runs = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  return runs[runs.length - 1].replace(/\.json$/, "");
}

function killAndResume(fault: string, from: string, to: string) {
  const killed = drSync(t.dir, ["failover", "--scenario", "datacenter", "--yes", "--json"], { FP_DR_FAULT: fault });
  assert.equal(killed.signal, "SIGKILL", `${fault}: ${killed.stderr}`);
  const runId = newestRun();
  assert.match(runId, /^datacenter-/);
  const resumed = drSync(t.dir, ["resume", runId, "--json"]);
  assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout.slice(0, 2000));
  const run = JSON.parse(resumed.stdout) as RunRecord;
  assert.equal(run.status, "succeeded");
  assert.equal((run.facts as { sourceSite: string }).sourceSite, from);
  assert.equal((run.facts as { targetSite: string }).targetSite, to);
  assert.ok(run.verification?.ok);
  assert.equal(run.measurements.rto.pass, true);
  assert.ok(run.notes.some((n) => n.startsWith("resumed at")));
  return run;
}

test("killed in the middle of the restore: resume restores again (delta) and finishes", async () => {
  const run = killAndResume("kill-during:restore", "primary", "secondary");
  const attempts = Object.fromEntries(run.steps.map((s) => [s.id, s.attempts]));
  assert.deepEqual(attempts, { assess: 1, fence: 1, "bring-up": 1, restore: 2, verify: 1, open: 1, "swap-dns": 1, "first-write": 1, "post-checks": 1, report: 1 });
  assert.equal(await t.lab.activeSite(), "secondary");
  const c = await t.lab.connect("secondary");
  await c.query("insert into fp_dr.heartbeat (at, writer) values (now(), 'test')");
  await c.end();
});

test("killed right after the gate, failing back: nothing before the kill is redone", async () => {
  const run = killAndResume("kill-after:verify", "secondary", "primary");
  for (const s of run.steps) assert.equal(s.attempts, 1, `${s.id} ran ${s.attempts} times`);
  assert.equal(await t.lab.activeSite(), "primary");
});
