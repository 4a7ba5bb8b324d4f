// Verification of a restored database: the gate before anything trusts it. Checks are data
// (name, what it proves, result, time taken), run against the restored copy and, where the
// source is reachable, compared with it at the same point:
//   - per-table row counts and content checksums equal to the source
//   - schema equal to the source (columns, types, constraints, indexes)
//   - amcheck on every btree index (structural corruption)
//   - no foreign-key orphans (the runbook's "orphaned records")
//   - the configured invariants (e.g. ledger sums equal account balances); one the source had
//     already broken (same data at the source, or recorded with the manifest at backup time) is
//     a warning, not a failure: the copy is faithful, and an older backup holds the same data
import type { ClientBase } from "pg";
import type { Invariant } from "../config/common";
import type { CheckResult } from "./check-result";
import { fingerprintSnapshot, type TableFingerprint } from "./fingerprint";
import { hasExtension, quoteIdent } from "../postgres/client";
import { compareWithManifest, invariantValue, MANIFEST_CHECK_NAME, newestManifest } from "./manifest";
import { appSchemas, schemaSignature } from "./schema-signature";
import { eachOnSessions, type Sessions } from "./parallel";
import type { BackupProof, InvariantAtSource, ProofCheck } from "./proof";
import { proofDecision, recordedDetail, sinceDecision, sinceDetail, type ProofPolicy, type SinceUse } from "./proof-decision";

export interface VerifyOptions {
  /** Schemas whose tables are compared (default: every non-system schema). */
  schemas?: string[];
  invariants?: Invariant[];
  amcheck?: boolean;
  /** Extra sessions for the per-index and per-table checks (amcheck, row checksums), spread over the cores. */
  sessions?: Sessions;
  /**
   * With the source gone (reference "manifest"): show the proofs recorded with the backup for
   * amcheck and the orphans instead of running them on the copy, within this policy.
   */
  proofs?: Omit<ProofPolicy, "now">;
  /** work_mem for this session and every extra one (verification.workMem). */
  workMem?: string;
}

/** The gate's memory per sort or hash on one of its sessions (a session setting: gone with it). */
export async function setGateWorkMem(c: ClientBase, workMem: string | undefined): Promise<void> {
  if (workMem) await c.query("select set_config('work_mem', $1, false)", [workMem]);
}

async function timed(name: string, kind: CheckResult["kind"], fn: () => Promise<Omit<CheckResult, "name" | "kind" | "durationMs">>): Promise<CheckResult> {
  const t = Date.now();
  try {
    const r = await fn();
    return { name, kind, ...r, durationMs: Date.now() - t };
  } catch (e) {
    return { name, kind, ok: false, detail: `check failed to run: ${(e as Error).message.split("\n")[0]}`, durationMs: Date.now() - t };
  }
}


/** Row counts and content checksums, table by table, against the live source. */
export async function compareContent(restored: ClientBase, source: ClientBase, schemas: string[], sessions?: Sessions): Promise<CheckResult> {
  return compareFingerprints("row counts and content checksums equal the source", restored, () => fingerprintSnapshot(source, schemas), sessions);
}

/** Row counts and checksums against fingerprints recorded at the restore target (drills). */
export async function compareWithRecorded(restored: ClientBase, recorded: Record<string, TableFingerprint[]>, sessions?: Sessions): Promise<CheckResult> {
  return compareFingerprints("row counts and content checksums equal the source at the restore point", restored, async () => recorded, sessions);
}

