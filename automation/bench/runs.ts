// A run record, kept for the benchmark's result: the benchmark removes its lab, and with it the
// journals and reports, so the steps and their parts are copied out here. Pure.
import type { RunRecord } from "../core/run-record";
import type { BenchRun, BenchStep } from "./types";
import { AUDIT_PREFIX, drillAuditStep } from "../plans/drill-steps";

/** The step whose record the gate's checks belong to (restore path: verify; promotion: gate). */
const GATE_STEPS = new Set(["verify", "gate"]);

/** The named parts of a step that the run recorded beside it. */
function subSteps(record: RunRecord, stepId: string, durationMs: number | undefined): BenchStep["sub"] {
  // A drill's audit (after its RTO) adds its checks to the same list: they belong to its own step.
  const audit = (c: { name: string }) => c.name.startsWith(AUDIT_PREFIX);
  if (GATE_STEPS.has(stepId) && record.verification) return record.verification.checks.filter((c) => !audit(c)).map((c) => ({ name: c.name, ms: c.durationMs }));
  if (stepId === drillAuditStep.id && record.verification) return record.verification.checks.filter(audit).map((c) => ({ name: c.name.slice(AUDIT_PREFIX.length), ms: c.durationMs }));
  const restore = (record.facts as { restore?: { filesMs: number; recoveryMs: number; parts?: Record<string, number> } }).restore;
  if (stepId === "restore" && restore) {
    const parts = [
      { name: "files", ms: restore.filesMs },
      { name: "replay", ms: restore.recoveryMs },
      ...Object.entries(restore.parts ?? {}).map(([name, ms]) => ({ name, ms })),
    ];
    // What no part names (the step's own bookkeeping): shown, so no second is hidden.
    const rest = durationMs === undefined ? 0 : durationMs - parts.reduce((a, p) => a + p.ms, 0);
    if (rest > 0) parts.push({ name: "unaccounted", ms: rest });
    return parts;
  }
  return undefined;
}

export interface RunFigureOptions {
  id: string;
  label: string;
  commits?: BenchRun["commits"];
  writeDowntimeMs?: number;
}

export function benchRun(record: RunRecord, o: RunFigureOptions): BenchRun {
  const rto = record.measurements.rto.achieved;
  const rtoEnd = rto === undefined ? undefined : Date.parse(record.outageAt) + rto * 1000;
  const facts = record.facts as { path?: string; pathReason?: string };
  return {
    id: o.id,
    label: o.label,
    runId: record.runId,
    scenario: record.scenario,
    path: facts.path,
    pathReason: facts.pathReason,
    status: record.status,
    rtoSeconds: rto,
    rpoSeconds: record.measurements.rpo.achieved,
    detectionMs: Math.max(0, Date.parse(record.declaredAt) - Date.parse(record.outageAt)),
    steps: record.steps.map((s) => ({
      id: s.id,
      name: s.name,
      status: s.status,
      durationMs: s.durationMs,
      // A step that began before the first write is part of the RTO (the first write is the
      // end of the first-write step, which finishes a few milliseconds after it).
      inRto: rtoEnd !== undefined && s.startedAt !== undefined && Date.parse(s.startedAt) < rtoEnd,
      detail: s.detail,
      sub: subSteps(record, s.id, s.durationMs),
    })),
    commits: o.commits,
    writeDowntimeMs: o.writeDowntimeMs,
  };
}

/** The steps the RTO is made of. */
export function rtoSteps(run: BenchRun): BenchStep[] {
  return run.steps.filter((s) => s.inRto);
}
