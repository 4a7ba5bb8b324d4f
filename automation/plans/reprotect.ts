// Reprotect: after a failover, the old primary (fenced) becomes a standby of the new primary, so
// the new primary is protected again and a switchover can fail back. pg_rewind where it can,
// else a delta restore --type=standby from the new primary's own repository
// (engines/local/reprotect.ts). The fence goes only once the site is a standby of the new
// primary. On an engine with standbyRoles (pulumi) the old primary's stack gets a standby restore
// request from the new primary's repository, which stops it on its host, rebuilds it and lifts
// the fence in one targeted update (engines/pulumi/standby-roles.ts); the steps read the same.
import { DrError } from "../core/errors";
import type { Plan, Step, StepContext } from "./plan";
import { Lab } from "../engines/local/lab";
import { removeFence, rewindOrRestore, type Rebuilt } from "../engines/local/reprotect";
import { restartAsStandby } from "../engines/local/standby";
import { isFenced, recordTopology } from "../engines/local/topology";
import { readRecoveryState } from "../postgres/recovery-state";
import { facts, type Facts } from "./facts";
import { reportStep } from "./report-step";

interface ReprotectFacts extends Facts {
  precheck?: { upstreamLsn: string; timeline: number; siteWas: string };
  stoppedAt?: string;
  rebuilt?: Rebuilt;
  following?: { source?: string; timeline: number; replayLsn: string };
}

const rf = (ctx: StepContext) => facts(ctx) as ReprotectFacts;
const lab = (ctx: StepContext) => Lab.open(ctx.config);
const roles = (ctx: StepContext) => ctx.engine.standbyRoles;
const state = async (ctx: StepContext, site: string) => readRecoveryState((await ctx.engine.endpoint(site)).admin);
const fenced = async (ctx: StepContext, site: string) => (roles(ctx) ? ((await roles(ctx)!.fenced?.(site)) ?? false) : isFenced(lab(ctx), site));

/** Whether the site to reprotect answers as a writable primary (then it must not be rebuilt). */
async function writable(ctx: StepContext, site: string): Promise<boolean> {
  const p = await ctx.engine.probe(site);
  return p.reachable && p.mode === "primary";
}

async function precheck(ctx: StepContext): Promise<string> {
  const f = rf(ctx);
  const up = await state(ctx, f.sourceSite!).catch((e: Error) => {
    throw new DrError("STANDBY_UNUSABLE", `the new primary ${f.sourceSite} does not answer: ${e.message}`, { hint: "`dr status` shows the sites; on the lab start it with `dr lab up`" });
  });
  if (up.role !== "primary") throw new DrError("STANDBY_UNUSABLE", `${f.sourceSite} is not a primary (${up.role}): nothing to follow`, { hint: "`dr status` shows the roles" });
  const isFencedNow = await fenced(ctx, f.targetSite!);
  if (!isFencedNow && (await writable(ctx, f.targetSite!))) {
    throw new DrError("SITE_WRITABLE", `${f.targetSite} is not fenced and still accepts writes: rebuilding it would throw away what it holds`, {
      hint: `if ${f.sourceSite} really is the primary, fence ${f.targetSite} first (a failover does); else this is split brain: see \`dr status\``,
    });
  }
  const siteWas = isFencedNow ? "fenced" : roles(ctx) ? ((await ctx.engine.probe(f.targetSite!)).reachable ? "running" : "down") : lab(ctx).site(f.targetSite!).cluster.state();
  f.precheck = { upstreamLsn: up.replayLsn, timeline: up.timeline, siteWas };
  return `${f.sourceSite} primary on timeline ${up.timeline} at ${up.replayLsn}; ${f.targetSite} ${f.precheck.siteWas}`;
}

const precheckStep: Step = {
  id: "pre-check",
  name: "pre-check: the new primary answers; the old one is fenced or down, never writable",
  gate: true,
  estimateSeconds: 1,
  async done(ctx) {
    return rf(ctx).precheck !== undefined;
  },
  explain: precheck,
  async run(ctx) {
    return { detail: await precheck(ctx) };
  },
};

