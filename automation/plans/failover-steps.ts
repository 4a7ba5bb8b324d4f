// The steps of a failover (runbook §3 hardware failure, §4 data center outage), in order.
import { formatDuration } from "../config/common";
import { DrError } from "../core/errors";
import { shortCalls, withClient } from "../postgres/client";
import type { Step, StepContext } from "./plan";
import { checkHealth } from "../postgres/health";
import { archiveThrough, describeArchiveWait } from "../postgres/archiver";
import { facts } from "./facts";
import { targetOf } from "./restore-steps";

/** Assess (runbook: "STOP — do not make changes until assessment is complete"). Read-only. */
export const assessStep: Step = {
  id: "assess",
  name: "assess: primary reachable? newest offsite backup and WAL, the RPO they imply",
  estimateSeconds: 5,
  async done(ctx) {
    return facts(ctx).assessment !== undefined;
  },
  async explain(ctx) {
    return (await assess(ctx)).detail;
  },
  async run(ctx) {
    return { detail: (await assess(ctx)).detail };
  },
};

async function assess(ctx: StepContext): Promise<{ detail: string }> {
  const f = facts(ctx);
  const probe = await ctx.engine.probe(f.sourceSite!);
  const cat = await ctx.engine.catalog(f.repo!);
  const newest = cat.sets.filter((s) => !s.error).pop();
  const outage = Date.parse(ctx.record.outageAt);
  const implied = cat.newestWalAt ? Math.max(0, (outage - cat.newestWalAt.getTime()) / 1000) : undefined;
  f.assessment = {
    primaryReachable: probe.reachable,
    primaryMode: probe.mode,
    newestSet: newest?.label,
    newestWalAt: cat.newestWalAt?.toISOString(),
    impliedRpoSeconds: implied,
  };
  // Pre-flight: the restore must be feasible (set, window, WAL continuity) before anything changes.
  const plan = await ctx.engine.planRestore({ site: f.targetSite!, repo: f.repo!, target: targetOf(ctx), overwrite: true });
  const rpo = implied === undefined ? "unknown" : formatDuration(implied);
  return {
    detail: `${f.sourceSite} ${probe.reachable ? `reachable (${probe.mode})` : "unreachable"}; repo${f.repo} newest set ${plan.set.label}, WAL to ${plan.wal.to}; implied RPO ${rpo} (objective ${formatDuration(ctx.record.measurements.rpo.objective)})`,
  };
}

export const fenceStep: Step = {
  id: "fence",
  name: "fence the old primary (stop it; it must refuse writes if restarted)",
  destructive: true,
  estimateSeconds: 5,
  async done(ctx) {
    return facts(ctx).fence !== undefined;
  },
  async explain(ctx) {
    const f = facts(ctx);
    return `${f.sourceSite}: ${f.assessment?.primaryReachable ? "reachable: stop it and leave it read-only" : "unreachable: fence what can be reached, record it"}`;
  },
  async run(ctx) {
    const f = facts(ctx);
    const r = await ctx.engine.fence(f.sourceSite!);
    f.fence = r;
    if (r.outcome === "unreachable") ctx.note(`the old primary ${f.sourceSite} could not be fenced (${r.detail}): fence it before it comes back`);
    return { detail: `${r.outcome}: ${r.detail}` };
  },
};

export const bringUpStep: Step = {
  id: "bring-up",
  name: "bring up the recovery site",
  estimateSeconds: 10,
  async explain(ctx) {
    return `${facts(ctx).targetSite} (${ctx.engine.name === "local" ? "prepare the lab site" : "pulumi up"})`;
  },
  async run(ctx) {
    const ep = await ctx.engine.bringUp(facts(ctx).targetSite!);
    return { detail: `${ep.site} at ${ep.address}:${ep.port}` };
  },
};

export const openStep: Step = {
  id: "open",
  name: "open the restored site for writes (promote: new timeline)",
  destructive: true,
  estimateSeconds: 3,
  async done(ctx) {
    const p = await ctx.engine.probe(facts(ctx).targetSite!);
    return p.mode === "primary";
  },
  async explain(ctx) {
    return `promote ${facts(ctx).targetSite} once verification passed`;
  },
  async run(ctx) {
    const f = facts(ctx);
    if (!f.verified && !ctx.record.forced) throw new DrError("GATE_FAILED", "refusing to open an unverified database", { hint: "the verify step must pass first (or --force)" });
    await ctx.engine.openForWrites(f.targetSite!);
    f.opened = true;
    return { detail: `${f.targetSite} takes writes` };
  },
};

