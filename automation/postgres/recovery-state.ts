// Recovery state of one server, in one place: is it a primary or a standby, where does its WAL
// come from (the stream or the archive), how far has it received and replayed, how far behind
// a primary is it; when it has caught up; wait until it has replayed an LSN; promote it. Every
// wait polls the server with a bound. The restore path (restore/run.ts), the lab's standby and
// the AWS sites (engines/pulumi/access.ts) all ask through here: one definition of "caught up"
// and one promotion bound.
import type { ClientBase } from "pg";
import { DrError } from "../core/errors";
import { shortCalls, withClient, type DbTarget } from "./client";

export interface RecoveryState {
  role: "primary" | "standby";
  /** standby: WAL arrives by streaming replication now; archive: only restore_command (or nothing). */
  source?: "stream" | "archive";
  timeline: number;
  /** Standby: last WAL received by streaming (null when it never streamed since start). */
  receiveLsn: string | null;
  /** Standby: last WAL replayed; primary: its current WAL position. */
  replayLsn: string;
  /** Time of the last transaction replayed (standby) or committed (primary), if known. */
  lastReplayAt: string | null;
  /** Standby: replay paused (pg_wal_replay_pause, or at a recovery target). */
  paused: boolean;
  /** Standby: the startup process is waiting for WAL that no source has yet. */
  waitingForWal: boolean;
  /** Standby with a stream: the primary it streams from (host only, never the password). */
  streamingFrom?: string;
}

/** How far a standby is behind a primary. */
export interface Lag {
  bytes: number;
  /** 0 when everything the primary wrote is replayed; else the age of the last replayed transaction. */
  seconds: number;
}

// What a server holds, asked the same way on either role. Never the replay functions on a
// primary: a promoted server keeps answering pg_last_wal_replay_lsn() and
// pg_last_xact_replay_timestamp() with where its recovery ended, so after a role change the
// primary looked older than its standby and a paused standby read as 0 s behind.

/** The newest WAL position a server holds: replayed on a standby, written on a primary. */
export const WAL_POSITION = "case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end";

/**
 * The time of the newest transaction a server holds: on a standby the last one it replayed, on
 * a primary the last one it committed (track_commit_timestamp, on at every site).
 */
export const LAST_COMMIT_AT = `case when pg_is_in_recovery()
    then coalesce(pg_last_xact_replay_timestamp(), (pg_last_committed_xact()).timestamp)
    else (pg_last_committed_xact()).timestamp end`;

export async function readRecoveryState(target: DbTarget): Promise<RecoveryState> {
  return withClient(shortCalls(target), async (c) => {
    const r = await c.query(`select pg_is_in_recovery() as standby,
        case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() <> 'not paused' else false end as paused,
        (${WAL_POSITION})::text as replay_lsn,
        pg_last_wal_receive_lsn()::text as receive_lsn,
        ${LAST_COMMIT_AT} as last_replay,
        (select timeline_id from pg_control_checkpoint()) as checkpoint_timeline,
        (select received_tli from pg_stat_wal_receiver) as received_tli,
        (select status from pg_stat_wal_receiver) as receiver,
        (select sender_host from pg_stat_wal_receiver) as sender,
        exists (select 1 from pg_stat_activity where backend_type = 'startup' and wait_event in ('RecoveryRetrieveRetryInterval', 'RecoveryWalStream')) as waiting`);
    const row = r.rows[0];
    const standby = row.standby as boolean;
    // On a primary the timeline is that of its current WAL file; a standby's is the one it replays.
    const timeline = standby
      ? await standbyTimeline(c, row.replay_lsn, Math.max(Number(row.received_tli ?? 0), Number(row.checkpoint_timeline)))
      : parseInt((await c.query("select pg_walfile_name(pg_current_wal_lsn()) w")).rows[0].w.slice(0, 8), 16);
    const streaming = row.receiver === "streaming";
    return {
      role: standby ? "standby" : "primary",
      source: standby ? (streaming ? "stream" : "archive") : undefined,
      timeline,
      receiveLsn: row.receive_lsn,
      replayLsn: row.replay_lsn ?? "0/0",
      lastReplayAt: row.last_replay ? new Date(row.last_replay).toISOString() : null,
      paused: row.paused,
      waitingForWal: row.waiting,
      streamingFrom: streaming ? row.sender ?? undefined : undefined,
    };
  });
}

/**
 * The timeline a standby replays. PostgreSQL 15 shows it nowhere once the stream is gone (the
 * last restartpoint may still be on an older one), so it is read from the history files in
 * pg_wal: timeline N begins at the switch point on the last line of N.history, and a standby
 * following the latest timeline is on the highest one whose switch point it has replayed.
 */
async function standbyTimeline(c: ClientBase, replayLsn: string | null, known: number): Promise<number> {
  if (!replayLsn) return known;
  const r = await c.query<{ tli: string; content: string }>(
    "select substr(name, 1, 8) tli, pg_read_file('pg_wal/' || name) content from pg_ls_waldir() where name ~ '^[0-9A-F]{8}[.]history$'",
  );
  let timeline = known;
  for (const { tli, content } of r.rows) {
    const last = content.trim().split("\n").pop()?.split(/\s+/)[1];
    if (last && lsnDiff(replayLsn, last) >= 0) timeline = Math.max(timeline, parseInt(tli, 16));
  }
  return timeline;
}

