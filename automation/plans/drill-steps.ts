// The monthly drill's own steps (runbook "Monthly Disaster Recovery Test"): a restore point on
// the primary with the data's fingerprints at exactly that point, a throwaway site, and its
// destruction whatever happened. The drill never touches the primary's data or DNS.
import { DrError } from "../core/errors";
import { formatMs } from "../core/output";
import { requireArchived } from "../postgres/archiver";
import { connect, shortCalls, withClient } from "../postgres/client";
import type { Step } from "./plan";
import { fingerprintSnapshot } from "../verify/fingerprint";
import { amcheckIndexes, compareSchema, compareWithRecorded, foreignKeyOrphans, invariantChecks, setGateWorkMem, writeReadRoundTrip } from "../verify/checks";
import type { CheckResult } from "../verify/check-result";
import { gateOptions, invariantsFor } from "../verify/invariants";
import { appSchemas, schemaSignature } from "../verify/schema-signature";
import { facts } from "./facts";
import { beginWithShareLock } from "./share-lock";
import { abandonReading, invariantsOnOneCore, readingFingerprints, rtoEnded, sourceFingerprints, untilRtoEnds, type SourceAtPoint } from "./source-fingerprints";
import { fullGateReason } from "./restore-steps";
import { awaitingArchive, stopAwaitingArchive } from "./restore-point-archived";
import type { InvariantAtSource } from "../verify/proof";

/**
 * Takes a restore point and the fingerprints of the data at exactly that point: a brief SHARE
 * lock on the user tables (milliseconds: writers wait, readers do not; never more than its
 * lock_timeout when a long transaction is in the way) makes the restore point
 * and an exported snapshot coincide; a second session imports the snapshot (which releases the
 * lock) and holds it while the primary carries on and the next steps restore the copy. The
 * fingerprints are read from it once the RTO has ended, for the audit (with --full-gate: at
 * once, with the invariants, for the gate; source-fingerprints.ts). The WAL is switched and
 * archived, so the point is offsite, also while the copy is restored (restore-point-archived.ts;
 * the restore waits for it before the copy starts).
 */
export const restorePointStep: Step = {
  id: "restore-point",
  name: "take a restore point on the primary and fingerprint the data at it",
  estimateSeconds: 10,
  async done(ctx) {
    return facts(ctx).restorePoint !== undefined;
  },
  async explain(ctx) {
    return `pg_create_restore_point on ${facts(ctx).sourceSite} (a lock of a few milliseconds on the user tables)`;
  },
  async run(ctx) {
    const f = facts(ctx);
    // The repository answers first (the engine probes its store, in seconds): a dead store would
    // otherwise surface minutes later as WAL that never archives, without its name.
    await ctx.engine.catalog(f.repo!);
    const ep = await ctx.engine.endpoint(f.sourceSite!);
    const name = `fp-dr-${ctx.record.runId}`;
    const forGate = fullGateReason(ctx) !== undefined;
    const point = await withClient(ep.admin, async (a) => {
      const schemas = await appSchemas(a);
      const tables = (await a.query<{ t: string }>(`select format('%I.%I', n.nspname, c.relname) t from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','p') and n.nspname = any($1)`, [schemas])).rows.map((r) => r.t);
      // Bounded by lock_timeout and retried a few times: a long transaction on production must
      // not make every writer queue behind this request (./share-lock.ts).
      await beginWithShareLock(a, tables);
      // The drill's outage: the instant the point is asked for (this host's clock, as the first
      // write's). What came before it (the store's probe, the lock) is the drill's preparation.
      const requestedAt = new Date();
      const r = await a.query("select pg_export_snapshot() s, pg_create_restore_point($1)::text lsn, clock_timestamp() at, (pg_last_committed_xact()).timestamp last_commit", [name]);
      const { s: snapshot, lsn, at, last_commit } = r.rows[0];
      // A second session imports the exported snapshot, which releases the lock (its first
      // statement), and holds it: this step ends once it is imported. With the full gate the
      // fingerprints are read from it at once, during the restore, for the gate; otherwise once
      // the RTO has ended, for the audit after it (./source-fingerprints.ts).
      let imported!: () => void;
      const importedNow = new Promise<void>((res) => (imported = res));
      const invariants = forGate ? invariantsFor(ctx.config) : [];
      const prints = withClient(ep.admin, async (b): Promise<SourceAtPoint> => {
        let atPoint: InvariantAtSource[] = [];
        let invariantsMs = 0;
        const fingerprints = await fingerprintSnapshot(b, schemas, {
          snapshot: String(snapshot),
          afterImport: () => a.query("commit").then(imported).then(() => (forGate ? undefined : untilRtoEnds(ctx.record.runId))),
          // Same snapshot: what holds of these rows holds of a copy whose rows equal them.
          atSnapshot: async (s) => {
            if (invariants.length === 0) return;
            const t = Date.now();
            atPoint = await invariantsOnOneCore(s, invariants);
            invariantsMs = Date.now() - t;
          },
        });
        return { prints: fingerprints, invariants: atPoint, invariantsMs };
      });
      readingFingerprints(ctx.record.runId, prints);
      await Promise.race([importedNow, prints]);
      // The point's WAL reaches the archive while the copy's files are laid down: the restore
      // awaits it before it starts the copy (restore-point-archived.ts), not this step.
      awaitingArchive(ctx.record.runId, (signal) => withClient(ep.admin, (w) => requireArchived(w, "the restore point's WAL", { through: String(lsn), signal })));
      const schema = await schemaSignature(a, schemas);
      return { name, lsn, at: new Date(at).toISOString(), lastCommitAt: last_commit ? new Date(last_commit).toISOString() : undefined, schema, requestedAt };
    });
    const { requestedAt, ...restorePoint } = point;
    f.restorePoint = restorePoint;
    // A drill measures from its restore point, the outage it simulates (RPO against it below):
    // RTO = the point asked for → the first write to the copy.
    ctx.record.outageAt = requestedAt.toISOString();
    // A drill's RPO: the source's newest commit at the restore point vs the restored copy's newest.
    f.rpoReferenceAt = point.lastCommitAt ?? point.at;
    return { detail: `${name} at ${point.lsn}; its WAL archived while the copy is restored; the data's fingerprints at it read from its snapshot ${forGate ? "while the copy is restored, for the gate" : "once the RTO has ended, for the audit"}` };
  },
};