export const swapDnsStep: Step = {
  id: "swap-dns",
  name: "swap DNS and wait until the service name answers with the new site",
  destructive: true,
  estimateSeconds: 5,
  async done(ctx) {
    return (await ctx.engine.activeSite()) === facts(ctx).targetSite;
  },
  async explain(ctx) {
    return `point the service name at ${facts(ctx).targetSite} (currently ${await ctx.engine.activeSite()})`;
  },
  async run(ctx) {
    const f = facts(ctx);
    if (!f.verified && !ctx.record.forced) throw new DrError("GATE_FAILED", "refusing to swap DNS to an unverified database", { hint: "the verify step must pass first (or --force)" });
    f.dns = await ctx.engine.swapDns(f.targetSite!);
    return { detail: `answers ${f.dns.address} after ${f.dns.waitedMs} ms` };
  },
};

/** RTO ends here: the first write through the service name, as the application makes it. */
export const firstWriteStep: Step = {
  id: "first-write",
  name: "first write through the service name (RTO ends)",
  estimateSeconds: 1,
  async done(ctx) {
    return facts(ctx).firstWriteAt !== undefined;
  },
  async run(ctx) {
    const f = facts(ctx);
    const active = await ctx.engine.activeSite();
    if (active !== f.targetSite) throw new DrError("DNS_FAILED", `the service name answers ${active}, not ${f.targetSite}`, { hint: "rerun; the swap step waits for the answer" });
    const ep = await ctx.engine.endpoint(active!);
    const at = await withClient(shortCalls(ep.app), async (c) => (await c.query("insert into fp_dr.heartbeat (at, writer) values (clock_timestamp(), 'fp-dr first write') returning at")).rows[0].at as Date);
    f.firstWriteAt = new Date().toISOString();
    return { detail: `committed at ${at.toISOString()} on ${active}` };
  },
};

/** The first segment of a new timeline reaches the repository within seconds; beyond this, archiving is broken. */
const FIRST_ARCHIVE_WAIT_MS = 30_000;

export const postChecksStep: Step = {
  id: "post-checks",
  name: "post-checks: health, new timeline, archiving and a first full backup",
  estimateSeconds: 30,
  async run(ctx) {
    const f = facts(ctx);
    const ep = await ctx.engine.endpoint(f.targetSite!);
    // Health reads archiving: in the first seconds of a new timeline nothing of it is archived
    // yet, so the first segment is pushed and waited for (bounded) before health is judged.
    const { timeline, archived } = await withClient(ep.admin, async (c) => ({
      timeline: parseInt((await c.query("select pg_walfile_name(pg_current_wal_lsn()) w")).rows[0].w.slice(0, 8), 16),
      archived: await archiveThrough(c, { timeoutMs: FIRST_ARCHIVE_WAIT_MS }),
    }));
    const health = await checkHealth({ site: f.targetSite!, connection: ep.admin, thresholds: ctx.config.alerts, expectRole: "primary" });
    // A full backup proves archiving works on the new timeline (it waits for its WAL).
    const backup = await ctx.engine.startBackup(f.targetSite!, "full", f.gateProof);
    f.firstBackup = backup.label;
    const bad = health.findings.filter((x) => x.severity === "critical").map((x) => x.message);
    if (bad.length) ctx.note(`health after failover: ${bad.join("; ")}`);
    const archiving = archived.archived ? `timeline ${timeline} archived through ${archived.segment}` : `timeline ${timeline}: ${describeArchiveWait(archived)}`;
    // Never a plain ✓ beside a critical finding: the step is marked with a warning.
    return { detail: `health ${health.worst}${bad.length ? ` (${bad.join("; ")})` : ""}; ${archiving}; first full backup ${backup.label ?? "started"}`, warning: health.worst === "critical" || !archived.archived };
  },
};