/** `readExpected` runs inside the timing (a source that fails is "failed to run", not a crash). */
async function compareFingerprints(name: string, restored: ClientBase, readExpected: () => Promise<Record<string, TableFingerprint[]>>, sessions?: Sessions): Promise<CheckResult> {
  return timed(name, "content", async () => {
    const recorded = await readExpected();
    const mismatches: { schema: string; table: string; expected?: TableFingerprint; restored?: TableFingerprint }[] = [];
    let tables = 0;
    let rows = 0;
    const restoredPrints = await fingerprintSnapshot(restored, Object.keys(recorded), { sessions });
    for (const [schema, expected] of Object.entries(recorded)) {
      const got = new Map(restoredPrints[schema].map((x) => [x.table, x]));
      for (const e of expected) {
        tables++;
        rows += e.rows;
        const r = got.get(e.table);
        if (!r || r.rows !== e.rows || r.checksum !== e.checksum) mismatches.push({ schema, table: e.table, expected: e, restored: r });
        got.delete(e.table);
      }
      for (const extra of got.values()) mismatches.push({ schema, table: extra.table, restored: extra });
    }
    return mismatches.length === 0
      ? { ok: true, detail: `${tables} tables, ${rows} rows identical` }
      : { ok: false, detail: `${mismatches.length} of ${tables} tables differ: ${mismatches.map((m) => `${m.schema}.${m.table}`).join(", ")}`, findings: mismatches };
  });
}

export async function compareSchema(restored: ClientBase, source: ClientBase | string[], schemas: string[]): Promise<CheckResult> {
  return timed("schema equals the source (columns, types, constraints, indexes)", "schema", async () => {
    const a = Array.isArray(source) ? source : await schemaSignature(source, schemas);
    const b = await schemaSignature(restored, schemas);
    const onlySource = a.filter((x) => !b.includes(x));
    const onlyRestored = b.filter((x) => !a.includes(x));
    return onlySource.length + onlyRestored.length === 0
      ? { ok: true, detail: `${a.length} columns, constraints and indexes identical` }
      : { ok: false, detail: `${onlySource.length} missing, ${onlyRestored.length} unexpected`, findings: [...onlySource.map((x) => `missing: ${x}`), ...onlyRestored.map((x) => `unexpected: ${x}`)] };
  });
}

/** amcheck's bt_index_check on every btree index of the user schemas (works on a standby). */
export async function amcheckIndexes(c: ClientBase, schemas: string[], sessions: Sessions = {}): Promise<CheckResult> {
  return timed("amcheck: every btree index is structurally sound", "amcheck", async () => {
    // Created only where missing: even a CREATE ... IF NOT EXISTS that skips fires the manifest's
    // DDL trigger, which would add a manifest row at every gate.
    if (!(await hasExtension(c, "amcheck"))) await c.query("create extension amcheck").catch(() => undefined);
    const idx = await c.query<{ oid: number; name: string }>(
      `select i.indexrelid::int as oid, format('%I.%I', n.nspname, ic.relname) as name
         from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_namespace n on n.oid = ic.relnamespace join pg_am am on am.oid = ic.relam
        where am.amname = 'btree' and n.nspname = any($1) and i.indisvalid and i.indisready order by 2`,
      [schemas],
    );
    const corrupt: { index: string; error: string }[] = [];
    // largest first would balance better, but each index is checked in its own query anyway
    const used = await eachOnSessions(c, idx.rows, sessions, async (s, i) => {
      try {
        await s.query("select bt_index_check($1::oid::regclass, true)", [i.oid]);
      } catch (e) {
        corrupt.push({ index: i.name, error: (e as Error).message });
      }
    });
    return corrupt.length === 0 ? { ok: true, detail: `${idx.rows.length} btree indexes checked (heap entries included) on ${used} session${used === 1 ? "" : "s"}` } : { ok: false, detail: `${corrupt.length} corrupt: ${corrupt.map((x) => x.index).join(", ")}`, findings: corrupt };
  });
}

