// The control state: the decisions a failover takes (which site DNS answers with, which site is
// fenced, the standing restore and promote requests, a host marked reachable), kept as one
// versioned document per environment in the shared store (`control/<environment>.json`), not in
// anyone's Pulumi.<stack>.yaml. The program reads it at every `up` and lays it over the stack's
// declaration, so any operator's `pulumi up` honours the latest failover decisions instead of
// silently undoing a fence or a DNS swap from a stale checkout. The automation writes it
// (automation/engines/pulumi/control-writes.ts) before it runs the update.
//
// Only decision keys are allowed in it (never a password, key or passphrase): the schema
// refuses anything else, so no secret can reach the shared store through it.
import { z } from "zod";
import type { RawStackConfig } from "./load";

/** The keys (fp-dr:<key>, dotted for nested ones) a decision may set. */
export const decisionKeys = ["dns.activeSite", "fence", "restore", "promote", "access.hostReachable", "replacement"] as const;
export type DecisionKey = (typeof decisionKeys)[number];

const stackDecisions = z.partialRecord(z.enum(decisionKeys), z.unknown().nullable());

/**
 * A switchover in flight (automation/plans/switchover.ts on the pulumi engine): from its clean
 * shutdown of the primary until the old primary follows the new one. While it is here, the
 * program refuses every update but the run's own (./switchover-guard.ts). The demotion token is
 * an LSN and a timeline: nothing secret.
 */
export const switchoverRecord = z
  .object({
    runId: z.string().min(1),
    /** The run's lease epoch when it last wrote this. */
    epoch: z.number().int().optional(),
    from: z.string().min(1),
    to: z.string().min(1),
    /** The step under way: the primary stopping, the token read, the promotion (and DNS), the old primary following. */
    phase: z.enum(["shutdown", "token", "promote", "demote"]),
    /** The old primary's shutdown checkpoint, once read: the point the standby replayed past. */
    token: z.object({ lsn: z.string().regex(/^[0-9A-F]+\/[0-9A-F]+$/i), timeline: z.number().int().min(1) }).strict().optional(),
    startedAt: z.string(),
  })
  .strict();
export type SwitchoverRecord = z.infer<typeof switchoverRecord>;

/**
 * A dr run (run id and lease epoch) newer than the one that recorded the switchover: holding the
 * environment's lease, it proves the switchover's run no longer acts (./switchover-guard.ts).
 */
export function supersedes(runId: string | undefined, epoch: number | undefined, s: { runId: string; epoch?: number }): boolean {
  return runId !== undefined && runId !== s.runId && epoch !== undefined && (s.epoch === undefined || epoch > s.epoch);
}

export const controlDocument = z
  .object({
    environment: z.string().min(1),
    /** Grows by one with every change (the store's conditional write keeps it linear). */
    version: z.number().int().min(1),
    updatedAt: z.string(),
    /** The run (and its lease epoch) that made the last change, or the person. */
    updatedBy: z.object({ by: z.string(), runId: z.string().optional(), epoch: z.number().int().optional() }).strict(),
    /** Per stack name: each decision's stored value; null means removed (the declaration's own value, if any, applies). */
    stacks: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/), stackDecisions),
    /** The switchover in flight; null (or absent) when none is. */
    switchover: switchoverRecord.nullable().optional(),
  })
  .strict();
export type ControlDocument = z.infer<typeof controlDocument>;

export function controlKey(environment: string): string {
  return `control/${environment}.json`;
}


/** The stack's declaration with the control document's decisions for `stack` laid over it. */
export function overlayControl(raw: RawStackConfig, doc: ControlDocument | undefined, stack: string): RawStackConfig {
  const decisions = doc?.stacks[stack];
  if (!decisions) return raw;
  const values = structuredClone(raw.values);
  for (const [key, value] of Object.entries(decisions) as [DecisionKey, unknown][]) {
    const [head, leaf] = key.split(".");
    if (leaf === undefined) {
      if (value === null) delete values[head];
      else values[head] = value;
      continue;
    }
    const parent = { ...((values[head] as Record<string, unknown> | undefined) ?? {}) };
    if (value === null) delete parent[leaf];
    else parent[leaf] = value;
    values[head] = parent;
  }
  return { values, secret: raw.secret };
}

/** Applies `changes` to the document (a new one when absent), one version up. */
export function changedDocument(
  cur: ControlDocument | undefined,
  environment: string,
  stack: string,
  changes: Partial<Record<DecisionKey, unknown>>,
  by: ControlDocument["updatedBy"],
  now = new Date(),
): ControlDocument {
  const unknown = Object.keys(changes).filter((k) => !(decisionKeys as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`not decision keys, refused in the control state: ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  const stacks = structuredClone(cur?.stacks ?? {});
  stacks[stack] = { ...(stacks[stack] ?? {}), ...changes };
  // A decision taken during a switchover (its promote request, its DNS answer) keeps it recorded;
  // one by a later run holding a newer lease epoch ends it: that run took the environment over.
  const switchover = cur?.switchover && supersedes(by.runId, by.epoch, cur.switchover) ? null : cur?.switchover;
  return controlDocument.parse({ environment, version: (cur?.version ?? 0) + 1, updatedAt: now.toISOString(), updatedBy: by, stacks, switchover });
}

/** The document with the switchover in flight set (null: ended), one version up. */
export function withSwitchover(cur: ControlDocument | undefined, environment: string, switchover: SwitchoverRecord | null, by: ControlDocument["updatedBy"], now = new Date()): ControlDocument {
  return controlDocument.parse({ environment, version: (cur?.version ?? 0) + 1, updatedAt: now.toISOString(), updatedBy: by, stacks: structuredClone(cur?.stacks ?? {}), switchover });
}
