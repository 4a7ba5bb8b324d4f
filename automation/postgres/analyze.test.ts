// Proves `analyze` on a real PostgreSQL 15 cluster holding the sample database: it counts an
// orphan created by bypassing the foreign key (triggers disabled, as a superuser can), finds a
// foreign key without a supporting index and an unused index, and reports per-table numbers.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { createSampleDatabase } from "../engines/local/sample-data/generate";
import { analyze } from "./analyze";
import { startScratchCluster, type ScratchCluster } from "./scratch";

describe("analyze", () => {
  let scratch: ScratchCluster;
  let db: Client;

  before(async () => {
    scratch = await startScratchCluster();
    const admin = new Client(scratch.connection());
    await admin.connect();
    await admin.query("create database fp");
    await admin.end();
    db = new Client(scratch.connection("fp"));
    db.on("error", () => undefined);
    await db.connect();
    await createSampleDatabase(db, { scale: 0.02 });
    // an orphan: the foreign key's trigger disabled, a ledger entry for no account, re-enabled
    await db.query("alter table app.ledger disable trigger all");
    await db.query(`insert into app.ledger (account_id, posted_at, amount, kind, description, reference) values (987654321, '2025-01-01', 10, 'deposit', 'orphan', 'x')`);
    await db.query("alter table app.ledger enable trigger all");
    // a foreign key without an index, and an index nobody uses
    await db.query(`create schema extra;
      create table extra.parent (id int primary key);
      create table extra.child (id int primary key, parent_id int references extra.parent, note text);
      create index child_note_idx on extra.child (note);
      create table extra.child2 (id int primary key, parent_id int references extra.parent);
      create index child2_parent_idx on extra.child2 (parent_id);
      insert into extra.parent values (1); insert into extra.child values (1, 1, 'a'), (2, null, 'b'); insert into extra.child2 values (1, 1);`);
  });

  after(async () => {
    await db?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("counts orphans per foreign key and flags them as critical", async () => {
    const r = await analyze(scratch.connection("fp"));
    const ledger = r.orphans.find((o) => o.constraint === "ledger_account_fk");
    assert.deepEqual(ledger, { schema: "app", table: "ledger", constraint: "ledger_account_fk", referencedTable: "app.accounts", orphans: 1 });
    assert.equal(r.orphans.filter((o) => o.orphans > 0).length, 1, "only the one orphan; a null reference is not an orphan");
    assert.equal(r.tables.find((t) => t.schema === "app" && t.table === "ledger")?.orphanRows, 1);
    const f = r.findings.find((x) => x.check === "orphans");
    assert.equal(f?.severity, "critical");
    assert.match(f!.message, /1 row of app\.ledger point to no app\.accounts/);
  });

  it("finds the foreign key without a supporting index, and only that one", async () => {
    const r = await analyze(db);
    assert.deepEqual(
      r.unindexedForeignKeys.map((f) => [f.schema, f.table, f.columns, f.referencedTable]),
      [["extra", "child", ["parent_id"], "parent"]],
    );
    assert.equal(r.foreignKeys.filter((f) => f.schema === "app").length, 7);
    assert.ok(r.findings.some((x) => x.check === "unindexed-foreign-key" && x.table === "child"));
  });

  it("reports per-table sizes, scans, and unused indexes", async () => {
    await db.query("select count(*) from app.accounts where account_id = 9");
    await db.query("select pg_stat_force_next_flush()");
    await db.query("select pg_stat_clear_snapshot()");
    const r = await analyze(scratch.connection("fp"), { schemas: ["app", "extra"] });
    assert.equal(r.database, "fp");
    assert.ok(r.databaseBytes > 0);
    const ledger = r.tables.find((t) => t.table === "ledger")!;
    assert.ok(ledger.totalBytes >= ledger.tableBytes + ledger.indexBytes && ledger.tableBytes > 0);
    assert.ok(ledger.rowsEstimate > 100, `ledger estimate ${ledger.rowsEstimate}`);
    assert.ok(ledger.lastAnalyze, "the generator analysed it");
    assert.equal(r.tables[0].table, "ledger", "largest first");
    assert.ok(r.unusedIndexes.some((i) => i.index === "child_note_idx" && !i.supportsForeignKey));
    assert.ok(r.unusedIndexes.every((i) => i.scans === 0));
    assert.ok(!r.unusedIndexes.some((i) => i.index.endsWith("_pkey")), "primary keys are never 'unused'");
    assert.ok(r.unusedIndexes.some((i) => i.index === "child2_parent_idx" && i.supportsForeignKey));
    assert.ok(r.tables.every((t) => ["app", "extra"].includes(t.schema)));
    JSON.stringify(r); // plain data for --json
  });
});
