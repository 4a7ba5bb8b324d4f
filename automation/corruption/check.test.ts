// Proves, on a real PostgreSQL 15 cluster with data checksums:
//   - the stopped copy's own catalog, read from its files, names every relation file exactly as
//     the running server does (pg_relation_filepath), catalogs, TOAST and indexes included;
//   - a clean cluster is clean online and offline;
//   - bytes flipped in a table page and in an index page (cluster stopped, so no clean copy
//     stays in shared buffers) are named offline (pg_checksums) and online (amcheck): the table
//     as table damage, the index as index damage, and the table's own intact index is not
//     blamed for its table;
//   - a table file cut short under the running server (every remaining page clean, the state a
//     leftover restore leaves: "unexpected data beyond EOF" on the next insert) is named, from
//     shared buffers and from the catalog's page count, and the check leaves no object behind;
//   - damage in a database's own catalog (pg_class) is named offline, and online (the database
//     cannot even be opened) it is table damage: a restore, never a REINDEX.
import assert from "node:assert/strict";
import { truncateSync } from "node:fs";
import { invertInPage } from "../../test/harness/damage";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { parseRelationFile } from "./messages";
import { readOfflineCatalog } from "./catalog-files";
import { checkTarget, type CheckTarget } from "./check";
import { checkFileLengths } from "./file-length";

let s: ScratchCluster;
let paths: Record<string, string>;

