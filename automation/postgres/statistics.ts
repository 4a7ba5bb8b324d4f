// `dr statistics`: the runbook's `database_maintenance.py statistics` — ANALYZE every user
// table (partitioned tables include their partitions) and report, per table, the planner's row
// estimate afterwards, when it was last analysed and how long it took. Tables we may not
// analyse (not owner, not superuser) are reported as skipped instead of silently ignored.
import { queryFailed, quoteIdent, withClient, type DbTarget } from "./client";

export interface TableStatistics {
  schema: string;
  table: string;
  /** pg_class.reltuples after ANALYZE. */
  rowsEstimate: number;
  /** pg_stat_all_tables.last_analyze (manual ANALYZE) afterwards, ISO time; null if never. */
  lastAnalyze: string | null;
  durationMs: number;
  /** Why the table was not analysed, when it was not. */
  skipped?: string;
}

export interface StatisticsReport {
  database: string;
  startedAt: string;
  durationMs: number;
  tables: TableStatistics[];
}

export interface StatisticsOptions {
  /** Schemas to analyse; default every user schema. */
  schemas?: string[];
  /** Called after each table. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Runs ANALYZE on every user table of the database `target` points at. */
export async function updateStatistics(target: DbTarget, opts: StatisticsOptions = {}): Promise<StatisticsReport> {
  return withClient(
    target,
    async (client) => {
      const startedAt = new Date();
      try {
        const list = await client.query<{ database: string; schema: string; table: string; oid: string; allowed: boolean }>(
          `select current_database() as database, n.nspname as schema, c.relname as table, c.oid::text as oid,
              (pg_has_role(c.relowner, 'USAGE')
               or (select rolsuper from pg_roles where rolname = current_user)
               or (not c.relisshared and pg_has_role((select datdba from pg_database where datname = current_database()), 'USAGE'))) as allowed
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relkind in ('r', 'p', 'm') and not c.relispartition
             and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
             and ($1::text[] is null or n.nspname = any($1))
           order by n.nspname, c.relname`,
          [opts.schemas ?? null],
        );
        const tables: TableStatistics[] = [];
        let done = 0;
        for (const t of list.rows) {
          const name = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
          const started = Date.now();
          if (t.allowed) await client.query(`analyze ${name}`);
          const durationMs = Date.now() - started;
          await client.query("select pg_stat_clear_snapshot()");
          const after = await client.query<{ reltuples: number; last_analyze: Date | null }>(
            `select c.reltuples::float8 as reltuples, s.last_analyze
             from pg_class c left join pg_stat_all_tables s on s.relid = c.oid where c.oid = $1::oid`,
            [t.oid],
          );
          const a = after.rows[0];
          tables.push({
            schema: t.schema,
            table: t.table,
            rowsEstimate: Math.max(-1, Math.round(a?.reltuples ?? -1)),
            lastAnalyze: a?.last_analyze ? a.last_analyze.toISOString() : null,
            durationMs,
            ...(t.allowed ? {} : { skipped: "only the table's owner, the database owner or a superuser may analyse it" }),
          });
          opts.onProgress?.(++done, list.rows.length, `${t.schema}.${t.table}`);
        }
        return { database: list.rows[0]?.database ?? (await client.query<{ d: string }>("select current_database() as d")).rows[0].d, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), tables };
      } catch (e) {
        throw queryFailed("updating table statistics", e);
      }
    },
    "dr-statistics",
  );
}
