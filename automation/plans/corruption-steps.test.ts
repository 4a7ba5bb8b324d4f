// Proves: detection's verdict picks the path — index-only damage is rebuilt only with --reindex
// (else only offered), table damage or a site that cannot be checked is restored elsewhere; the
// REINDEX path never restores, fences or swaps; the restore path fences before restoring and
// re-reads the restored copy before DNS moves; each damaged index is rebuilt once.
import assert from "node:assert/strict";
import { sampleFinding } from "../corruption/findings.fixture";
import test from "node:test";
import type { CorruptionFinding, CorruptionReport } from "../corruption/report";
import { choosePath, indexesToRebuild, pathSteps } from "./corruption-steps";
import { corruptionPlan } from "./corruption";

const finding = (kind: CorruptionFinding["kind"], relation: string, block = 1) => sampleFinding(kind, relation, block, "bt_index_check");

test("paths: REINDEX only when asked and only for index-only damage; a restore otherwise", () => {
  assert.equal(choosePath("clean", true), "clean");
  assert.equal(choosePath("index-only", true), "reindex");
  assert.equal(choosePath("index-only", false), "reindex-offered");
  assert.equal(choosePath("table", true), "restore");
  assert.equal(choosePath("unknown", false), "restore");
});

test("every path is made of the plan's steps, in the plan's order; the REINDEX path changes no site but the damaged one", () => {
  const ids = corruptionPlan.steps.map((s) => s.id);
  for (const [path, steps] of Object.entries(pathSteps)) {
    assert.deepEqual(steps, ids.filter((id) => steps.includes(id)), `${path} follows the plan's order`);
  }
  for (const id of ["restore", "fence", "drain", "swap-dns", "open", "bring-up"]) assert.ok(!pathSteps.reindex.includes(id), `reindex path has no ${id}`);
  const r = pathSteps.restore;
  assert.ok(r.indexOf("drain") < r.indexOf("fence") && r.indexOf("fence") < r.indexOf("restore"));
  assert.ok(r.indexOf("verify") < r.indexOf("recheck-restored") && r.indexOf("recheck-restored") < r.indexOf("open") && r.indexOf("open") < r.indexOf("swap-dns"));
});

test("each damaged index is rebuilt once; table findings are not indexes", () => {
  const report = { findings: [finding("index", "app.a_pkey"), finding("index", "app.a_pkey", 3), finding("table", "app.b")] } as CorruptionReport;
  assert.deepEqual(indexesToRebuild(report), [{ database: "fp", index: "app.a_pkey", catalog: false }]);
});
