// `dr analyze`: the runbook's `database_maintenance.py analyze` plus its "check for orphaned
// records": per table sizes, dead tuples, sequential vs index scans and cache hits; indexes
// never used; foreign keys without a supporting index; rows whose foreign key points nowhere
// (possible only when constraints were bypassed: triggers disabled, replication role, damage).
// Read-only. Usage counters are cumulative since `statsSince` (they restart after a restore).
import type { Severity } from "../config/common";
import { queryFailed, quoteIdent, withClient, type DbTarget } from "./client";

export interface TableAnalysis {
  schema: string;
  table: string;
  /** Planner's estimate (pg_class.reltuples; -1 when never analysed or vacuumed). */
  rowsEstimate: number;
  liveRows: number;
  deadRows: number;
  /** dead / (live + dead); null when the table has no rows. */
  deadRatio: number | null;
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
  toastBytes: number;
  seqScans: number;
  seqRowsRead: number;
  indexScans: number;
  /** index scans / all scans; null when never scanned. */
  indexScanRatio: number | null;
  /** Heap blocks found in shared buffers / all heap blocks read; null when never read. */
  cacheHitRatio: number | null;
  /** Rows whose foreign keys point nowhere, over all this table's foreign keys (null when not counted). */
  orphanRows: number | null;
  lastVacuum: string | null;
  lastAutovacuum: string | null;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
}

export interface IndexUsage {
  schema: string;
  table: string;
  index: string;
  bytes: number;
  scans: number;
  /** The index is the one behind a foreign key (its scans come from parent deletes/updates). */
  supportsForeignKey: boolean;
}

export interface ForeignKeyInfo {
  schema: string;
  table: string;
  constraint: string;
  columns: string[];
  referencedSchema: string;
  referencedTable: string;
  referencedColumns: string[];
  /** A valid, non-partial index on the referencing table starts with exactly these columns. */
  indexed: boolean;
}

export interface OrphanCount {
  schema: string;
  table: string;
  constraint: string;
  referencedTable: string;
  orphans: number;
}

export interface AnalyzeFinding {
  severity: Severity;
  check: "dead-tuples" | "cache-hit" | "sequential-scans" | "unused-index" | "unindexed-foreign-key" | "orphans";
  schema?: string;
  table?: string;
  message: string;
}

export interface AnalyzeReport {
  database: string;
  checkedAt: string;
  databaseBytes: number;
  /** When the statistics counters were last reset (null: since the cluster was created or restored). */
  statsSince: string | null;
  /** Database-wide share of blocks found in shared buffers. */
  cacheHitRatio: number | null;
  tables: TableAnalysis[];
  unusedIndexes: IndexUsage[];
  foreignKeys: ForeignKeyInfo[];
  unindexedForeignKeys: ForeignKeyInfo[];
  orphans: OrphanCount[];
  findings: AnalyzeFinding[];
}

export interface AnalyzeOptions {
  /** Schemas to look at; default every user schema. */
  schemas?: string[];
  /** Count orphaned rows (one anti-join per foreign key; default true). */
  orphans?: boolean;
  /** Clock, for tests. */
  now?: () => Date;
}

const num = (v: string | number | null) => (v === null ? 0 : Number(v));
const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10000) / 10000 : null);
const iso = (v: Date | null) => (v ? v.toISOString() : null);
const USER_SCHEMA = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;

