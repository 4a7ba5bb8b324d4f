// The middle of every recovery: restore the newest recovery point that verifies, then the gate.
// Each byte of the set is read once on the critical path: pgBackRest checks every file's
// checksum as it restores it, so there is no whole-set verify before the restore (it read the
// whole set a second time: about 15 s per GB from the offsite store). Only when a restore fails
// does a verify of that one set say whether its files are damaged; then the set is passed over
// for the next older one (plus WAL to the same target), restored with --delta over what the
// failed attempt left, and the run says so. A restored copy that fails the gate is passed over
// the same way. After a security incident the set is verified whole before (tampering).
import { DrError, isDrError } from "../core/errors";
import { connect, withClient } from "../postgres/client";
import type { Step, StepContext } from "./plan";
import type { RestoreTarget } from "../pgbackrest/options";
import { verifyDatabase, type Reference } from "../verify/checks";
import { coverageOf, proofFromGate } from "../verify/backup-proofs";
import { gateOptions } from "../verify/invariants";
import { facts } from "./facts";
import { sourceFingerprints } from "./source-fingerprints";
import { restorePointArchived } from "./restore-point-archived";
import { formatBytes, formatMs } from "../core/output";
import type { CheckResult } from "../verify/check-result";
import { journalFor } from "../core/state-dirs";
import { restoreEstimate, restoreRate, type RestoreRate } from "../restore/rate";
import { SET_READ_FAILURES } from "../restore/verify-set";


/**
 * The restore target of this run: a named restore point (drills), a time, or the end of WAL
 * (also for a time that no archived commit lies beyond: ../restore/recovery-point.ts).
 */
export function targetOf(ctx: StepContext): RestoreTarget {
  const f = facts(ctx);
  if (f.restorePoint) return { kind: "name", name: f.restorePoint.name };
  if (f.recoveryPoint?.kind === "end-of-archive") return { kind: "latest" };
  if (ctx.options.targetTime) return { kind: "time", time: new Date(ctx.options.targetTime) };
  return { kind: "latest" };
}

/** Newest usable set of the repository that has not been passed over. */
async function candidateSet(ctx: StepContext): Promise<string> {
  const f = facts(ctx);
  const cat = await ctx.engine.catalog(f.repo!);
  const excluded = new Set(f.excludedSets ?? []);
  // A set newer than the target time is never a candidate, also when the restore goes to the end of the archive.
  const target = targetOf(ctx);
  const bound = target.kind === "time" ? target.time : f.recoveryPoint && ctx.options.targetTime ? new Date(ctx.options.targetTime) : undefined;
  const usable = cat.sets.filter((s) => !s.error && !excluded.has(s.label) && (!bound || s.stoppedAt <= bound));
  const set = usable[usable.length - 1];
  if (!set) {
    throw new DrError("BACKUP_NONE", `no usable backup left in repo${f.repo} (passed over: ${[...excluded].join(", ") || "none"})`, {
      hint: "every candidate failed verification; inspect the repository with `dr backup verify` before anything else",
    });
  }
  return set.label;
}

/**
 * The newest committed transaction the restored copy holds: the last replayed commit, or the
 * newest heartbeat row (written every second or faster on the primary), whichever is later.
 * Replay timestamps alone say nothing when the replayed WAL held no commit.
 */
export async function newestCommitPresent(ctx: StepContext, site: string, replayed: string | undefined): Promise<string | undefined> {
  const ep = await ctx.engine.endpoint(site);
  const heartbeat = await withClient(ep.admin, async (c) => {
    const r = await c.query("select max(at) as at from fp_dr.heartbeat").catch(() => undefined);
    return r?.rows[0]?.at as Date | null | undefined;
  });
  const candidates = [replayed ? Date.parse(replayed) : NaN, heartbeat ? heartbeat.getTime() : NaN].filter((x) => !Number.isNaN(x));
  return candidates.length ? new Date(Math.max(...candidates)).toISOString() : undefined;
}

