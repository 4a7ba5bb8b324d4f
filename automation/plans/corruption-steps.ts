// The corruption plan's own steps (runbook §2). Detection decides the path:
//   index-only damage  → REINDEX exactly the damaged indexes (with --reindex), check again;
//   table (heap) damage, or a site that cannot be checked → restore the newest consistent
//     point on ANOTHER site (the damaged one is fenced and kept for inspection), verify, swap.
// Never pg_resetwal (runbook step 4): it discards WAL the server still needs, so committed
// transactions vanish and the tables that remain can be inconsistent with each other and with
// their indexes, silently. Damaged pages are replaced by restoring them from a backup plus
// replaying WAL, which loses nothing that was archived.
import { DrError, isDrError } from "../core/errors";
import { archiveThrough, describeArchiveWait } from "../postgres/archiver";
import { withClient } from "../postgres/client";
import type { Step, StepContext } from "./plan";
import { checkTarget, resolveCheckTarget } from "../corruption/check";
import { repairOf } from "../corruption/repairs";
import { rebuildIndexes, reindexStatement, type IndexToRebuild, type RebuiltIndex } from "../corruption/reindex";
import type { Classification, CorruptionReport } from "../corruption/report";
import { facts, type Facts } from "./facts";
import { fallBackToOlderSet } from "./restore-steps";


export type CorruptionPath = "clean" | "reindex-offered" | "reindex" | "restore";

export interface CorruptionFacts extends Facts {
  /** --reindex was given at declaration. */
  reindexRequested?: boolean;
  /** What detection found on the damaged site (the report of `dr check corruption`). */
  corruption?: CorruptionReport;
  /** Detection could not read the site (it does not start, or pg_checksums refused): why. */
  uncheckable?: string;
  path?: CorruptionPath;
  rebuilt?: RebuiltIndex[];
  recheck?: { site: string; classification: Classification; findings: number; complete: boolean };
  drain?: { segment?: string; archived: boolean; detail: string };
}

export function corruptionFacts(ctx: StepContext): CorruptionFacts {
  return facts(ctx) as CorruptionFacts;
}

/** The steps each path runs; the others are marked skipped when detection has decided. */
export const pathSteps: Record<CorruptionPath, string[]> = {
  clean: ["detect", "report"],
  "reindex-offered": ["detect", "report"],
  reindex: ["detect", "reindex", "recheck", "first-write", "report"],
  restore: ["detect", "bring-up", "assess", "drain", "fence", "restore", "verify", "recheck-restored", "open", "swap-dns", "first-write", "post-checks", "report"],
};

/** Index-only damage is rebuilt only when asked; table damage, or no verdict at all, means a restore. */
export function choosePath(classification: Classification | "unknown", reindexRequested: boolean): CorruptionPath {
  if (classification === "clean") return "clean";
  if (classification === "index-only") return reindexRequested ? "reindex" : "reindex-offered";
  return "restore";
}

/** The damaged indexes, each once, as REINDEX needs them. */
export function indexesToRebuild(report: CorruptionReport): IndexToRebuild[] {
  const seen = new Map<string, IndexToRebuild>();
  for (const f of report.findings) {
    if (f.kind !== "index" || !f.database) continue;
    seen.set(`${f.database}\u0000${f.relation}`, { database: f.database, index: f.relation, catalog: f.catalog });
  }
  return [...seen.values()];
}

function summary(r: CorruptionReport): string {
  if (r.classification === "clean") return `${r.site} (${r.mode}): no corruption${r.complete ? "" : " in what could be read"}`;
  const names = r.findings.map((f) => `${f.relation} (${f.problem}${f.blocks.length ? ` block ${f.blocks.join(",")}` : ""})`);
  return `${r.site} (${r.mode}): ${r.classification === "table" ? "TABLE data damaged" : "index-only damage"}: ${names.join("; ")}`;
}