async function sql<T = Record<string, unknown>>(text: string, database = "postgres"): Promise<T[]> {
  const c = new Client(s.connection(database));
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Inverts 16 bytes in the middle of a page: its checksum no longer matches. */
function flip(relPath: string, block: number): void {
  invertInPage(join(s.cluster.spec.dataDir, relPath), block);
}

const online = (): CheckTarget => ({ site: "scratch", mode: "online", admin: s.connection("postgres") });
const offline = (): CheckTarget => ({ site: "scratch", mode: "offline", dataDir: s.cluster.spec.dataDir, user: s.cluster.spec.user });

before(async () => {
  s = await startScratchCluster();
  await sql("create database money");
  await sql(
    `create schema app;
     create table app.accounts (id int primary key, owner text not null);
     insert into app.accounts select g, md5(g::text) from generate_series(1, 5000) g;
     create table app.ledger (id int primary key, account_id int not null, amount numeric not null, memo text);
     create index ledger_account_idx on app.ledger (account_id);
     insert into app.ledger select g, g % 5000 + 1, g * 1.5, case when g % 500 = 0 then (select string_agg(md5(random()::text), '') from generate_series(1, 300)) end from generate_series(1, 20000) g;
     create sequence app.ids;
     checkpoint`,
    "money",
  );
  const rows = await sql<{ k: string; p: string }>(
    "select 'accounts' k, pg_relation_filepath('app.accounts') p union all select 'accounts_pkey', pg_relation_filepath('app.accounts_pkey') union all select 'ledger_account_idx', pg_relation_filepath('app.ledger_account_idx')",
    "money",
  );
  paths = Object.fromEntries(rows.map((r) => [r.k, r.p]));
});
after(async () => {
  await s?.destroy();
});

test("a clean cluster is clean online, every relation read (also with the parent check)", async () => {
  const r = await checkTarget(online());
  assert.equal(r.classification, "clean", JSON.stringify(r.findings));
  assert.equal(r.complete, true, JSON.stringify(r.notChecked));
  assert.deepEqual(r.scope.databases, ["money", "postgres"]);
  assert.ok(r.scope.tables > 60 && r.scope.indexes > 100 && r.scope.sequences === 1, JSON.stringify(r.scope));
  const thorough = await checkTarget(online(), { parentCheck: true });
  assert.equal(thorough.classification, "clean", "bt_index_parent_check with rootdescend agrees");
});

test("a table file cut short under the running server: named from shared buffers and the catalog, nothing left behind", async () => {
  await sql("create database cut");
  try {
    await sql("create table public.payments (id int primary key, memo text); insert into public.payments select g, md5(g::text) from generate_series(1, 3000) g", "cut");
    await sql("vacuum analyze public.payments", "cut");
    await sql("checkpoint", "cut");
    const [{ file, pages }] = await sql<{ file: string; pages: number }>(
      `select pg_relation_filepath('public.payments') file, (select relpages from pg_class where oid = 'public.payments'::regclass) pages`,
      "cut",
    );
    assert.ok(pages > 10, `payments has ${pages} pages`);
    // What a leftover restore does: the file goes back to an older, shorter version, while the
    // server still caches its later pages (clean, after the checkpoint).
    truncateSync(join(s.cluster.spec.dataDir, file), 2 * 8192);

    const r = await checkTarget(online());
    assert.equal(r.classification, "table", JSON.stringify(r.findings));
    const cut = r.findings.filter((f) => f.database === "cut");
    assert.deepEqual(cut.map((f) => [f.relation, f.kind, f.problem, f.blocks, f.by, f.file]), [["public.payments", "table", "page-unreadable", [2], "file-length", file]]);
    assert.match(cut[0].detail, /ends at block 2 but shared buffers hold block \d+/);
    assert.equal(r.complete, true, JSON.stringify(r.notChecked));

    const c = new Client(s.connection("cut"));
    await c.connect();
    try {
      const seen = await checkFileLengths(c, false);
      assert.deepEqual(seen.short.map((x) => [x.witness, x.blocks, x.expected]), [["shared buffers", 2, pages], ["catalog", 2, pages]]);
      const left = (await c.query("select (select count(*) from pg_extension where extname = 'pg_buffercache')::int ext, (select count(*) from pg_namespace where nspname like 'fp_dr%')::int ns")).rows[0];
      assert.deepEqual(left, { ext: 0, ns: 0 }, "pg_buffercache was used inside a rolled-back transaction");
    } finally {
      await c.end();
    }
  } finally {
    await sql("drop database cut");
  }
});

test("the stopped copy's own catalog names every relation file as the server does", async () => {
  const expected: { db: string; file: string; name: string; relkind: string }[] = [];
  for (const db of ["money", "postgres"]) {
    expected.push(
      ...(await sql<{ db: string; file: string; name: string; relkind: string }>(
        `select current_database() db, pg_relation_filepath(c.oid) file, format('%I.%I', n.nspname, c.relname) as name, c.relkind::text relkind
           from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','t','m','i','S')`,
        db,
      )),
    );
  }
  await s.cluster.stop("fast");
  const catalog = readOfflineCatalog(s.cluster.spec.dataDir);
  for (const e of expected) {
    const rel = catalog.lookup(parseRelationFile(e.file)!);
    assert.equal(rel?.name, e.name, `${e.db} ${e.file}`);
    if (!e.file.startsWith("global/")) assert.equal(rel?.database, e.db);
  }
  assert.equal(catalog.lookup(parseRelationFile(paths.ledger_account_idx)!)?.table, "app.ledger");
  assert.equal(catalog.lookup(parseRelationFile(paths.ledger_account_idx)!)?.kind, "index");
  const clean = await checkTarget(offline());
  assert.equal(clean.classification, "clean");
  assert.ok((clean.scope.blocks ?? 0) > 100);
});

test("flipped bytes in a table page and an index page: named offline and online, table vs index", async () => {
  flip(paths.accounts, 3);
  flip(paths.ledger_account_idx, 5);
  const off = await checkTarget(offline());
  assert.equal(off.classification, "table");
  const byName = Object.fromEntries(off.findings.map((f) => [f.relation, f]));
  assert.deepEqual([byName["app.accounts"]?.kind, byName["app.accounts"]?.problem, byName["app.accounts"]?.blocks], ["table", "page-checksum", [3]]);
  assert.deepEqual([byName["app.ledger_account_idx"]?.kind, byName["app.ledger_account_idx"]?.table, byName["app.ledger_account_idx"]?.blocks], ["index", "app.ledger", [5]]);
  assert.equal(off.findings.length, 2);

  await s.cluster.start();
  const on = await checkTarget(online());
  assert.equal(on.classification, "table");
  const named = Object.fromEntries(on.findings.map((f) => [f.relation, f]));
  assert.deepEqual([named["app.accounts"]?.problem, named["app.accounts"]?.blocks, named["app.accounts"]?.by, named["app.accounts"]?.database], ["page-checksum", [3], "verify_heapam", "money"]);
  assert.deepEqual([named["app.ledger_account_idx"]?.kind, named["app.ledger_account_idx"]?.problem, named["app.ledger_account_idx"]?.severity], ["index", "page-checksum", "high"]);
  assert.equal(named["app.accounts_pkey"], undefined, "the intact index of the damaged table is not blamed");
  assert.equal(on.findings.length, 2, JSON.stringify(on.findings));
  assert.ok(on.checksumFailures.some((c) => c.database === "money" && c.count > 0));
});

test("damage in a database's own catalog: named offline; online the database cannot be opened, and that is table damage", async () => {
  const [{ p }] = await sql<{ p: string }>("select pg_relation_filepath('pg_class') p", "money");
  await s.cluster.stop("fast");
  flip(p, 1);
  const off = await checkTarget(offline());
  const catalog = off.findings.find((f) => f.relation === "pg_catalog.pg_class");
  assert.deepEqual([catalog?.database, catalog?.kind, catalog?.catalog, catalog?.severity], ["money", "table", true, "critical"]);
  await s.cluster.start();
  const on = await checkTarget(online());
  assert.equal(on.classification, "table");
  const money = on.findings.find((f) => f.database === "money" && f.file === p);
  assert.ok(money && money.catalog && money.kind === "unknown", JSON.stringify(on.findings));
});
