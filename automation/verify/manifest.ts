// The verification manifest recorded with every backup: the schema's signature and each
// table's row count, written into the database itself (fp_dr.backup_manifest) just before the
// backup starts, so it travels inside the backup and the WAL to wherever it is restored. When
// the source is gone (a datacenter failover), the restored copy is checked against the newest
// manifest it holds: the schema must be identical and every table present; row counts are
// reported beside it (they move legitimately with the WAL replayed after the backup).
// A schema change after the backup is legitimate too: an event trigger records a new manifest
// row (same counts, new signature) in the same transaction as every DDL command, so the newest
// manifest a restored copy holds always describes the schema it should have.
// The invariants in force are evaluated on the source with the manifest: a copy that breaks one
// the source already broke is the source's data (a warning), not a restore defect (a block).
import type { ClientBase } from "pg";
import type { Invariant } from "../config/common";
import { withClient, type DbTarget } from "../postgres/client";
import type { CheckResult } from "./check-result";
import type { BackupProof, InvariantAtSource } from "./proof";

export type { InvariantAtSource } from "./proof";
import { APP_SCHEMAS_PREDICATE, appSchemas, SCHEMA_SIGNATURE_SQL, schemaSignature } from "./schema-signature";

export interface Manifest {
  takenAt: string;
  label: string;
  schema: string[];
  tables: Record<string, number>;
  /** The invariants as the source had them when the manifest was taken (absent: not recorded). */
  invariants?: InvariantAtSource[];
  /** The structural proofs taken with this backup (absent: none recorded, e.g. a manifest of v3). */
  proofs?: BackupProof;
}

const APP_SCHEMAS = `array(select nspname::text from pg_namespace where ${APP_SCHEMAS_PREDICATE})`;

/**
 * Installed once per version, not before every backup: re-running the DDL would fire the
 * trigger on its own CREATE statements and record junk manifests. Bump it when the DDL changes.
 */
const DDL_VERSION = "fp-dr manifest v4";

const DDL = `create schema if not exists fp_dr;
  create table if not exists fp_dr.backup_manifest (
    id bigint generated always as identity primary key,
    taken_at timestamptz not null default clock_timestamp(),
    label text not null,
    schema_signature text[] not null,
    table_rows jsonb not null);
  alter table fp_dr.backup_manifest add column if not exists source_invariants jsonb;
  alter table fp_dr.backup_manifest add column if not exists proofs jsonb;
  create or replace function fp_dr.schema_signature(text[]) returns text[] language sql stable
    as $fn$ select coalesce(array_agg(line order by line), '{}') from (${SCHEMA_SIGNATURE_SQL}) x $fn$;
  -- security definer: the application's migrations (run as its own role) must never fail for
  -- lack of rights on fp_dr; and a failure here only warns, it never blocks the DDL.
  create or replace function fp_dr.manifest_on_ddl() returns event_trigger language plpgsql
    security definer set search_path = pg_catalog, pg_temp as $fn$
  begin
    -- The application's temporary tables change no schema a restore must have: skip them (the
    -- trigger runs inside the application's transaction). DROPs list no commands: recorded.
    if exists (select 1 from pg_event_trigger_ddl_commands())
       and not exists (select 1 from pg_event_trigger_ddl_commands() where coalesce(schema_name, '') not like 'pg_temp%') then
      return;
    end if;
    -- The proofs go along: they cover the data up to their WAL position, and this DDL is WAL
    -- after it like any other write (the gate says how far they reach).
    insert into fp_dr.backup_manifest (label, schema_signature, table_rows, source_invariants, proofs)
    select 'after ' || tg_tag, fp_dr.schema_signature(${APP_SCHEMAS}),
           coalesce(last.table_rows, '{}'), last.source_invariants, last.proofs
      from (select 1) one left join (select table_rows, source_invariants, proofs from fp_dr.backup_manifest order by id desc limit 1) last on true;
  exception when others then
    raise warning 'fp-dr: could not record the schema manifest: %', sqlerrm;
  end $fn$;
  comment on function fp_dr.manifest_on_ddl() is '${DDL_VERSION}';
  do $do$ begin
    if not exists (select 1 from pg_event_trigger where evtname = 'fp_dr_manifest_on_ddl') then
      create event trigger fp_dr_manifest_on_ddl on ddl_command_end execute function fp_dr.manifest_on_ddl();
    end if;
  end $do$`;

