// Content fingerprints of a schema's tables: row count plus an order-independent checksum of
// every row, computed in SQL. Restore tests and drills compare source and restored databases
// with them, so they must be exact (any changed, added, removed or duplicated row changes the
// checksum) and cheap enough for a database of many GB (one sequential scan per table, split in
// block ranges over the sessions there are).
//
// A multiset hash: each row hashes to 128 bits in two 64-bit halves, and the table's checksum is
// md5 over (rows, Σ hi64, Σ lo64), the sums exact (numeric), so physical row order (which
// differs after a restore, vacuum or update) does not matter and duplicates are not cancelled
// out (as they would be by xor). The halves come from one of two row hashes:
//   record  hash_record_extended(row, 0) and (row, 1): every column's own extended hash
//           function on its stored value, no text made; about 7 times cheaper (ledger, 538 MB:
//           2.1 s against 14 s on this project's machines). Equal means equal as PostgreSQL's
//           equality sees it (1.0 and 1.00, -0 and 0 hash alike), which a copy of the same
//           files cannot tell apart anyway. Used for every table all of whose column types have
//           one (nearly all: numbers, text, dates and times, uuid, jsonb, arrays of these).
//   text    md5(row::text), halves as signed 64-bit integers: for a table with a column type
//           that has no extended hash (point, xml, json, ...). Row text depends on session
//           settings (time zone, date style), so they are pinned for the snapshot.
// The choice depends only on the table's column types, so source and copy always make the same
// one; the record checksum hashes "r:" before the sums, so the two can never compare equal.
import type { ClientBase } from "pg";
import { queryFailed, quoteIdent, quoteLiteral } from "../postgres/client";
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { eachOnSessions, type Sessions } from "./parallel";

export interface TableFingerprint {
  /** Table name (unqualified; all tables are in the schema asked for). */
  table: string;
  rows: number;
  /** 32 hex digits; equal checksums mean equal content (as multisets of rows). */
  checksum: string;
}

/**
 * Fingerprints every ordinary and partitioned table of `schema`, sorted by
 * table name, from one consistent snapshot. Works on a primary and on a hot standby. The
 * client must not be inside a transaction (this opens and ends its own).
 */
export async function tableFingerprints(client: ClientBase, schema: string): Promise<TableFingerprint[]> {
  return (await fingerprintSnapshot(client, [schema]))[schema];
}

/**
 * Fingerprints several schemas from one snapshot: this session's own, or an exported one
 * (pg_export_snapshot) so that they describe exactly another session's view of the data —
 * the drill takes its restore point in that session. With extra sessions, tables are cut into
 * block ranges (TID range scans) read in parallel: the checksum is a sum, so the parts add up
 * to exactly the single scan's result, and one big table no longer takes one core alone.
 */
export async function fingerprintSnapshot(
  client: ClientBase,
  schemas: string[],
  opts: {
    snapshot?: string;
    /** Called once the snapshot is imported (the exporter may then end). */
    afterImport?: () => Promise<unknown>;
    /** Extra sessions: block ranges are scanned in parallel, each session at the same point. */
    sessions?: Sessions;
    /** Runs on this session at the same snapshot once the tables are read, before it ends (a drill's invariants at its restore point). */
    atSnapshot?: (c: ClientBase) => Promise<unknown>;
  } = {},
): Promise<Record<string, TableFingerprint[]>> {
  try {
    await pinSnapshot(client, opts.snapshot);
    await opts.afterImport?.();
    const tables: TableRef[] = [];
    for (const schema of schemas) for (const table of await tablesOf(client, schema)) tables.push({ schema, table, rowHash: await rowHashOf(client, schema, table) });
    const key = (t: TableRef) => `${t.schema}.${t.table}`;
    // Extra sessions must see what this one sees: on a primary they import its snapshot; a copy
    // in recovery cannot export one, but while its replay is paused (at a restore target) it
    // changes no more, so every session sees the same data. A standby still replaying is read
    // on this session alone.
    const state = (await client.query<{ r: boolean; lsn: string | null; paused: boolean }>(
      "select pg_is_in_recovery() r, pg_last_wal_replay_lsn()::text lsn, case when pg_is_in_recovery() then pg_get_wal_replay_pause_state() = 'paused' else false end paused",
    )).rows[0];
    const parallel = opts.sessions?.open !== undefined && (!state.r || state.paused);
    const shared = parallel && !state.r ? String((await client.query("select pg_export_snapshot() s")).rows[0].s) : undefined;
    const ranges = parallel ? await blockRanges(client, tables, opts.sessions!) : tables.map((t) => ({ ...t, from: 0, to: undefined, blocks: 0 }));
    const sums = new Map<string, PartialSum>();
    await eachOnSessions(client, ranges, parallel ? opts.sessions! : {}, async (c, r) => {
      const part = await sumRange(c, r);
      // Read the table's running sum only now: ranges of one table finish on several sessions.
      sums.set(key(r), addSums(sums.get(key(r)), part));
    }, (c) => pinSnapshot(c, shared));
    if (state.r && parallel) {
      const after = (await client.query<{ lsn: string | null }>("select pg_last_wal_replay_lsn()::text lsn")).rows[0];
      if (after.lsn !== state.lsn) throw new Error(`replay moved from ${state.lsn} to ${after.lsn} while the paused copy was read: the fingerprints are not of one point`);
    }
    const result: Record<string, TableFingerprint[]> = Object.fromEntries(schemas.map((s) => [s, []]));
    for (const t of tables) result[t.schema].push(fingerprintOf(t, sums.get(key(t))));
    await opts.atSnapshot?.(client);
    await client.query("commit");
    return result;
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw queryFailed(`fingerprinting the tables of schema ${schemas.join(", ")}`, e);
  }
}