/**
 * When the replay applied no commit (the set ended after the last one) and no heartbeat says
 * more: the newest commit in the archived WAL up to where the replay ended is the newest the
 * copy holds (it is in the set or was replayed).
 */
async function lastCommitInWal(ctx: StepContext, replayLsn: string | undefined): Promise<string | undefined> {
  if (!replayLsn) return undefined;
  const repo = facts(ctx).repo!;
  const cat = await ctx.engine.catalog(repo);
  // A measurement, not a condition of the restore: a WAL this machine cannot read leaves the RPO unmeasured.
  return (await ctx.engine.lastArchivedCommit(repo, cat.segments, { upToLsn: replayLsn }).catch(() => undefined))?.commit?.at;
}

/** How fast restores copied files in this environment (the journal's earlier runs), for the estimate. */
function measuredRate(ctx: StepContext): RestoreRate {
  return restoreRate(journalFor(ctx.config).list().filter((r) => r.runId !== ctx.record.runId));
}

export const restoreStep: Step = {
  id: "restore",
  name: "restore the newest recovery point that verifies",
  destructive: false,
  estimateSeconds: 60,
  async explain(ctx) {
    const f = facts(ctx);
    const set = await candidateSet(ctx);
    if (f.targetSite && (await ctx.engine.sites()).some((s) => s.name === f.targetSite)) {
      const plan = await ctx.engine.planRestore({ site: f.targetSite, repo: f.repo!, set, target: targetOf(ctx), overwrite: true, rate: measuredRate(ctx) });
      f.restoreEstimateSeconds = Math.round(plan.estimate.seconds + 5);
      return `repo${f.repo} set ${set} into ${f.targetSite}: ${plan.estimate.basis}; WAL ${plan.wal.from} → ${plan.wal.to}`;
    }
    // The site comes later (a drill's, a replacement host): the estimate from the set's size alone.
    const size = (await ctx.engine.catalog(f.repo!)).sets.find((s) => s.label === set)?.size;
    const estimate = size === undefined ? undefined : restoreEstimate(size, measuredRate(ctx));
    if (estimate) f.restoreEstimateSeconds = Math.round(estimate.seconds + 5);
    return `repo${f.repo} set ${set} into ${f.targetSite ?? "the new site"}, target ${JSON.stringify(targetOf(ctx))}${estimate ? `: ${estimate.basis}` : ""}`;
  },
  async run(ctx) {
    const f = facts(ctx);
    // After a security incident a set whose files were tampered with is not to be trusted even
    // where a delta restore would never read the tampered file: it is verified whole first.
    const verifyFirst = ctx.record.scenario === "security";
    // Every second of the step under a name (files and replay come from the restore itself).
    const parts: Record<string, number> = {};
    const part = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = Date.now();
      try {
        return await fn();
      } finally {
        parts[name] = (parts[name] ?? 0) + Date.now() - t;
      }
    };
    // A drill's restore point may still be on its way to the archive: the restore lays the files
    // down meanwhile and awaits it before it starts the copy (restore-point-archived.ts).
    const wait = f.restorePoint ? restorePointArchived(ctx.record.runId) : undefined;
    // The runner retries a step that failed with ARCHIVE_FAILED: a wait that has failed fails
    // the retry at once (the same error), without laying the files down again for nothing.
    if (wait?.failed) throw wait.failed.error;
    const arriving = wait && f.restorePoint ? { lsn: f.restorePoint.lsn, archived: wait.archived } : undefined;
    for (;;) {
      const set = await candidateSet(ctx);
      if (verifyFirst) {
        const check = await part(`pgBackRest verify of ${set}`, () => ctx.engine.verifyBackup(f.repo!, set));
        if (!check.ok) {
          f.excludedSets = [...(f.excludedSets ?? []), set];
          ctx.note(`backup set ${set} failed pgBackRest verify (${check.detail}); falling back to the next older set plus WAL`);
          continue;
        }
      }
      let r: Awaited<ReturnType<typeof ctx.engine.restore>>;
      const called = Date.now();
      try {
        r = await ctx.engine.restore({ site: f.targetSite!, repo: f.repo!, set, target: targetOf(ctx), overwrite: true, runId: ctx.record.runId, rate: measuredRate(ctx), arriving });
      } catch (e) {
        parts[`restore of ${set} that stopped`] = Date.now() - called;
        if (!isDrError(e) || !SET_READ_FAILURES.has(e.code)) throw e;
        // Off the normal path: was it the set's files (tampering, bit rot)? pgBackRest verify of that set says.
        const check = await part(`pgBackRest verify of ${set}`, () => ctx.engine.verifyBackup(f.repo!, set));
        if (check.ok) throw e;
        f.excludedSets = [...(f.excludedSets ?? []), set];
        ctx.note(`backup set ${set} failed pgBackRest verify (${check.detail}) after its restore stopped (${e.message.split(/[;\n]/)[0]}); falling back to the next older set plus WAL, restored over the same target (delta)`);
        continue;
      }
      // Already printed by the restore; kept in the run record for the report.
      for (const line of r.ended ?? []) ctx.record.notes.push(`before restoring into ${f.targetSite}: ${line}`);
      const walWaitMs = r.timings.walWaitMs ?? 0;
      if (arriving) parts["the restore point's WAL reaching the archive, after the files"] = (parts["the restore point's WAL reaching the archive, after the files"] ?? 0) + walWaitMs;
      parts["plan, stop, start and open"] = Math.max(0, Date.now() - called - r.timings.restoreFilesMs - walWaitMs - r.timings.recoveryMs);
      f.restoredLastCommitAt = await part("newest commit the copy holds", async () => (await newestCommitPresent(ctx, f.targetSite!, r.lastCommitAt)) ?? (await lastCommitInWal(ctx, r.replayLsn)));
      f.restore = { set: r.set, repo: r.repo, replayLsn: r.replayLsn, lastCommitAt: r.lastCommitAt, filesMs: r.timings.restoreFilesMs, recoveryMs: r.timings.recoveryMs, bytes: r.bytes, parts };
      f.verified = undefined;
      const named = Object.entries(parts).map(([name, ms]) => `, ${name} ${formatMs(ms)}`).join("");
      return { detail: `${set} from repo${r.repo}: files ${formatMs(r.timings.restoreFilesMs)}, replay ${formatMs(r.timings.recoveryMs)}${named}, ends at ${r.replayLsn} (last commit ${f.restoredLastCommitAt ?? "none"})` };
    }
  },
};

