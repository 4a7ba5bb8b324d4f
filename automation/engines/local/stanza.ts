// The stanza step of `dr lab up`. Creating a stanza takes pgBackRest's archive lock, which the
// asynchronous archive-push holds whenever WAL is queued (right after a restore, or while the
// store catches up after a restart). Starting an existing lab must not depend on winning that
// lock: a stanza already in both repositories is left alone, and a missing one is created,
// waiting for the lock within a bound and saying so.
import { whileLocked } from "../../pgbackrest/while-locked";
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
  const { waitedMs } = await whileLocked(() => pgb.stanzaCreate(), { what: "create the stanza", lockWaitMs: opts.lockWaitMs, say });
  return waitedMs ? `created after waiting ${Math.round(waitedMs / 1000)}s for the archive lock` : "created";
}
