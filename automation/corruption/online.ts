// The online check: every page of every relation read through the running server, so data
// checksums are verified as each page comes in from disk, and amcheck's verdict on what the
// pages hold. Per database (the templates excepted):
//   tables, TOAST tables, materialized views — verify_heapam (every tuple, TOAST pointers);
//   btree indexes — bt_index_check with heapallindexed (every index page, and every heap tuple
//     must be in the index), or bt_index_parent_check with rootdescend when asked (blocks writes
//     to the table while it runs, primary only);
//   sequences — read (their one page is verified on the way in);
//   other index types — PostgreSQL 15's amcheck cannot read them: listed as not checked
//     (the offline check reads every file).
// This is what `pg_amcheck --heapallindexed [--parent-check --rootdescend]` runs, done through
// a connection so that it works wherever the engine gives one (AWS sites have no shell for us)
// and so that every error is attributed to a relation by the file it names, not by parsing text.
// Pages already in shared buffers are checked as they are in memory: a damaged file under a
// cached clean page is found once the page is read again (after a restart, or offline).
import type { ClientBase, ClientConfig } from "pg";
import { errorText, hasExtension, withClient } from "../postgres/client";
import { checkFileLengths, describeShort } from "./file-length";
import { interpretServerError, parseRelationFile } from "./messages";
import { severityOf, type CorruptionFinding, type NotChecked, type RelationKind } from "./report";

export interface OnlineOptions {
  /** bt_index_parent_check with rootdescend (a ShareLock per table while its indexes are checked). */
  parentCheck?: boolean;
}

/** How long to wait for a relation's lock before listing it as not checked (ms). */
const LOCK_TIMEOUT_MS = 10_000;
/** Damaged blocks listed per table before the check moves on. */
const MAX_BLOCKS_PER_RELATION = 20;

export interface OnlineResult {
  databases: string[];
  inRecovery: boolean;
  dataChecksums: boolean;
  tables: number;
  indexes: number;
  sequences: number;
  findings: CorruptionFinding[];
  notChecked: NotChecked[];
  checksumFailures: { database: string; count: number; lastAt?: string }[];
}

interface Rel {
  oid: number;
  name: string;
  relkind: string;
  persistence: string;
  am: string | null;
  file: string | null;
  catalog: boolean;
  table: string | null;
  tableOid: number | null;
  valid: boolean;
}

const kindOf: Record<string, RelationKind> = { r: "table", t: "toast", m: "matview", i: "index", S: "sequence" };

export async function checkOnline(admin: ClientConfig, opts: OnlineOptions = {}): Promise<OnlineResult> {
  const result: OnlineResult = { databases: [], inRecovery: false, dataChecksums: false, tables: 0, indexes: 0, sequences: 0, findings: [], notChecked: [], checksumFailures: [] };
  const databases = await withClient(admin, async (c) => {
    const r = await c.query<{ datname: string }>("select datname from pg_database where datallowconn and not datistemplate order by datname");
    result.inRecovery = (await c.query("select pg_is_in_recovery() r")).rows[0].r;
    result.dataChecksums = (await c.query("show data_checksums")).rows[0].data_checksums === "on";
    return r.rows.map((x) => x.datname);
  });
  for (const database of databases) {
    try {
      await withClient({ ...admin, database }, (c) => checkDatabase(c, database, result, opts), "fp-dr corruption check");
      result.databases.push(database);
    } catch (e) {
      // A database whose own catalog is damaged may refuse the connection or the listing itself.
      const cause = (e as { cause?: { code?: string } }).cause;
      const code = cause?.code ?? (e as { code?: string }).code;
      const meaning = interpretServerError(code, errorText(e));
      if (!meaning.corruption) {
        result.notChecked.push({ database, relation: "(every relation)", reason: errorText(e) });
        continue;
      }
      result.findings.push({
        database,
        relation: meaning.file ? `${meaning.file} (the database's catalog could not be read)` : "(the database's catalog)",
        kind: "unknown",
        catalog: true,
        problem: meaning.problem === "structure" ? "heap-structure" : meaning.problem!,
        blocks: meaning.block === undefined ? [] : [meaning.block],
        file: meaning.file,
        detail: errorText(e),
        severity: "critical",
        by: "read",
      });
    }
  }
  // Read last: the check's own reads of damaged pages are counted too.
  await withClient(admin, async (c) => {
    const r = await c.query<{ datname: string | null; n: string; at: Date | null }>("select datname, checksum_failures n, checksum_last_failure at from pg_stat_database where checksum_failures > 0");
    result.checksumFailures = r.rows.map((x) => ({ database: x.datname ?? "(shared catalogs)", count: Number(x.n), lastAt: x.at ? x.at.toISOString() : undefined }));
  });
  return result;
}

