// The steps of a table-level recovery after an accidental deletion (runbook §6), in order:
// find when the rows went, restore a throwaway copy of only the affected database to just
// before that moment, diff the table with production by primary key, write back what is
// missing (only with --apply, in one transaction, foreign keys respected), verify, and remove
// the copy whatever happened. The work of each step is in deletion/ (both sides open together,
// the comparison, the keys side file, the rows to write back, the gate); here is the order.
//
// The runbook instead restored the latest dump into a temporary database and piped
// `pg_dump -t` of the table into production: the table as of the dump (hours before the
// deletion: every change since lost), re-imported blindly over live rows, with no preview, no
// dependants and no check that anything came back right.
import { existsSync } from "node:fs";
import type { ClientConfig } from "pg";
import { journalFor } from "../core/state-dirs";
import { formatDuration } from "../config/common";
import type { DrConfig } from "../config/schema";
import { DrError, isDrError } from "../core/errors";
import { requireArchived } from "../postgres/archiver";
import { withClient } from "../postgres/client";
import { readRecoveryState } from "../postgres/recovery-state";
import type { Step, StepContext } from "./plan";
import type { Engine } from "../engines/engine";
import { applyRecovery, type ApplyResult } from "../deletion/apply";
import { openBothSides, type BothSides } from "../deletion/both-sides";
import { compareWithProduction, reportedDiff } from "../deletion/compare";
import { writeBackPlan } from "../deletion/write-back";
import { keysFilePath, readKeys, writeKeys, type KeysFile } from "../deletion/keys-file";
import { locateDeletion, type RecoveryPoint } from "../deletion/locate";
import type { DeletionDiff, DeletionRequest } from "../deletion/request";
import { describeTable, type TableInfo } from "../deletion/table";
import { checkApplied, invariantState } from "../deletion/verify-applied";
import { invariantsFor } from "../verify/invariants";
import { facts, type Facts } from "./facts";
import { formatMs } from "../core/output";


export interface DeletionFacts extends Facts {
  request?: DeletionRequest;
  located?: RecoveryPoint;
  /** Id of the throwaway copy (engine drill site drill-<id>). */
  scratchId?: string;
  diff?: DeletionDiff;
  /** Side file with every key the diff found (the journal holds only counts and samples). */
  keysFile?: string;
  invariantsBefore?: Record<string, boolean>;
  applied?: ApplyResult & { rowsLost: number; dependentRowsNotRestored: number };
  /** How far this copy is ahead of what the runbook's procedure would have restored. */
  versusRunbook?: string;
  /** The copy this run left for a later --apply (--keep-copy): plans/kept-copy.ts. */
  keptCopy?: KeptCopy;
  /** The copy of an earlier preview this run reused instead of restoring again. */
  reusedCopy?: { fromRun: string; site: string; keptAt: string };
  /** The preview whose kept copy this run found stale and removed. */
  staleCopyRemoved?: string;
}

/** What a preview leaves in its facts when it keeps its copy. */
export interface KeptCopy {
  scratchId: string;
  site: string;
  table: string;
  point: string;
  /** Where replay stood when the preview ended: the copy is exact while it stands there. */
  replayLsn: string;
  keptAt: string;
}

export function deletionFacts(ctx: StepContext): DeletionFacts {
  return facts(ctx) as DeletionFacts;
}

/** The production database (admin) and the restored copy (admin) of this run. */
async function endpoints(ctx: StepContext): Promise<{ production: ClientConfig; copy: ClientConfig }> {
  const f = deletionFacts(ctx);
  return { production: (await ctx.engine.endpoint(f.sourceSite!)).admin, copy: (await ctx.engine.endpoint(f.targetSite!)).admin };
}

/**
 * Pre-flight, read-only: the table exists with a primary key, the recovery point is found and
 * lies inside what the repository can restore. Used at declaration (so bad input stops before
 * a run starts) and by the first step.
 */
