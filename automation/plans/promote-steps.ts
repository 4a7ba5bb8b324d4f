// The steps of a failover by promotion of the warm standby, those the restore path does not
// share: assess the standby, catch up (replay everything still obtainable), the O(1) gate,
// promote. Fence, DNS swap, first write, post-checks and report are the failover's own steps.
import { formatDuration } from "../config/common";
import { DrError } from "../core/errors";
import type { Step, StepContext } from "./plan";
import { segmentNumber, segmentStartLsn } from "../backups/archive";
import { Lab } from "../engines/local/lab";
import { lastVerification, type VerificationRecord } from "../engines/local/standby";
import { withClient } from "../postgres/client";
import { caughtUp, lagBehind, promote, readRecoveryState, waitForState } from "../postgres/recovery-state";
import { appSchemas, schemaSignature } from "../verify/schema-signature";
import { newestManifest } from "../verify/manifest";
import { facts, type Facts } from "./facts";
import { newestCommitPresent } from "./restore-steps";

export interface PromoteFacts extends Facts {
  /** Which way this failover goes, and why (the restore path's reason when the standby was not usable). */
  path?: "promote" | "restore";
  pathReason?: string;
  standby?: { replayLsn: string; source?: string; timeline: number; lagSeconds?: number; lagBytes?: number };
  catchUp?: { replayLsn: string; newestArchived?: string; waitedMs: number };
  standbyVerification?: VerificationRecord & { ageSeconds: number };
  promotedAt?: string;
}

export function promoteFacts(ctx: StepContext): PromoteFacts {
  return facts(ctx) as PromoteFacts;
}

async function standbyEndpoint(ctx: StepContext) {
  return (await ctx.engine.endpoint(promoteFacts(ctx).targetSite!)).admin;
}

/** The newest segment in the offsite repository, as a stream position (with its timeline). */
async function newestArchived(ctx: StepContext): Promise<{ name: string; timeline: number; number: number } | undefined> {
  const cat = await ctx.engine.catalog(promoteFacts(ctx).repo ?? 2);
  if (!cat.walMax) return undefined;
  const name = cat.walMax.slice(0, 24);
  return { name, ...segmentNumber(name) };
}

/** Never act on the intended target as if it were the source: the plan's first safety rule. */
function checkPair(f: PromoteFacts): void {
  if (!f.sourceSite || !f.targetSite || f.sourceSite === f.targetSite) {
    throw new DrError("STANDBY_UNUSABLE", `source ${f.sourceSite} and target ${f.targetSite} must be two different sites`, { hint: "the recorded topology names them; check lab.json / config sites" });
  }
}

export const assessStandbyStep: Step = {
  id: "assess",
  name: "assess: old primary reachable? the standby's role, timeline, WAL source and lag",
  estimateSeconds: 2,
  async done(ctx) {
    return promoteFacts(ctx).standby !== undefined;
  },
  async explain(ctx) {
    return (await assessStandby(ctx)).detail;
  },
  async run(ctx) {
    return { detail: (await assessStandby(ctx)).detail };
  },
};

async function assessStandby(ctx: StepContext): Promise<{ detail: string }> {
  const f = promoteFacts(ctx);
  checkPair(f);
  const probe = await ctx.engine.probe(f.sourceSite!);
  const s = await readRecoveryState(await standbyEndpoint(ctx));
  if (s.role !== "standby") throw new DrError("STANDBY_UNUSABLE", `${f.targetSite} is not a standby any more (it is a ${s.role})`, { hint: "`dr failover --from-backup` restores instead" });
  let lag: { bytes?: number; seconds?: number } = {};
  if (probe.reachable && probe.mode === "primary") {
    const primary = await readRecoveryState((await ctx.engine.endpoint(f.sourceSite!)).admin);
    lag = lagBehind(s, primary);
  }
  f.standby = { replayLsn: s.replayLsn, source: s.source, timeline: s.timeline, lagSeconds: lag.seconds, lagBytes: lag.bytes };
  f.assessment = { primaryReachable: probe.reachable, primaryMode: probe.mode };
  return {
    detail: `path: promote ${f.targetSite} (${f.pathReason ?? "a usable standby"}); ${f.sourceSite} ${probe.reachable ? `reachable (${probe.mode})` : "unreachable"}; standby on timeline ${s.timeline} via ${s.source}, replayed to ${s.replayLsn}${lag.seconds !== undefined ? `, ${lag.bytes} bytes / ${formatDuration(lag.seconds)} behind` : ""}`,
  };
}