/**
 * A failed check of the restored copy, while an older error-free set that has not been passed
 * over is left (and not --force): pass over the set just restored, say why in a note, and send
 * the run back to the restore. Undefined when there is nothing to fall back to; the caller fails.
 * `why` opens the note; the note goes on with the set restored instead.
 */
export async function fallBackToOlderSet(ctx: StepContext, why: string, detail: string): Promise<{ goto: "restore"; detail: string } | undefined> {
  const f = facts(ctx);
  const cat = await ctx.engine.catalog(f.repo!);
  const used = cat.sets.find((s) => s.label === f.restore?.set);
  const excluded = f.excludedSets ?? [];
  const older = cat.sets.filter((s) => !s.error && used && s.stoppedAt < used.stoppedAt && !excluded.includes(s.label));
  if (older.length === 0 || !f.restore || ctx.options.force) return undefined;
  f.excludedSets = [...excluded, f.restore.set];
  ctx.note(`${why}; restoring the previous set ${older[older.length - 1].label} plus WAL instead`);
  return { goto: "restore", detail };
}

/**
 * Why this run's gate runs amcheck and the orphan check on the copy even where passing proofs
 * were recorded with the backup; undefined when a restore-path failover may show them.
 */
export function fullGateReason(ctx: Pick<StepContext, "options" | "record">): string | undefined {
  if (ctx.options.fullGate) return "--full-gate";
  switch (ctx.record.scenario) {
    case "datacenter":
    case "hardware":
      return undefined;
    case "security":
      return "after a security incident the source's own proofs are not trusted";
    case "corruption":
      return "a corruption recovery checks the copy itself";
    case "drill":
      // A drill's gate is the one a failover by restore would wait for (so its RTO is the one the
      // failover would have); what that gate takes from the proofs, the drill's audit then runs
      // on the copy after its RTO and holds against them (drill-steps.ts).
      return undefined;
    default:
      return `a ${ctx.record.scenario} run checks the copy itself`;
  }
}