/** For every foreign key: rows whose parent does not exist. */
export async function foreignKeyOrphans(c: ClientBase, schemas: string[]): Promise<CheckResult> {
  return timed("no orphaned rows behind any foreign key", "orphans", async () => {
    const fks = await c.query<{ name: string; child: string; parent: string; ccols: string[]; pcols: string[] }>(
      `select co.conname as name, format('%I.%I', cn.nspname, cc.relname) as child, format('%I.%I', pn.nspname, pc.relname) as parent,
              array(select attname::text from pg_attribute where attrelid = co.conrelid and attnum = any(co.conkey) order by array_position(co.conkey, attnum)) as ccols,
              array(select attname::text from pg_attribute where attrelid = co.confrelid and attnum = any(co.confkey) order by array_position(co.confkey, attnum)) as pcols
         from pg_constraint co
         join pg_class cc on cc.oid = co.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
         join pg_class pc on pc.oid = co.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
        where co.contype = 'f' and cn.nspname = any($1) order by 1`,
      [schemas],
    );
    const orphans: { constraint: string; child: string; rows: number }[] = [];
    for (const fk of fks.rows) {
      const join = fk.ccols.map((col, i) => `p.${quoteIdent(fk.pcols[i])} = c.${quoteIdent(col)}`).join(" and ");
      const notNull = fk.ccols.map((col) => `c.${quoteIdent(col)} is not null`).join(" and ");
      const r = await c.query<{ n: number }>(`select count(*)::int as n from ${fk.child} c where ${notNull} and not exists (select 1 from ${fk.parent} p where ${join})`);
      if (r.rows[0].n > 0) orphans.push({ constraint: fk.name, child: fk.child, rows: r.rows[0].n });
    }
    return orphans.length === 0 ? { ok: true, detail: `${fks.rows.length} foreign keys, no orphans` } : { ok: false, detail: `${orphans.reduce((s, o) => s + o.rows, 0)} orphaned rows behind ${orphans.length} foreign keys`, findings: orphans };
  });
}

export const SOURCE_VIOLATION = "violated at the source, not a restore defect";

/** Why a violated invariant is the source's own data; undefined when that is not known. */
export type SourceVerdict = (inv: Invariant) => Promise<string | undefined>;

/** For an invariant with an incremental form: whether the gate checks only what was written since the proofs. */
export type SinceChoice = (inv: Invariant) => SinceUse | undefined;

/** Each invariant, spread over the sessions when there are several (results in the given order). */
export async function invariantChecks(c: ClientBase, invariants: Invariant[], atSource?: SourceVerdict, sessions: Sessions = {}, since?: SinceChoice): Promise<CheckResult[]> {
  const out: CheckResult[] = new Array(invariants.length);
  await eachOnSessions(c, invariants.map((inv, i) => ({ inv, i })), sessions, async (s, { inv, i }) => {
    out[i] = await timed(`invariant: ${inv.name}`, "invariant", async () => {
      const u = since?.(inv);
      const got = await invariantValue(s, inv, u?.use ? u.fromXid : undefined);
      // Which form ran, and why not the incremental one when it could have.
      const form = u === undefined ? "" : u.use ? ` on the rows ${sinceDetail(u)}` : ` (whole check: ${u.why})`;
      if (got === String(inv.expect)) return { ok: true, detail: `holds (${got})${form}` };
      const detail = `expected ${String(inv.expect)}, got ${String(got)}${form}`;
      const why = await atSource?.(inv);
      return why ? { ok: true, warning: true, detail: `${detail}: ${SOURCE_VIOLATION} (${why})` } : { ok: false, detail };
    });
  });
  return out;
}

/**
 * An invariant evaluated on the source at the restore point, shown for a copy whose every row
 * equals the source's there (no time on the copy). One the source broke warns, as on the copy.
 */
function invariantAtPoint(inv: Invariant, there: InvariantAtSource, tookMs: number | undefined): CheckResult {
  const where = `at the source's restore point (read during the restore${tookMs === undefined ? "" : `, ${tookMs} ms there for all`}); the copy's rows equal the source's there`;
  if (there.holds) return { name: `invariant: ${inv.name}`, kind: "invariant", ok: true, detail: `holds (${there.got ?? "null"}) ${where}`, durationMs: 0 };
  return { name: `invariant: ${inv.name}`, kind: "invariant", ok: true, warning: true, detail: `expected ${String(inv.expect)}, got ${String(there.got)} ${where}: ${SOURCE_VIOLATION}`, durationMs: 0 };
}

export const PROOFS_READ_NAME = "read the proofs recorded with the backup";

/**
 * A structural check that the proof recorded at backup time may stand for: shown (no time on
 * the copy) when the policy allows, else run on the copy with the reason in its detail.
 */