/** The tables of `schemas` (partitions under their parent), quoted and qualified, from the catalog. */
async function tablesOf(c: ClientBase, schemas: string[]): Promise<string[]> {
  const tables = await c.query<{ t: string }>(
    `select format('%I.%I', n.nspname, c.relname) t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r','p') and not c.relispartition and n.nspname = any($1) order by 1`,
    [schemas],
  );
  return tables.rows.map((r) => r.t);
}

async function exactCounts(c: ClientBase, schemas: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tablesOf(c, schemas)) out[t] = Number((await c.query(`select count(*) n from ${t}`)).rows[0].n);
  return out;
}

/** The first value of an invariant's query (its incremental form from `sinceXid`), as text (null when it returned no row). */
export async function invariantValue(c: ClientBase, inv: Invariant, sinceXid?: string): Promise<string | null> {
  const r = sinceXid === undefined || !inv.since ? await c.query({ text: inv.sql, rowMode: "array" }) : await sinceForm(c, inv.since.sql, sinceXid);
  const got = r.rows[0]?.[0];
  return got === undefined || got === null ? null : String(got);
}

/**
 * An incremental form: the transaction is a parameter, never spliced into the SQL. Without JIT:
 * such a query reads a few rows by index, but the planner, sizing it before it knows how few,
 * compiled it for 335 of its 510 ms on the lab (1 % of the accounts changed).
 */
async function sinceForm(c: ClientBase, sql: string, sinceXid: string) {
  await c.query("set jit = off");
  try {
    return await c.query({ text: sql, values: [sinceXid], rowMode: "array" });
  } finally {
    await c.query("reset jit");
  }
}

/**
 * Each invariant on the source. One that cannot run is recorded as such and never stops the
 * backup: the manifest is evidence, the backup is what matters.
 */
export async function invariantsAtSource(c: ClientBase, invariants: Invariant[], opts: { recordXid?: boolean } = {}): Promise<InvariantAtSource[]> {
  const out: InvariantAtSource[] = [];
  for (const inv of invariants) {
    try {
      if (opts.recordXid && inv.since) {
        out.push(await invariantWithItsXid(c, inv));
        continue;
      }
      const got = await invariantValue(c, inv);
      out.push({ name: inv.name, holds: got === String(inv.expect), got: got ?? undefined });
    } catch (e) {
      out.push({ name: inv.name, holds: false, error: (e as Error).message.split("\n")[0] });
    }
  }
  return out;
}

/**
 * The whole check in a snapshot of its own, with that snapshot's xmin: every transaction below
 * it had finished (its rows were seen), so what changed after is written from there on. One
 * short transaction per invariant: a long one on a hot standby would hold back replay.
 */
async function invariantWithItsXid(c: ClientBase, inv: Invariant): Promise<InvariantAtSource> {
  await c.query("begin isolation level repeatable read read only");
  try {
    const xmin = (await c.query<{ x: string }>("select pg_snapshot_xmin(pg_current_snapshot())::text as x")).rows[0].x;
    const got = await invariantValue(c, inv);
    const holds = got === String(inv.expect);
    return { name: inv.name, holds, got: got ?? undefined, ...(holds ? { heldBeforeXid: xmin } : {}) };
  } finally {
    await c.query("rollback").catch(() => undefined);
  }
}

/**
 * Writes a manifest on the primary (before a backup); `label` says why (e.g. "before incr
 * backup"). `target` is an open client (left open) or the settings to connect with.
 * `invariants`: those in force, evaluated here and recorded with the manifest.
 */
