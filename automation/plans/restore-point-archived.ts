// A drill's restore point is offsite once its WAL is archived (0.5 to 1 s after the point). The
// copy needs that WAL only when it replays, after pgBackRest has laid the files down (seconds):
// so the restore-point step starts the wait and hands it here, keyed by run id, and the restore
// awaits it just before it starts the copy (../restore/run.ts). The wait leaves the drill's RTO;
// a WAL that never arrives fails the restore with the wait's own error, before anything is
// started over it. The wait belongs to the process that took the point: a run resumed in another
// process plans its restore from the archive, which must hold the point by then (TARGET_UNKNOWN).

interface ArchiveWaitInFlight {
  archived: Promise<void>;
  stop: AbortController;
  /** Set once the wait failed (what the restore rethrows). */
  failed?: { error: unknown };
}
const waits = new Map<string, ArchiveWaitInFlight>();

/**
 * Starts `runId`'s wait for its restore point's WAL (`wait` gives up once its signal aborts). A
 * failure surfaces where the wait is awaited (the restore), never as an unhandled rejection.
 */
export function awaitingArchive(runId: string, wait: (signal: AbortSignal) => Promise<unknown>): void {
  const stop = new AbortController();
  const archived = Promise.resolve()
    .then(() => wait(stop.signal))
    .then(() => undefined);
  const entry: ArchiveWaitInFlight = { archived, stop };
  archived.catch((error: unknown) => {
    entry.failed = { error };
  });
  waits.get(runId)?.stop.abort();
  waits.set(runId, entry);
}

/**
 * The wait for `runId`'s restore point's WAL, or nothing when this process did not start one;
 * `failed` once it has failed (a retried restore fails at once instead of laying the files down again).
 */
export function restorePointArchived(runId: string): { archived: Promise<void>; failed?: { error: unknown } } | undefined {
  const w = waits.get(runId);
  return w && { archived: w.archived, failed: w.failed };
}

/** Gives up `runId`'s wait if it still runs: the drill is over, nothing will start over that WAL. */
export function stopAwaitingArchive(runId: string): void {
  waits.get(runId)?.stop.abort();
  waits.delete(runId);
}