async function checkDatabase(c: ClientBase, database: string, result: OnlineResult, opts: OnlineOptions): Promise<void> {
  if (!(await ensureAmcheck(c, result.inRecovery))) {
    result.notChecked.push({ database, relation: "(every relation)", reason: "the amcheck extension is not installed and this server is read-only (a standby): install it on the primary" });
    return;
  }
  await c.query(`set lock_timeout = ${LOCK_TIMEOUT_MS}`);
  const rels = (
    await c.query<{ oid: number; name: string; relkind: string; persistence: string; am: string | null; file: string | null; catalog: boolean; table_name: string | null; table_oid: number | null; valid: boolean }>(
      `select c.oid::int oid, format('%I.%I', n.nspname, c.relname) as name, c.relkind::text relkind, c.relpersistence::text persistence, am.amname am,
              pg_relation_filepath(c.oid) file, n.nspname = 'pg_catalog' or coalesce(tn.nspname = 'pg_catalog', false) catalog,
              case when t.oid is not null then format('%I.%I', tn.nspname, t.relname) end table_name, t.oid::int table_oid,
              coalesce(i.indisvalid and i.indisready, true) valid
         from pg_class c join pg_namespace n on n.oid = c.relnamespace left join pg_am am on am.oid = c.relam
         left join pg_index i on i.indexrelid = c.oid
         left join pg_class ti on ti.oid = i.indrelid
         left join pg_class tt on c.relkind = 't' and tt.reltoastrelid = c.oid
         left join lateral (select coalesce(ti.oid, tt.oid) oid, coalesce(ti.relname, tt.relname) relname, coalesce(ti.relnamespace, tt.relnamespace) relnamespace) t on true
         left join pg_namespace tn on tn.oid = t.relnamespace
        where c.relkind in ('r','t','m','i','S') and c.relpersistence <> 't'
        order by n.nspname, c.relname`,
    )
  ).rows.map((r): Rel => ({ oid: r.oid, name: r.name, relkind: r.relkind, persistence: r.persistence, am: r.am, file: r.file, catalog: r.catalog, table: r.table_name, tableOid: r.table_oid, valid: r.valid }));
  const byFile = new Map<string, Rel>();
  for (const r of rels) if (r.file) byFile.set(parseRelationFile(r.file)?.base ?? r.file, r);

  const found: CorruptionFinding[] = [];
  const damagedTables = new Set<number>();
  const skip = (r: Rel, reason: string) => result.notChecked.push({ database, relation: r.name, reason });
  /** Turns an error raised while checking `r` into a finding on the relation whose file it names. */
  const attribute = (r: Rel, by: CorruptionFinding["by"], e: unknown): "damaged" | "skipped" => {
    const err = e as { code?: string; message?: string };
    const meaning = interpretServerError(err.code, err.message ?? String(e));
    if (!meaning.corruption) {
      skip(r, errorText(e));
      return "skipped";
    }
    const owner = (meaning.file && byFile.get(parseRelationFile(meaning.file)?.base ?? meaning.file)) || r;
    const kind = kindOf[owner.relkind] ?? "unknown";
    if (kind !== "index") damagedTables.add(owner.oid);
    found.push({
      database,
      relation: owner.name,
      kind,
      table: owner.table ?? undefined,
      catalog: owner.catalog,
      problem: meaning.problem === "structure" ? (kind === "index" ? "index-structure" : "heap-structure") : meaning.problem!,
      blocks: meaning.block === undefined ? [] : [meaning.block],
      file: owner.file ?? undefined,
      detail: err.message ?? String(e),
      severity: severityOf(kind),
      by: owner === r ? by : "read",
    });
    return "damaged";
  };

  for (const r of rels) {
    const kind = kindOf[r.relkind];
    // Unlogged relations hold no data on a standby: nothing to read, nothing missed.
    if (r.persistence === "u" && result.inRecovery) continue;
    if (kind === "sequence") {
      result.sequences++;
      await c.query(`select 1 from ${r.name}`).catch((e: unknown) => attribute(r, "read", e));
    } else if (kind !== "index") {
      result.tables++;
      await checkHeap(c, database, r, MAX_BLOCKS_PER_RELATION, found, attribute);
    }
  }
  for (const r of rels.filter((x) => x.relkind === "i")) {
    if (r.persistence === "u" && result.inRecovery) continue;
    if (r.am !== "btree") {
      skip(r, `${r.am} index: amcheck in PostgreSQL 15 reads btree only; the offline check (pg_checksums) reads it`);
      continue;
    }
    if (!r.valid) {
      skip(r, "invalid index (a failed CREATE INDEX CONCURRENTLY): not used by queries; drop or rebuild it");
      continue;
    }
    result.indexes++;
    // Against a damaged table heapallindexed would report the table again; check the index alone.
    const heap = r.tableOid === null || !damagedTables.has(r.tableOid);
    const parent = opts.parentCheck === true && !result.inRecovery;
    const by = parent ? "bt_index_parent_check" : "bt_index_check";
    const sql = parent ? "select bt_index_parent_check($1::oid::regclass, $2, true)" : "select bt_index_check($1::oid::regclass, $2)";
    try {
      await c.query(sql, [r.oid, heap]);
    } catch (e) {
      const what = attribute(r, by, e);
      // The error named the table: the index itself is still unchecked; look at it alone.
      if (what === "damaged" && heap && found[found.length - 1].relation !== r.name) {
        await c.query(sql, [r.oid, false]).catch((e2: unknown) => attribute(r, by, e2));
      }
    }
  }
  // Files cut short under the running server read clean page by page: compare their lengths.
  const lengths = await checkFileLengths(c, result.inRecovery);
  if (lengths.notSeen) result.notChecked.push({ database, relation: "(cached pages against file lengths)", reason: lengths.notSeen });
  for (const short of lengths.short) {
    const r = rels.find((x) => x.oid === short.oid);
    if (!r) continue;
    found.push(findingOn(database, r, kindOf[r.relkind] ?? "unknown", { problem: "page-unreadable", blocks: [short.blocks], detail: describeShort(short), by: "file-length" }));
  }
  result.findings.push(...found);
}

