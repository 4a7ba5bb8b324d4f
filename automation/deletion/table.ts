// What table-level recovery needs to know about a table, read from the catalogue of the
// database itself: its columns (which can be written back), its primary key (rows are matched
// by it between the restored copy and production) and the foreign keys around it (children are
// the rows a cascading application delete removed with it; parents must exist before a row
// can be written back).
import type { ClientBase } from "pg";
import { DrError } from "../core/errors";
import { queryFailed, quoteIdent } from "../postgres/client";

export interface ColumnInfo {
  name: string;
  /** format_type(): "bigint", "numeric(14,2)", "timestamp with time zone" … */
  type: string;
  /** GENERATED ALWAYS AS (…) STORED: computed, never written. */
  generated: boolean;
  /** GENERATED ALWAYS AS IDENTITY: written back only with OVERRIDING SYSTEM VALUE. */
  identityAlways: boolean;
}

export interface TableInfo {
  schema: string;
  name: string;
  /** "schema.table" as people write it. */
  display: string;
  /** Quoted for SQL. */
  sql: string;
  columns: ColumnInfo[];
  /** Primary key columns, in key order. */
  pk: string[];
}

export interface ForeignKey {
  name: string;
  /** Referencing table ("schema.table"). */
  child: string;
  childColumns: string[];
  /** Referenced table ("schema.table"). */
  parent: string;
  parentColumns: string[];
}

const plainIdent = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** "app.households" (or "households", then schema public) → its parts, folded like unquoted SQL. */
export function parseTableName(input: string): { schema: string; name: string } {
  const parts = input.trim().split(".");
  if (parts.length > 2 || parts.some((p) => !plainIdent.test(p))) {
    throw new DrError("USAGE", `not a table name: ${JSON.stringify(input)}`, { hint: "give it as schema.table, e.g. --table app.households" });
  }
  const [schema, name] = parts.length === 2 ? parts : ["public", parts[0]];
  return { schema: schema.toLowerCase(), name: name.toLowerCase() };
}

export function tableSql(display: string): string {
  const { schema, name } = parseTableName(display);
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Reads a table's columns and primary key. Unknown tables and tables without a primary key
 * are refused (USAGE): rows can only be matched between two databases by a key.
 */
export async function describeTable(c: ClientBase, input: string, where = "the database"): Promise<TableInfo> {
  const { schema, name } = parseTableName(input);
  const display = `${schema}.${name}`;
  let rel: { oid: number } | undefined;
  try {
    rel = (await c.query<{ oid: number }>(`select c.oid::int as oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`, [schema, name])).rows[0];
  } catch (e) {
    throw queryFailed(`looking up table ${display}`, e);
  }
  if (!rel) {
    const near = await c
      .query<{ t: string }>(
        `select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
          order by (n.nspname = $1) desc, (c.relname like left($2, 3) || '%') desc, 1 limit 8`,
        [schema, name],
      )
      .then((r) => r.rows.map((x) => x.t))
      .catch(() => [] as string[]);
    throw new DrError("USAGE", `no table ${display} in ${where}`, {
      hint: near.length ? `tables there include: ${near.join(", ")}` : "check the name (schema.table) and the database in the dr config",
    });
  }
  const cols = await c.query<{ name: string; type: string; generated: boolean; identity_always: boolean }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attgenerated <> '' as generated, a.attidentity = 'a' as identity_always
       from pg_attribute a where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [rel.oid],
  );
  const pk = await c.query<{ name: string }>(
    `select a.attname as name from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, pos)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = $1 and i.indisprimary order by k.pos`,
    [rel.oid],
  );
  if (pk.rows.length === 0) {
    throw new DrError("USAGE", `table ${display} has no primary key: its rows cannot be matched between the restored copy and production`, {
      hint: "recover it with `dr restore --scratch --target-time … --database …` and compare by hand, or add a primary key",
    });
  }
  return {
    schema,
    name,
    display,
    sql: `${quoteIdent(schema)}.${quoteIdent(name)}`,
    columns: cols.rows.map((r) => ({ name: r.name, type: r.type, generated: r.generated, identityAlways: r.identity_always })),
    pk: pk.rows.map((r) => r.name),
  };
}

