// The drill's fingerprints of the source at its restore point are read from an exported snapshot
// while the copy is being restored (they used to be read first: 71 s of a 4 GB drill before the
// restore could start, on a machine with a core to spare). The reading belongs to the process
// that took the restore point; the gate waits for it. A run resumed in another process has lost
// it (the snapshot died with its session): its gate checks against the backup's manifest, and
// says so. The invariants are evaluated in the same snapshot after the fingerprints: a copy whose
// rows equal the source's there gives the same answers, so the gate need not run them again.
import type { TableFingerprint } from "../verify/fingerprint";
import type { ClientBase } from "pg";
import type { Invariant } from "../config/common";
import { invariantsAtSource } from "../verify/manifest";
import type { InvariantAtSource } from "../verify/proof";

/** What was read of the source at the restore point. */
export interface SourceAtPoint {
  prints: Record<string, TableFingerprint[]>;
  /** The invariants in force, evaluated at the same snapshot. */
  invariants: InvariantAtSource[];
  /** How long the invariants took there (the source's time, not the gate's). */
  invariantsMs: number;
}
const reading = new Map<string, Promise<SourceAtPoint>>();

/** Keeps the reading of `runId`'s source at its restore point; a failure surfaces at the gate, not as an unhandled rejection. */
export function readingFingerprints(runId: string, prints: Promise<SourceAtPoint>): void {
  prints.catch(() => undefined);
  reading.set(runId, prints);
}

/** What was read of the source of `runId` (waiting for it), or nothing when this process never read it. */
export async function sourceFingerprints(runId: string): Promise<{ prints?: SourceAtPoint; waitedMs: number }> {
  const started = Date.now();
  const p = reading.get(runId);
  if (!p) return { waitedMs: 0 };
  try {
    return { prints: await p, waitedMs: Date.now() - started };
  } finally {
    reading.delete(runId);
  }
}

/**
 * The invariants at the source, inside the reading's transaction, on one core of the live
 * primary as the fingerprints take: no parallel workers for their scans (a drill must not load
 * production, and on a shared host they would slow the restore they run beside).
 */
export async function invariantsOnOneCore(c: ClientBase, invariants: Invariant[]): Promise<InvariantAtSource[]> {
  await c.query("set local max_parallel_workers_per_gather = 0");
  return invariantsAtSource(c, invariants);
}
