// The run record as zod types, for reading a report back from disk: a damaged or hand-edited
// report is refused with the field path of every problem, never half-rendered.
import { z } from "zod";
import { scenarioNames } from "../config/common";
import type { RunRecord } from "../core/run-record";

const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not a timestamp");

// Loose objects: a field a newer runner adds survives a read and re-render by this code.
const stepShape = {
  id: z.string(),
  name: z.string(),
  status: z.enum(["pending", "running", "done", "failed", "skipped"]),
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  durationMs: z.number().nonnegative().optional(),
  attempts: z.number().int().nonnegative(),
  detail: z.string().optional(),
  forced: z.boolean().optional(),
  warning: z.boolean().optional(),
};
const stepRecord = z.looseObject(stepShape);

const measurement = z.object({
  achieved: z.number().optional(),
  objective: z.number().nonnegative(),
  pass: z.boolean().optional(),
  basis: z.string(),
});

const recordShape = {
  runId: z.string().min(1),
  scenario: z.enum(["datacenter", "hardware", "drill", "deletion", "security", "corruption", "switchover", "reprotect"]),
  objectiveScenario: z.enum(scenarioNames),
  environment: z.string(),
  engine: z.enum(["local", "pulumi"]),
  declaredAt: timestamp,
  outageAt: timestamp,
  finishedAt: timestamp.optional(),
  status: z.enum(["running", "succeeded", "failed", "aborted", "cancelled", "interrupted"]),
  dryRun: z.boolean(),
  forced: z.boolean(),
  options: z.record(z.string(), z.unknown()),
  steps: z.array(stepRecord),
  facts: z.record(z.string(), z.unknown()),
  measurements: z.object({ rto: measurement, rpo: measurement }),
  verification: z
    .object({ ok: z.boolean(), checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), durationMs: z.number().nonnegative() })) })
    .optional(),
  notes: z.array(z.string()),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
  provenance: z
    .object({ operator: z.string(), toolVersion: z.string(), commit: z.string().optional(), postgres: z.string().optional(), pgbackrest: z.string().optional() })
    .optional(),
};

export const runRecordSchema = z.looseObject(recordShape);

// Compile-time guard: the schema and the RunRecord interface describe the same thing. If a field
// is added to one and not the other, one of these assignments stops compiling.
const strict = z.object({ ...recordShape, steps: z.array(z.object(stepShape)) });
type Strict = typeof strict;
const schemaFitsRecord = (v: z.output<Strict>): RunRecord => v;
const recordFitsSchema = (v: RunRecord): z.input<Strict> => v;
void schemaFitsRecord;
void recordFitsSchema;
// And no field of the record (optional ones included) is missing from the schema.
const everyFieldChecked: Record<Exclude<keyof RunRecord, keyof typeof recordShape>, never> = {};
const everyStepFieldChecked: Record<Exclude<keyof RunRecord["steps"][number], keyof typeof stepShape>, never> = {};
void everyFieldChecked;
void everyStepFieldChecked;

/** Validates a parsed report; on failure, every problem as "field.path: message". */
export function parseRunRecord(raw: unknown): { ok: true; record: RunRecord } | { ok: false; problems: string[] } {
  const parsed = runRecordSchema.safeParse(raw);
  if (parsed.success) return { ok: true, record: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(record)"}: ${i.message}`) };
}