/** Analyses the database `target` points at; never changes anything. */
export async function analyze(target: DbTarget, opts: AnalyzeOptions = {}): Promise<AnalyzeReport> {
  return withClient(
    target,
    async (client) => {
      try {
        const schemas = opts.schemas ?? null;
        const db = await client.query<{ database: string; bytes: string; hit: string | null; read: string | null; reset: Date | null }>(
          `select current_database() as database, pg_database_size(current_database()) as bytes, blks_hit as hit, blks_read as read, stats_reset as reset
           from pg_stat_database where datname = current_database()`,
        );

        const t = await client.query<{
          schema: string; table: string; reltuples: number; live: string; dead: string; total: string; heap: string; idx: string; toast: string;
          seq_scan: string; seq_tup_read: string; idx_scan: string | null; blks_hit: string | null; blks_read: string | null;
          last_vacuum: Date | null; last_autovacuum: Date | null; last_analyze: Date | null; last_autoanalyze: Date | null;
        }>(
          `select n.nspname as schema, c.relname as table, c.reltuples::float8 as reltuples,
              s.n_live_tup as live, s.n_dead_tup as dead,
              pg_total_relation_size(c.oid) as total, pg_relation_size(c.oid) as heap, pg_indexes_size(c.oid) as idx,
              coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) as toast,
              s.seq_scan, s.seq_tup_read, s.idx_scan, io.heap_blks_hit as blks_hit, io.heap_blks_read as blks_read,
              s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
           from pg_class c
           join pg_namespace n on n.oid = c.relnamespace
           join pg_stat_all_tables s on s.relid = c.oid
           left join pg_statio_all_tables io on io.relid = c.oid
           where c.relkind in ('r', 'm', 'p') and ${USER_SCHEMA} and ($1::text[] is null or n.nspname = any($1))
           order by pg_total_relation_size(c.oid) desc, n.nspname, c.relname`,
          [schemas],
        );

        const fk = await client.query<{ schema: string; table: string; constraint: string; columns: string[]; ref_schema: string; ref_table: string; ref_columns: string[]; indexed: boolean; index_oids: string[] }>(
          `select n.nspname as schema, cl.relname as table, c.conname as constraint,
              array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord) as columns,
              rn.nspname as ref_schema, rcl.relname as ref_table,
              array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord) as ref_columns,
              array(select i.indexrelid::text from pg_index i
                    where i.indrelid = c.conrelid and i.indisvalid and i.indpred is null
                      and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
                      and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey) as index_oids
           from pg_constraint c
           join pg_class cl on cl.oid = c.conrelid join pg_namespace n on n.oid = cl.relnamespace
           join pg_class rcl on rcl.oid = c.confrelid join pg_namespace rn on rn.oid = rcl.relnamespace
           where c.contype = 'f' and ${USER_SCHEMA} and ($1::text[] is null or n.nspname = any($1))
           order by n.nspname, cl.relname, c.conname`,
          [schemas],
        );
        const foreignKeys: ForeignKeyInfo[] = fk.rows.map((r) => ({
          schema: r.schema,
          table: r.table,
          constraint: r.constraint,
          columns: r.columns,
          referencedSchema: r.ref_schema,
          referencedTable: r.ref_table,
          referencedColumns: r.ref_columns,
          indexed: r.index_oids.length > 0,
        }));
        const fkIndexes = new Set(fk.rows.flatMap((r) => r.index_oids));

        const ix = await client.query<{ schema: string; table: string; index: string; oid: string; bytes: string; scans: string }>(
          `select s.schemaname as schema, s.relname as table, s.indexrelname as index, s.indexrelid::text as oid,
              pg_relation_size(s.indexrelid) as bytes, s.idx_scan as scans
           from pg_stat_all_indexes s
           join pg_index i on i.indexrelid = s.indexrelid
           join pg_namespace n on n.nspname = s.schemaname
           where s.idx_scan = 0 and not i.indisunique and not i.indisprimary and ${USER_SCHEMA}
             and not exists (select 1 from pg_constraint c where c.conindid = s.indexrelid)
             and ($1::text[] is null or s.schemaname = any($1))
           order by pg_relation_size(s.indexrelid) desc, s.schemaname, s.indexrelname`,
          [schemas],
        );
        const unusedIndexes: IndexUsage[] = ix.rows.map((r) => ({ schema: r.schema, table: r.table, index: r.index, bytes: num(r.bytes), scans: num(r.scans), supportsForeignKey: fkIndexes.has(r.oid) }));

        // orphans: one anti-join per foreign key (MATCH SIMPLE: a null in any column is no reference)
        const orphans: OrphanCount[] = [];
        if (opts.orphans !== false) {
          for (const f of foreignKeys) {
            const child = `${quoteIdent(f.schema)}.${quoteIdent(f.table)}`;
            const parent = `${quoteIdent(f.referencedSchema)}.${quoteIdent(f.referencedTable)}`;
            const notNull = f.columns.map((c) => `c.${quoteIdent(c)} is not null`).join(" and ");
            const match = f.columns.map((c, i) => `p.${quoteIdent(f.referencedColumns[i])} = c.${quoteIdent(c)}`).join(" and ");
            const r = await client.query<{ n: string }>(`select count(*) as n from ${child} c where ${notNull} and not exists (select 1 from ${parent} p where ${match})`);
            orphans.push({ schema: f.schema, table: f.table, constraint: f.constraint, referencedTable: `${f.referencedSchema}.${f.referencedTable}`, orphans: num(r.rows[0].n) });
          }
        }

        const tables: TableAnalysis[] = t.rows.map((r) => {
          const live = num(r.live);
          const dead = num(r.dead);
          const seq = num(r.seq_scan);
          const idx = num(r.idx_scan);
          const hit = num(r.blks_hit);
          const mine = orphans.filter((o) => o.schema === r.schema && o.table === r.table);
          return {
            schema: r.schema,
            table: r.table,
            rowsEstimate: Math.round(r.reltuples),
            liveRows: live,
            deadRows: dead,
            deadRatio: ratio(dead, live + dead),
            totalBytes: num(r.total),
            tableBytes: num(r.heap),
            indexBytes: num(r.idx),
            toastBytes: num(r.toast),
            seqScans: seq,
            seqRowsRead: num(r.seq_tup_read),
            indexScans: idx,
            indexScanRatio: ratio(idx, seq + idx),
            cacheHitRatio: ratio(hit, hit + num(r.blks_read)),
            orphanRows: opts.orphans === false ? null : mine.reduce((s, o) => s + o.orphans, 0),
            lastVacuum: iso(r.last_vacuum),
            lastAutovacuum: iso(r.last_autovacuum),
            lastAnalyze: iso(r.last_analyze),
            lastAutoanalyze: iso(r.last_autoanalyze),
          };
        });

        const unindexedForeignKeys = foreignKeys.filter((f) => !f.indexed);
        const d = db.rows[0];
        const dbHit = num(d.hit);
        return {
          database: d.database,
          checkedAt: (opts.now?.() ?? new Date()).toISOString(),
          databaseBytes: num(d.bytes),
          statsSince: iso(d.reset),
          cacheHitRatio: ratio(dbHit, dbHit + num(d.read)),
          tables,
          unusedIndexes,
          foreignKeys,
          unindexedForeignKeys,
          orphans,
          findings: findingsOf(tables, unusedIndexes, unindexedForeignKeys, orphans),
        };
      } catch (e) {
        throw queryFailed("analysing the database", e);
      }
    },
    "dr-analyze",
  );
}

