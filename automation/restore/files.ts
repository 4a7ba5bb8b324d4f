// The restore's copy phase: pgBackRest lays down the files of the set. It is bounded (the
// repository's io-timeout, and our own deadline when no file arrives for a while), it shows the
// bytes copied as it goes, and it leaves a mark while it runs (half-restored.ts): a copy that
// does not finish, because the store died, the operator pressed Ctrl-C or dr was killed, leaves
// the destination marked half-restored with the run that left it. A failure names the store.
import { DrError, isDrError } from "../core/errors";
import { onInterrupt } from "../core/interrupt";
import type { Output } from "../core/output";
import { clearRestoreMark, markFailed, markRestoring } from "./half-restored";
import { RestoreProgress } from "./progress";
import type { RestorePlan } from "./plan";
import type { RestoreDestinationHandle } from "./destination";
import { describeProcess, endProcesses, foreignWriters } from "../system/leftovers";

export async function restoreFiles(plan: RestorePlan, handle: RestoreDestinationHandle, out: Output, runId: string, onSpawn?: (pid: number) => void): Promise<void> {
  const { cluster, pgbackrest } = handle;
  const dest = plan.destination;
  // A postmaster killed earlier leaves its pid file: pgBackRest would take it for a live server.
  const cleared = await cluster.clearStalePidFile();
  if (cleared) out.info(`${dest.name}: ${cleared}`);

  const mark = markRestoring(dest.dataDir, { runId, set: plan.set.label, repo: plan.repo });
  const progress = new RestoreProgress(out, plan.set.size);
  const interrupt = new AbortController();
  let signal: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
    interrupt.abort();
  };
  const spawned: number[] = [];
  // Ctrl-C, SIGTERM or SIGHUP (core/interrupt.ts): the copy stops and says where it left the site.
  const unsubscribe = onInterrupt(onSignal);
  try {
    await out.timed(
      `restore ${plan.set.label} from repo${plan.repo} into ${dest.name}`,
      () =>
        pgbackrest.restore(
          {
            repo: plan.repo,
            set: plan.set.label,
            pgPath: dest.dataDir,
            target: plan.targetSpec,
            targetAction: "pause",
            asStandby: plan.target.kind === "latest",
            databases: plan.databases,
            delta: dest.willOverwrite,
          },
          {
            onLine: (l) => progress.line(l),
            signal: interrupt.signal,
            onSpawn: (pid) => {
              spawned.push(pid);
              onSpawn?.(pid);
            },
          },
        ),
      () => progress.summary(),
    );
  } catch (e) {
    // pgBackRest's workers outlive their ended parent by seconds and go on writing: end them now,
    // so that nothing copies into the destination after we have said the restore stopped.
    for (const line of await endWorkers(dest.dataDir, spawned)) out.warn(line);
    const left = `${dest.name} is left half-restored (run ${runId}, ${progress.summary()})`;
    if (signal) {
      markFailed(dest.dataDir, mark, `interrupted by ${signal}`);
      throw new DrError("INTERRUPTED", `interrupted by ${signal} while restoring ${plan.set.label} into ${dest.name}; ${left}`, {
        hint: `restore again with --overwrite (a delta restore reuses what is there), or \`dr resume ${runId}\` for a recovery run`,
        cause: e,
      });
    }
    const failure = await whyItFailed(e, plan, handle);
    markFailed(dest.dataDir, mark, failure.message);
    throw new DrError(failure.code, `${failure.message}; ${left}`, { hint: failure.hint, cause: e });
  } finally {
    unsubscribe();
  }
  clearRestoreMark(dest.dataDir);
}

/** Names the store when it is what failed: probed now, it answers or it does not. */
async function whyItFailed(e: unknown, plan: RestorePlan, handle: RestoreDestinationHandle): Promise<{ code: DrError["code"]; message: string; hint?: string }> {
  const own = isDrError(e) ? e : new DrError("RESTORE_FAILED", (e as Error).message, { hint: "see the pgBackRest log" });
  const store = await handle.probeRepo?.(plan.repo).then(
    () => undefined,
    (p: unknown) => p,
  );
  if (isDrError(store, "STORE_UNREACHABLE")) {
    return { code: "STORE_UNREACHABLE", message: `restore from repo${plan.repo} stopped: ${store.message} (${own.message})`, hint: `${store.hint}; then restore again with --overwrite` };
  }
  return { code: own.code, message: own.message, hint: own.hint };
}

/** Ends what the failed copy left running in the data directory (its recorded pids and their children). */
async function endWorkers(dataDir: string, spawned: number[]): Promise<string[]> {
  const workers = foreignWriters(dataDir, undefined, spawned);
  if (workers.length === 0) return [];
  const survivors = await endProcesses(workers);
  return workers.map((w) => `ended ${describeProcess(w)}${survivors.includes(w.pid) ? " (still alive after SIGKILL)" : ""}`);
}
