// Switchover: the planned role change with zero data loss (CloudNativePG's demotion and
// promotion tokens; Aurora's switchover). The primary is shut down cleanly, so that every WAL
// record reaches the streaming standby; its shutdown checkpoint LSN is the demotion token; the
// standby replays past exactly that point, then is promoted; DNS follows; the old primary comes
// back as a standby of the new one without a rebuild. On an engine with standbyRoles (pulumi)
// the host's shutdown, token, promotion and restart go through it; on the lab, through the lab.
// There, from the shutdown until the old primary follows, the switchover is kept in the
// environment's control document (its step and the token once read): every `pulumi up` but
// the run's own refuses meanwhile, and a resume from another machine reads the token back.
import { formatDuration } from "../config/common";
import { DrError } from "../core/errors";
import type { Plan, Step, StepContext } from "./plan";
import { Lab } from "../engines/local/lab";
import { restartAsStandby, shutdownToken } from "../engines/local/standby";
import { recordTopology } from "../engines/local/topology";
import { lagBehind, lsnDiff, promote, readRecoveryState, waitForState } from "../postgres/recovery-state";
import { facts, type Facts } from "./facts";
import { firstWriteStep, swapDnsStep } from "./failover-steps";
import { reportStep } from "./report-step";
import { newestCommitPresent } from "./restore-steps";
import type { SwitchoverRecord } from "../engines/standby-roles";

interface SwitchoverFacts extends Facts {
  precheck?: { lagBytes: number; lagSeconds: number; source?: string };
  shutdownAt?: string;
  token?: { lsn: string; timeline: number };
  tokenReplayed?: { replayLsn: string; waitedMs: number };
  demoted?: { source?: string; timeline: number; replayLsn: string };
}

const sf = (ctx: StepContext) => facts(ctx) as SwitchoverFacts;
const lab = (ctx: StepContext) => Lab.open(ctx.config);
const roles = (ctx: StepContext) => ctx.engine.standbyRoles;
const admin = async (ctx: StepContext, site: string) => (await ctx.engine.endpoint(site)).admin;
/**
 * Records the switchover in flight at `phase` (where the engine keeps it): the token once read
 * stays until a new shutdown; the start is the first record's.
 */
async function track(ctx: StepContext, phase: SwitchoverRecord["phase"], token?: SwitchoverRecord["token"]): Promise<void> {
  const r = roles(ctx);
  if (!r?.recordSwitchover) return;
  const f = sf(ctx);
  const cur = await r.recordedSwitchover?.();
  const same = cur?.runId === ctx.record.runId ? cur : undefined;
  await r.recordSwitchover({
    runId: ctx.record.runId,
    epoch: ctx.record.facts.leaseEpoch as number | undefined,
    from: f.sourceSite!,
    to: f.targetSite!,
    phase,
    token: phase === "shutdown" ? undefined : (token ?? same?.token),
    startedAt: same?.startedAt ?? new Date().toISOString(),
  });
}

/**
 * The old primary may follow the new one without a rebuild only while it is still stopped at
 * the demotion token (the new timeline forks after it), and, before the promotion, that it
 * did not run since (the standby caught up with it there). The token as recorded (a resume on
 * another machine reads it back from the control document), else the journal's.
 */
async function stillAtToken(ctx: StepContext, before: "promote" | "demote"): Promise<void> {
  const f = sf(ctx);
  const r = roles(ctx);
  const token = (r ? (await r.recordedSwitchover?.())?.token : undefined) ?? f.token;
  if (!token) return;
  const stopped = r ? await r.isStopped(f.sourceSite!) : lab(ctx).site(f.sourceSite!).cluster.state() !== "running";
  if (!stopped) {
    // Before the demotion, a running source is the demotion's own start that a killed run left
    // behind (it then reads as a standby). Before the promotion it is someone's restart: it may
    // have taken writes the standby never received, and a promotion now would split the history.
    if (before === "demote") return;
    throw new DrError("STANDBY_UNUSABLE", `${f.sourceSite} runs again since the switchover stopped it at the demotion token ${token.lsn}: it may have taken writes ${f.targetSite} never received`, {
      hint: `nothing was promoted; stop ${f.sourceSite} and compare its WAL with ${f.targetSite}'s, or start it as the primary again and run a new switchover`,
    });
  }
  const now = r ? await r.shutdownToken(f.sourceSite!) : await shutdownToken(lab(ctx), f.sourceSite!);
  if (now.lsn !== token.lsn || now.timeline !== token.timeline) {
    throw new DrError("STANDBY_UNUSABLE", `${f.sourceSite} is no longer stopped at the demotion token ${token.lsn} (its checkpoint is ${now.lsn} on timeline ${now.timeline}): it ran since the switchover stopped it`, {
      hint: before === "promote"
        ? `nothing was promoted: ${f.sourceSite} may hold writes ${f.targetSite} never received; start it as the primary again and run a new switchover`
        : `it cannot follow ${f.targetSite} without a rebuild: \`dr reprotect\` rebuilds it as a standby of the new primary`,
    });
  }
}