export async function locateForRun(engine: Engine, config: DrConfig, production: string, repo: 1 | 2, req: DeletionRequest): Promise<{ point: RecoveryPoint; table: TableInfo }> {
  const ep = await engine.endpoint(production);
  const { point, table } = await withClient(ep.admin, async (c) => {
    const table = await describeTable(c, req.table, `database ${config.database} on ${production}`);
    const point = await locateDeletion(c, config.recovery.audit, {
      table,
      before: req.before ? new Date(req.before) : undefined,
      since: req.since ? new Date(req.since) : undefined,
      keys: req.keys,
      includeUpdates: req.revertChanged,
    });
    return { point, table };
  });
  const cat = await engine.catalog(repo);
  const usable = cat.sets.filter((s) => !s.error);
  if (usable.length === 0) throw new DrError("BACKUP_NONE", `repo${repo} holds no usable backup to restore the copy from`, { hint: "take one with `dr backup full`" });
  if (Date.parse(point.point) < usable[0].stoppedAt.getTime()) {
    throw new DrError("TARGET_BEFORE_WINDOW", `the recovery point ${point.point} is before the oldest backup in repo${repo} (finished ${usable[0].stoppedAt.toISOString()})`, {
      hint: "the rows went before anything this repository can restore; try the other repository (--repo 2) or an older backup archive",
    });
  }
  return { point, table };
}

function describePoint(p: RecoveryPoint): string {
  if (p.mode === "before") return `recovery point ${p.point} (${p.basis})`;
  const e = p.event!;
  const what = e.touched.length ? e.touched.map((t) => `${t.action} ${t.rows} ${t.table}`).join(", ") : `${e.action} of ${e.rows} row(s)`;
  return `${e.action} by ${e.actor ?? "?"}${e.xid ? ` in transaction ${e.xid}` : ""} at ${e.firstAt} (${what}); recovery point ${p.point}, ${p.basis}`;
}

export const locateStep: Step = {
  id: "locate",
  name: "find when the rows went (the audit log's DELETE, or --before)",
  estimateSeconds: 1,
  async done(ctx) {
    return deletionFacts(ctx).located !== undefined;
  },
  async explain(ctx) {
    const f = deletionFacts(ctx);
    f.located ??= (await locateForRun(ctx.engine, ctx.config, f.sourceSite!, f.repo!, f.request!)).point;
    return describePoint(f.located);
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    f.located ??= (await locateForRun(ctx.engine, ctx.config, f.sourceSite!, f.repo!, f.request!)).point;
    const { rto, rpo } = ctx.record.measurements;
    rto.basis = f.request!.apply ? "declaration → the missing rows committed back in production" : "declaration → the diff ready (preview: nothing written)";
    rpo.basis = "the moment the rows went → the point the restored copy holds (what was written back is the table as it was then); not measured while rows are still missing";
    return { detail: describePoint(f.located) };
  },
};

export const createScratchStep: Step = {
  id: "create-scratch",
  name: "create a throwaway copy site",
  estimateSeconds: 5,
  async explain(ctx) {
    return `drill-${deletionFacts(ctx).scratchId} (${ctx.engine.name === "local" ? "a new cluster on a free loopback address" : "a drill-<id> stack"}); production is never restored over`;
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    if (f.reusedCopy) return { detail: `reused ${f.reusedCopy.site}, kept by preview ${f.reusedCopy.fromRun} at ${f.reusedCopy.keptAt}` };
    const ep = await ctx.engine.createDrillSite(f.scratchId!);
    f.targetSite = ep.site;
    return { detail: `${ep.site} at ${ep.address}:${ep.port}` };
  },
};