async function detect(ctx: StepContext): Promise<string> {
  const f = corruptionFacts(ctx);
  let classification: Classification | "unknown";
  try {
    const target = await resolveCheckTarget(ctx.engine, ctx.config, f.sourceSite!);
    f.corruption = await checkTarget(target);
    classification = f.corruption.classification;
  } catch (e) {
    if (!isDrError(e, "SITE_UNREACHABLE") && !isDrError(e, "CORRUPTION_CHECK_FAILED") && !isDrError(e, "CLUSTER_RUNNING")) throw e;
    f.uncheckable = e.message;
    classification = "unknown";
  }
  f.path = choosePath(classification, f.reindexRequested === true);
  if (f.path === "reindex") f.targetSite = f.sourceSite;
  if (classification === "table" && f.reindexRequested) ctx.note("--reindex does not apply: table pages are damaged and a REINDEX cannot bring their rows back; restoring instead");
  if (f.path === "reindex-offered") {
    const names = indexesToRebuild(f.corruption!).map((i) => i.index);
    ctx.note(`only indexes are damaged (${names.join(", ")}): \`dr recover corruption --reindex\` rebuilds them from their tables without a restore; nothing was changed`);
  }
  if (f.path === "clean") ctx.note(`no corruption found on ${f.sourceSite}${f.corruption?.complete ? "" : " in what could be read"}: nothing to recover${f.corruption?.warnings.length ? ` (${f.corruption.warnings.join("; ")})` : ""}`);
  if (classification === "unknown") ctx.note(`${f.sourceSite} could not be checked (${f.uncheckable}): treated as damaged, restoring a clean copy elsewhere; the site is fenced and kept for inspection`);
  // The steps of the other paths are not run; the journal says so (a resumed run keeps it).
  const keep = new Set(pathSteps[f.path]);
  for (const s of ctx.record.steps) {
    if (!keep.has(s.id) && s.status === "pending") {
      s.status = "skipped";
      s.detail = `not on the ${f.path} path`;
    }
  }
  return `${f.corruption ? summary(f.corruption) : `${f.sourceSite}: not checkable`} → ${f.path}`;
}

/** Detection (runbook: "STOP — assess first"): read-only, it changes nothing on any site. */
export const detectStep: Step = {
  id: "detect",
  name: "detect: read every page of every relation (checksums, amcheck); index-only or table damage?",
  estimateSeconds: 30,
  async done(ctx) {
    return corruptionFacts(ctx).path !== undefined;
  },
  async explain(ctx) {
    return detect(ctx);
  },
  async run(ctx) {
    return { detail: await detect(ctx) };
  },
};

export const reindexStep: Step = {
  id: "reindex",
  name: "rebuild exactly the damaged indexes from their tables (REINDEX)",
  estimateSeconds: 10,
  async done(ctx) {
    return corruptionFacts(ctx).rebuilt !== undefined;
  },
  async explain(ctx) {
    const f = corruptionFacts(ctx);
    return f.corruption ? indexesToRebuild(f.corruption).map(reindexStatement).join("; ") : "the indexes detection names";
  },
  async run(ctx) {
    const f = corruptionFacts(ctx);
    const indexes = indexesToRebuild(f.corruption!);
    const ep = await ctx.engine.endpoint(f.sourceSite!);
    f.rebuilt = await rebuildIndexes(ep.admin, indexes);
    return { detail: f.rebuilt.map((r) => `${r.database}: ${r.index} ${r.method === "gone" ? "no longer exists" : `rebuilt (${r.method}, ${r.durationMs} ms)`}`).join("; ") };
  },
};

/** The gate of the REINDEX path: the same check again, and it must be clean. */
export const recheckStep: Step = {
  id: "recheck",
  name: "check again: every page read, no damage left (the gate)",
  gate: true,
  estimateSeconds: 30,
  async done(ctx) {
    return corruptionFacts(ctx).recheck?.classification === "clean";
  },
  async explain(ctx) {
    return `the detection check on ${corruptionFacts(ctx).sourceSite} once more`;
  },
  async run(ctx) {
    const f = corruptionFacts(ctx);
    // The same verdict `dr check corruption` gives afterwards: counters from the damage just repaired are info.
    const r = await checkTarget(await resolveCheckTarget(ctx.engine, ctx.config, f.sourceSite!), { repaired: repairOf(ctx.record) });
    f.recheck = { site: r.site, classification: r.classification, findings: r.findings.length, complete: r.complete };
    if (r.classification !== "clean") {
      throw new DrError("GATE_FAILED", `still damaged after REINDEX: ${summary(r)}`, {
        hint: "the damage is not only in indexes: restore a clean copy with `dr recover corruption` (without --reindex)",
        details: { findings: r.findings },
      });
    }
    // Nothing was restored, so nothing committed was lost: the RPO of this path is zero.
    f.restoredLastCommitAt = f.rpoReferenceAt = r.checkedAt;
    if (!r.complete) ctx.note(`after the REINDEX not every relation could be read on ${r.site}: ${r.notChecked.map((n) => `${n.relation}: ${n.reason}`).join("; ")}`);
    return { detail: summary(r) };
  },
};

