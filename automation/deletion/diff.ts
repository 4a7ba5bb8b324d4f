// The diff between the restored copy (the table just before the deletion) and production (the
// table now), by primary key: rows missing in production, rows changed since, rows added since.
//
// Both sides are read from one snapshot each (repeatable read) with the same text settings, and
// compared in two passes so that a large table costs two scans and a little traffic:
//   1. per bucket of keys (hash of the key), a row count and a multiset checksum of the rows;
//   2. only for buckets that differ, every key with its row's hash, compared in memory.
// Keys travel as PostgreSQL prints them (jsonb array text) and rows as jsonb text: never
// parsed into JavaScript numbers, so bigint and numeric values come back exactly.
//
// The runbook's way (pg_dump -t of the whole restored table, psql into production) had no diff
// at all: it re-imported every row, failing on (or duplicating) each row still there.
import type { ClientBase } from "pg";
import { quoteIdent, quoteLiteral } from "../postgres/client";
import { keyExpr, pinTextSettings, rowHashExpr, showKey, type ForeignKey, type TableInfo } from "./table";

export interface KeyDiff {
  table: string;
  /** Rows in the restored copy (just before the deletion) and in production now. */
  copyRows: number;
  productionRows: number;
  /** In the copy, not in production: what the deletion took (and any later deletes). */
  missing: string[];
  /** In both, different content now; the production row's hash (an apply reverts only rows still like this). */
  changed: { key: string; productionHash: string }[];
  /** In production only: written after the recovery point; never touched. */
  added: string[];
  buckets: { total: number; differing: number };
}

/** Opens a consistent read-only snapshot with the text settings pinned (the caller ends it). */
export async function beginSnapshot(c: ClientBase): Promise<void> {
  await c.query("begin isolation level repeatable read read only");
  await pinTextSettings(c, true);
}

const byKey = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/** Parameter for a list of keys: a text array of jsonb arrays, cast per key column in SQL. */
function keysCte(table: TableInfo, param = "$1"): string {
  const types = new Map(table.columns.map((c) => [c.name, c.type]));
  const cols = table.pk.map((p, i) => `(e ->> ${i})::${types.get(p)} as ${quoteIdent(p)}`).join(", ");
  return `k as (select ${cols} from unnest(${param}::text[]) u cross join lateral (select u::jsonb as e) j)`;
}

/** Diffs `table` between the copy and production over `columns` (both inside beginSnapshot). */
export async function diffByKey(copy: ClientBase, production: ClientBase, table: TableInfo, columns: string[]): Promise<KeyDiff> {
  const est = Number((await copy.query<{ n: string }>(`select greatest(reltuples, 0)::bigint as n from pg_class where oid = $1::regclass`, [table.sql])).rows[0]?.n ?? 0);
  let buckets = 16;
  while (buckets < 65536 && buckets * 256 < est) buckets *= 2;
  const inner = `select ${keyExpr(table.pk, "t")} as k, ${rowHashExpr(columns, "t")} as h from ${table.sql} t`;
  const bucketOf = `(hashtextextended(k, 0) & 2147483647) % $1`;
  const summary = `select ${bucketOf} as b, count(*)::int as n,
      coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text as s1,
      coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text as s2
    from (${inner}) x group by 1`;
  const read = async (c: ClientBase) => {
    const r = await c.query<{ b: string; n: number; s1: string; s2: string }>(summary, [buckets]);
    return new Map(r.rows.map((x) => [Number(x.b), { n: x.n, sig: `${x.n}:${x.s1}:${x.s2}` }]));
  };
  const [a, b] = [await read(copy), await read(production)];
  const differing: number[] = [];
  for (let i = 0; i < buckets; i++) if (a.get(i)?.sig !== b.get(i)?.sig) differing.push(i);
  const count = (m: Map<number, { n: number }>) => [...m.values()].reduce((s, x) => s + x.n, 0);
  const diff: KeyDiff = { table: table.display, copyRows: count(a), productionRows: count(b), missing: [], changed: [], added: [], buckets: { total: buckets, differing: differing.length } };
  if (differing.length === 0) return diff;

  // Second pass: keys and row hashes of the differing buckets only (all of them when most differ).
  const all = differing.length > buckets / 2;
  const rows = async (c: ClientBase) => {
    const r = await c.query<{ k: string; h: string }>(`select k, h from (${inner}) x ${all ? "" : `where ${bucketOf} = any($2::int[])`}`, all ? [] : [buckets, differing]);
    return new Map(r.rows.map((x) => [x.k, x.h]));
  };
  const [ra, rb] = [await rows(copy), await rows(production)];
  for (const [k, h] of ra) {
    const now = rb.get(k);
    if (now === undefined) diff.missing.push(k);
    else if (now !== h) diff.changed.push({ key: k, productionHash: now });
  }
  for (const k of rb.keys()) if (!ra.has(k)) diff.added.push(k);
  diff.missing.sort(byKey);
  diff.added.sort(byKey);
  diff.changed.sort((x, y) => byKey(x.key, y.key));
  return diff;
}

