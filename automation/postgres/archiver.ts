// "Is everything up to here in the repository?": switch to a new WAL segment and wait until the
// archiver reports it archived. Drills (the restore point), deletion recovery (the moment of the
// deletion), corruption recovery (the drained primary) and the rehearsal all stand on it. And
// shipping a whole backlog (shipBacklog), bounded by the archiver's progress, for `dr lab up`.
//
// Archived means: no ".ready" status file left for this segment or any before it. Not
// pg_stat_archiver's last_archived_wal, which is the last file archived, not the highest: a
// backup's history file ("…08.00000028.backup", written just after the switch to 09) is often
// archived after segment 09, and on an idle server that stays the answer, so "last >= 09" would
// wait forever for a segment that is already in the repository.
//
// Why not just poll: when archive_command fails three times in a row, PostgreSQL's archiver
// sleeps until the next segment is ready or 60 s pass (PGARCH_AUTOWAKE_INTERVAL). One transient
// failure (the object store busy for a moment) would turn a sub-second wait into a minute, or
// into a timeout. So once the archiver has failed and gone quiet (no new failure for a moment:
// it is asleep), we hand it a new segment (an empty commit and a switch), which wakes it at once
// to retry the whole queue. At most one nudge every few seconds: a store that stays down must
// not be answered with a stream of new segments.
import type { ClientBase } from "pg";
import { DrError } from "../core/errors";

export interface ArchiverState {
  lastArchived: string | null;
  archivedCount: number;
  failedCount: number;
  lastFailed: string | null;
  lastFailedAt: string | null;
}

export interface ArchiveWait {
  /** The newest segment that had to reach the repository. */
  segment: string;
  archived: boolean;
  waitedMs: number;
  /** Archive failures reported by the server while waiting (each retried at once). */
  failures: number;
  /** The archiver as last seen: the evidence when `archived` is false. */
  state: ArchiverState;
}

export async function archiverState(c: ClientBase): Promise<ArchiverState> {
  const r = (
    await c.query<{ last_archived_wal: string | null; failed_count: string; last_failed_wal: string | null; last_failed_time: Date | null }>(
      "select last_archived_wal, archived_count, failed_count, last_failed_wal, last_failed_time from pg_stat_archiver",
    )
  ).rows[0] as { last_archived_wal: string | null; archived_count: string; failed_count: string; last_failed_wal: string | null; last_failed_time: Date | null };
  return {
    lastArchived: r.last_archived_wal,
    archivedCount: Number(r.archived_count),
    failedCount: Number(r.failed_count),
    lastFailed: r.last_failed_wal,
    lastFailedAt: r.last_failed_time ? new Date(r.last_failed_time).toISOString() : null,
  };
}

/**
 * Ends the current WAL segment and waits until it (and with it everything committed so far, or
 * up to `through` if given) is archived. `commitFirst` writes an empty commit first, so that a
 * replay to a time just before now has a commit record after it to stop at. `signal` gives the
 * wait up (archived: false) within one poll: a drill over before its restore needed the WAL.
 */