export const createDrillSiteStep: Step = {
  id: "create-site",
  name: "create the throwaway drill site",
  estimateSeconds: 10,
  async explain(ctx) {
    return `drill-${facts(ctx).drillId} (${ctx.engine.name === "local" ? "a new cluster on a free loopback address" : "a drill-<timestamp> stack"})`;
  },
  async run(ctx) {
    const f = facts(ctx);
    const ep = await ctx.engine.createDrillSite(f.drillId!);
    f.targetSite = ep.site;
    return { detail: `${ep.site} at ${ep.address}:${ep.port}` };
  },
};

/**
 * Opens the drill copy and proves it takes writes; RTO of a drill ends here. The round trip is
 * this step's detail, not one more entry in the gate's checks: the report's "N/M checks" must
 * agree with the gate's "N checks passed".
 */
export const drillOpenStep: Step = {
  id: "open",
  name: "open the drill copy and write to it (RTO ends)",
  estimateSeconds: 3,
  async done(ctx) {
    return facts(ctx).firstWriteAt !== undefined;
  },
  async run(ctx) {
    const f = facts(ctx);
    if (!f.verified && !ctx.record.forced) throw new DrError("GATE_FAILED", "refusing to open an unverified drill copy", { hint: "the verify step must pass first" });
    await ctx.engine.openForWrites(f.targetSite!);
    const ep = await ctx.engine.endpoint(f.targetSite!);
    const rt = await withClient(shortCalls(ep.admin), (c) => writeReadRoundTrip(c));
    if (!rt.ok) throw new DrError("GATE_FAILED", `the opened drill copy failed the write/read round trip: ${rt.detail}`, { hint: "inspect the drill site before it is destroyed (rerun with a breakpoint)" });
    f.firstWriteAt = new Date().toISOString();
    // The source's fingerprints at the restore point may be read now, for the audit.
    rtoEnded(ctx.record.runId);
    return { detail: rt.detail };
  },
};

/**
 * The drill's audit, after its RTO: what only a drill can check, and what the gate took on trust.
 * The copy's schema and every row against the source's at the restore point (a failover by
 * restore has no source to compare with, so its gate does not, and the drill's RTO is the one it
 * would have). What the gate took from the proofs recorded with the backup (amcheck of every
 * btree index, the orphan check, the incremental invariants' whole forms), run on the copy itself
 * and held against them: a failover by restore trusts those proofs to open sooner, the monthly
 * drill is where they are checked, so a proof that lied fails the drill. What the gate already
 * ran on the copy (no proof, a failed or too old one, --full-gate) is not run twice.
 */