/** How long the standby may take to replay the token: it streamed everything before the shutdown. */
const TOKEN_TIMEOUT_MS = 60_000;

const precheckStep: Step = {
  id: "pre-check",
  name: "pre-check: the target is a streaming standby within the lag limit, the source the primary",
  estimateSeconds: 1,
  async done(ctx) {
    return sf(ctx).precheck !== undefined;
  },
  async explain(ctx) {
    return (await precheck(ctx)).detail;
  },
  async run(ctx) {
    return { detail: (await precheck(ctx)).detail };
  },
};

async function precheck(ctx: StepContext): Promise<{ detail: string }> {
  const f = sf(ctx);
  const source = await readRecoveryState(await admin(ctx, f.sourceSite!));
  const target = await readRecoveryState(await admin(ctx, f.targetSite!));
  if (source.role !== "primary") throw new DrError("STANDBY_UNUSABLE", `${f.sourceSite} is not a primary`, { hint: "`dr status` shows the roles" });
  if (target.role !== "standby" || target.source !== "stream") {
    throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} is not a streaming standby (${target.role}${target.source ? `, ${target.source}` : ""}): it could not reach the demotion token`, {
      hint: "a switchover needs the stream; `dr status` shows why it is missing",
    });
  }
  const lag = lagBehind(target, source);
  if (lag.seconds > ctx.config.standby.warnLag) {
    throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} is ${formatDuration(lag.seconds)} behind (limit ${formatDuration(ctx.config.standby.warnLag)}): the primary would be down while it catches up`, {
      hint: "wait until `dr status` is ok, then rerun",
    });
  }
  f.precheck = { lagBytes: lag.bytes, lagSeconds: lag.seconds, source: target.source };
  return { detail: `${f.sourceSite} primary at ${source.replayLsn}; ${f.targetSite} streaming, ${lag.bytes} bytes behind` };
}

const shutdownStep: Step = {
  id: "shutdown",
  name: "stop writes: shut the primary down cleanly (every WAL record reaches the standby)",
  destructive: true,
  estimateSeconds: 1,
  async done(ctx) {
    const f = sf(ctx);
    if (f.shutdownAt === undefined) return false;
    return roles(ctx) ? roles(ctx)!.isStopped(f.sourceSite!) : lab(ctx).site(f.sourceSite!).cluster.state() !== "running";
  },
  async run(ctx) {
    const f = sf(ctx);
    // Recorded before anything stops: from here an update of the stacks waits for this run.
    await track(ctx, "shutdown");
    // fast: sessions are ended, the shutdown checkpoint is written, and the walsenders send it
    // all to the connected standby before the server exits.
    if (roles(ctx)) await roles(ctx)!.stopCleanly(f.sourceSite!);
    else await lab(ctx).site(f.sourceSite!).cluster.stop("fast");
    f.shutdownAt = new Date().toISOString();
    return { detail: `${f.sourceSite} shut down at ${f.shutdownAt}` };
  },
};