/** How a table's rows are hashed: see the head of this file. */
type RowHash = "record" | "text";

interface TableRef {
  schema: string;
  table: string;
  rowHash: RowHash;
}

/** One block range of a table: blocks [from, to), to the end when `to` is undefined. */
interface BlockRange extends TableRef {
  from: number;
  to: number | undefined;
  /** Blocks in the range (as sized now), for the order they are read in. */
  blocks: number;
}

/** What a scan adds up: rows and the two 64-bit halves of every row's hash, summed exactly. */
interface PartialSum {
  rows: bigint;
  hi: bigint;
  lo: bigint;
}

/**
 * Cuts the tables into about four ranges per session, each a run of whole blocks; tables
 * smaller than one range stay whole. The last range of a table is open-ended: a row visible
 * in the snapshot is in a block that existed when it was taken, but the size is read now.
 */
async function blockRanges(client: ClientBase, tables: TableRef[], sessions: Sessions): Promise<BlockRange[]> {
  // Every table's size in one round trip, not one query per table.
  const names = tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`);
  const r = await client.query<{ n: string }>(
    "select pg_relation_size(name::regclass) / current_setting('block_size')::int as n from unnest($1::text[]) with ordinality as t(name, i) order by i",
    [names],
  );
  const blocks = new Map(tables.map((t, i) => [`${t.schema}.${t.table}`, Number(r.rows[i].n)]));
  const total = [...blocks.values()].reduce((a, b) => a + b, 0);
  const per = Math.max(128, Math.ceil(total / (4 * Math.max(1, sessions.parallel ?? availableParallelism()))));
  const out: BlockRange[] = [];
  for (const t of tables) {
    const n = blocks.get(`${t.schema}.${t.table}`)!;
    for (let from = 0; ; from += per) {
      const last = from + per >= n;
      out.push({ ...t, from, to: last ? undefined : from + per, blocks: Math.max(0, Math.min(per, n - from)) });
      if (last) break;
    }
  }
  // Largest first, so that no session is left alone with a big range at the end.
  return out.sort((a, b) => b.blocks - a.blocks);
}

async function sumRange(client: ClientBase, r: BlockRange): Promise<PartialSum> {
  const where = r.from === 0 && r.to === undefined ? "" : ` where ctid >= '(${r.from},0)'::tid${r.to === undefined ? "" : ` and ctid < '(${r.to},0)'::tid`}`;
  const from = `${quoteIdent(r.schema)}.${quoteIdent(r.table)} t${where}`;
  const q = await client.query<{ rows: string; hi: string; lo: string }>(
    r.rowHash === "record"
      ? `select count(*)::text as rows, coalesce(sum(hash_record_extended(t, 0)), 0)::text as hi, coalesce(sum(hash_record_extended(t, 1)), 0)::text as lo from ${from}`
      : `select count(*)::text as rows,
            coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text as hi,
            coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text as lo
     from (select md5(t::text) as h from ${from}) x`,
  );
  return { rows: BigInt(q.rows[0].rows), hi: BigInt(q.rows[0].hi), lo: BigInt(q.rows[0].lo) };
}

/**
 * "record" when every column type of the table has an extended hash function. PostgreSQL looks
 * each one up before it looks at the value, so hashing a row of nulls asks exactly that (arrays
 * and composites included: the type cache checks their elements and fields), in a savepoint
 * because the answer "no" is an error.
 */
async function rowHashOf(client: ClientBase, schema: string, table: string): Promise<RowHash> {
  const rel = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  await client.query("savepoint fp_dr_row_hash");
  try {
    await client.query(`select hash_record_extended(row((null::${rel}).*)::${rel}, 0)`);
    await client.query("release savepoint fp_dr_row_hash");
    return "record";
  } catch (e) {
    // rollback to keeps the savepoint open: release it too, or the snapshot cannot be exported
    await client.query("rollback to savepoint fp_dr_row_hash; release savepoint fp_dr_row_hash");
    if (/could not identify an extended hash function/.test((e as Error).message)) return "text";
    throw e;
  }
}

function addSums(a: PartialSum | undefined, b: PartialSum): PartialSum {
  return a ? { rows: a.rows + b.rows, hi: a.hi + b.hi, lo: a.lo + b.lo } : b;
}

/** md5 over "rows:Σhi:Σlo" ("r:" first for record hashes); text hashes as the single-scan SQL did. */
function fingerprintOf(t: TableRef, s: PartialSum | undefined): TableFingerprint {
  const sum = s ?? { rows: 0n, hi: 0n, lo: 0n };
  const text = `${t.rowHash === "record" ? "r:" : ""}${sum.rows}:${sum.hi}:${sum.lo}`;
  return { table: t.table, rows: Number(sum.rows), checksum: createHash("md5").update(text).digest("hex") };
}

/** Opens a read-only snapshot (imported if given) with the row-text settings pinned. */
async function pinSnapshot(client: ClientBase, snapshot?: string): Promise<void> {
  await client.query("begin isolation level repeatable read read only");
  if (snapshot) await client.query(`set transaction snapshot ${quoteLiteral(snapshot)}`);
  await client.query(`set local timezone = 'UTC'`);
  await client.query(`set local datestyle = 'ISO, YMD'`);
  await client.query(`set local intervalstyle = 'postgres'`);
  await client.query(`set local extra_float_digits = 1`);
  await client.query(`set local bytea_output = 'hex'`);
}

async function tablesOf(client: ClientBase, schema: string): Promise<string[]> {
  const tables = await client.query<{ relname: string }>(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition
     order by c.relname collate "C"`,
    [schema],
  );
  return tables.rows.map((t) => t.relname);
}
