// Before ISOLATE turns archiving off: what the site has already written goes to the repository
// (a WAL switch and a bounded wait for the archiver). Without it, the commits of the last
// segment, often minutes of them on a quiet database, stay on the compromised host only, and
// the restore cannot reach a recovery point among them. Bounded: isolation must not wait long
// on an archiver that an attacker broke; a push that does not finish is recorded as such.
import type { Client } from "pg";
import { errorText } from "../postgres/client";
import { archiveThrough, describeArchiveWait } from "../postgres/archiver";

export interface WalPush {
  /** The segment that had to reach the repository (the one the switch closed). */
  segment?: string;
  archived: boolean;
  waitedMs: number;
  detail: string;
}

export const PUSH_TIMEOUT_MS = 10_000;

export async function pushWrittenWal(connect: () => Promise<Client>, timeoutMs = PUSH_TIMEOUT_MS): Promise<WalPush> {
  const started = Date.now();
  let c: Client | undefined;
  try {
    c = await connect();
    const w = await archiveThrough(c, { timeoutMs });
    return { segment: w.segment, archived: w.archived, waitedMs: w.waitedMs, detail: w.archived ? `WAL written so far pushed to the repositories (through ${w.segment}, ${w.waitedMs} ms)` : `WAL written so far NOT pushed: ${describeArchiveWait(w)}` };
  } catch (e) {
    return { archived: false, waitedMs: Date.now() - started, detail: `WAL written so far NOT pushed: ${errorText(e)}` };
  } finally {
    await c?.end().catch(() => undefined);
  }
}
