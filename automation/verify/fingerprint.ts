// Content fingerprints of a schema's tables: row count plus an order-independent checksum of
// every row's text, computed in SQL. Restore tests and drills compare source and restored
// databases with them, so they must be exact (any changed, added, removed or duplicated row
// changes the checksum) and cheap enough for a 1 GB database (one sequential scan per table).
//
// The checksum of a table is md5 over (rows, Σ hi64, Σ lo64) where hi64/lo64 are the two
// halves of md5(row::text) as signed 64-bit integers, summed exactly as numeric: a multiset
// hash, so physical row order (which differs after a restore, vacuum or update) does not matter
// and duplicates are not cancelled out (as they would be by xor). Row text depends on session
// settings (time zone, date style), so they are pinned for the duration of the snapshot.
import type { ClientBase } from "pg";
import { queryFailed, quoteIdent, quoteLiteral } from "../postgres/client";
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
 * client must not be inside a transaction (this opens and ends its own). About 8 s per GB.
 */
export async function tableFingerprints(client: ClientBase, schema: string): Promise<TableFingerprint[]> {
  return (await fingerprintSnapshot(client, [schema]))[schema];
}

/**
 * Fingerprints several schemas from one snapshot: this session's own, or an exported one
 * (pg_export_snapshot) so that they describe exactly another session's view of the data —
 * the drill takes its restore point in that session.
 */
export async function fingerprintSnapshot(
  client: ClientBase,
  schemas: string[],
  opts: {
    snapshot?: string;
    /** Called once the snapshot is imported (the exporter may then end). */
    afterImport?: () => Promise<unknown>;
    /** Extra sessions: tables are scanned in parallel, each session in this snapshot. */
    sessions?: Sessions;
  } = {},
): Promise<Record<string, TableFingerprint[]>> {
  try {
    await pinSnapshot(client, opts.snapshot);
    await opts.afterImport?.();
    const tables: { schema: string; table: string }[] = [];
    for (const schema of schemas) for (const table of await tablesOf(client, schema)) tables.push({ schema, table });
    const prints = new Map<string, TableFingerprint>();
    const key = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;
    // Extra sessions import this one's snapshot, so every table is read at the same point.
    // (a copy still in recovery cannot export one: it is read on this session alone)
    const exportable = opts.sessions?.open && tables.length > 1 && !(await client.query("select pg_is_in_recovery() r")).rows[0].r;
    const shared = exportable ? String((await client.query("select pg_export_snapshot() s")).rows[0].s) : undefined;
    await eachOnSessions(client, tables, shared ? opts.sessions! : {}, async (c, t) => void prints.set(key(t), await fingerprintTable(c, t.schema, t.table)), (c) => pinSnapshot(c, shared));
    const result: Record<string, TableFingerprint[]> = Object.fromEntries(schemas.map((s) => [s, []]));
    for (const t of tables) result[t.schema].push(prints.get(key(t))!);
    await client.query("commit");
    return result;
  } catch (e) {
    await client.query("rollback").catch(() => undefined);
    throw queryFailed(`fingerprinting the tables of schema ${schemas.join(", ")}`, e);
  }
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

async function fingerprintTable(client: ClientBase, schema: string, relname: string): Promise<TableFingerprint> {
    const r = await client.query<{ rows: string; checksum: string }>(
      `select count(*) as rows,
              md5(count(*)::text || ':' || coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text
                                 || ':' || coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text) as checksum
       from (select md5(t::text) as h from ${quoteIdent(schema)}.${quoteIdent(relname)} t) x`,
    );
    return { table: relname, rows: Number(r.rows[0].rows), checksum: r.rows[0].checksum };
}
