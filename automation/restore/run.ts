// Carrying out a restore plan: stop the destination if the plan allows, let pgBackRest lay
// down the files, start the cluster, wait for recovery by polling the server itself, and open
// for writes only when asked. Each phase is timed through the Output's steps.
import { DrError } from "../core/errors";
import { checkFault } from "../core/faults";
import { checkStopFault } from "../system/stop-fault";
import { withClient } from "../postgres/client";
import { LAST_COMMIT_AT, WAL_POSITION } from "../postgres/recovery-state";
import type { Output } from "../core/output";
import type { Cluster } from "../postgres/cluster";
import { lsnSegment } from "../backups/archive";
import type { RestorePlan } from "./plan";
import { refuseForeignWriters, takeRestoreLock, type HeldRestoreLock } from "./target-lock";
import { restoreFiles } from "./files";
import { newRunId } from "../core/run-id";
import type { RestoreDestinationHandle } from "./destination";

export interface RestoreResult {
  destination: string;
  set: string;
  repo: number;
  target: string;
  /** Last replayed LSN and the commit time it ends with. */
  replayLsn?: string;
  lastCommitAt?: string;
  inRecovery: boolean;
  opened: boolean;
  timings: { restoreFilesMs: number; recoveryMs: number; openMs?: number; totalMs: number };
  bytes: number;
  /** Leftover processes (of a killed restore) ended before this one started. */
  ended: string[];
}

/** The restore holds its target's lock throughout; what a killed restore left running there is ended first, and said. */
export async function executeRestore(plan: RestorePlan, handle: RestoreDestinationHandle, out: Output, opts: { recoveryTimeoutMs?: number; runId?: string } = {}): Promise<RestoreResult> {
  const lock = await takeRestoreLock(plan.destination.dataDir, handle.cluster.postmasterPid());
  for (const line of lock.ended) out.warn(line);
  try {
    return { ...(await restoreLocked(plan, handle, out, opts, lock)), ended: lock.ended };
  } finally {
    lock.release();
  }
}

async function restoreLocked(plan: RestorePlan, handle: RestoreDestinationHandle, out: Output, opts: { recoveryTimeoutMs?: number; runId?: string }, lock: HeldRestoreLock): Promise<Omit<RestoreResult, "ended">> {
  const started = Date.now();
  const { cluster } = handle;

  // Fence the destination first when the plan says it will be overwritten.
  if (plan.destination.willStop) await out.timed(`stop ${plan.destination.name}`, () => cluster.stop("fast"));
  await handle.prepare();

  // pgBackRest lays down the files (delta only when overwriting), bounded, marked until done.
  const filesStarted = Date.now();
  await restoreFiles(plan, handle, out, opts.runId ?? newRunId("restore"), (pid) => {
    lock.recordChild(pid);
    checkStopFault("restore", pid);
  });
  const restoreFilesMs = Date.now() - filesStarted;
  // Tests kill the process here: files laid down, recovery not started (a resume must cope).
  checkFault("during", "restore");

  // The files came from the source: give the cluster this destination's address and settings.
  // A copy about to be opened waits for the next WAL segment up to wal_retrieve_retry_interval
  // (default 5 s) between archive attempts; the promote that follows the end of the archive then
  // stalled up to 5 s (3 of 7 trials). 200 ms keeps the open as quick as a standby's promotion.
  cluster.writeSettings({ wal_retrieve_retry_interval: "200ms", ...handle.serverSettings() });

  const recoveryStarted = Date.now();
  await out.timed(`start ${plan.destination.name} and replay WAL to ${plan.target.description}`, async () => {
    await cluster.start(600);
    await waitForRecovery(plan, cluster, opts.recoveryTimeoutMs ?? Math.max(120_000, plan.estimate.seconds * 20_000));
  });
  const recoveryMs = Date.now() - recoveryStarted;

  let openMs: number | undefined;
  if (plan.open) {
    const t = Date.now();
    await out.timed(`open ${plan.destination.name} for writes (promote)`, () => openForWrites(cluster, plan.target.kind === "latest"));
    openMs = Date.now() - t;
  }
  const state = await recoveryState(cluster);
  return {
    destination: plan.destination.name,
    set: plan.set.label,
    repo: plan.repo,
    target: plan.target.description,
    replayLsn: state.replayLsn ?? undefined,
    lastCommitAt: state.lastCommitAt ?? undefined,
    inRecovery: state.inRecovery,
    opened: plan.open,
    timings: { restoreFilesMs, recoveryMs, openMs, totalMs: Date.now() - started },
    bytes: plan.set.size,
  };
}

