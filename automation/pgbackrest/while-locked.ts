// PGBACKREST_LOCKED is retryable: the asynchronous archive-push holds pgBackRest's lock whenever
// WAL is queued, and lets go within seconds once the store takes it. One helper waits for it,
// within a bound and saying so once, for every pgBackRest call `dr lab up` makes.
import { backOff } from "exponential-backoff";
import { DrError, isDrError } from "../core/errors";

export interface LockWait {
  /** what the call does, for the messages ("create the stanza") */
  what: string;
  /** how long to wait for the lock in all (default 60 s) */
  lockWaitMs?: number;
  /** first delay between tries (default 1 s; doubles up to 5 s) */
  startingDelayMs?: number;
  /** told once, at the first wait */
  say?: (text: string) => void;
}

/** Runs `fn`, trying again while it fails with PGBACKREST_LOCKED; returns its result and the seconds waited. */
export async function whileLocked<T>(fn: () => Promise<T>, w: LockWait): Promise<{ value: T; waitedMs: number }> {
  const lockWaitMs = w.lockWaitMs ?? 60_000;
  const started = Date.now();
  let waits = 0;
  try {
    const value = await backOff(fn, {
      startingDelay: w.startingDelayMs ?? 1000,
      maxDelay: 5000,
      numOfAttempts: Number.MAX_SAFE_INTEGER,
      retry: (e: unknown) => {
        if (!isDrError(e) || e.code !== "PGBACKREST_LOCKED" || Date.now() - started > lockWaitMs) return false;
        if (waits++ === 0) w.say?.(`waiting up to ${Math.round(lockWaitMs / 1000)}s for pgBackRest's lock (held by archive-push) to ${w.what}`);
        return true;
      },
    });
    return { value, waitedMs: waits ? Date.now() - started : 0 };
  } catch (e) {
    if (isDrError(e) && e.code === "PGBACKREST_LOCKED") {
      throw new DrError("PGBACKREST_LOCKED", `pgBackRest's lock stayed held for ${Math.round((Date.now() - started) / 1000)}s; could not ${w.what}`, {
        hint: "an archive-push is still shipping WAL (is the offsite store up?); run `dr lab up` again when it is done",
        cause: e,
      });
    }
    throw e;
  }
}