export const restoreScratchStep: Step = {
  id: "restore-copy",
  name: "restore the copy to just before the deletion (point in time, only the affected database)",
  estimateSeconds: 30,
  async explain(ctx) {
    const f = deletionFacts(ctx);
    return `repo${f.repo} to ${f.located?.point ?? "the recovery point"}, --db-include=${ctx.config.database}, paused read-only at the point`;
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    const point = f.located!.point;
    if (f.reusedCopy) {
      const r = f.restore;
      return { detail: `nothing restored again: the copy of preview ${f.reusedCopy.fromRun} is still paused at ${point} with replay where it left it${r ? ` (${r.set} from repo${r.repo}: files ${formatMs(r.filesMs)}, replay ${formatMs(r.recoveryMs)} saved)` : ""}` };
    }
    // 1. The WAL up to the deletion must be in the repository before the restore can reach it:
    //    an empty transaction (a commit record after the point, so replay to a time can stop
    //    there even if nothing else was written since), a WAL switch, and a wait for the
    //    archiver. No data changes. WAL that does not arrive stops the run; a production that
    //    cannot be reached (or refuses the switch) leaves it to archive_timeout.
    const seg = await withClient((await ctx.engine.endpoint(f.sourceSite!)).admin, (c) =>
      requireArchived(c, "the WAL holding the deletion", { commitFirst: true, hint: "check archiving on production (`dr health`); the copy cannot reach the point without it" }).then((w) => w.segment),
    ).catch((e: unknown) => {
      if (isDrError(e, "ARCHIVE_FAILED")) throw e;
      ctx.note(`could not switch WAL on ${f.sourceSite} (${(e as Error).message.split("\n")[0]}): relying on archive_timeout`);
      return undefined;
    });
    // 2. PITR into the copy: only the application's database, from the site's repository.
    const r = await ctx.engine.restore({ site: f.targetSite!, repo: f.repo!, target: { kind: "time", time: new Date(point) }, overwrite: true, databases: [ctx.config.database], runId: ctx.record.runId });
    if (ctx.engine.name !== "local") ctx.note(`the ${ctx.engine.name} engine restores every database into the copy (no --db-include there); only ${ctx.config.database} is read`);
    // 3. The copy must not hold anything committed after the point.
    if (r.lastCommitAt && Date.parse(r.lastCommitAt) > Date.parse(point)) {
      throw new DrError("RESTORE_FAILED", `the copy's last commit (${r.lastCommitAt}) is after the recovery point ${point}`, { hint: "the restore overshot its target; read the copy's server log" });
    }
    f.restore = { set: r.set, repo: r.repo, replayLsn: r.replayLsn, lastCommitAt: r.lastCommitAt, filesMs: r.timings.restoreFilesMs, recoveryMs: r.timings.recoveryMs };
    // What the runbook's way would have started from: the backup itself, with nothing after it.
    const set = (await ctx.engine.catalog(f.repo!)).sets.find((x) => x.label === r.set);
    if (set) {
      const gap = (Date.parse(point) - set.stoppedAt.getTime()) / 1000;
      f.versusRunbook = `the copy holds the table at ${point}, ${formatDuration(gap)} after backup ${r.set} ended (${set.stoppedAt.toISOString()}); the runbook's restore of the latest backup would have lost those ${formatDuration(gap)} of changes and re-imported the whole table over live rows`;
    }
    return { detail: `${r.set} from repo${r.repo}${seg ? ` (WAL to ${seg} archived first)` : ""}: files ${formatMs(r.timings.restoreFilesMs)}, replay ${formatMs(r.timings.recoveryMs)}; copy ends at its last commit ${r.lastCommitAt ?? "(none replayed)"} ≤ ${point}` };
  },
};

/** Both sides of this run: the restored copy and production. */
async function withBothSides<T>(ctx: StepContext, fn: (sides: BothSides) => Promise<T>): Promise<T> {
  return openBothSides(await endpoints(ctx), deletionFacts(ctx).sourceSite!, fn);
}

