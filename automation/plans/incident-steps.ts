// The steps of a security incident recovery (runbook §5) that the failover plans do not have:
// ISOLATE, PRESERVE, contain the repository, ASSESS the recovery point, rotate the restored
// site's credentials, and close the chain of custody. Restore, the gate, open, DNS and the
// first write are the failover's own steps (restore-steps.ts, failover-steps.ts).
import { join } from "node:path";
import { formatDuration } from "../config/common";
import { DrError } from "../core/errors";
import type { Step, StepContext } from "./plan";
import type { CredentialRotation, IsolationResult } from "../incident/types";
import { describeIsolation, describePreservation, describeRepositoryRotation, isolateSite, preserveSite, reusedDetail, rotateDatabase, rotateRepository, type IncidentRef } from "./incident-actions";
import { actor, appendCustody, checkChain, lastEntry, readCustody, CUSTODY_FILE, type CustodyAction } from "../incident/custody";
import { facts, type Facts } from "./facts";
import { chooseRecoveryPoint, type RecoveryPoint } from "../restore/recovery-point";

/** The incident a security run recovers from (id, directory, compromised site) and its recovery point. */
export interface SecurityIncident extends IncidentRef {
  /** When the attacker is believed to have started. */
  incidentTime: string;
  marginSeconds: number;
  /** incident time − margin: the newest point the restore may reach. */
  targetTime: string;
}

export interface IncidentFacts extends Facts {
  incident?: SecurityIncident;
  isolation?: Pick<IsolationResult, "outcome" | "detail" | "at" | "running"> & { terminated: number };
  preservation?: { location?: string; files?: number; bytes?: number; sums?: string; at: string };
  repositoryRotation?: Pick<CredentialRotation, "rotated" | "withheldFrom" | "proof" | "at">;
  databaseRotation?: Pick<CredentialRotation, "rotated" | "locked" | "proof" | "at">;
  /** Sets newer than the recovery point: not trusted, not considered. */
  setsAfterTarget?: string[];
  custody?: { path: string; entries: number; chainIntact: boolean };
}

export function incidentFacts(ctx: StepContext): IncidentFacts {
  return facts(ctx) as IncidentFacts;
}

function incidentOf(ctx: StepContext): SecurityIncident {
  const i = incidentFacts(ctx).incident;
  if (!i) throw new DrError("INTERNAL", "the run has no incident facts", { hint: "start it with `dr incident restore`" });
  return i;
}

const by = (ctx: StepContext) => actor(`dr incident restore (run ${ctx.record.runId})`);

export const isolateStep: Step = {
  id: "isolate",
  name: "ISOLATE the compromised site: no connection in or out, sessions ended, server kept running",
  destructive: true,
  estimateSeconds: 5,
  async done(ctx) {
    return incidentFacts(ctx).isolation !== undefined;
  },
  async explain(ctx) {
    const i = incidentOf(ctx);
    const before = lastEntry(readCustody(i.dir), "isolate", i.site);
    if (before) return reusedDetail("isolated", before);
    return describeIsolation(ctx.engine.name, i.site);
  },
  async run(ctx) {
    const i = incidentOf(ctx);
    const { result: r, entry, reused } = await isolateSite(ctx.engine, i, by(ctx), ctx.record.runId);
    incidentFacts(ctx).isolation = { outcome: r.outcome, detail: r.detail, at: reused ? entry.at : r.at, running: r.running, terminated: r.terminated.length };
    if (r.outcome === "unreachable") ctx.note(`the compromised site ${i.site} could not be isolated (${r.detail}): cut it off by other means before it is reachable again`);
    return { detail: reused ? reusedDetail("isolated", entry) : `${r.outcome}: ${r.detail}` };
  },
};

