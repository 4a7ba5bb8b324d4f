// The drill's fingerprints of the source at its restore point, read from a snapshot exported
// there and held by a second session from then on. The reading belongs to the process that took
// the restore point; a run resumed in another process has lost it (the snapshot died with its
// session) and says so. By default a drill's gate is the one a failover by restore would wait
// for, which has no source to compare with: the reading then waits until the drill's RTO has
// ended, takes no core from the restore, and feeds the audit after it. With `--full-gate` it
// runs while the copy is restored and feeds the gate, and the invariants are evaluated in the
// same snapshot: a copy whose rows equal the source's there gives the same answers, so the gate
// need not run them again. (Read first, before the restore, it once took 71 s of a 4 GB drill.)
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
const held = new Map<string, { go: () => void; stop: (e: Error) => void }>();

/**
 * What the reading awaits once the snapshot is imported, in a drill whose gate does not compare
 * with the source: it starts when the RTO has ended (`rtoEnded`), so that it takes no core from
 * the restore and the gate it no longer feeds; a drill that ends first releases the snapshot
 * (`abandonReading`).
 */
export function untilRtoEnds(runId: string): Promise<void> {
  return new Promise<void>((go, stop) => held.set(runId, { go, stop }));
}

/** The drill copy took its first write: the held reading may start. */
export function rtoEnded(runId: string): void {
  held.get(runId)?.go();
  held.delete(runId);
}

/** The drill ends without reaching its audit: the held reading gives its snapshot and session back unread. */
export function abandonReading(runId: string, why: string): void {
  held.get(runId)?.stop(new Error(why));
  held.delete(runId);
  reading.delete(runId);
}

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
