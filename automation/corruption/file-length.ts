// Relation files shorter than the server believes: a copy (a leftover restore, a careless
// rsync) rewrote them under the running server. Every page that is still there reads clean, so
// amcheck and checksums see nothing; the damage shows when the server next extends the file and
// finds its own cached page where the file ended ("unexpected data beyond EOF"), or when the
// lost pages are needed. Two witnesses, each compared with the file's length now:
//   shared buffers (pg_buffercache) — a cached block at or past the end of its file;
//   the catalog — pg_class.relpages, the length VACUUM/ANALYZE last counted (files never
//     shrink except through VACUUM truncation, which updates it, or TRUNCATE, which makes a
//     new file).
// pg_buffercache is used where installed; on a primary without it, it is created in a
// schema of its own inside a transaction that is rolled back, so the check leaves no object
// behind (the gate compares schemas). A read-only standby without it: said, as a limit of what was seen.
import type { ClientBase } from "pg";

export interface ShortFile {
  oid: number;
  fork: "main" | "fsm" | "vm" | "init";
  /** Blocks the file holds now. */
  blocks: number;
  /** Blocks the witness says exist (highest cached block + 1, or relpages). */
  expected: number;
  witness: "shared buffers" | "catalog";
}

export interface FileLengthResult {
  short: ShortFile[];
  /** What could not be compared, and why. */
  notSeen?: string;
}

const FORKS = ["main", "fsm", "vm", "init"] as const;
/** A block cached at the end of a file being extended right now is there for a moment: look twice. */
const SETTLE_MS = 500;

const RELATIONS = `select c.oid, c.relpages, c.relpersistence, pg_relation_filenode(c.oid) filenode,
        case when c.reltablespace = 0 then (select dattablespace from pg_database where datname = current_database()) else c.reltablespace end tablespace
   from pg_class c where c.relkind in ('r','t','m','i','S') and c.relpersistence <> 't'`;

const BEYOND_END = (schema: string) => `with b as (
    select relfilenode, reltablespace, relforknumber, max(relblocknumber)::bigint max_block
      from ${schema}.pg_buffercache
     where reldatabase = (select oid from pg_database where datname = current_database())
     group by 1, 2, 3
  ), rel as (${RELATIONS}), sized as (
    select rel.oid::int oid, b.relforknumber::int fork, b.max_block,
           pg_relation_size(rel.oid, (array['main','fsm','vm','init'])[b.relforknumber + 1]) / current_setting('block_size')::int blocks
      from b join rel on rel.filenode = b.relfilenode and rel.tablespace = b.reltablespace
  )
  select oid, fork, blocks::bigint, (max_block + 1)::bigint expected from sized where max_block >= blocks`;

const CATALOG_SHORT = `with rel as (${RELATIONS}), sized as (
    select oid::int oid, relpages, pg_relation_size(oid) / current_setting('block_size')::int blocks from rel
     where relpersistence = 'p' -- an unlogged relation is emptied by crash recovery, its relpages left as they were
  )
  select oid, 0 fork, blocks::bigint, relpages::bigint expected from sized where relpages > blocks`;

interface Row {
  oid: number;
  fork: number;
  blocks: string;
  expected: string;
}

function toShort(rows: Row[], witness: ShortFile["witness"]): ShortFile[] {
  return rows.map((r) => ({ oid: r.oid, fork: FORKS[r.fork], blocks: Number(r.blocks), expected: Number(r.expected), witness }));
}

/** Rows found both times (a file being extended at the first look is not short at the second). */
async function twice(c: ClientBase, sql: string): Promise<Row[]> {
  const first = (await c.query<Row>(sql)).rows;
  if (first.length === 0) return first;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const second = (await c.query<Row>(sql)).rows;
  return second.filter((r) => first.some((f) => f.oid === r.oid && f.fork === r.fork));
}

/** Shared buffers' witness first: it leads when findings on one relation are merged. */
export async function checkFileLengths(c: ClientBase, readOnly: boolean): Promise<FileLengthResult> {
  const catalog = toShort(await twice(c, CATALOG_SHORT), "catalog");
  const installed = (await c.query<{ schema: string }>("select quote_ident(n.nspname) as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_buffercache'")).rows[0];
  if (installed) return { short: [...toShort(await twice(c, BEYOND_END(installed.schema)), "shared buffers"), ...catalog] };
  const why = "cached pages were not compared with file lengths (relation files cut short under the running server are found only by the catalog's page counts)";
  if (readOnly) return { short: catalog, notSeen: `${why}: pg_buffercache is not installed and this server is read-only; install it on the primary` };
  await c.query("begin");
  try {
    await c.query("create schema fp_dr_buffercache_check");
    await c.query("create extension pg_buffercache schema fp_dr_buffercache_check");
    return { short: [...toShort(await twice(c, BEYOND_END("fp_dr_buffercache_check")), "shared buffers"), ...catalog] };
  } catch (e) {
    return { short: catalog, notSeen: `${why}: ${(e as Error).message}` };
  } finally {
    await c.query("rollback");
  }
}

export function describeShort(s: ShortFile): string {
  const fork = s.fork === "main" ? "its file" : `its ${s.fork} fork`;
  return s.witness === "shared buffers"
    ? `${fork} ends at block ${s.blocks} but shared buffers hold block ${s.expected - 1}: the file was cut short under the running server (its next extension fails with "unexpected data beyond EOF")`
    : `${fork} holds ${s.blocks} blocks but the catalog counted ${s.expected} (pg_class.relpages): the file was cut short`;
}