const stopStep: Step = {
  id: "stop",
  name: "stop the old primary (a fenced site restarted by hand runs read-only)",
  destructive: true,
  estimateSeconds: 1,
  async done(ctx) {
    if (rf(ctx).stoppedAt === undefined) return false;
    return rf(ctx).rebuilt !== undefined || roles(ctx) !== undefined || lab(ctx).site(rf(ctx).targetSite!).cluster.state() !== "running";
  },
  async run(ctx) {
    const f = rf(ctx);
    if (roles(ctx)) {
      // A fenced host may be cut off from everything but its stack: the restore unit the next
      // step requests stops PostgreSQL on the host before it lays down a single file.
      f.stoppedAt = new Date().toISOString();
      return { detail: `${f.targetSite} is stopped on its host by the standby restore request (next step), before any file is replaced` };
    }
    const c = lab(ctx).site(f.targetSite!).cluster;
    const was = c.state();
    if (was === "running") await c.stop("fast");
    f.stoppedAt = new Date().toISOString();
    return { detail: `${f.targetSite} ${was === "running" ? "stopped" : `was ${was}`}` };
  },
};

const rebuildStep: Step = {
  id: "rebuild",
  name: "rebuild it from the new primary: pg_rewind, else a delta restore --type=standby from the new primary's repository",
  destructive: true,
  estimateSeconds: 10,
  async done(ctx) {
    return rf(ctx).rebuilt !== undefined;
  },
  async run(ctx) {
    const f = rf(ctx);
    if (roles(ctx)) {
      const r = await roles(ctx)!.reprotect(f.targetSite!, f.sourceSite!);
      f.rebuilt = { method: "delta-restore", detail: `${r.detail} (request ${r.requestId})` };
      return { detail: f.rebuilt.detail };
    }
    f.rebuilt = await rewindOrRestore(lab(ctx), f.targetSite!, f.sourceSite!);
    if (f.rebuilt.rewindFailure) ctx.note(`pg_rewind could not run (${f.rebuilt.rewindFailure}): rebuilt by delta restore`);
    return { detail: f.rebuilt.detail };
  },
};

const followStep: Step = {
  id: "follow",
  name: "start it as a standby of the new primary; only then remove the fence",
  estimateSeconds: 5,
  async done(ctx) {
    return rf(ctx).following !== undefined && !(await fenced(ctx, rf(ctx).targetSite!));
  },
  async run(ctx) {
    const f = rf(ctx);
    if (roles(ctx)) {
      // The stack's update lifted the fence with the standby request; the site must show it.
      const s = await state(ctx, f.targetSite!);
      if (s.role !== "standby") throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} answers as ${s.role}, not a standby`, { hint: "see its PostgreSQL log on the host; rerun `dr reprotect`" });
      if (await fenced(ctx, f.targetSite!)) throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} is a standby but its stack still records a fence`, { hint: "rerun `dr reprotect`; the update lifts it" });
      f.following = { source: s.source, timeline: s.timeline, replayLsn: s.replayLsn };
      return { detail: `${f.targetSite} is a standby of ${f.sourceSite} via ${s.source}, timeline ${s.timeline}; fence lifted by the stack's update` };
    }
    const l = lab(ctx);
    const s = await restartAsStandby(l, f.targetSite!, f.sourceSite!);
    if (s.role !== "standby") throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} came up as ${s.role}, not a standby: the fence stays`, { hint: "see its log; rerun `dr reprotect`" });
    removeFence(l, f.targetSite!);
    recordTopology(l, { primary: f.sourceSite!, standby: f.targetSite! });
    f.following = { source: s.source, timeline: s.timeline, replayLsn: s.replayLsn };
    return { detail: `${f.targetSite} is a standby of ${f.sourceSite} via ${s.source}, timeline ${s.timeline}; fence removed` };
  },
};

export const reprotectPlan: Plan = {
  scenario: "reprotect",
  title: "reprotect: rebuild the old primary as a standby of the new one (pg_rewind, else delta restore)",
  runbook: "after a failover (not in the runbook: it left the new primary unprotected)",
  steps: [precheckStep, stopStep, rebuildStep, followStep, reportStep],
};