/** Bytes between two LSNs (a − b), as PostgreSQL computes it. */
export function lsnDiff(a: string, b: string): number {
  const v = (lsn: string) => {
    const [hi, lo] = lsn.split("/").map((x) => BigInt(parseInt(x, 16)));
    return (hi << 32n) + lo;
  };
  return Number(v(a) - v(b));
}

/**
 * The standby's lag behind a primary (its state: current WAL position, last commit). In time it
 * is the age of the last transaction replayed, but only while the primary has committed after
 * it: WAL without commits (a checkpoint, an idle database's segment switch) loses no data, and
 * on an idle database the last replayed commit may be hours old.
 */
export function lagBehind(standby: RecoveryState, primary: Pick<RecoveryState, "replayLsn" | "lastReplayAt">, now = new Date()): Lag {
  const bytes = Math.max(0, lsnDiff(primary.replayLsn, standby.replayLsn));
  if (bytes === 0 || !standby.lastReplayAt) return { bytes, seconds: 0 };
  if (primary.lastReplayAt && Date.parse(primary.lastReplayAt) <= Date.parse(standby.lastReplayAt)) return { bytes, seconds: 0 };
  return { bytes, seconds: Math.max(0, (now.getTime() - Date.parse(standby.lastReplayAt)) / 1000) };
}

/** The primary's current WAL position (what a standby must reach to hold everything). */
export async function currentLsn(target: DbTarget): Promise<string> {
  return withClient(target, async (c) => (await c.query("select pg_current_wal_lsn()::text l")).rows[0].l);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one bound on a promotion, on the lab and on AWS: the end-of-recovery checkpoint is not waited for. */
export const PROMOTE_TIMEOUT_SECONDS = 60;

/**
 * Caught up, the one definition: the startup process waits for WAL that no source has yet (the
 * archive's restore_command found no next segment and the stream, if any, has nothing new), and
 * replay has reached `end` when the caller knows where the WAL ends (the start of the newest
 * archived segment: SQL alone cannot see the archive). Replay standing still is not enough: a
 * slow archive-get of a big segment stands still too.
 */
export function caughtUp(s: RecoveryState, end?: string): boolean {
  return s.role === "standby" && s.waitingForWal && (end === undefined || lsnDiff(s.replayLsn, end) >= 0);
}

export interface WaitOptions {
  pollMs?: number;
  /** Called before every poll: throws to end the wait early (the server died meanwhile). */
  check?: () => void;
  /** The timeout's hint, when the caller knows better what to do. */
  hint?: string;
}

/**
 * Polls the server until `until` holds for its state, or fails (RECOVERY_TIMEOUT) after
 * `timeoutMs`, naming what it waited for and where replay stood.
 */
export async function waitForState(target: DbTarget, what: string, until: (s: RecoveryState) => boolean, timeoutMs: number, opts: WaitOptions | number = {}): Promise<RecoveryState> {
  const { pollMs = 100, check, hint } = typeof opts === "number" ? { pollMs: opts } : opts;
  const deadline = Date.now() + timeoutMs;
  let last: RecoveryState | undefined;
  for (;;) {
    check?.();
    try {
      last = await readRecoveryState(target);
      if (until(last)) return last;
    } catch (e) {
      // a standby refuses connections until it is consistent: keep polling within the bound
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) {
      throw new DrError("RECOVERY_TIMEOUT", `${what} did not happen within ${Math.round(timeoutMs / 1000)}s (replay at ${last?.replayLsn ?? "unknown"})`, {
        hint: hint ?? "check the standby's server log; replay may be slow or its WAL source unreachable",
      });
    }
    await sleep(pollMs);
  }
}

/** Waits until the standby has replayed at least `lsn` (a promoted server has replayed everything it will). */
export async function waitUntilReplayed(target: DbTarget, lsn: string, timeoutMs: number): Promise<RecoveryState> {
  return waitForState(target, `replay reaching ${lsn}`, (s) => s.role === "primary" || lsnDiff(s.replayLsn, lsn) >= 0, timeoutMs);
}

/**
 * Ends recovery and returns the state as a primary; a server that already is one is left as it
 * is. The request is sent without waiting (pg_promote(false)) and the end polled every 20 ms:
 * pg_promote's own wait looks only every 100 ms, which is most of a promotion's time here.
 */
export async function promote(target: DbTarget, timeoutSeconds = PROMOTE_TIMEOUT_SECONDS): Promise<RecoveryState> {
  await withClient(target, async (c: ClientBase) => {
    if (!(await c.query("select pg_is_in_recovery() r")).rows[0].r) return;
    await c.query("select pg_promote(false)");
  });
  return waitForState(target, "the promotion", (s) => s.role === "primary", timeoutSeconds * 1000, { pollMs: 20, hint: "check the server log; `dr resume` tries again" });
}

/** Ends a pause at a recovery target (the server opens on a new timeline) and waits until it takes writes. */
export async function resumeAndOpen(target: DbTarget, timeoutSeconds = PROMOTE_TIMEOUT_SECONDS): Promise<RecoveryState> {
  await withClient(target, async (c: ClientBase) => {
    if ((await c.query("select pg_is_in_recovery() r")).rows[0].r) await c.query("select pg_wal_replay_resume()");
  });
  return waitForState(target, "the end of recovery at the target", (s) => s.role === "primary", timeoutSeconds * 1000, { pollMs: 20, hint: "check the server log" });
}