/** Every foreign key between user tables of the database. */
export async function foreignKeys(c: ClientBase): Promise<ForeignKey[]> {
  const r = await c.query<{ name: string; child: string; parent: string; ccols: string[]; pcols: string[] }>(
    `select co.conname as name, cn.nspname || '.' || cc.relname as child, pn.nspname || '.' || pc.relname as parent,
            array(select attname::text from pg_attribute where attrelid = co.conrelid and attnum = any(co.conkey) order by array_position(co.conkey, attnum)) as ccols,
            array(select attname::text from pg_attribute where attrelid = co.confrelid and attnum = any(co.confkey) order by array_position(co.confkey, attnum)) as pcols
       from pg_constraint co
       join pg_class cc on cc.oid = co.conrelid join pg_namespace cn on cn.oid = cc.relnamespace
       join pg_class pc on pc.oid = co.confrelid join pg_namespace pn on pn.oid = pc.relnamespace
      where co.contype = 'f' and cn.nspname not in ('pg_catalog', 'information_schema')
      order by 2, 1`,
  );
  return r.rows.map((x) => ({ name: x.name, child: x.child, childColumns: x.ccols, parent: x.parent, parentColumns: x.pcols }));
}

/**
 * Tables that reference `table`, directly or through other dependents, parents before
 * children (the order rows must be written back in). Self-references are left out: rows of
 * one table are written in one statement, and a foreign key is checked at its end.
 */
export function dependentTables(fks: ForeignKey[], table: string): string[] {
  const edges = fks.filter((f) => f.child !== f.parent);
  const reach = new Set<string>();
  const queue = [table];
  while (queue.length) {
    const t = queue.shift()!;
    for (const f of edges.filter((e) => e.parent === t)) {
      if (f.child !== table && !reach.has(f.child)) {
        reach.add(f.child);
        queue.push(f.child);
      }
    }
  }
  // Kahn's algorithm over the dependents (and the table itself as the root).
  const nodes = new Set([table, ...reach]);
  const indegree = new Map([...nodes].map((n) => [n, 0]));
  const sub = edges.filter((e) => nodes.has(e.parent) && nodes.has(e.child));
  const pairs = new Set(sub.map((e) => `${e.parent}\u0000${e.child}`));
  for (const p of pairs) {
    const child = p.split("\u0000")[1];
    indegree.set(child, indegree.get(child)! + 1);
  }
  const order: string[] = [];
  const ready = [...nodes].filter((n) => indegree.get(n) === 0).sort();
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const p of pairs) {
      const [parent, child] = p.split("\u0000");
      if (parent !== n) continue;
      indegree.set(child, indegree.get(child)! - 1);
      if (indegree.get(child) === 0) {
        ready.push(child);
        ready.sort();
      }
    }
  }
  // A cycle between different tables leaves some behind: append them (the insert then fails
  // on the foreign key with a clear message rather than silently skipping rows).
  for (const n of nodes) if (!order.includes(n)) order.push(n);
  return order.filter((n) => n !== table);
}

/** Columns both copies have with the same type and that can be written (not generated). */
export function commonColumns(a: TableInfo, b: TableInfo): { columns: string[]; onlyIn: { copy: string[]; production: string[] } } {
  const bt = new Map(b.columns.map((c) => [c.name, c]));
  const at = new Map(a.columns.map((c) => [c.name, c]));
  const columns = a.columns.filter((c) => !c.generated && bt.get(c.name)?.type === c.type && !bt.get(c.name)?.generated).map((c) => c.name);
  return {
    columns,
    onlyIn: {
      copy: a.columns.filter((c) => !c.generated && bt.get(c.name)?.type !== c.type).map((c) => c.name),
      production: b.columns.filter((c) => !c.generated && at.get(c.name)?.type !== c.type).map((c) => c.name),
    },
  };
}

/** The key of a row as PostgreSQL writes it (jsonb array text, e.g. `[1234]`): compared as a string, never parsed into JS numbers. */
export function keyExpr(pk: string[], alias?: string): string {
  const p = alias ? `${alias}.` : "";
  return `jsonb_build_array(${pk.map((c) => p + quoteIdent(c)).join(", ")})::text`;
}

/** A row's content hash over the given columns (session settings pinned by the caller). */
export function rowHashExpr(columns: string[], alias?: string): string {
  const p = alias ? `${alias}.` : "";
  return `md5(row(${columns.map((c) => p + quoteIdent(c)).join(", ")})::text)`;
}

/** A key as people read it: `1234`, or `(1, 'a')` for a composite key. */
export function showKey(key: string): string {
  const inner = key.startsWith("[") && key.endsWith("]") ? key.slice(1, -1) : key;
  return inner.includes(",") ? `(${inner})` : inner;
}

/**
 * Pins the settings that change how values print as text (and so their hashes): both sides of
 * a comparison must print the same value the same way.
 */
export async function pinTextSettings(c: ClientBase, local = false): Promise<void> {
  const set = local ? "set local" : "set";
  await c.query(`${set} timezone = 'UTC'; ${set} datestyle = 'ISO, YMD'; ${set} intervalstyle = 'postgres'; ${set} extra_float_digits = 1; ${set} bytea_output = 'hex'`);
}
