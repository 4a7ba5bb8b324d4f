// Proves `updateStatistics` on a real PostgreSQL 15 cluster: every user table is analysed
// (last_analyze set, row estimate right), and a table the role may not analyse is reported
// as skipped rather than silently passed over.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "./scratch";
import { updateStatistics } from "./statistics";

describe("statistics", () => {
  let scratch: ScratchCluster;
  let db: Client;
  const lastAnalyze = async (table: string) => {
    await db.query("select pg_stat_clear_snapshot()");
    return (await db.query(`select last_analyze from pg_stat_user_tables where relname = $1`, [table])).rows[0]?.last_analyze ?? null;
  };

  before(async () => {
    scratch = await startScratchCluster();
    db = new Client(scratch.connection());
    db.on("error", () => undefined);
    await db.connect();
    // autovacuum off on these tables, so only our ANALYZE can set last_analyze
    await db.query(`create schema s;
      create table s.plain (id int primary key, v text) with (autovacuum_enabled = false);
      insert into s.plain select g, md5(g::text) from generate_series(1, 5000) g;
      create table public.other (id int) with (autovacuum_enabled = false);
      insert into public.other select generate_series(1, 10);
      create role reader login password 'reader-pass-123';
      grant usage on schema s to reader; grant select on s.plain to reader;
      create table s.owned_by_reader (id int) with (autovacuum_enabled = false);
      alter table s.owned_by_reader owner to reader;`);
  });

  after(async () => {
    await db?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("analyses every user table and reports estimates and last analyze times", async () => {
    assert.equal(await lastAnalyze("plain"), null);
    const progress: string[] = [];
    const r = await updateStatistics(scratch.connection(), { onProgress: (_d, _t, label) => progress.push(label) });
    assert.deepEqual(
      r.tables.map((t) => `${t.schema}.${t.table}`),
      ["public.other", "s.owned_by_reader", "s.plain"],
    );
    assert.deepEqual(progress, ["public.other", "s.owned_by_reader", "s.plain"]);
    const plain = r.tables.find((t) => t.table === "plain")!;
    assert.equal(plain.rowsEstimate, 5000);
    assert.ok(plain.lastAnalyze && Date.parse(plain.lastAnalyze) >= Date.parse(r.startedAt) - 1000);
    assert.ok(plain.durationMs >= 0 && !plain.skipped);
    assert.ok(await lastAnalyze("plain"), "pg_stat_user_tables.last_analyze is set");
    assert.equal(r.database, "postgres");
  });

  it("reports tables the role may not analyse as skipped", async () => {
    const r = await updateStatistics({ ...scratch.connection(), user: "reader", password: "reader-pass-123" }, { schemas: ["s"] });
    const plain = r.tables.find((t) => t.table === "plain")!;
    assert.match(plain.skipped ?? "", /owner/);
    const own = r.tables.find((t) => t.table === "owned_by_reader")!;
    assert.equal(own.skipped, undefined);
    assert.ok(own.lastAnalyze);
  });
});