export const diffStep: Step = {
  id: "diff",
  name: "diff the table with production by primary key (missing, changed, added since) and find dependent rows",
  estimateSeconds: 5,
  async done(ctx) {
    const f = deletionFacts(ctx);
    return f.diff !== undefined && f.keysFile !== undefined && existsSync(f.keysFile);
  },
  async explain(ctx) {
    const req = deletionFacts(ctx).request!;
    return `${req.table}: copy vs production, key buckets first, rows only where they differ; dependants through foreign keys${req.includeDependents ? " (to be written back too)" : " (listed)"}`;
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    const req = f.request!;
    const result = await withBothSides(ctx, (sides) => compareWithProduction(sides, req));
    const { diff, dependents, blocked, common } = result;
    const keys: KeysFile = { table: { missing: diff.missing, changed: diff.changed, added: diff.added }, dependents: Object.fromEntries(dependents.map((d) => [d.table, d.keys])) };
    const path = keysFilePath(journalFor(ctx.config).dir, ctx.record.runId);
    writeKeys(path, keys);
    f.keysFile = path;
    const notCompared = [...common.onlyIn.copy.map((c) => `${c} (copy)`), ...common.onlyIn.production.map((c) => `${c} (production)`)];
    if (notCompared.length) ctx.note(`columns not compared (only one side has them with that type): ${notCompared.join(", ")}`);
    f.diff = reportedDiff(diff, common.columns, notCompared, dependents, blocked);
    const dep = dependents.filter((d) => d.keys.length > 0);
    if (dep.length && !req.includeDependents) {
      ctx.note(`${dep.reduce((n, d) => n + d.keys.length, 0)} dependent rows are missing too (${dep.map((d) => `${d.table} ${d.keys.length}`).join(", ")}): add --include-dependents to write them back with the table's rows`);
    }
    if (f.located?.event && f.located.event.rows > 0 && diff.missing.length === 0 && !req.revertChanged) {
      ctx.note(`the audit log shows ${f.located.event.rows} row(s) removed by transaction ${f.located.event.xid ?? "?"}, but none is missing in production now (written back already?)`);
    }
    // Without --apply the recovery ends here: the diff is what the operator came for.
    if (!req.apply) f.firstWriteAt = f.diff.readyAt;
    const depText = dep.length ? `; dependants missing: ${dep.map((d) => `${d.table} ${d.keys.length}`).join(", ")}` : "";
    return { detail: `${diff.table}: ${diff.missing.length} missing, ${diff.changed.length} changed, ${diff.added.length} added since (copy ${diff.copyRows} rows, production ${diff.productionRows})${depText}${blocked.length ? `; ${blocked.length} blocked by missing parents` : ""}` };
  },
};

export const applyStep: Step = {
  id: "apply",
  name: "write the missing rows back into production (one transaction, parents first; only with --apply)",
  destructive: true,
  estimateSeconds: 2,
  async done(ctx) {
    return deletionFacts(ctx).applied !== undefined;
  },
  async explain(ctx) {
    const req = deletionFacts(ctx).request!;
    if (!req.apply) return "preview only: nothing is written (--apply writes the missing rows back)";
    return `insert the missing rows of ${req.table}${req.includeDependents ? " and of its dependent tables (foreign key order)" : ""}${req.revertChanged ? ", revert rows changed since" : ""}, in one transaction`;
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    const req = f.request!;
    if (!req.apply) return { detail: "preview only: production unchanged (rerun with --apply to write the rows back)" };
    const blocked = f.diff!.blocked;
    if (blocked.length) {
      throw new DrError("USAGE", `cannot write the rows back: ${blocked.map((b) => `${b.table} needs ${b.parents} row(s) of ${b.parent} (${b.constraint}; e.g. ${b.sample.join(", ")})`).join("; ")}`, {
        hint: req.includeDependents ? `recover ${[...new Set(blocked.map((b) => b.parent))].join(", ")} first` : "add --include-dependents, or recover the parent table first",
      });
    }
    const keys = readKeys(f.keysFile);
    const { plan, productionAt } = await withBothSides(ctx, async (sides) => ({ plan: await writeBackPlan(sides, req, keys), productionAt: sides.ep.production }));
    const result = await withClient(productionAt, async (production) => {
      f.invariantsBefore = (await invariantState(production, invariantsFor(ctx.config))).held;
      return applyRecovery(production, plan, { actorSetting: ctx.config.recovery.audit.actorSetting, actor: `fp-dr recover-table ${ctx.record.runId}` });
    });
    const mine = result.tables[0];
    const rowsLost = keys.table.missing.length - mine.inserted - mine.alreadyBack;
    const dependentMissing = Object.values(keys.dependents).reduce((n, k) => n + k.length, 0);
    const dependentBack = result.tables.slice(1).reduce((n, t) => n + t.inserted + t.alreadyBack, 0);
    f.applied = { ...result, rowsLost, dependentRowsNotRestored: dependentMissing - dependentBack };
    // RTO ends with the commit; RPO: what was written back is the table as it was at the point.
    f.firstWriteAt = result.committedAt;
    if (rowsLost === 0) {
      f.restoredLastCommitAt = f.located!.point;
      f.rpoReferenceAt = f.located!.lostAt;
    }
    if (f.applied.dependentRowsNotRestored > 0) ctx.note(`${f.applied.dependentRowsNotRestored} dependent rows were not written back (no --include-dependents)`);
    return {
      detail: result.tables.map((t) => `${t.table} +${t.inserted}${t.alreadyBack ? ` (${t.alreadyBack} back already)` : ""}${t.reverted || t.changedSince ? `, ${t.reverted} reverted${t.changedSince ? `, ${t.changedSince} changed again since the diff: left alone` : ""}` : ""}`).join("; ") + ` — committed ${result.committedAt}`,
    };
  },
};

