// The copy a table-recovery preview kept (`dr recover-table --keep-copy`), and whether the
// `--apply` that follows may use it instead of restoring again (28 s each at the lab's scale,
// hours at production size). It may only while it is exactly what a new restore would give: the
// same table and recovery point, the copy site still there, still in recovery, paused at that
// point, and not replayed one byte further since the preview. Otherwise the apply says why not,
// removes the stale copy (it was the preview's, named in its facts) and restores a new one.
import type { Journal } from "../core/journal";
import type { RunRecord } from "../core/run-record";
import type { DeletionRequest } from "../deletion/request";
import type { RecoveryPoint } from "../deletion/locate";
import type { Engine } from "../engines/engine";
import { readRecoveryState } from "../postgres/recovery-state";
import type { DeletionFacts, KeptCopy } from "./deletion-steps";

/** The facts an --apply run starts from: the kept copy it reuses, or the stale one it removed. */
export type KeptCopyFacts = Pick<DeletionFacts, "scratchId" | "targetSite" | "restore" | "versusRunbook" | "reusedCopy" | "staleCopyRemoved">;

/** The newest preview of this table whose kept copy no later run has used or removed. */
function newestKept(journal: Journal, table: string): { run: RunRecord; kept: KeptCopy } | undefined {
  const runs = journal.list().filter((r) => r.scenario === "deletion" && !r.dryRun);
  const used = new Set(runs.map((r) => (r.facts as DeletionFacts).reusedCopy?.fromRun ?? (r.facts as DeletionFacts).staleCopyRemoved).filter(Boolean));
  for (const run of runs.filter((r) => r.status === "succeeded").sort((a, b) => b.declaredAt.localeCompare(a.declaredAt))) {
    const kept = (run.facts as DeletionFacts).keptCopy;
    if (kept && kept.table === table && !used.has(run.runId)) return { run, kept };
  }
  return undefined;
}

/** Why the kept copy is not what a restore to `point` would give now, or undefined when it is. */
async function notExact(engine: Engine, kept: KeptCopy, point: string): Promise<string | undefined> {
  if (kept.point !== point) return `it holds the table at ${kept.point}, this run's recovery point is ${point}`;
  if (!(await engine.sites()).some((s) => s.name === kept.site)) return `its site ${kept.site} is gone`;
  try {
    const s = await readRecoveryState((await engine.endpoint(kept.site)).admin);
    if (s.role !== "standby") return `${kept.site} left recovery (it was opened for writes)`;
    if (!s.paused) return `${kept.site} is no longer paused at the point`;
    if (s.replayLsn !== kept.replayLsn) return `${kept.site} replayed on since the preview (${kept.replayLsn} → ${s.replayLsn})`;
  } catch (e) {
    return `${kept.site} does not answer (${(e as Error).message.split("\n")[0]})`;
  }
  return undefined;
}

/**
 * For an --apply: the kept copy to reuse (facts to start from), or why the newest kept copy of
 * this table cannot be reused (it is removed then). Undefined when no preview kept one.
 */
export async function findKeptCopy(engine: Engine, journal: Journal, request: DeletionRequest, point: RecoveryPoint): Promise<{ facts: KeptCopyFacts; note?: string } | undefined> {
  const found = newestKept(journal, request.table);
  if (!found) return undefined;
  const { run, kept } = found;
  const why = await notExact(engine, kept, point.point);
  if (why) {
    await engine.destroyDrillSite(kept.scratchId).catch(() => undefined);
    return { facts: { staleCopyRemoved: run.runId }, note: `the copy kept by preview ${run.runId} was not reused: ${why}; it was removed and a new one is restored` };
  }
  const f = run.facts as DeletionFacts;
  return { facts: { scratchId: kept.scratchId, targetSite: kept.site, restore: f.restore, versusRunbook: f.versusRunbook, reusedCopy: { fromRun: run.runId, site: kept.site, keptAt: kept.keptAt } } };
}
