// Proves the runbook's escalation matrix becomes Incident Manager stages with the right waits,
// and that severities map to the runbook's impact levels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { escalation } from "../automation/config/common";
import { escalationStages, severityImpact } from "./escalation-plan";

test("the runbook's matrix: 0-15 min, 15-30 min, 30-60 min, 1 h+", () => {
  assert.deepEqual(escalationStages(escalation.parse({})), [
    { contact: "on-call DBA", durationInMinutes: 15 },
    { contact: "senior DBA + dev lead", durationInMinutes: 15 },
    { contact: "IT director + business lead", durationInMinutes: 30 },
    { contact: "executive team", durationInMinutes: 0 },
  ]);
});

test("stages are ordered by time; the first must start at once", () => {
  const shuffled = escalation.parse({ stages: [{ after: "30m", contact: "b", response: "x" }, { after: 0, contact: "a", response: "x" }] });
  assert.deepEqual(escalationStages(shuffled).map((s) => s.contact), ["a", "b"]);
  assert.throws(() => escalationStages(escalation.parse({ stages: [{ after: "5m", contact: "a", response: "x" }] })), /must start at 0/);
  assert.throws(() => escalationStages(escalation.parse({ stages: [{ after: 0, contact: "a", response: "x" }, { after: "10s", contact: "b", response: "x" }] })), /less than a minute/);
});

test("critical opens impact-1 incidents, warning impact-2, info none", () => {
  assert.equal(severityImpact.critical, 1);
  assert.equal(severityImpact.warning, 2);
  assert.equal(severityImpact.info, undefined);
});
