// Proves: RTO counts from the outage when one is given (--outage-at), not from the moment the
// run was declared; without one, from the declaration.
import assert from "node:assert/strict";
import test from "node:test";
import { measure } from "./measure";
import type { RunRecord } from "./run-record";

function record(outageAt: string): RunRecord {
  return {
    runId: "r", scenario: "datacenter", objectiveScenario: "datacenter", environment: "lab", engine: "local",
    declaredAt: "2026-11-26T03:10:00.000Z", outageAt, status: "succeeded", dryRun: false, forced: false, options: {}, steps: [],
    facts: { firstWriteAt: "2026-11-26T03:12:00.000Z" }, notes: [],
    measurements: { rto: { objective: 300, basis: "" }, rpo: { objective: 60, basis: "" } },
  };
}

test("RTO from --outage-at: an outage 4 minutes before the declaration counts", () => {
  const r = record("2026-11-26T03:06:00.000Z");
  measure(r);
  assert.equal(r.measurements.rto.achieved, 360);
  assert.equal(r.measurements.rto.pass, false, "6 minutes of outage miss a 5 minute objective");
});

test("without an outage time, RTO counts from the declaration", () => {
  const r = record("2026-11-26T03:10:00.000Z");
  measure(r);
  assert.equal(r.measurements.rto.achieved, 120);
});
