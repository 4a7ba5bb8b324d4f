// The facts recovery steps hand to each other through the journal (so a resumed run knows
// what the killed one had found). Typed accessors over StepContext.facts.
import type { FenceResult } from "../engines/engine";
import type { BackupProof, InvariantAtSource, ProofCheck } from "../verify/proof";
import type { TableFingerprint } from "../verify/fingerprint";
import type { StepContext } from "./plan";
import type { RecoveryPoint } from "../restore/recovery-point";

export interface Facts {
  /** Site that held the primary role when the run was declared. */
  sourceSite?: string;
  /** Site being recovered into (secondary, replacement, drill-<id>). */
  targetSite?: string;
  repo?: 1 | 2;
  assessment?: {
    primaryReachable: boolean;
    primaryMode?: string;
    newestSet?: string;
    newestWalAt?: string;
    /** outage − newest archived WAL, the RPO the archive implies (seconds). */
    impliedRpoSeconds?: number;
  };
  /** Where a time-bounded restore stops: the target time, or the end of the archived WAL when no commit after the target is archived. */
  recoveryPoint?: RecoveryPoint;
  fence?: FenceResult;
  /** Sets refused (failed verification) and passed over for an older one. */
  excludedSets?: string[];
  restore?: { set: string; repo: number; replayLsn?: string; lastCommitAt?: string; filesMs: number; recoveryMs: number; bytes?: number; /** The step's other measured parts, by name (ms). */ parts?: Record<string, number> };
  /** The drill's restore point; its fingerprints arrive at the gate (read while the copy is restored). */
  restorePoint?: {
    name: string;
    lsn: string;
    at: string;
    lastCommitAt?: string;
    schema: string[];
    fingerprints?: Record<string, TableFingerprint[]>;
    /** The invariants evaluated at the same snapshot as the fingerprints, and how long they took there. */
    invariants?: InvariantAtSource[];
    invariantsMs?: number;
  };
  verified?: boolean;
  /** The structural checks the gate showed from the backup's proof instead of running them on the copy (a drill's audit runs them). */
  proofShown?: ProofCheck["kind"][];
  /** The invariants the gate checked only over what was written since the backup's proofs (a drill's audit runs them whole). */
  checkedSince?: string[];
  /** A drill's audit after its RTO ran and agreed with the proofs. */
  audited?: boolean;
  /** What the restore path's gate proved about the data (amcheck, orphans), for the first backup of it. */
  gateProof?: BackupProof;
  opened?: boolean;
  dns?: { address: string; waitedMs: number };
  firstWriteAt?: string;
  restoredLastCommitAt?: string;
  rpoReferenceAt?: string;
  firstBackup?: string;
  drillId?: string;
  /** Dry run: the restore's own estimate (size / throughput) in seconds. */
  restoreEstimateSeconds?: number;
  /** Dry run: the sum of the steps' estimates, the restore's replaced by its own. */
  estimatedRtoSeconds?: number;
  reports?: { json: string; markdown: string; html: string };
}

export function facts(ctx: StepContext): Facts {
  return ctx.facts as Facts;
}