/**
 * The rows (jsonb text, `columns` only) of `table` with the given keys, in no particular order,
 * and each row's key (`keys[i]` is the key of `rows[i]`, as diffByKey writes keys).
 */
export async function fetchRows(c: ClientBase, table: TableInfo, columns: string[], keys: string[]): Promise<{ rows: string[]; keys: string[] }> {
  if (keys.length === 0) return { rows: [], keys: [] };
  const cols = columns.map((x) => `t.${quoteIdent(x)}`).join(", ");
  const r = await c.query<{ row: string; k: string }>(
    `with ${keysCte(table)} select to_jsonb(r)::text as row, ${keyExpr(table.pk, "t")} as k from ${table.sql} t join k using (${table.pk.map(quoteIdent).join(", ")}) cross join lateral (select ${cols}) r`,
    [keys],
  );
  return { rows: r.rows.map((x) => x.row), keys: r.rows.map((x) => x.k) };
}

/** Which of `keys` exist in `table` on this side. */
export async function presentKeys(c: ClientBase, table: TableInfo, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const r = await c.query<{ k: string }>(`with ${keysCte(table)} select ${keyExpr(table.pk, "t")} as k from ${table.sql} t join k using (${table.pk.map(quoteIdent).join(", ")})`, [keys]);
  return new Set(r.rows.map((x) => x.k));
}

/** Key → row hash for `keys` on this side (verification after an apply). */
export async function rowHashes(c: ClientBase, table: TableInfo, columns: string[], keys: string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const r = await c.query<{ k: string; h: string }>(
    `with ${keysCte(table)} select ${keyExpr(table.pk, "t")} as k, ${rowHashExpr(columns, "t")} as h from ${table.sql} t join k using (${table.pk.map(quoteIdent).join(", ")})`,
    [keys],
  );
  return new Map(r.rows.map((x) => [x.k, x.h]));
}

export interface DependentRows {
  table: string;
  /** The foreign keys through which these rows hang off rows being restored. */
  via: string[];
  /** Rows in the copy that reference rows being restored and are missing in production. */
  keys: string[];
  rows: string[];
}

/**
 * Walks down the foreign keys from the rows being restored: for each dependent table (parents
 * first), the rows of the copy that reference a row being restored (of the table or of a
 * dependent found before) and that production no longer has. These are the rows an
 * application-level cascade (app.delete_household) or ON DELETE CASCADE took with them.
 */