export const preserveStep: Step = {
  id: "preserve",
  name: "PRESERVE a forensic copy of the site's data and logs (SHA-256 of every file, chain of custody)",
  estimateSeconds: 20,
  async done(ctx) {
    const i = incidentOf(ctx);
    return lastEntry(readCustody(i.dir), "preserve", i.site) !== undefined;
  },
  async explain(ctx) {
    const i = incidentOf(ctx);
    const before = lastEntry(readCustody(i.dir), "preserve", i.site);
    if (before) return reusedDetail("preserved", before);
    return describePreservation(ctx.engine.name, i.site, i.dir);
  },
  async run(ctx) {
    const i = incidentOf(ctx);
    const { recorded: p, entry, reused } = await preserveSite(ctx.engine, i, by(ctx), ctx.record.runId);
    const f = incidentFacts(ctx);
    f.preservation = { location: p?.location, files: p?.files, bytes: p?.bytes, sums: entry.evidence?.[0] ? `${entry.evidence[0].path} sha256 ${entry.evidence[0].sha256}` : undefined, at: entry.at };
    return { detail: reused ? reusedDetail("preserved", entry) : entry.summary };
  },
};

export const rotateRepositoryStep: Step = {
  id: "rotate-repository",
  name: "contain: rotate the backup repository's access (the compromised host held it), withheld from that host",
  destructive: true,
  estimateSeconds: 5,
  async done(ctx) {
    return lastEntry(readCustody(incidentOf(ctx).dir), "rotate-repository") !== undefined;
  },
  async explain(ctx) {
    const i = incidentOf(ctx);
    const before = lastEntry(readCustody(i.dir), "rotate-repository");
    if (before) return reusedDetail("rotated", before);
    return describeRepositoryRotation(ctx.engine.name, i.site);
  },
  async run(ctx) {
    const i = incidentOf(ctx);
    const { recorded: r, entry, reused } = await rotateRepository(ctx.engine, i, by(ctx), ctx.record.runId);
    if (r) {
      incidentFacts(ctx).repositoryRotation = { rotated: r.rotated ?? [], withheldFrom: r.withheldFrom ?? [], proof: r.proof ?? entry.summary, at: r.at ?? entry.at };
      // Said in every run's report, also when the rotation was done by an earlier run.
      for (const n of r.notRotated ?? []) ctx.note(`not rotated: ${n.what}: ${n.why}`);
    }
    return { detail: reused ? reusedDetail("rotated", entry) : entry.summary };
  },
};

/** ASSESS (runbook step 3): the recovery point and the clean backups that can reach it. Read-only. */
export const assessIncidentStep: Step = {
  id: "assess",
  name: "ASSESS: the recovery point (incident time − margin), the backups before it, the archived WAL reaching it",
  estimateSeconds: 5,
  async done(ctx) {
    return incidentFacts(ctx).assessment !== undefined;
  },
  async explain(ctx) {
    return (await assessIncident(ctx, false)).detail;
  },
  async run(ctx) {
    return { detail: (await assessIncident(ctx, true)).detail };
  },
};

