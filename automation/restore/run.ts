// Carrying out a restore plan: stop the destination if the plan allows, let pgBackRest lay
// down the files, start the cluster, wait for recovery by polling the server itself, and open
// for writes only when asked. Each phase is timed through the Output's steps.
import { DrError, isDrError } from "../core/errors";
import { checkFault } from "../core/faults";
import { checkStopFault } from "../system/stop-fault";
import { caughtUp, promote, readRecoveryState, resumeAndOpen, waitForState, type RecoveryState } from "../postgres/recovery-state";
import type { Output } from "../core/output";
import type { Cluster } from "../postgres/cluster";
import { segmentStartLsn } from "../backups/archive";
import type { RestorePlan } from "./plan";
import { refuseForeignWriters, takeRestoreLock, type HeldRestoreLock } from "./target-lock";
import { restoreFiles } from "./files";
import { newRunId } from "../core/run-id";
import type { RestoreDestinationHandle } from "./destination";
import type { ClientBase } from "pg";
import { quoteLiteral, withClient, type DbTarget } from "../postgres/client";
import { synchronousArchiveGet, synchronousAutoConf } from "../pgbackrest/restore-command";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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
  /** walWaitMs: the wait, once the files were down, for the target's WAL on its way to the archive (plan.arriving). */
  timings: { restoreFilesMs: number; walWaitMs?: number; recoveryMs: number; openMs?: number; totalMs: number };
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

  // A target whose WAL was still on its way to the archive (a drill's restore point): the copy
  // replays it, so nothing starts before it is there; a wait that failed fails the restore.
  let walWaitMs: number | undefined;
  if (plan.arriving) {
    const t = Date.now();
    await out.timed(`wait for the WAL of ${plan.target.description} to reach the archive`, () => plan.arriving!.archived);
    walWaitMs = Date.now() - t;
  }

  // The files came from the source: give the cluster this destination's address and settings.
  // A copy about to be opened waits for the next WAL segment up to wal_retrieve_retry_interval
  // (default 5 s) between archive attempts; the promote that follows the end of the archive then
  // stalled up to 5 s (3 of 7 trials). 200 ms keeps the open as quick as a standby's promotion.
  cluster.writeSettings({ wal_retrieve_retry_interval: "200ms", ...handle.serverSettings() });
  const synchronousFromTheStart = fetchesFewSegments(plan);
  if (synchronousFromTheStart) fetchSynchronouslyFromTheStart(cluster.spec.dataDir);

  const recoveryStarted = Date.now();
  await out.timed(`start ${plan.destination.name} and replay WAL to ${plan.target.description}`, () =>
    whileStoreAnswers(handle, plan.repo, async () => {
      await cluster.start(600);
      await waitForRecovery(plan, cluster, opts.recoveryTimeoutMs ?? Math.max(120_000, plan.estimate.seconds * 20_000));
    }),
  );
  const recoveryMs = Date.now() - recoveryStarted;
  // Paused at its target: the fetches left (when it opens) go synchronously (openForWrites). After
  // a short replay they already do: no session on the way to the open to find that out.
  if (plan.target.kind !== "latest" && !synchronousFromTheStart) await fetchSynchronously(cluster.connection("postgres"));

  let openMs: number | undefined;
  if (plan.open) {
    const t = Date.now();
    await out.timed(`open ${plan.destination.name} for writes (promote)`, () => openForWrites(cluster, plan.target.kind === "latest"));
    openMs = Date.now() - t;
  }
  const state = await readRecoveryState(cluster.connection("postgres"));
  return {
    destination: plan.destination.name,
    set: plan.set.label,
    repo: plan.repo,
    target: plan.target.description,
    replayLsn: state.replayLsn,
    lastCommitAt: state.lastReplayAt ?? undefined,
    inRecovery: state.role === "standby",
    opened: plan.open,
    timings: { restoreFilesMs, walWaitMs, recoveryMs, openMs, totalMs: Date.now() - started },
    bytes: plan.set.size,
  };
}

