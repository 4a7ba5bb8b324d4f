// Proofs taken with each backup: what proves the data itself, not a restore of it (amcheck of
// every btree index, no foreign-key orphans, the invariants' values). They cost time in
// proportion to the database, so they run ahead of any outage, on the warm standby when it
// streams (read-only checks work in recovery) or else on the primary, and are recorded with the
// manifest inside the database: they travel in the backup to wherever it is restored. A
// restore-path gate then shows them (with their age and the WAL position they cover) instead of
// running them again on the copy; what proves the restore itself still runs there.
import type { ClientBase } from "pg";
import type { Invariant } from "../config/common";
import type { CheckResult } from "./check-result";
import { amcheckIndexes, foreignKeyOrphans } from "./checks";
import { invariantsAtSource, recordManifest, type Manifest } from "./manifest";
import type { BackupProof, ProofCheck } from "./proof";
import type { DbTarget } from "../postgres/client";
import type { Sessions } from "./parallel";
import { appSchemas } from "./schema-signature";

export type { BackupProof, ProofCheck } from "./proof";

/** Where the coverage starts: replay position on a standby, the current WAL position on a primary. */
const COVERAGE_SQL = `select pg_is_in_recovery() as standby,
  (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as lsn,
  case when pg_is_in_recovery() then coalesce(pg_last_xact_replay_timestamp(), now()) else now() end as at`;

/**
 * Runs the proofs on `c` (a standby or the primary). Never throws: a check that cannot run is a
 * failed proof, and a failed proof is recorded, not a reason to skip the backup.
 */
export async function takeProofs(c: ClientBase, site: string, opts: { invariants?: Invariant[]; sessions?: Sessions; amcheck?: boolean } = {}): Promise<BackupProof> {
  const t = Date.now();
  const startedAt = new Date(t).toISOString();
  try {
    const where = await coverageOf(c);
    const schemas = await appSchemas(c);
    const results: CheckResult[] = [];
    if (opts.amcheck !== false) results.push(await amcheckIndexes(c, schemas, opts.sessions));
    results.push(await foreignKeyOrphans(c, schemas));
    // With the transaction each incremental one held before: a restore-path gate then checks
    // only what was written since (verify/checks.ts).
    const invariants = await invariantsAtSource(c, opts.invariants ?? [], { recordXid: true });
    const checks = results.map(asProofCheck);
    return {
      ok: checks.every((x) => x.ok),
      site,
      role: where.standby ? "standby" : "primary",
      startedAt,
      durationMs: Date.now() - t,
      coversLsn: where.lsn,
      coversTime: where.at,
      checks,
      invariants,
    };
  } catch (e) {
    return { ok: false, site, role: "primary", startedAt, durationMs: Date.now() - t, coversLsn: "0/0", coversTime: startedAt, checks: [], invariants: [], error: (e as Error).message.split("\n")[0] };
  }
}

/** A structural check's result as a proof records it. */
function asProofCheck(r: CheckResult): ProofCheck {
  return { kind: r.kind as ProofCheck["kind"], name: r.name, ok: r.ok, detail: r.detail, durationMs: r.durationMs };
}

/** The WAL position and time a site's data is at now: what checks run on it from here cover. */
export async function coverageOf(c: ClientBase): Promise<{ standby: boolean; lsn: string; at: string }> {
  const where = (await c.query(COVERAGE_SQL)).rows[0];
  return { standby: where.standby, lsn: where.lsn, at: new Date(where.at).toISOString() };
}

/**
 * What a restore-path gate proved about the data itself, as the proof of the first backup taken
 * of it (a failover's post-checks): the recorded proof it showed, carried as it is; or the
 * amcheck and orphan checks it ran on the copy, covering where the copy stood then. Undefined
 * when it proved neither whole (a check disabled, or one shown and the other run).
 */
export function proofFromGate(
  report: { checks: CheckResult[]; recordedProof?: BackupProof },
  site: string,
  gate: { startedAt: string; coverage: { lsn: string; at: string } },
): BackupProof | undefined {
  // The invariants are left to the manifest, which evaluates them on the new primary itself: a
  // carried proof's values describe older data, and the gate's were the copy's before it opened.
  if (report.recordedProof) return { ...report.recordedProof, invariants: [] };
  const ran = (["amcheck", "orphans"] as const).map((kind) => report.checks.find((c) => c.kind === kind));
  if (ran.some((c) => c === undefined)) return undefined;
  const checks = ran.map((c) => asProofCheck(c!));
  return {
    ok: checks.every((c) => c.ok),
    site,
    // The copy was still in recovery when the gate read it: the data the backup's WAL continues.
    role: "standby",
    startedAt: gate.startedAt,
    durationMs: checks.reduce((a, c) => a + c.durationMs, 0),
    coversLsn: gate.coverage.lsn,
    coversTime: gate.coverage.at,
    checks,
    invariants: [],
  };
}

/** One line for the backup's output: what was proven, where, and how long it took. */
export function describeProof(p: BackupProof): string {
  if (p.error) return `the proofs could not run on ${p.site}: ${p.error}`;
  const failed = p.checks.filter((c) => !c.ok);
  const what = p.checks.map((c) => `${c.kind} ${c.ok ? "passed" : "FAILED"} (${c.detail})`).join(", ");
  return `${failed.length ? "FAILED" : "passed"} on ${p.site} (${p.role}) covering up to ${p.coversLsn} (${p.coversTime}) in ${(p.durationMs / 1000).toFixed(1)}s: ${what}`;
}

/** Where the proofs run: a client to that site's database, and how to open more sessions there. */
export interface ProofSite {
  name: string;
  client: ClientBase;
  open?: () => Promise<ClientBase & { end(): Promise<void> }>;
}

/**
 * Before a backup: the proofs on `at` (the streaming standby, else the primary itself), then the
 * manifest with them on the primary, so that both are inside the backup. A failed proof is
 * recorded as failed and returned for the caller to warn about; the backup goes ahead (a backup
 * of damaged data is still the newest copy of everything else).
 */
export async function recordManifestWithProofs(primary: DbTarget, label: string, at: ProofSite, opts: { invariants?: Invariant[]; amcheck?: boolean; parallel?: number } = {}): Promise<{ manifest: Manifest; proofs: BackupProof }> {
  const proofs = await takeProofs(at.client, at.name, { invariants: opts.invariants, amcheck: opts.amcheck, sessions: { parallel: opts.parallel, open: at.open } });
  const manifest = await recordManifest(primary, label, opts.invariants, proofs);
  return { manifest, proofs };
}