export const drillAuditStep: Step = {
  id: "audit",
  name: "audit the copy after the RTO: against the source at the restore point and the backup's proofs",
  estimateSeconds: 20,
  async done(ctx) {
    return facts(ctx).audited === true;
  },
  async explain() {
    return "the copy's schema and rows against the source's at the restore point (read from its snapshot once the RTO has ended), and amcheck, the orphan check and the whole form of incremental invariants wherever the gate stood on the backup's proofs instead";
  },
  async run(ctx) {
    const f = facts(ctx);
    const shown = f.proofShown ?? [];
    // Checked at the gate only over what was written since the proofs: here in their whole form.
    const sinceOnly = invariantsFor(ctx.config).filter((inv) => (f.checkedSince ?? []).includes(inv.name));
    // The source at the restore point, unless the gate compared with it (--full-gate). A run
    // resumed in another process lost that reading with the process that took the point.
    const point = f.restorePoint && !fullGateReason(ctx) ? f.restorePoint : undefined;
    const read = point ? await sourceFingerprints(ctx.record.runId) : undefined;
    const source = read?.prints;
    if (point && !source) ctx.note("the source's fingerprints at the restore point were read by the process that was stopped: the drill copy was checked against the backup's manifest only");
    if (shown.length === 0 && sinceOnly.length === 0 && !source) {
      f.audited = true;
      return { detail: "nothing to audit: the gate compared with the source and ran amcheck, the orphan check and every invariant whole on the copy" };
    }
    const ep = await ctx.engine.endpoint(f.targetSite!);
    const results = await withClient(ep.admin, async (c) => {
      const schemas = await appSchemas(c);
      const { sessions, workMem } = gateOptions(ctx.config, () => connect(ep.admin));
      await setGateWorkMem(c, workMem);
      const out: CheckResult[] = [];
      if (source) {
        out.push(await compareSchema(c, point!.schema, schemas));
        out.push(await compareWithRecorded(c, source.prints, sessions));
      }
      if (shown.includes("amcheck")) out.push(await amcheckIndexes(c, schemas, sessions));
      if (shown.includes("orphans")) out.push(await foreignKeyOrphans(c, schemas));
      out.push(...(await invariantChecks(c, sinceOnly, undefined, sessions)));
      return out;
    });
    const audited = results.map((r) => ({
      name: `${AUDIT_PREFIX}${r.name}`,
      ok: r.ok,
      detail: r.ok
        ? `${r.detail}; ${r.kind === "schema" || r.kind === "content" ? "the copy is the source at the restore point" : "agrees with the proof recorded with the backup"}`
        : `${r.detail}; ${auditContradicts[r.kind] ?? "the proof recorded with the backup said it passed"}`,
      durationMs: r.durationMs,
    }));
    // The source's reading, on one core of it from the moment the RTO ended: named, as it takes time.
    if (source) audited.unshift({ name: `${AUDIT_PREFIX}the source's fingerprints at the restore point, read since the RTO ended`, ok: true, detail: `ready ${formatMs(read!.waitedMs)} after the audit began`, durationMs: read!.waitedMs });
    // The report's verification lists the audit under the gate's checks (and fails with it).
    const v = (ctx.record.verification ??= { ok: true, checks: [] });
    v.checks.push(...audited);
    const failed = audited.filter((c) => !c.ok);
    if (failed.length > 0) {
      v.ok = false;
      const listed = failed.map((c) => `${c.name}: ${c.detail}`).join("; ");
      if (results.some((r) => !r.ok && (r.kind === "schema" || r.kind === "content"))) {
        throw new DrError("GATE_FAILED", `the drill copy differs from the source at the restore point: ${listed}`, {
          hint: "a restore would not bring back what the source held: check archiving (`dr health`) and the sets (`dr backup verify`); unlogged tables are in no backup",
        });
      }
      throw new DrError("GATE_FAILED", `the drill's audit contradicts the proofs recorded with the backup: ${listed}`, {
        hint: "until the cause is found, run restore-path failovers with --full-gate (they would have trusted these proofs); `dr check corruption` on the primary and `dr backup verify` look for it",
      });
    }
    f.audited = true;
    const equal = source ? ["the copy equals the source at the restore point"] : [];
    const proven = results.filter((r) => r.kind === "amcheck" || r.kind === "orphans").map((r) => `${r.kind} (${r.detail.split(";")[0]})`);
    const whole = sinceOnly.length ? [`${sinceOnly.length} invariant${sinceOnly.length === 1 ? "" : "s"} whole`] : [];
    const agree = [...proven, ...whole];
    return { detail: [...equal, ...(agree.length ? [`${agree.join(" and ")} agree with the proofs recorded with the backup`] : [])].join("; ") };
  },
};

/** What a failed audit check contradicts, where it is not a proof recorded with the backup. */
const auditContradicts: Partial<Record<CheckResult["kind"], string>> = {
  invariant: "the gate read only what was written since the backup's proofs, where it held",
  schema: "the copy's schema differs from the source's at the restore point: the backup or its WAL does not hold what the source did",
  content: "the copy's rows differ from the source's at the restore point: the backup or its WAL does not hold what the source did",
};

/** How the audit's checks are named in the report, beside the gate's. */
export const AUDIT_PREFIX = "audit after the RTO: ";

export const destroyDrillSiteStep: Step = {
  id: "destroy",
  name: "destroy the drill site (always, also after a failure)",
  always: true,
  estimateSeconds: 5,
  async run(ctx) {
    const f = facts(ctx);
    // A drill that ended before its audit gives the source's snapshot back unread, and one that
    // failed before its restore leaves no wait for the restore point's WAL behind.
    abandonReading(ctx.record.runId, "the drill ended before its audit");
    stopAwaitingArchive(ctx.record.runId);
    if (!f.drillId) return { detail: "nothing was created" };
    await ctx.engine.destroyDrillSite(f.drillId);
    return { detail: `drill-${f.drillId} removed` };
  },
};
