// Recovery plans as data. A plan reads like the runbook: a list of named steps, each with a
// check that says whether it is already done and an action. The runner times, journals and
// (on resume) skips them; a plan never sequences anything itself.
import type { DrConfig } from "../config/schema";
import type { Engine } from "../engines/engine";
import type { Output } from "../core/output";
import type { RunRecord, RunScenario } from "../core/run-record";

export interface RunOptions {
  /** Walk the checks, print what would happen, change nothing. */
  dryRun: boolean;
  /** Skip the confirmation of destructive steps. */
  yes: boolean;
  /** Go past a failed verification gate (loud, recorded). */
  force: boolean;
  /** Run every structural check on a restored copy, also where passing proofs were recorded with the backup. */
  fullGate?: boolean;
  /** Point in time to restore to (default: the end of the archived WAL). */
  targetTime?: string;
  /** When the outage began (RPO is measured against it); default: the declaration. */
  outageAt?: string;
}

export interface StepContext {
  engine: Engine;
  config: DrConfig;
  out: Output;
  record: RunRecord;
  options: RunOptions;
  /** Facts shared between steps (persisted in the journal). */
  facts: Record<string, unknown>;
  /** Adds a note the operator must read (fallbacks, fences that could not be done). */
  note(text: string): void;
}

/** What a step's action may ask of the runner. */
export type StepOutcome = void | { detail?: string; goto?: string; warning?: boolean };

export interface Step {
  /** Stable id (journal, fault injection): "fence-primary". */
  id: string;
  /** What the runbook would say: "fence the old primary". */
  name: string;
  /** Changes something that cannot be taken back; confirmed unless --yes. */
  destructive?: boolean;
  /** A verification gate: its failure stops the plan unless --force. */
  gate?: boolean;
  /** Runs even after an earlier step failed (a drill's destroy). */
  always?: boolean;
  /** Rough duration for the dry run's RTO estimate (seconds). */
  estimateSeconds?: number;
  /** True when the world already is as this step would leave it. */
  done?(ctx: StepContext): Promise<boolean>;
  run(ctx: StepContext): Promise<StepOutcome>;
  /** One line on what the step would do, after checking it could (dry run). */
  explain?(ctx: StepContext): Promise<string>;
}

export interface Plan {
  scenario: RunScenario;
  title: string;
  /** Where in the runbook this comes from. */
  runbook: string;
  steps: Step[];
  /**
   * Set when a failed run of this plan cannot be resumed, because a clean-up step that always
   * runs took away what the remaining steps need (a drill's destroyed site): why, and what to
   * do instead.
   */
  notResumableAfterFailure?: { why: string; hint: string };
}