const tokenStep: Step = {
  id: "token",
  name: "the demotion token: the shutdown checkpoint LSN (pg_controldata); the standby replays past it",
  gate: true,
  estimateSeconds: 1,
  async done(ctx) {
    return sf(ctx).tokenReplayed !== undefined;
  },
  async run(ctx) {
    const f = sf(ctx);
    f.token = roles(ctx) ? await roles(ctx)!.shutdownToken(f.sourceSite!) : await shutdownToken(lab(ctx), f.sourceSite!);
    await track(ctx, "token", f.token);
    const started = Date.now();
    // Replayed past the token: pg_last_wal_replay_lsn is the end of the last record replayed,
    // so it is beyond the shutdown checkpoint record only once that record was replayed.
    const s = await waitForState(await admin(ctx, f.targetSite!), `${f.targetSite} replaying the shutdown checkpoint ${f.token.lsn}`, (r) => lsnDiff(r.replayLsn, f.token!.lsn) > 0, TOKEN_TIMEOUT_MS, 50).catch((e: DrError) => {
      throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} cannot reach the demotion token ${f.token!.lsn}: ${e.message}`, {
        hint: `nothing was promoted; start ${f.sourceSite} again (\`dr lab up\`) and investigate the standby`,
      });
    });
    if (s.timeline !== f.token.timeline) throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} is on timeline ${s.timeline}, the token on ${f.token.timeline}`, { hint: "nothing was promoted; the standby diverged" });
    f.tokenReplayed = { replayLsn: s.replayLsn, waitedMs: Date.now() - started };
    f.verified = true;
    return { detail: `token ${f.token.lsn} (timeline ${f.token.timeline}); ${f.targetSite} replayed to ${s.replayLsn} in ${f.tokenReplayed.waitedMs} ms` };
  },
};

const promoteTargetStep: Step = {
  id: "promote",
  name: "promote the standby (it holds every commit: RPO 0)",
  destructive: true,
  estimateSeconds: 1,
  async done(ctx) {
    return (await ctx.engine.probe(sf(ctx).targetSite!)).mode === "primary";
  },
  async run(ctx) {
    const f = sf(ctx);
    if (!f.verified) throw new DrError("GATE_FAILED", "refusing to promote before the standby replayed the demotion token", { hint: "the token step must pass first" });
    // A resume may come long after the token was read: the old primary must still be where the
    // standby caught up with it, stopped at the token.
    await stillAtToken(ctx, "promote");
    await track(ctx, "promote");
    // The lab records the new pair; on AWS the DNS stack's activeSite (set by the next step) does.
    const detail = roles(ctx)
      ? (await roles(ctx)!.promote(f.targetSite!)).detail
      : await promote(await admin(ctx, f.targetSite!)).then((s) => {
          recordTopology(lab(ctx), { primary: f.targetSite!, standby: f.sourceSite! });
          return `${f.targetSite} is primary on timeline ${s.timeline}`;
        });
    f.opened = true;
    f.restoredLastCommitAt = await newestCommitPresent(ctx, f.targetSite!, undefined);
    f.rpoReferenceAt = f.shutdownAt;
    return { detail };
  },
};

const demoteStep: Step = {
  id: "demote",
  name: "restart the old primary as a standby of the new one (no rebuild)",
  estimateSeconds: 3,
  async done(ctx) {
    return sf(ctx).demoted !== undefined;
  },
  async run(ctx) {
    const f = sf(ctx);
    await stillAtToken(ctx, "demote");
    if (roles(ctx)) {
      await track(ctx, "demote");
      await roles(ctx)!.restartAsStandby(f.sourceSite!, f.targetSite!);
    }
    const s = roles(ctx) ? await readRecoveryState(await admin(ctx, f.sourceSite!)) : await restartAsStandby(lab(ctx), f.sourceSite!, f.targetSite!);
    // The roles are settled: updates of the stacks are free again. Before the step counts as
    // done, so a failed write is retried by a resume.
    await roles(ctx)?.recordSwitchover?.(null);
    f.demoted = { source: s.source, timeline: s.timeline, replayLsn: s.replayLsn };
    return { detail: `${f.sourceSite} is a standby of ${f.targetSite} via ${s.source}, timeline ${s.timeline}` };
  },
};

export const switchoverPlan: Plan = {
  scenario: "switchover",
  title: "switchover: planned role change with zero data loss (demotion token, promotion, no rebuild)",
  runbook: "planned maintenance (not in the runbook: it only knew restores)",
  steps: [precheckStep, shutdownStep, tokenStep, promoteTargetStep, swapDnsStep, firstWriteStep, demoteStep, reportStep],
};