/** A finding on relation `r`: where it is and how bad, beside what was found and by which check. */
function findingOn(database: string, r: Rel, kind: RelationKind, what: Pick<CorruptionFinding, "problem" | "blocks" | "detail" | "by">): CorruptionFinding {
  return { database, relation: r.name, kind, table: r.table ?? undefined, catalog: r.catalog, file: r.file ?? undefined, severity: severityOf(kind), ...what };
}

/**
 * verify_heapam over the whole relation. A page that fails verification aborts the call, so
 * the check resumes after the damaged block to find the next one (up to `maxBlocks`).
 */
async function checkHeap(c: ClientBase, database: string, r: Rel, maxBlocks: number, found: CorruptionFinding[], attribute: (r: Rel, by: CorruptionFinding["by"], e: unknown) => "damaged" | "skipped"): Promise<void> {
  let start = 0;
  for (let damaged = 0; damaged <= maxBlocks; damaged++) {
    try {
      const rows = await c.query<{ blkno: string; offnum: number | null; attnum: number | null; msg: string }>(
        "select blkno, offnum, attnum, msg from verify_heapam($1::oid::regclass, on_error_stop => false, check_toast => true, skip => 'none', startblock => $2)",
        [r.oid, start],
      );
      const kind = kindOf[r.relkind] ?? "table";
      for (const row of rows.rows) {
        found.push(
          findingOn(database, r, kind, {
            problem: "heap-structure",
            blocks: [Number(row.blkno)],
            detail: `block ${row.blkno}${row.offnum !== null ? `, item ${row.offnum}` : ""}${row.attnum !== null ? `, column ${row.attnum}` : ""}: ${row.msg}`,
            by: "verify_heapam",
          }),
        );
      }
      return;
    } catch (e) {
      const before = found.length;
      if (attribute(r, "verify_heapam", e) === "skipped") return;
      const block = found[before]?.blocks[0];
      if (block === undefined || found[before].relation !== r.name) return;
      start = block + 1;
    }
  }
}

/** amcheck where it is missing (as pg_amcheck --install-missing); impossible on a standby. */
async function ensureAmcheck(c: ClientBase, readOnly: boolean): Promise<boolean> {
  const has = await hasExtension(c, "amcheck");
  if (has || readOnly) return has;
  await c.query("create extension if not exists amcheck");
  return true;
}