async function provenOrRun(kind: ProofCheck["kind"], proof: BackupProof | undefined, policy: VerifyOptions["proofs"], run: () => Promise<CheckResult>, shown?: Set<ProofCheck["kind"]>): Promise<CheckResult> {
  if (!policy) return run();
  const u = proofDecision(proof, kind, { ...policy, now: Date.now() });
  if (u.use) {
    shown?.add(kind);
    return { name: u.check.name, kind, ok: true, detail: recordedDetail(u), durationMs: 0 };
  }
  const r = await run();
  return { ...r, detail: `run on the copy (${u.why}): ${r.detail}` };
}

/**
 * How the gate tells the source's own data from a defect of the copy, per reference: the live
 * source gives the same violation; the copy's content equals the source's at the restore point;
 * the manifest recorded the violation at backup time. Without a reference nothing is known.
 */
function sourceVerdict(ref: Reference, restored: ClientBase, contentEqual: boolean): SourceVerdict | undefined {
  if (ref.kind === "source") {
    return async (inv) => {
      const there = await invariantValue(ref.client, inv);
      return there === String(inv.expect) ? undefined : `the source gives ${String(there)}`;
    };
  }
  if (ref.kind === "recorded") return contentEqual ? async () => "the copy's content equals the source's at the restore point" : undefined;
  if (ref.kind === "manifest") {
    let manifest: ReturnType<typeof newestManifest> | undefined;
    return async (inv) => {
      const m = await (manifest ??= newestManifest(restored));
      const recorded = m?.invariants?.find((x) => x.name === inv.name);
      return recorded && !recorded.holds && recorded.error === undefined ? `recorded at the source with the manifest "${m!.label}" of ${m!.takenAt}: ${String(recorded.got)}` : undefined;
    };
  }
  return undefined;
}