/**
 * Before fencing a damaged primary that still runs: stop its writes and get its last WAL into
 * the repository, so the restore's "end of WAL" holds every commit (an immediate stop would
 * leave the unarchived tail behind: up to archive_timeout of commits).
 */
export const drainStep: Step = {
  id: "drain",
  name: "stop writes on the damaged site and archive its last WAL (no committed data left behind)",
  destructive: true,
  estimateSeconds: 10,
  async done(ctx) {
    return corruptionFacts(ctx).drain !== undefined;
  },
  async explain(ctx) {
    const f = corruptionFacts(ctx);
    const p = await ctx.engine.probe(f.sourceSite!);
    return p.reachable && p.mode === "primary" ? `${f.sourceSite}: default_transaction_read_only, end client sessions, switch and archive the WAL` : `${f.sourceSite} takes no writes: nothing to drain`;
  },
  async run(ctx) {
    const f = corruptionFacts(ctx);
    const p = await ctx.engine.probe(f.sourceSite!);
    if (!p.reachable || p.mode !== "primary") {
      f.drain = { archived: false, detail: `${f.sourceSite} takes no writes (${p.reachable ? p.mode : p.error ?? "unreachable"})` };
      return { detail: f.drain.detail };
    }
    const ep = await ctx.engine.endpoint(f.sourceSite!);
    f.drain = await withClient({ ...ep.admin, database: "postgres" }, async (c) => {
      await c.query("alter system set default_transaction_read_only = on");
      await c.query("select pg_reload_conf()");
      const ended = (await c.query("select count(pg_terminate_backend(pid))::int n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()")).rows[0].n as number;
      const wait = await archiveThrough(c);
      const segment = wait.segment;
      if (wait.archived) return { segment, archived: true, detail: `read-only, ${ended} session(s) ended, WAL archived through ${segment}` };
      return { segment, archived: false, detail: `read-only, ${ended} session(s) ended; ${describeArchiveWait(wait)}` };
    });
    if (!f.drain.archived) ctx.note(`the last WAL of ${f.sourceSite} (${f.drain.segment}) did not reach the repository (${f.drain.detail}): the restore ends at the newest archived WAL`);
    return { detail: f.drain.detail };
  },
};

/**
 * The restored copy, read page by page like the damaged site was. A copy that is damaged too
 * (the damage was in the backup) sends the run back to the restore with the next older set;
 * with no older set left, the damage came through the WAL (a bad write): a target time before
 * it is needed.
 */
export const recheckRestoredStep: Step = {
  id: "recheck-restored",
  name: "check the restored copy: every page read, no damage (the second gate)",
  gate: true,
  estimateSeconds: 30,
  async done(ctx) {
    const f = corruptionFacts(ctx);
    return f.recheck?.site === f.targetSite && f.recheck?.classification === "clean";
  },
  async explain(ctx) {
    return `the detection check on ${corruptionFacts(ctx).targetSite} before it is opened`;
  },
  async run(ctx) {
    const f = corruptionFacts(ctx);
    const r = await checkTarget(await resolveCheckTarget(ctx.engine, ctx.config, f.targetSite!));
    f.recheck = { site: r.site, classification: r.classification, findings: r.findings.length, complete: r.complete };
    ctx.record.verification?.checks.push({ name: "every page of every relation reads clean (checksums, amcheck)", ok: r.classification === "clean", detail: summary(r), durationMs: r.durationMs });
    if (r.classification === "clean") {
      if (!r.complete) ctx.note(`on the restored copy not every relation could be read: ${r.notChecked.map((n) => `${n.relation}: ${n.reason}`).join("; ")}`);
      return { detail: summary(r) };
    }
    if (ctx.record.verification) ctx.record.verification.ok = false;
    const fallback = await fallBackToOlderSet(ctx, `the copy restored from ${f.restore?.set} is damaged too (${summary(r)})`, "damaged; falling back to an older set");
    if (fallback) return fallback;
    throw new DrError("GATE_FAILED", `the restored copy is damaged too: ${summary(r)}`, {
      hint: "the damage came with the WAL (a bad write) or is in every backup: rerun with --target-time before it began; DNS was not swapped",
      details: { findings: r.findings },
    });
  },
};