/**
 * The gate after an apply: every row written back is in production exactly as in the copy,
 * every row written since the deletion is still there, no foreign key has orphans, and no
 * invariant that held before the apply is broken by it.
 */
export const verifyAppliedStep: Step = {
  id: "verify",
  name: "verify production: the rows are back as they were, rows written since are kept, keys and invariants hold",
  gate: true,
  estimateSeconds: 3,
  async done(ctx) {
    return ctx.record.verification?.ok === true;
  },
  async explain(ctx) {
    return deletionFacts(ctx).request!.apply ? "compare the written rows with the copy; rows written since still there; orphans; invariants before vs after" : "nothing to verify: nothing is written";
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    if (!f.applied) return { detail: "nothing was written: production unchanged" };
    const req = f.request!;
    const keys = readKeys(f.keysFile);
    const applied = { request: req, keys, applied: f.applied, productionRowsAtDiff: f.diff!.productionRows, invariantsBefore: f.invariantsBefore };
    const checks = await withBothSides(ctx, (sides) => checkApplied(sides, applied, invariantsFor(ctx.config)));
    const ok = checks.every((c) => c.ok);
    ctx.record.verification = { ok, checks: checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail, durationMs: c.durationMs })) };
    if (!ok) {
      const failed = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      throw new DrError("GATE_FAILED", `verification after writing the rows back failed: ${failed.join("; ")}`, {
        hint: "the rows were committed; inspect production (the run's report lists the checks) and fix by hand",
        details: { failed },
      });
    }
    return { detail: `${checks.length} checks passed` };
  },
};

export const removeScratchStep: Step = {
  id: "remove-copy",
  name: "remove the throwaway copy (always, also after a failure; a preview with --keep-copy keeps it)",
  always: true,
  estimateSeconds: 3,
  async explain(ctx) {
    return `drill-${deletionFacts(ctx).scratchId} and everything it owns`;
  },
  async run(ctx) {
    const f = deletionFacts(ctx);
    const created = ctx.record.steps.find((s) => s.id === createScratchStep.id);
    if (!f.scratchId || !created || created.status === "pending" || created.status === "skipped") return { detail: "nothing was created" };
    const restored = ctx.record.steps.find((s) => s.id === restoreScratchStep.id)?.status === "done";
    const failed = ctx.record.steps.some((s) => s.status === "failed");
    if (f.request?.keepCopy && restored && !failed) {
      const s = await readRecoveryState((await ctx.engine.endpoint(f.targetSite!)).admin);
      f.keptCopy = { scratchId: f.scratchId, site: f.targetSite!, table: f.request.table, point: f.located!.point, replayLsn: s.replayLsn, keptAt: new Date().toISOString() };
      return { detail: `${f.targetSite} kept (--keep-copy), paused at ${f.located!.point}: \`dr recover-table --table ${f.request.table} --apply\` reuses it while it stays exact; \`dr lab remove-site ${f.targetSite}\` or the next --apply removes it otherwise` };
    }
    await ctx.engine.destroyDrillSite(f.scratchId);
    return { detail: `drill-${f.scratchId} removed` };
  },
};
