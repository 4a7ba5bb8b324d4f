// What a database's user schemas look like, as comparable lines: shared by the gate's checks
// (./checks.ts) and the manifest recorded with every backup (./manifest.ts), in a module of its
// own so that neither imports the other to get it.
import type { ClientBase } from "pg";

/**
 * The schemas the application owns, as a predicate on pg_namespace.nspname: every schema but
 * PostgreSQL's own and fp-dr's (fp_dr). Also inside the manifest's DDL trigger (./manifest.ts).
 */
export const APP_SCHEMAS_PREDICATE = `nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'fp_dr') and nspname not like 'pg_temp%' and nspname not like 'pg_toast_temp%'`;

/** The application's schemas (APP_SCHEMAS_PREDICATE), sorted. */
export async function appSchemas(c: ClientBase): Promise<string[]> {
  const r = await c.query<{ nspname: string }>(`select nspname from pg_namespace where ${APP_SCHEMAS_PREDICATE} order by 1`);
  return r.rows.map((x) => x.nspname);
}

/**
 * One line per column, constraint and index of the given schemas ($1: text[]). Also the body of
 * fp_dr.schema_signature(), which the DDL event trigger of the manifest calls (./manifest.ts).
 */
export const SCHEMA_SIGNATURE_SQL = `select format('%s.%s col %s %s %s %s', n.nspname, cl.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull) as line
       from pg_attribute a join pg_class cl on cl.oid = a.attrelid join pg_namespace n on n.oid = cl.relnamespace
      where n.nspname = any($1) and a.attnum > 0 and not a.attisdropped and cl.relkind in ('r','p','v','m')
     union all
     select format('%s.%s con %s %s', n.nspname, cl.relname, co.conname, pg_get_constraintdef(co.oid))
       from pg_constraint co join pg_class cl on cl.oid = co.conrelid join pg_namespace n on n.oid = cl.relnamespace
      where n.nspname = any($1)
     union all
     select format('%s idx %s', n.nspname, pg_get_indexdef(i.indexrelid))
       from pg_index i join pg_class cl on cl.oid = i.indexrelid join pg_namespace n on n.oid = cl.relnamespace
      where n.nspname = any($1)`;

export async function schemaSignature(c: ClientBase, schemas: string[]): Promise<string[]> {
  const r = await c.query<{ line: string }>(`${SCHEMA_SIGNATURE_SQL} order by 1`, [schemas]);
  return r.rows.map((x) => x.line);
}