/** The restore step's own proofs: pgBackRest checked every file as it restored it, and replay ended where asked. */
function restoreProofs(ctx: StepContext): CheckResult[] {
  const r = facts(ctx).restore;
  if (!r) return [];
  const target = targetOf(ctx);
  const to = target.kind === "name" ? `restore point ${target.name}` : target.kind === "time" ? `time ${target.time.toISOString()}` : "the end of the archive";
  return [
    {
      name: "pgBackRest checked every restored file's checksum",
      kind: "restore",
      ok: true,
      detail: `set ${r.set} from repo${r.repo}${r.bytes !== undefined ? `: ${formatBytes(r.bytes)}` : ""} copied and checked in ${formatMs(r.filesMs)} (time in the restore step, not the gate)`,
      durationMs: 0,
    },
    {
      name: "replay reached its target",
      kind: "restore",
      ok: r.replayLsn !== undefined,
      detail: r.replayLsn ? `replayed to ${to}: ended at ${r.replayLsn} in ${formatMs(r.recoveryMs)} (time in the restore step, not the gate)` : "the restore reported no replay position",
      durationMs: 0,
    },
  ];
}

/**
 * The gate. Against the source at the restore point when it was recorded (drills under
 * --full-gate: exact; a drill's audit compares otherwise, after its RTO), else the structural
 * checks (amcheck, orphans, invariants). An invariant the source had
 * already broken (recorded with the manifest) warns and passes. A failure sends the run back
 * to the restore with the next older set while there is one; then it stops, unless --force.
 */
