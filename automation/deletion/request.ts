// What the operator asks of a table recovery, and the diff as it is reported: counts and a
// sample of keys, never row contents (both are journaled).
import type { BlockedRows } from "./diff";

/** What the operator asked for (journaled, so a resumed run does the same). */
export interface DeletionRequest {
  /** schema.table */
  table: string;
  /** Recovery point given by the operator (ISO); otherwise the audit log is searched. */
  before?: string;
  /** Start of the audit search window (ISO). */
  since?: string;
  /** Audit events of these keys only. */
  keys?: string[];
  apply: boolean;
  revertChanged: boolean;
  includeDependents: boolean;
  /** Keep the restored copy after the run, for an `--apply` that follows a preview to reuse. */
  keepCopy?: boolean;
}

/** The diff as people (and --json) read it: counts and a sample of keys, never row contents. */
export interface DeletionDiff {
  table: string;
  columns: string[];
  /** Columns only one side has (a migration since the recovery point): not compared, not written. */
  columnsNotCompared: string[];
  copyRows: number;
  productionRows: number;
  missing: number;
  changed: number;
  added: number;
  sample: { missing: string[]; changed: string[]; added: string[] };
  buckets: { total: number; differing: number };
  dependents: { table: string; via: string[]; missing: number; sample: string[] }[];
  /** Rows that could not be written back: a parent is gone and not written back either. */
  blocked: BlockedRows[];
  readyAt: string;
}