/**
 * Waits for the real signal: paused at the target (time/LSN/name), or, for "latest", caught up
 * with the archive (replay in the newest archived segment and waiting for the next one). A
 * server that dies on the way is a failed restore, reported with the end of its log.
 */
async function waitForRecovery(plan: RestorePlan, cluster: Cluster, timeoutMs: number): Promise<void> {
  const end = plan.target.kind === "latest" ? segmentStartLsn(plan.endSegment) : undefined;
  const reached = (s: RecoveryState) => (end !== undefined ? caughtUp(s, end) : s.paused || s.role === "primary");
  const state = await waitForState(cluster.connection("postgres"), `recovery reaching ${plan.target.description}`, reached, timeoutMs, {
    pollMs: 250,
    check: () => {
      if (cluster.state() !== "running") {
        throw new DrError("RESTORE_FAILED", `the restored cluster stopped during recovery: ${lastLogLine(cluster)}`, {
          hint: `read ${cluster.logFile}; a target beyond the archived WAL ends recovery early`,
        });
      }
    },
    hint: `the cluster is still replaying; check ${cluster.logFile} and run again with a larger --timeout`,
  });
  // pgBackRest writes the target with recovery_target_action = 'pause': a copy that came out of
  // recovery on its own never stopped at the target (its settings were not in effect: an edited
  // or half-written postgresql.auto.conf) and replayed all the archive holds, past what the
  // restore was for (past a deletion, say), and now takes writes. It is stopped, never used.
  if (end === undefined && state.role === "primary") {
    const stopped = await cluster.stop("fast").then(
      () => "the copy is stopped",
      (e: unknown) => `and it could not be stopped (${(e as Error).message}): stop it before anything uses it`,
    );
    throw new DrError("RESTORE_FAILED", `${plan.destination.name} ended recovery at ${state.replayLsn} without pausing at ${plan.target.description}: its recovery target was not in effect, so it may hold changes from after it; ${stopped}`, {
      hint: `restore again with --overwrite (pgBackRest writes the target into postgresql.auto.conf again); read ${cluster.logFile}`,
    });
  }
}

/** How often a starting copy's store is probed. */
const STORE_PROBE_EVERY_MS = 3000;

/**
 * Runs the start and replay of a restored copy while its repository's store answers. The copy
 * fetches its WAL from that store; one that stops answering once the files are down (a hung
 * host: no error, no answer) would hold pg_ctl for its whole 600 s. Probed every few seconds; a
 * store that does not answer twice in a row stops the copy and ends the restore naming the store.
 */
async function whileStoreAnswers(handle: RestoreDestinationHandle, repo: 1 | 2, work: () => Promise<void>): Promise<void> {
  const probe = handle.probeRepo;
  if (!probe) return work();
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  let missed = 0;
  let storeGone = false;
  const gone = new Promise<never>((_, reject) => {
    const tick = async () => {
      const failed = await probe(repo).then(() => undefined, (e: unknown) => e);
      if (done) return;
      // Twice in a row: one slow answer from a busy store is not a dead one.
      missed = isDrError(failed, "STORE_UNREACHABLE") ? missed + 1 : 0;
      if (missed >= 2 && isDrError(failed)) {
        done = true;
        storeGone = true;
        await handle.cluster.stop("immediate").catch(() => undefined);
        reject(new DrError("STORE_UNREACHABLE", `the restored copy was fetching WAL from repo${repo} to start, and ${failed.message}`, { hint: `${failed.hint ?? "bring the store back"}; then restore again with --overwrite (the files are down: a delta restore rewrites little)` }));
        return;
      }
      timer = setTimeout(tick, STORE_PROBE_EVERY_MS);
    };
    timer = setTimeout(tick, STORE_PROBE_EVERY_MS);
  });
  // Once the store is declared gone, the start's own failure (the copy was stopped) is not the news.
  const running = work().catch((e: unknown) => (storeGone ? gone : Promise.reject(e)));
  try {
    await Promise.race([running, gone]);
  } finally {
    done = true;
    clearTimeout(timer);
  }
}