async function assessIncident(ctx: StepContext, record: boolean): Promise<{ detail: string }> {
  const f = incidentFacts(ctx);
  const i = incidentOf(ctx);
  const target = new Date(i.targetTime);
  const probe = await ctx.engine.probe(i.site);
  const cat = await ctx.engine.catalog(f.repo!);
  const usable = cat.sets.filter((s) => !s.error);
  const before = usable.filter((s) => s.stoppedAt <= target);
  const after = usable.filter((s) => s.stoppedAt > target).map((s) => s.label);
  if (before.length === 0) {
    throw new DrError("TARGET_BEFORE_WINDOW", `no backup in repo${f.repo} finished before ${i.targetTime} (incident time ${i.incidentTime} − ${formatDuration(i.marginSeconds)})`, {
      hint: "every backup is newer than the recovery point: nothing can be trusted to predate the attacker; check the incident time, or restore by hand from an older copy",
    });
  }
  if (!cat.newestWalAt || cat.segments.length === 0) {
    throw new DrError("TARGET_IN_FUTURE", `repo${f.repo} holds no archived WAL`, {
      hint: "the compromised site never archived: nothing after its backups can be restored; check archiving and the repository",
    });
  }
  // Coverage is judged by the commits the archive holds, not by when its files arrived.
  const point = await ctx.engine.lastArchivedCommit(f.repo!, cat.segments).then(
    (archived) => chooseRecoveryPoint(i.targetTime, archived),
    // (without pg_waldump or a pg_control to read it with, the operator's machine cannot read the WAL: say so)
    (e: Error): RecoveryPoint => ({ kind: "time", why: `the archived WAL could not be read (${e.message.split("\n")[0]}): replay to ${i.targetTime}, which fails if the archive holds no commit after it` }),
  );
  const reached = point.kind === "end-of-archive" && point.lastArchivedCommitAt ? new Date(point.lastArchivedCommitAt) : target;
  const impliedRpo = (Date.parse(i.incidentTime) - reached.getTime()) / 1000;
  const walEnd = `archived WAL's last commit ${point.lastArchivedCommitAt ?? "not found"}`;
  if (record) {
    f.recoveryPoint = point;
    f.assessment = { primaryReachable: probe.reachable, primaryMode: probe.mode, newestSet: before[before.length - 1].label, newestWalAt: cat.newestWalAt.toISOString(), impliedRpoSeconds: impliedRpo };
    f.setsAfterTarget = after;
    if (after.length) ctx.note(`backup sets newer than the recovery point are not trusted and were not considered: ${after.join(", ")}`);
    if (point.kind === "end-of-archive") ctx.note(`${point.why}; RPO measured from it`);
    else if (!point.lastArchivedCommitAt) ctx.note(point.why);
    appendCustody(i.dir, { action: "assess", site: i.site, by: by(ctx), runId: ctx.record.runId, summary: `recovery point ${i.targetTime}; ${point.why}; candidates ${before.map((s) => s.label).reverse().join(", ")}; ignored as newer: ${after.join(", ") || "none"}`, data: { targetTime: i.targetTime, recoveryPoint: point, candidates: before.map((s) => s.label), ignored: after, newestWalAt: cat.newestWalAt.toISOString(), compromisedSite: { reachable: probe.reachable, mode: probe.mode } } });
  }
  return {
    detail: `${i.site} ${probe.reachable ? `still answers (${probe.mode})` : "does not answer (isolated)"}; recovery point ${i.targetTime} (incident ${i.incidentTime} − ${formatDuration(i.marginSeconds)}); candidates newest first: ${before.map((s) => s.label).reverse().join(", ")}; ${after.length} newer set(s) ignored; ${walEnd}; ${point.kind === "end-of-archive" ? "restore to the END OF THE ARCHIVED WAL" : `restore to ${i.targetTime}`}; implied RPO ${formatDuration(impliedRpo)} (objective ${formatDuration(ctx.record.measurements.rpo.objective)})`,
  };
}

export const rotateDatabaseStep: Step = {
  id: "rotate-database",
  name: "rotate the credentials of every database role on the restored site (old ones refused)",
  destructive: true,
  estimateSeconds: 3,
  async done(ctx) {
    const f = incidentFacts(ctx);
    return lastEntry(readCustody(incidentOf(ctx).dir), "rotate-database", f.targetSite) !== undefined;
  },
  async explain(ctx) {
    return `${incidentFacts(ctx).targetSite}: new passwords for the superuser, app and verifier (stored in ${ctx.engine.name === "local" ? "secrets.json" : "the stack's secrets"}), every other login role left without one`;
  },
  async run(ctx) {
    const f = incidentFacts(ctx);
    if (!f.verified && !ctx.record.forced) throw new DrError("GATE_FAILED", "refusing to rotate credentials on an unverified site", { hint: "the verify step must pass first (the site is opened after it)" });
    const { recorded: r, entry, reused } = await rotateDatabase(ctx.engine, incidentOf(ctx), f.targetSite!, by(ctx), ctx.record.runId);
    if (r) {
      f.databaseRotation = { rotated: r.rotated ?? [], locked: r.locked ?? [], proof: r.proof ?? entry.summary, at: r.at ?? entry.at };
      if (!reused && r.locked?.length) ctx.note(`login roles not managed by fp-dr have no password now (restored from before the incident, they may be the attacker's): ${r.locked.join(", ")}`);
    }
    if (!reused) ctx.note("the application's credentials changed: give it the new app password (secrets.json on the lab, its secret store on AWS)");
    return { detail: reused ? reusedDetail("rotated", entry) : entry.summary };
  },
};

