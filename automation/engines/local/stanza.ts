// The stanza step of `dr lab up`. Creating a stanza takes pgBackRest's archive lock, which the
// asynchronous archive-push holds whenever WAL is queued (right after a restore, or while the
// store catches up after a restart). Starting an existing lab must not depend on winning that
// lock: a stanza already in both repositories is left alone, and a missing one is created,
// waiting for the lock within a bound and saying so.
import { backOff } from "exponential-backoff";
import { DrError, isDrError } from "../../core/errors";
import type { Pgbackrest } from "../../pgbackrest/client";

/** pgBackRest repository status codes of a stanza that exists: ok, no valid backups yet. */
const EXISTING = new Set([0, 2]);

/** The lab writes both repositories; the stanza exists when both report it. */
async function stanzaInEveryRepo(pgb: Pgbackrest, repos: number[]): Promise<boolean> {
  try {
    const info = await pgb.info();
    return repos.every((key) => info.repo.some((r) => r.key === key && EXISTING.has(r.status.code)));
  } catch {
    // unreadable: let stanza-create say why (an unreachable store fails there with its own error)
    return false;
  }
}

/**
 * Makes sure the stanza exists in every repository. Returns what it did, for the step's line.
 * `say` reports a wait for the lock (the caller prints it).
 */
export async function ensureStanza(pgb: Pgbackrest, say: (text: string) => void, opts: { repos?: number[]; lockWaitMs?: number } = {}): Promise<string> {
  const repos = opts.repos ?? [1, 2];
  if (await stanzaInEveryRepo(pgb, repos)) return "stanza already in both repositories";
  const lockWaitMs = opts.lockWaitMs ?? 60_000;
  const started = Date.now();
  let waits = 0;
  try {
    await backOff(() => pgb.stanzaCreate(), {
      startingDelay: 1000,
      maxDelay: 5000,
      numOfAttempts: Number.MAX_SAFE_INTEGER,
      retry: (e: unknown) => {
        if (!isDrError(e) || e.code !== "PGBACKREST_LOCKED" || Date.now() - started > lockWaitMs) return false;
        if (waits++ === 0) say(`waiting up to ${Math.round(lockWaitMs / 1000)}s for pgBackRest's archive lock (held by archive-push) to create the stanza`);
        return true;
      },
    });
  } catch (e) {
    if (isDrError(e) && e.code === "PGBACKREST_LOCKED") {
      throw new DrError("PGBACKREST_LOCKED", `the archive lock stayed held for ${Math.round((Date.now() - started) / 1000)}s; the stanza could not be created`, {
        hint: "an archive-push is still shipping WAL (is the offsite store up?); run `dr lab up` again when it is done",
        cause: e,
      });
    }
    throw e;
  }
  return waits ? `created after waiting ${Math.round((Date.now() - started) / 1000)}s for the archive lock` : "created";
}