/**
 * Replay everything still obtainable: what was streamed before the fence, then the offsite
 * archive, until the startup process waits for WAL that no source has and replay has reached
 * the newest archived segment. (Not "replay reached the received LSN": the stream may end in
 * the middle of a record, which is never replayed.) A replay paused by hand is resumed: the failover needs it all.
 */
export const catchUpStep: Step = {
  id: "catch-up",
  name: "catch up: replay what was streamed, then the offsite archive up to its newest WAL",
  estimateSeconds: 3,
  async done(ctx) {
    return promoteFacts(ctx).catchUp !== undefined;
  },
  async explain(ctx) {
    const newest = await newestArchived(ctx);
    return `replay on ${promoteFacts(ctx).targetSite} to at least ${newest?.name ?? "the end of the received WAL"} (bound ${formatDuration(ctx.config.standby.catchUpTimeout)})`;
  },
  async run(ctx) {
    const f = promoteFacts(ctx);
    const admin = await standbyEndpoint(ctx);
    const started = Date.now();
    await withClient(admin, async (c) => {
      await c.query("select pg_wal_replay_resume() where pg_is_in_recovery() and pg_get_wal_replay_pause_state() <> 'not paused'");
    });
    const newest = await newestArchived(ctx);
    const end = newest ? segmentStartLsn(newest.number) : undefined;
    const s = await waitForState(admin, `${f.targetSite} replaying everything obtainable`, (r) => !r.paused && caughtUp(r, end), ctx.config.standby.catchUpTimeout * 1000);
    f.catchUp = { replayLsn: s.replayLsn, newestArchived: newest?.name, waitedMs: Date.now() - started };
    return { detail: `replayed to ${s.replayLsn} (newest archived ${newest?.name ?? "none"}) in ${Date.now() - started} ms` };
  },
};

/**
 * The gate on this path costs the same at any size: the standby is still in recovery on the
 * expected timeline, data checksums are on, the schema and the table list equal the manifest
 * recorded with the last backup, the heartbeat can be read. The O(size) checks (amcheck,
 * counts, orphans) ran ahead of time with `dr verify --site`; their result and age are shown.
 */