/**
 * A failover step (restore, the gate, open, DNS) that also writes what it did into the chain
 * of custody as it happens (and a failure of it, which the custody must show too). Same id,
 * so the journal, resume and fault injection see the step itself.
 */
export function withCustody(step: Step, action: CustodyAction, summary: (ctx: StepContext, detail: string | undefined) => string, data?: (ctx: StepContext) => Record<string, unknown>): Step {
  return {
    ...step,
    async run(ctx) {
      const i = incidentOf(ctx);
      const site = incidentFacts(ctx).targetSite;
      const startedAt = new Date().toISOString();
      try {
        const outcome = await step.run(ctx);
        const detail = outcome ? outcome.detail : undefined;
        appendCustody(i.dir, { action, site, by: by(ctx), runId: ctx.record.runId, summary: summary(ctx, detail), data: { step: step.id, startedAt, detail, fallback: outcome && outcome.goto ? outcome.goto : undefined, ...data?.(ctx) } });
        return outcome;
      } catch (e) {
        appendCustody(i.dir, { action, site, by: by(ctx), runId: ctx.record.runId, summary: `FAILED: ${(e as Error).message.split("\n")[0]}`, data: { step: step.id, startedAt, failed: true } });
        throw e;
      }
    },
  };
}

export const restoreSummary = (ctx: StepContext): string => {
  const f = incidentFacts(ctx);
  const to = f.recoveryPoint?.kind === "end-of-archive" ? `the end of the archived WAL (last commit ${f.restoredLastCommitAt ?? "unknown"}; recovery point ${f.incident?.targetTime})` : f.incident?.targetTime;
  return `${f.targetSite} restored from repo${f.restore?.repo} set ${f.restore?.set} to ${to}${f.excludedSets?.length ? `; refused (failed verification): ${f.excludedSets.join(", ")}` : ""}`;
};
export const verifySummary = (ctx: StepContext, detail: string | undefined): string =>
  `${incidentFacts(ctx).targetSite}: ${detail ?? "verified"} (${(ctx.record.verification?.checks ?? []).map((c) => `${c.name} ${c.ok ? "ok" : "FAILED"}`).join(", ")})`;

/**
 * Closes the chain of custody (always, also after a failure): a closing entry when the whole
 * recovery succeeded, then the chain is checked and its place and timeline go into the report.
 */
export const custodyStep: Step = {
  id: "custody",
  name: "close the chain of custody: what was isolated, preserved, restored, rotated, and when",
  always: true,
  estimateSeconds: 1,
  async run(ctx) {
    const f = incidentFacts(ctx);
    const i = f.incident;
    if (!i) return { detail: "no incident" };
    // (a failed step is not done; custody itself is running and the report comes after it)
    const recovered = ctx.record.steps.every((s) => s.status === "done" || s.id === "custody" || s.id === "report");
    const record = recovered
      ? appendCustody(i.dir, { action: "close", site: i.site, by: by(ctx), runId: ctx.record.runId, summary: `recovered: ${f.targetSite} serves, verified, credentials rotated; ${i.site} stays isolated with its evidence` }).record
      : readCustody(i.dir)!;
    const chain = checkChain(record);
    f.custody = { path: join(i.dir, CUSTODY_FILE), entries: record.entries.length, chainIntact: chain.ok };
    const timeline = record.entries.map((e) => `${e.at} ${e.action}${e.site ? ` ${e.site}` : ""}`).join("; ");
    ctx.record.notes.push(`chain of custody ${f.custody.path} (${record.entries.length} entries, chain ${chain.ok ? "intact" : `BROKEN at entry ${chain.brokenAt}`}): ${timeline}`);
    return { detail: `${record.entries.length} entries, chain ${chain.ok ? "intact" : "BROKEN"}; ${f.custody.path}` };
  },
};
