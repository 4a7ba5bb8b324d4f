// The drill's fingerprints of the source at its restore point are read from an exported snapshot
// while the copy is being restored (they used to be read first: 71 s of a 4 GB drill before the
// restore could start, on a machine with a core to spare). The reading belongs to the process
// that took the restore point; the gate waits for it. A run resumed in another process has lost
// it (the snapshot died with its session): its gate checks against the backup's manifest, and
// says so.
import type { TableFingerprint } from "../verify/fingerprint";

type Prints = Record<string, TableFingerprint[]>;
const reading = new Map<string, Promise<Prints>>();

/** Keeps the reading of `runId`'s source fingerprints; a failure surfaces at the gate, not as an unhandled rejection. */
export function readingFingerprints(runId: string, prints: Promise<Prints>): void {
  prints.catch(() => undefined);
  reading.set(runId, prints);
}

/** The source fingerprints of `runId` once read (waiting for them), or undefined when this process never read them. */
export async function sourceFingerprints(runId: string): Promise<{ prints?: Prints; waitedMs: number }> {
  const started = Date.now();
  const p = reading.get(runId);
  if (!p) return { waitedMs: 0 };
  try {
    return { prints: await p, waitedMs: Date.now() - started };
  } finally {
    reading.delete(runId);
  }
}