export const standbyGateStep: Step = {
  id: "gate",
  name: "gate: checks that cost the same at any size; the age of the standby's last full verification",
  gate: true,
  estimateSeconds: 1,
  async done(ctx) {
    return promoteFacts(ctx).verified === true;
  },
  async explain() {
    return "in recovery on the expected timeline, data checksums on, schema and tables equal the manifest, heartbeat readable; last `dr verify` of the standby";
  },
  async run(ctx) {
    const f = promoteFacts(ctx);
    const ep = await ctx.engine.endpoint(f.targetSite!);
    const newest = await newestArchived(ctx);
    const checks: { name: string; ok: boolean; detail: string; durationMs: number }[] = [];
    const check = async (name: string, fn: () => Promise<{ ok: boolean; detail: string }>) => {
      const t0 = Date.now();
      const r = await fn().catch((e: Error) => ({ ok: false, detail: `failed to run: ${e.message.split("\n")[0]}` }));
      checks.push({ name, ...r, durationMs: Date.now() - t0 });
    };
    await withClient(ep.admin, async (c) => {
      await check("still a standby, on the newest timeline of the archive", async () => {
        const s = await readRecoveryState(c);
        const ok = s.role === "standby" && (newest === undefined || s.timeline >= newest.timeline);
        return { ok, detail: `${s.role} on timeline ${s.timeline}${newest ? `, archive on ${newest.timeline}` : ""}` };
      });
      await check("data checksums on", async () => {
        const v = (await c.query("show data_checksums")).rows[0].data_checksums;
        return { ok: v === "on", detail: v };
      });
      await check("schema and tables equal the manifest of the last backup", async () => {
        const m = await newestManifest(c);
        if (!m) return { ok: true, detail: "no manifest recorded: schema not compared" };
        const schema = await schemaSignature(c, await appSchemas(c));
        const missing = m.schema.filter((x) => !schema.includes(x));
        const extra = schema.filter((x) => !m.schema.includes(x));
        return { ok: missing.length + extra.length === 0, detail: `manifest "${m.label}": ${missing.length} missing, ${extra.length} unexpected, ${Object.keys(m.tables).length} tables` };
      });
      await check("heartbeat readable", async () => {
        const r = await c.query("select max(at) at from fp_dr.heartbeat");
        return { ok: true, detail: `newest ${r.rows[0].at ? new Date(r.rows[0].at).toISOString() : "none"}` };
      });
    });
    const v = ctx.engine.name === "local" ? lastVerification(Lab.open(ctx.config), f.targetSite!) : undefined;
    if (v) f.standbyVerification = { ...v, ageSeconds: (Date.now() - Date.parse(v.at)) / 1000 };
    const verifiedAgo = v ? `last full verification ${formatDuration(f.standbyVerification!.ageSeconds)} ago: ${v.ok ? "passed" : `FAILED (${v.failed.join(", ")})`}` : "no full verification of the standby on record";
    if (!v) ctx.note(`${f.targetSite} was promoted without a full verification on record: run \`dr verify --site ${f.targetSite}\` on the standby on a schedule`);
    if (v && !v.ok) checks.push({ name: "last full verification of the standby", ok: false, detail: verifiedAgo, durationMs: 0 });
    ctx.record.verification = { ok: checks.every((c) => c.ok), checks };
    const failed = checks.filter((c) => !c.ok);
    if (failed.length) {
      throw new DrError("GATE_FAILED", `the standby failed the gate: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`, {
        hint: "it was not promoted and DNS was not swapped; `dr failover --from-backup` restores instead, or --force (recorded)",
      });
    }
    f.verified = true;
    return { detail: `${checks.length} checks passed in ${checks.reduce((n, c) => n + c.durationMs, 0)} ms; ${verifiedAgo}` };
  },
};

export const promoteStep: Step = {
  id: "promote",
  name: "promote the standby (it takes writes on a new timeline)",
  destructive: true,
  estimateSeconds: 1,
  async done(ctx) {
    return (await ctx.engine.probe(promoteFacts(ctx).targetSite!)).mode === "primary";
  },
  async explain(ctx) {
    return `pg_promote on ${promoteFacts(ctx).targetSite} once the gate passed`;
  },
  async run(ctx) {
    const f = promoteFacts(ctx);
    if (!f.verified && !ctx.record.forced) throw new DrError("GATE_FAILED", "refusing to promote a standby that did not pass the gate", { hint: "the gate step must pass first (or --force)" });
    // An engine that cannot reach the site with SQL alone promotes through its own request (pulumi).
    const roles = ctx.engine.standbyRoles;
    const detail = roles ? (await roles.promote(f.targetSite!)).detail : await promote(await standbyEndpoint(ctx)).then((s) => `${f.targetSite} is primary on timeline ${s.timeline} at ${s.replayLsn}`);
    f.promotedAt = new Date().toISOString();
    f.opened = true;
    f.restoredLastCommitAt = await newestCommitPresent(ctx, f.targetSite!, undefined);
    return { detail };
  },
};