/** Writes, reads back and removes a row: proves an opened database takes writes. */
export async function writeReadRoundTrip(c: ClientBase): Promise<CheckResult> {
  return timed("write/read round trip", "roundtrip", async () => {
    const token = `fp-dr-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await c.query("create schema if not exists fp_dr");
    await c.query("create table if not exists fp_dr.roundtrip (token text primary key, at timestamptz not null default clock_timestamp())");
    await c.query("insert into fp_dr.roundtrip (token) values ($1)", [token]);
    const r = await c.query("select token from fp_dr.roundtrip where token = $1", [token]);
    await c.query("delete from fp_dr.roundtrip where token = $1", [token]);
    return r.rowCount === 1 ? { ok: true, detail: "row written, read back and removed" } : { ok: false, detail: "the row written could not be read back" };
  });
}

export interface VerifyReport {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
  /** The invariants' wall time: they overlap on several sessions, so their durations add up to more. */
  invariantsWallMs?: number;
  /**
   * With the source gone: the recorded proof the gate showed for both amcheck and orphans, when
   * it stood on one (then nothing structural ran on the copy).
   */
  recordedProof?: BackupProof;
  /** The structural checks the gate showed from the recorded proof instead of running them on the copy. */
  shownFromProof: ProofCheck["kind"][];
  /** The invariants checked only over what was written since the proofs (their whole form held there). */
  checkedSince: string[];
}

/** What the restored copy is compared with: a live source, or what was recorded at the target. */
export type Reference =
  | { kind: "source"; client: ClientBase }
  | {
      kind: "recorded";
      schema: string[];
      fingerprints: Record<string, TableFingerprint[]>;
      /** The invariants evaluated on the source at the same snapshot, and how long that took there. */
      invariants?: InvariantAtSource[];
      invariantsMs?: number;
    }
  /** The source is gone: the manifest written into the database before the last backup. */
  | { kind: "manifest" }
  | { kind: "none" };

/** Runs every applicable check. Without a reference: only the structural checks and invariants. */
export async function verifyDatabase(restored: ClientBase, source: ClientBase | Reference | undefined, opts: VerifyOptions & { roundTrip?: boolean } = {}): Promise<VerifyReport> {
  const t = Date.now();
  const ref: Reference = source === undefined ? { kind: "none" } : "kind" in source ? source : { kind: "source", client: source };
  await setGateWorkMem(restored, opts.workMem);
  const schemas = opts.schemas ?? (await appSchemas(ref.kind === "source" ? ref.client : restored));
  const checks: CheckResult[] = [];
  if (ref.kind === "source") {
    checks.push(await compareSchema(restored, ref.client, schemas));
    checks.push(await compareContent(restored, ref.client, schemas, opts.sessions));
  } else if (ref.kind === "recorded") {
    checks.push(await compareSchema(restored, ref.schema, schemas));
    checks.push(await compareWithRecorded(restored, ref.fingerprints, opts.sessions));
  } else if (ref.kind === "manifest") {
    checks.push(await timed(MANIFEST_CHECK_NAME, "schema", () => compareWithManifest(restored, schemas)));
  }
  // The proofs travel in the backup: reading them is a sub-check of its own (it takes time too).
  // A live source is compared directly; with the source gone (manifest) or compared at a
  // recorded point (a drill, which audits the proofs after its RTO), the policy decides.
  const policy = ref.kind === "manifest" || ref.kind === "recorded" ? opts.proofs : undefined;
  let proof: BackupProof | undefined;
  if (policy) {
    checks.push(
      await timed(PROOFS_READ_NAME, "proof", async () => {
        proof = (await newestManifest(restored))?.proofs;
        if (!proof) return { ok: true, detail: "none recorded: amcheck and orphans run on the copy" };
        const verdict = proof.error ? `could not run (${proof.error})` : proof.ok ? "passed" : `FAILED (${proof.checks.filter((x) => !x.ok).map((x) => x.kind).join(", ")})`;
        return { ok: true, detail: `taken ${proof.startedAt} on ${proof.site} (${proof.role}): ${verdict}` };
      }),
    );
  }
  const shown = new Set<ProofCheck["kind"]>();
  if (opts.amcheck !== false) checks.push(await provenOrRun("amcheck", proof, policy, () => amcheckIndexes(restored, schemas, opts.sessions), shown));
  checks.push(await provenOrRun("orphans", proof, policy, () => foreignKeyOrphans(restored, schemas), shown));
  const contentEqual = checks.some((c) => c.kind === "content" && c.ok);
  // Rows equal to the source's at the point where the invariants were evaluated give the same
  // answers: those are shown from there; only the rest run on the copy.
  const atPoint = ref.kind === "recorded" && contentEqual ? ref.invariants ?? [] : [];
  const shownAtPoint = (inv: Invariant) => atPoint.find((x) => x.name === inv.name && x.error === undefined);
  const onCopy = (opts.invariants ?? []).filter((inv) => !shownAtPoint(inv));
  const invariantsStarted = Date.now();
  // What changed since the proofs, for an invariant whose whole form held there; decided under the
  // same policy as the structural proofs (the full gate runs every whole check).
  const decided = new Map(policy ? onCopy.filter((inv) => inv.since).map((inv) => [inv.name, sinceDecision(proof, inv.name, { ...policy, now: Date.now() })] as const) : []);
  const ran = await invariantChecks(restored, onCopy, sourceVerdict(ref, restored, contentEqual), opts.sessions, (inv) => decided.get(inv.name));
  const invariantsWallMs = Date.now() - invariantsStarted;
  for (const inv of opts.invariants ?? []) {
    const there = shownAtPoint(inv);
    checks.push(there ? invariantAtPoint(inv, there, ref.kind === "recorded" ? ref.invariantsMs : undefined) : ran.shift()!);
  }
  if (opts.roundTrip) checks.push(await writeReadRoundTrip(restored));
  const recordedProof = proof && shown.has("orphans") && (shown.has("amcheck") || opts.amcheck === false) ? proof : undefined;
  const checkedSince = [...decided].filter(([, u]) => u.use).map(([name]) => name);
  return { ok: checks.every((c) => c.ok), checks, durationMs: Date.now() - t, invariantsWallMs, recordedProof, shownFromProof: [...shown], checkedSince };
}