export async function recordManifest(target: DbTarget, label: string, invariants: Invariant[] = [], proofs?: BackupProof): Promise<Manifest> {
  return withClient(
    target,
    async (c) => {
      const installed = await c.query<{ v: string | null }>("select obj_description(to_regprocedure('fp_dr.manifest_on_ddl()'), 'pg_proc') v");
      if (installed.rows[0].v !== DDL_VERSION) await c.query(DDL);
      const schemas = await appSchemas(c);
      const schema = await schemaSignature(c, schemas);
      const tables = await exactCounts(c, schemas);
      // Evaluated with the proofs where they ran (the standby, or here); here when they could not
      // run or carry none (a proof a failover's gate handed on: verify/backup-proofs.ts proofFromGate).
      const atSource = proofs && !proofs.error && proofs.invariants.length > 0 ? proofs.invariants : await invariantsAtSource(c, invariants);
      const r = await c.query("insert into fp_dr.backup_manifest (label, schema_signature, table_rows, source_invariants, proofs) values ($1, $2, $3, $4, $5) returning taken_at", [
        label,
        schema,
        JSON.stringify(tables),
        JSON.stringify(atSource),
        proofs === undefined ? null : JSON.stringify(proofs),
      ]);
      return { takenAt: new Date(r.rows[0].taken_at).toISOString(), label, schema, tables, invariants: atSource, proofs };
    },
    "dr-manifest",
  );
}

/** The newest manifest a (restored) database holds, if any. */
export async function newestManifest(c: ClientBase): Promise<Manifest | undefined> {
  // Only "no table" means no manifest; any other error (a timeout, a lost connection) is an
  // error, never a pass of the gate.
  if ((await c.query("select to_regclass('fp_dr.backup_manifest') t")).rows[0].t === null) return undefined;
  // A manifest of version 2 has no source_invariants column: nothing recorded about them.
  // One of version 3 has no proofs column either: no proofs recorded.
  const r = await c.query("select taken_at, label, schema_signature, table_rows, to_jsonb(m) -> 'source_invariants' as invariants, to_jsonb(m) -> 'proofs' as proofs from fp_dr.backup_manifest m order by id desc limit 1");
  const row = r.rows[0];
  if (!row) return undefined;
  return { takenAt: new Date(row.taken_at).toISOString(), label: row.label, schema: row.schema_signature, tables: row.table_rows, invariants: row.invariants ?? undefined, proofs: row.proofs ?? undefined };
}

export const MANIFEST_CHECK_NAME = "schema and tables match the manifest recorded with the last backup";

/**
 * The manifest gate check (timed, and turned into "failed to run" on errors, by checks.ts).
 * `schemas`: the application's schemas in the restored copy, when the caller already has them.
 */
export async function compareWithManifest(restored: ClientBase, schemas?: string[]): Promise<Omit<CheckResult, "name" | "kind" | "durationMs">> {
  const m = await newestManifest(restored);
  // A backup taken by pgBackRest alone (by hand, or a host's timer whose `dr backup manifest`
  // failed) carries none: then the gate rests on the structural checks and invariants, and says
  // so rather than failing every failover.
  if (!m) return { ok: true, detail: "no manifest in the restored database (backup taken without `dr backup` or `dr backup manifest`): schema not compared, structural checks only" };
  // The same schemas recordManifest described: every user schema but fp-dr's own.
  schemas ??= await appSchemas(restored);
  const schema = await schemaSignature(restored, schemas);
  const missing = m.schema.filter((x) => !schema.includes(x));
  const extra = schema.filter((x) => !m.schema.includes(x));
  // Presence from the catalog, not by counting rows: the counts move legitimately with the WAL
  // replayed after the backup, so they proved nothing, and counting the ledger cost the gate
  // 1.5 s at 3.4 GiB. The rows themselves are the invariants' and the proofs' business.
  const present = new Set(await tablesOf(restored, schemas));
  const absent = Object.keys(m.tables).filter((k) => !present.has(k));
  const ok = missing.length + extra.length + absent.length === 0;
  return {
    ok,
    detail: ok
      ? `manifest "${m.label}" of ${m.takenAt}: schema identical, ${Object.keys(m.tables).length} tables present`
      : `manifest "${m.label}": ${missing.length} schema items missing, ${extra.length} unexpected, ${absent.length} tables absent`,
    findings: [...missing.map((x) => `missing: ${x}`), ...extra.map((x) => `unexpected: ${x}`), ...absent.map((x) => `absent table: ${x}`)],
  };
}
