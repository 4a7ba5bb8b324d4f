// A run's id: what it is, when it started (UTC, to the second) and a random tail, so that two runs
// started in the same second never share a journal, a lock or a report.
import { randomBytes } from "node:crypto";

export function newRunId(scenario: string, now = new Date()): string {
  const ts = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "z").toLowerCase();
  return `${scenario}-${ts}-${randomBytes(2).toString("hex")}`;
}