/**
 * Ends recovery: resume from a pause at the target, or promote a standby. The last fetches of
 * recovery (the segment it ended in, the next timeline's history) should go through pgBackRest's
 * synchronous archive-get (../pgbackrest/restore-command.ts: 0.08 s instead of 0.46 s): a copy
 * paused at its target was switched when it got there (restoreLocked), a standby is switched
 * here. Once open, the copy's restore_command is reset: only a server in recovery uses it, and
 * whatever makes this server a standby again writes its own.
 */
export async function openForWrites(cluster: Cluster, standby: boolean): Promise<void> {
  refuseForeignWriters(cluster.spec.dataDir, cluster.postmasterPid(), `open ${cluster.spec.dataDir} for writes`);
  const target = cluster.connection("postgres");
  if (standby) {
    // Woken by the reload between its attempts to fetch the next segment, the standby reads it
    // before the promotion ends its recovery; if not, the fetch is only slower.
    await fetchSynchronously(target);
    await promote(target);
  } else {
    await resumeAndOpen(target);
  }
  await withClient(target, (c) => alterRestoreCommand(c, undefined));
}

/**
 * At most this many segments to replay to a target (a drill's: its set's own WAL and the restore
 * point's segment) and the copy fetches them synchronously from the start. The asynchronous form
 * pays off when it prefetches many segments while replay runs; for a few it costs its start
 * (about 0.4 s) and, at the open, the switch a paused copy may not have read yet (fetchSynchronously).
 */
export const SHORT_REPLAY_SEGMENTS = 8;

function fetchesFewSegments(plan: RestorePlan): boolean {
  return plan.target.kind !== "latest" && plan.wal.segments <= SHORT_REPLAY_SEGMENTS;
}

/** Before the copy starts: the restore_command pgBackRest wrote into postgresql.auto.conf, made synchronous. */
function fetchSynchronouslyFromTheStart(dataDir: string): void {
  const file = join(dataDir, "postgresql.auto.conf");
  // pgBackRest writes the file on every restore to a target; without it there is nothing to change.
  if (!existsSync(file)) return;
  const synchronous = synchronousAutoConf(readFileSync(file, "utf8"));
  // Written in place: the file keeps its owner (the service user) and mode.
  if (synchronous !== undefined) writeFileSync(file, synchronous);
}

/**
 * Switches a copy in recovery to pgBackRest's synchronous archive-get for its remaining fetches.
 * A copy paused at its target reads the reload only when its pause wakes, once a second: a
 * resume ends the pause without reading it. So the switch is made on arrival, and a gate shorter
 * than that second still opens with the asynchronous form, 0.4 to 0.5 s slower. A promotion would
 * wait out the same second, and waking the pause with a resume and a pause at once could let
 * recovery end before the gate has passed. A short replay (a drill's) never needs the switch: it
 * fetches synchronously from the start (SHORT_REPLAY_SEGMENTS), and its open took 0.24 to 0.28 s
 * at 3.4 GiB instead of 0.42 to 1 s.
 */
export async function fetchSynchronously(target: DbTarget): Promise<void> {
  await withClient(target, async (c) => {
    const synchronous = synchronousArchiveGet(String((await c.query("select current_setting('restore_command') rc")).rows[0].rc));
    if (synchronous) await alterRestoreCommand(c, synchronous);
  });
}

/** restore_command in postgresql.auto.conf (where pgBackRest's restore wrote it), or reset there; then a reload. */
async function alterRestoreCommand(c: ClientBase, command: string | undefined): Promise<void> {
  await c.query(command === undefined ? "alter system reset restore_command" : `alter system set restore_command = ${quoteLiteral(command)}`);
  await c.query("select pg_reload_conf()");
}

function lastLogLine(cluster: Cluster): string {
  const lines = cluster.logTail(30).split("\n").filter((l) => /FATAL|PANIC|ERROR/.test(l));
  return (lines[lines.length - 1] ?? cluster.logTail(1)).replace(/^.*?(FATAL|PANIC|ERROR):\s*/, "").trim() || "no log output";
}