export async function missingDependents(
  copy: ClientBase,
  production: ClientBase,
  fks: ForeignKey[],
  order: string[],
  info: (table: string) => Promise<TableInfo>,
  columnsOf: (table: string) => Promise<string[]>,
  root: { table: string; rows: string[] },
): Promise<DependentRows[]> {
  const rowsOf = new Map<string, string[]>([[root.table, root.rows]]);
  const out: DependentRows[] = [];
  for (const name of order) {
    const t = await info(name);
    const types = new Map(t.columns.map((c) => [c.name, c.type]));
    const candidates = new Set<string>();
    const via: string[] = [];
    for (const fk of fks.filter((f) => f.child === name && rowsOf.has(f.parent))) {
      const parentRows = rowsOf.get(fk.parent)!;
      if (parentRows.length === 0) continue;
      const pv = fk.parentColumns.map((c, i) => `u::jsonb ->> ${quoteLiteral(c)} as v${i}`).join(", ");
      const on = fk.childColumns.map((c, i) => `c.${quoteIdent(c)} = p.v${i}::${types.get(c)}`).join(" and ");
      const r = await copy.query<{ k: string }>(`with p as (select distinct ${pv} from unnest($1::text[]) u) select distinct ${keyExpr(t.pk, "c")} as k from ${t.sql} c join p on ${on}`, [parentRows]);
      if (r.rows.length) via.push(`${fk.name} → ${fk.parent}`);
      for (const x of r.rows) candidates.add(x.k);
    }
    const present = await presentKeys(production, t, [...candidates]);
    const keys = [...candidates].filter((k) => !present.has(k)).sort(byKey);
    const { rows } = await fetchRows(copy, t, await columnsOf(name), keys);
    rowsOf.set(name, rows);
    out.push({ table: name, via, keys, rows });
  }
  return out;
}

export interface BlockedRows {
  table: string;
  constraint: string;
  parent: string;
  /** Distinct parent keys that neither production has nor the recovery writes back. */
  parents: number;
  sample: string[];
}

/**
 * Rows about to be written whose parents (through any foreign key) neither exist in
 * production nor are written back by this recovery: the insert would fail on them. Checked
 * before anything is written, so the operator gets the list rather than a rolled-back apply.
 */
export async function blockedRows(production: ClientBase, fks: ForeignKey[], writing: Map<string, string[]>, info: (table: string) => Promise<TableInfo>): Promise<BlockedRows[]> {
  const out: BlockedRows[] = [];
  for (const [table, rows] of writing) {
    if (rows.length === 0) continue;
    for (const fk of fks.filter((f) => f.child === table)) {
      const parent = await info(fk.parent);
      const types = new Map(parent.columns.map((c) => [c.name, c.type]));
      const need = fk.childColumns.map((c, i) => `u::jsonb ->> ${quoteLiteral(c)} as v${i}`).join(", ");
      const coming = fk.parentColumns.map((c, i) => `u::jsonb ->> ${quoteLiteral(c)} as v${i}`).join(", ");
      const notNull = fk.childColumns.map((_, i) => `n.v${i} is not null`).join(" and ");
      const inParent = fk.parentColumns.map((c, i) => `p.${quoteIdent(c)} = n.v${i}::${types.get(c)}`).join(" and ");
      const inComing = fk.parentColumns.map((_, i) => `r.v${i} = n.v${i}`).join(" and ");
      const vals = fk.parentColumns.map((c, i) => `n.v${i}::${types.get(c)}`).join(", ");
      const r = await production.query<{ n: number; sample: string[] | null }>(
        `with need as (select distinct ${need} from unnest($1::text[]) u), coming as (select ${coming} from unnest($2::text[]) u)
         select count(*)::int as n, (array_agg(jsonb_build_array(${vals})::text order by ${vals}))[1:5] as sample from need n
          where ${notNull} and not exists (select 1 from ${parent.sql} p where ${inParent}) and not exists (select 1 from coming r where ${inComing})`,
        [rows, writing.get(fk.parent) ?? []],
      );
      if (r.rows[0].n > 0) out.push({ table, constraint: fk.name, parent: fk.parent, parents: r.rows[0].n, sample: (r.rows[0].sample ?? []).map(showKey) });
    }
  }
  return out;
}