interface RecoveryState {
  inRecovery: boolean;
  paused: boolean;
  /** The startup process sleeps between attempts to fetch the next WAL segment. */
  waitingForWal: boolean;
  replayLsn: string | null;
  lastCommitAt: string | null;
}


export async function recoveryState(cluster: Cluster): Promise<RecoveryState> {
  return withClient(cluster.connection("postgres"), async (c) => {
    const r = await c.query(`select pg_is_in_recovery() as in_recovery,
        case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() = 'paused' else false end as paused,
        (${WAL_POSITION})::text as replay_lsn,
        ${LAST_COMMIT_AT} as last_commit,
        exists (select 1 from pg_stat_activity where backend_type = 'startup' and wait_event = 'RecoveryRetrieveRetryInterval') as waiting`);
    const row = r.rows[0];
    return { inRecovery: row.in_recovery, paused: row.paused, waitingForWal: row.waiting, replayLsn: row.replay_lsn, lastCommitAt: row.last_commit ? new Date(row.last_commit).toISOString() : null };
  });
}

/**
 * Waits for the real signal: paused at the target (time/LSN/name), or, for "latest", replay
 * reaching the newest archived segment. A server that dies on the way is a failed restore,
 * reported with the end of its log.
 */
async function waitForRecovery(plan: RestorePlan, cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cluster.state() !== "running") {
      throw new DrError("RESTORE_FAILED", `the restored cluster stopped during recovery: ${lastLogLine(cluster)}`, {
        hint: `read ${cluster.logFile}; a target beyond the archived WAL ends recovery early`,
      });
    }
    try {
      const s = await recoveryState(cluster);
      if (plan.target.kind === "latest") {
        // Caught up: replay has reached the newest archived segment and the startup process
        // is waiting for the archive to offer the next one (restore_command found nothing).
        if (s.replayLsn && lsnSegment(s.replayLsn) >= plan.endSegment && s.waitingForWal) return;
      } else if (s.paused || !s.inRecovery) return;
    } catch {
      // still starting up (the server refuses connections until it is consistent)
    }
    if (Date.now() > deadline) {
      throw new DrError("RECOVERY_TIMEOUT", `recovery did not reach ${plan.target.description} within ${Math.round(timeoutMs / 1000)}s`, {
        hint: `the cluster is still replaying; check ${cluster.logFile} and run again with a larger --timeout`,
      });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Ends recovery: resume from a pause at the target, or promote a standby. */
export async function openForWrites(cluster: Cluster, standby: boolean): Promise<void> {
  refuseForeignWriters(cluster.spec.dataDir, cluster.postmasterPid(), `open ${cluster.spec.dataDir} for writes`);
  await withClient(cluster.connection("postgres"), async (c) => {
    const inRecovery = (await c.query("select pg_is_in_recovery() r")).rows[0].r;
    if (!inRecovery) return;
    if (standby) await c.query("select pg_promote(true, 60)");
    else await c.query("select pg_wal_replay_resume()");
  });
  const deadline = Date.now() + 60_000;
  while ((await recoveryState(cluster)).inRecovery) {
    if (Date.now() > deadline) throw new DrError("RECOVERY_TIMEOUT", "the cluster did not leave recovery within 60s", { hint: `read ${cluster.logFile}` });
    await new Promise((r) => setTimeout(r, 50));
  }
}

function lastLogLine(cluster: Cluster): string {
  const lines = cluster.logTail(30).split("\n").filter((l) => /FATAL|PANIC|ERROR/.test(l));
  return (lines[lines.length - 1] ?? cluster.logTail(1)).replace(/^.*?(FATAL|PANIC|ERROR):\s*/, "").trim() || "no log output";
}
