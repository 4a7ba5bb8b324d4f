// The record of one recovery run: what was declared, every step with its timing and outcome,
// the measurements (RTO, RPO) against the objectives, and the verification verdict. It is the
// journal (persisted after every step, so a killed run resumes) and the source of every report.
import type { ScenarioName } from "../config/common";

export type RunScenario = "datacenter" | "hardware" | "drill" | "deletion" | "security" | "corruption" | "switchover" | "reprotect";
/** cancelled: a person declined a confirmation; interrupted: a signal stopped the process. */
export type RunStatus = "running" | "succeeded" | "failed" | "aborted" | "cancelled" | "interrupted";
export type StepStatus = "pending" | "running" | "done" | "failed" | "skipped";

export interface StepRecord {
  id: string;
  name: string;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  attempts: number;
  /** One line on what happened (or why it failed). */
  detail?: string;
  /** True when the step was run with --force past a failed gate. */
  forced?: boolean;
  /** Done, but what it found needs a look (its detail says what): never shown as a plain ✓. */
  warning?: boolean;
}

export interface Measurement {
  /** Seconds. */
  achieved?: number;
  objective: number;
  pass?: boolean;
  /** How it was measured, in words. */
  basis: string;
}

/** Who ran it, where and with what (a report read a year later must say). */
export interface Provenance {
  /** user@host of the process that declared the run. */
  operator: string;
  toolVersion: string;
  /** The checkout's commit ("-dirty" with uncommitted changes), when the tool runs from one. */
  commit?: string;
  /** Versions of the binaries on the machine that ran it. */
  postgres?: string;
  pgbackrest?: string;
}

export interface RunRecord {
  runId: string;
  scenario: RunScenario;
  /** The objectives' key for this scenario (drills measure against the datacenter objectives). */
  objectiveScenario: ScenarioName;
  environment: string;
  engine: "local" | "pulumi";
  /** The moment the run was declared: RTO counts from here. */
  declaredAt: string;
  /** When the outage began (for RPO); default: declaredAt. */
  outageAt: string;
  finishedAt?: string;
  status: RunStatus;
  dryRun: boolean;
  forced: boolean;
  options: Record<string, unknown>;
  steps: StepRecord[];
  /** Facts steps hand to later steps (chosen set, restored site, …); JSON only. */
  facts: Record<string, unknown>;
  measurements: { rto: Measurement; rpo: Measurement };
  verification?: { ok: boolean; checks: { name: string; ok: boolean; detail: string; durationMs: number }[] };
  /** Things the operator must know (fallbacks taken, fences that could not be done). */
  notes: string[];
  error?: { code: string; message: string; hint?: string };
  provenance?: Provenance;
}

/**
 * A table recovery without --apply: it restored a copy and showed the diff, and wrote nothing
 * back. Not a recovery: no RTO/RPO verdict, "PREVIEW" in the report and the list, exit 0.
 */
export function isPreview(record: Pick<RunRecord, "scenario" | "facts" | "dryRun">): boolean {
  return record.scenario === "deletion" && !record.dryRun && (record.facts.request as { apply?: boolean } | undefined)?.apply === false;
}