export async function archiveThrough(
  c: ClientBase,
  opts: { through?: string; commitFirst?: boolean; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ArchiveWait> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const started = Date.now();
  const segmentOf = async (lsn: string) => (await c.query<{ w: string }>("select pg_walfile_name($1::pg_lsn) w", [lsn])).rows[0].w;
  // With archiving off nothing is ever archived (and no status files say otherwise): no switch.
  if ((await c.query<{ m: string }>("select current_setting('archive_mode') m")).rows[0].m === "off") {
    const current = (await c.query<{ l: string }>("select pg_current_wal_lsn()::text l")).rows[0].l;
    return { segment: await segmentOf(opts.through ?? current), archived: false, waitedMs: Date.now() - started, failures: 0, state: await archiverState(c) };
  }
  // The baseline is taken before the switch: the switch wakes the archiver at once, and a push
  // that fails straight away is a failure while waiting (read after, it would go uncounted).
  const baseline = await archiverState(c);
  if (opts.commitFirst) await c.query("select txid_current()");
  // At a segment boundary pg_walfile_name names the previous (complete) segment, which is the
  // one that must be archived.
  const switched = (await c.query<{ lsn: string }>("select pg_switch_wal()::text lsn")).rows[0].lsn;
  const segment = await segmentOf(opts.through ?? switched);
  let state = baseline;
  let failuresAt = { count: baseline.failedCount, since: Date.now() };
  let nudgedAt = { count: baseline.failedCount, at: 0 };
  // The state is read once more at the end, so that a failure since the last poll is counted.
  const result = async (archived: boolean): Promise<ArchiveWait> => {
    state = await archiverState(c);
    return { segment, archived, waitedMs: Date.now() - started, failures: state.failedCount - baseline.failedCount, state };
  };
  for (;;) {
    if (await archivedThrough(c, segment)) return result(true);
    if (Date.now() - started >= timeoutMs || opts.signal?.aborted) return result(false);
    const now = Date.now();
    if (state.failedCount !== failuresAt.count) failuresAt = { count: state.failedCount, since: now };
    const asleepAfterFailing = state.failedCount > nudgedAt.count && now - failuresAt.since >= QUIET_MS;
    if (asleepAfterFailing && now - nudgedAt.at >= NUDGE_EVERY_MS) {
      nudgedAt = { count: state.failedCount, at: now };
      await c.query("select txid_current()");
      await c.query("select pg_switch_wal()");
    }
    await new Promise((res) => setTimeout(res, POLL_MS));
    state = await archiverState(c);
  }
}

/**
 * True when nothing up to and including `segment` waits to be archived. A segment whose status
 * file is gone was recycled, which PostgreSQL does only after archiving it. (Names are compared
 * bytewise; a timeline history file sorts before its timeline's segments, so it is waited for.)
 */
export async function archivedThrough(c: ClientBase, segment: string): Promise<boolean> {
  const r = await c.query<{ pending: number }>(
    `select count(*)::int pending from pg_ls_archive_statusdir()
      where name like '%.ready' and left(name, 24) collate "C" <= $1 collate "C"`,
    [segment],
  );
  return r.rows[0].pending === 0;
}

/** The archiver retries a failing segment three times, a second apart, before it sleeps. */
const QUIET_MS = 1500;
const POLL_MS = 100;
const NUDGE_EVERY_MS = 5000;

/** archiveThrough, or ARCHIVE_FAILED naming `what` had to be archived and why it was not. */
export async function requireArchived(
  c: ClientBase,
  what: string,
  opts: Parameters<typeof archiveThrough>[1] & { hint?: string } = {},
): Promise<ArchiveWait> {
  const wait = await archiveThrough(c, opts);
  if (!wait.archived) throw new DrError("ARCHIVE_FAILED", `${what}: ${describeArchiveWait(wait)}`, { hint: opts.hint ?? "check archiving on the primary (`dr health`)" });
  return wait;
}

/** One line on why a wait ended without the segment archived. */
export function describeArchiveWait(w: ArchiveWait): string {
  const failed = w.state.lastFailed ? `; last failure ${w.state.lastFailed} at ${w.state.lastFailedAt}` : "";
  return `${w.segment} not archived after ${Math.round(w.waitedMs / 1000)} s (last archived ${w.state.lastArchived ?? "none"}, ${w.failures} failure(s) while waiting${failed})`;
}

/** How many files (segments, history and backup files) wait for archive_command. */
async function queued(c: ClientBase): Promise<number> {
  return (await c.query<{ n: number }>("select count(*)::int n from pg_ls_archive_statusdir() where name like '%.ready'")).rows[0].n;
}

/**
 * Waits until nothing waits to be archived, bounded by progress rather than time: generating a
 * large database queues hundreds of segments (about 480 at scale 80), shipping them takes
 * minutes, and a fixed bound (pgBackRest check's 60 s) gave up while the archiver was working.
 * Fails (ARCHIVE_FAILED) only when nothing was shipped for `stallMs` while files wait; `say`
 * hears the backlog every 10 s.
 */
export async function shipBacklog(c: ClientBase, opts: { stallMs?: number; pollMs?: number; say?: (text: string) => void } = {}): Promise<{ shipped: number; waitedMs: number }> {
  const stallMs = opts.stallMs ?? 60_000;
  const started = Date.now();
  const first = await archiverState(c);
  let last = { state: first, ready: await queued(c), progressAt: started, saidAt: 0, nudgedAt: 0 };
  while (last.ready > 0) {
    if (Date.now() - last.saidAt > 10_000) {
      opts.say?.(`${last.ready} WAL files queued for the archive; ${last.state.archivedCount - first.archivedCount} shipped so far`);
      last.saidAt = Date.now();
    }
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 500));
    const state = await archiverState(c);
    const ready = await queued(c);
    const moved = state.archivedCount > last.state.archivedCount || ready < last.ready;
    last = { ...last, state, ready, progressAt: moved ? Date.now() : last.progressAt };
    // An archiver that failed sleeps up to 60 s: a new segment wakes it (as in archiveThrough).
    if (!moved && state.failedCount > first.failedCount && Date.now() - last.progressAt >= NUDGE_EVERY_MS && Date.now() - last.nudgedAt >= NUDGE_EVERY_MS) {
      await c.query("select txid_current()");
      await c.query("select pg_switch_wal()");
      last.nudgedAt = Date.now();
    }
    if (ready > 0 && Date.now() - last.progressAt > stallMs) {
      throw new DrError("ARCHIVE_FAILED", `the archiver shipped nothing for ${Math.round(stallMs / 1000)} s with ${ready} WAL files queued${state.lastFailed ? ` (last failure ${state.lastFailed} at ${state.lastFailedAt})` : ""}`, {
        hint: "check that the object store is up (`dr lab status`) and read the primary's server log for archive_command errors",
      });
    }
  }
  return { shipped: last.state.archivedCount - first.archivedCount, waitedMs: Date.now() - started };
}
