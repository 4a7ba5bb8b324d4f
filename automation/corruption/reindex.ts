// Rebuilding damaged indexes: an index holds nothing its table does not, so REINDEX builds a
// new one from the table and drops the damaged one, losing nothing. CONCURRENTLY keeps the
// table writable while it builds (system catalogs cannot be rebuilt that way: plain REINDEX,
// which blocks writes to that catalog for the few milliseconds it takes).
import type { ClientBase, ClientConfig } from "pg";
import { DrError } from "../core/errors";
import { errorText, quoteIdent, withClient } from "../postgres/client";

export interface IndexToRebuild {
  database: string;
  /** schema.name as the check reported it. */
  index: string;
  catalog: boolean;
}

export interface RebuiltIndex extends IndexToRebuild {
  method: "concurrently" | "plain" | "gone";
  durationMs: number;
}

/** The statements REINDEX would run (dry run and explain). */
export function reindexStatement(i: IndexToRebuild): string {
  return i.catalog ? `REINDEX INDEX ${i.index}` : `REINDEX INDEX CONCURRENTLY ${i.index}`;
}

export async function rebuildIndexes(admin: ClientConfig, indexes: IndexToRebuild[]): Promise<RebuiltIndex[]> {
  const done: RebuiltIndex[] = [];
  for (const i of indexes) {
    done.push(await withClient({ ...admin, database: i.database }, (c) => rebuildOne(c, i), "fp-dr reindex"));
  }
  return done;
}

async function rebuildOne(c: ClientBase, i: IndexToRebuild): Promise<RebuiltIndex> {
  const started = Date.now();
  if ((await c.query("select pg_is_in_recovery() r")).rows[0].r) {
    throw new DrError("QUERY_FAILED", `cannot rebuild ${i.index}: ${i.database} is a standby (read-only)`, {
      hint: "rebuild it on the primary (the standby follows through WAL), or restore a clean copy with `dr recover corruption`",
    });
  }
  const found = await c.query<{ nsp: string; rel: string }>("select n.nspname nsp, c.relname rel from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)", [i.index]);
  if (found.rowCount === 0) return { ...i, method: "gone", durationMs: Date.now() - started };
  const { nsp, rel } = found.rows[0];
  const name = `${quoteIdent(nsp)}.${quoteIdent(rel)}`;
  await c.query("set lock_timeout = '60s'");
  try {
    await c.query(i.catalog ? `reindex index ${name}` : `reindex index concurrently ${name}`);
  } catch (e) {
    if (!i.catalog) await dropLeftovers(c, nsp, rel);
    const err = e as { code?: string };
    if (err.code === "23505") {
      throw new DrError("QUERY_FAILED", `cannot rebuild the unique index ${i.index}: the table holds duplicate keys (${errorText(e)})`, {
        hint: "while the index was damaged it let duplicates in: resolve them (group by the key, having count(*) > 1) and rerun, or restore a clean copy with `dr recover corruption`",
        cause: e,
      });
    }
    throw new DrError("QUERY_FAILED", `while rebuilding ${i.index} in ${i.database}: ${errorText(e)}`, {
      hint: /lock timeout/.test(errorText(e)) ? "a long transaction holds the table: end it and rerun (`dr resume`)" : "the table itself may be damaged: `dr check corruption`, then restore with `dr recover corruption`",
      cause: e,
    });
  }
  return { ...i, method: i.catalog ? "plain" : "concurrently", durationMs: Date.now() - started };
}

/** A failed REINDEX CONCURRENTLY leaves an invalid <name>_ccnew index behind: drop it. */
async function dropLeftovers(c: ClientBase, nsp: string, rel: string): Promise<void> {
  const left = await c.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
      where not i.indisvalid and n.nspname = $1 and c.relname like $2 || '_ccnew%'`,
    [nsp, rel],
  );
  for (const l of left.rows) await c.query(`drop index concurrently if exists ${l.name}`).catch(() => undefined);
}