/** What deserves attention, most severe first. */
function findingsOf(tables: TableAnalysis[], unused: IndexUsage[], unindexed: ForeignKeyInfo[], orphans: OrphanCount[]): AnalyzeFinding[] {
  const out: AnalyzeFinding[] = [];
  for (const o of orphans.filter((x) => x.orphans > 0)) {
    out.push({ severity: "critical", check: "orphans", schema: o.schema, table: o.table, message: `${o.orphans} row${o.orphans === 1 ? "" : "s"} of ${o.schema}.${o.table} point to no ${o.referencedTable} (${o.constraint})` });
  }
  for (const f of unindexed) {
    out.push({ severity: "warning", check: "unindexed-foreign-key", schema: f.schema, table: f.table, message: `foreign key ${f.constraint} on ${f.schema}.${f.table} (${f.columns.join(", ")}) has no supporting index: deletes from ${f.referencedSchema}.${f.referencedTable} scan the whole table` });
  }
  for (const t of tables) {
    if (t.deadRatio !== null && t.deadRatio > 0.2 && t.deadRows > 1000) {
      out.push({ severity: "warning", check: "dead-tuples", schema: t.schema, table: t.table, message: `${t.schema}.${t.table} is ${Math.round(t.deadRatio * 100)} % dead rows (${t.deadRows}): vacuum it` });
    }
    if (t.cacheHitRatio !== null && t.cacheHitRatio < 0.9 && t.tableBytes > 64 * 1024 * 1024) {
      out.push({ severity: "info", check: "cache-hit", schema: t.schema, table: t.table, message: `${t.schema}.${t.table} cache hit ratio ${Math.round(t.cacheHitRatio * 1000) / 10} %` });
    }
    if (t.seqScans > 100 && t.seqScans > t.indexScans && t.liveRows > 10000) {
      out.push({ severity: "info", check: "sequential-scans", schema: t.schema, table: t.table, message: `${t.schema}.${t.table} is read mostly by sequential scans (${t.seqScans} vs ${t.indexScans} index scans)` });
    }
  }
  for (const i of unused.filter((x) => !x.supportsForeignKey)) {
    out.push({ severity: "info", check: "unused-index", schema: i.schema, table: i.table, message: `index ${i.schema}.${i.index} (${Math.round(i.bytes / 1024)} KiB) has not been used since the statistics were reset` });
  }
  return out;
}