export const verifyStep: Step = {
  id: "verify",
  name: "verify the restored database (the gate)",
  gate: true,
  estimateSeconds: 20,
  async done(ctx) {
    return facts(ctx).verified === true;
  },
  async explain(ctx) {
    const full = fullGateReason(ctx);
    if (facts(ctx).restorePoint) {
      return full
        ? `compare with the source's fingerprints at the restore point (the invariants evaluated there hold of a copy whose rows equal them); amcheck and orphans on the copy (${full})`
        : "the gate a failover by restore would wait for: pgBackRest's per-file checksums, replay to the restore point, the manifest recorded with the last backup (schema, tables), invariants (incremental ones over what was written since the backup's proofs); amcheck and orphans from those proofs when they passed within verification.proofMaxAge; the audit after the RTO compares with the source at the restore point and runs what the gate took from the proofs";
    }
    return full
      ? `the manifest recorded with the last backup (schema, tables), amcheck, orphans, invariants on the copy (the source is gone; ${full})`
      : "pgBackRest's per-file checksums, replay to the target, the manifest recorded with the last backup (schema, tables), invariants; amcheck and orphans from the proofs recorded with the backup when they passed within verification.proofMaxAge, else on the copy (the source is gone)";
  },
  async run(ctx) {
    const f = facts(ctx);
    const ep = await ctx.engine.endpoint(f.targetSite!);
    let waited = "";
    // A drill compares with its source here only under the full gate; otherwise its gate is the
    // one a failover by restore would wait for, and the comparison is its audit's, after the RTO.
    if (f.restorePoint && !f.restorePoint.fingerprints && fullGateReason(ctx)) {
      // A drill: the source's fingerprints were read while the copy was restored.
      const read = await sourceFingerprints(ctx.record.runId);
      f.restorePoint.fingerprints = read.prints?.prints;
      f.restorePoint.invariants = read.prints?.invariants;
      f.restorePoint.invariantsMs = read.prints?.invariantsMs;
      if (read.prints) waited = `; the source's fingerprints and invariants (read during the restore) were ready after ${formatMs(read.waitedMs)} more`;
      else ctx.note("the source's fingerprints at the restore point were read by the process that was stopped: the copy is checked against the backup's manifest instead");
    }
    const ref: Reference = f.restorePoint?.fingerprints
      ? { kind: "recorded", schema: f.restorePoint.schema, fingerprints: f.restorePoint.fingerprints, invariants: f.restorePoint.invariants, invariantsMs: f.restorePoint.invariantsMs }
      : { kind: "manifest" };
    const started = Date.now();
    const proofs = { maxAgeSeconds: ctx.config.verification.proofMaxAge, fullGate: fullGateReason(ctx) };
    let coverage = { lsn: "0/0", at: new Date(started).toISOString() };
    const report = await withClient(ep.admin, async (c) => {
      coverage = await coverageOf(c);
      return verifyDatabase(c, ref, { ...gateOptions(ctx.config, () => connect(ep.admin)), proofs });
    });
    // What proves the restore itself was done by the restore step; shown here with the gate.
    report.checks.unshift(...restoreProofs(ctx));
    // Every second of the gate under a name: what no check accounts for (connecting, sessions).
    const invariants = report.checks.filter((c) => c.kind === "invariant").reduce((n, c) => n + c.durationMs, 0);
    const rest = Date.now() - started - report.checks.reduce((n, c) => n + c.durationMs, 0) + invariants - (report.invariantsWallMs ?? invariants);
    const overlap = report.invariantsWallMs !== undefined && report.invariantsWallMs < invariants ? `; the invariants took ${formatMs(report.invariantsWallMs)} of wall time on the gate's sessions (their own times overlap)` : "";
    if (rest > 0) report.checks.push({ name: "connect and open the gate's sessions", kind: "proof", ok: true, detail: `outside every check${overlap}`, durationMs: rest });
    report.ok = report.checks.every((c) => c.ok);
    ctx.record.verification = { ok: report.ok, checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail, durationMs: c.durationMs })) };
    // The source's own data broke these already: the copy is faithful and an older set holds the
    // same data, so they warn (in the report) and neither block nor blame the backup.
    const warned = report.checks.filter((c) => c.warning);
    for (const w of warned) ctx.note(`${w.name}: ${w.detail}`);
    if (report.ok) {
      f.verified = true;
      f.proofShown = report.shownFromProof;
      f.checkedSince = report.checkedSince;
      // What the gate proved about the data itself goes with the first backup taken of it (the
      // failover's post-checks), so that a restore of that backup before the next scheduled one
      // shows it instead of running amcheck and the orphan check on its copy again.
      f.gateProof = proofFromGate(report, f.targetSite!, { startedAt: new Date(started).toISOString(), coverage });
      return { detail: `${report.checks.length} checks passed${warned.length ? `, ${warned.length} with a warning (violated at the source)` : ""}${waited}` };
    }
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    const fallback = await fallBackToOlderSet(ctx, `verification of ${f.restore?.set} failed (${failed.join("; ")})`, "failed; falling back to an older set");
    if (fallback) return fallback;
    throw new DrError("GATE_FAILED", `verification failed: ${failed.join("; ")}`, {
      hint: "DNS was not swapped and the site was not opened; inspect it, or rerun with --force (recorded in the report)",
      details: { failed },
    });
  },
};
