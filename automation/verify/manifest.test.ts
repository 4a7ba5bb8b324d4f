// Proves the verification manifest on a real PostgreSQL 15 cluster: recording it twice installs
// the DDL once (no junk rows from the trigger firing on its own CREATEs); the application's
// temporary tables record nothing; a real schema change records a new manifest; a database
// without the manifest table has none (and the gate says so), while any other error is an
// error, never a silent pass.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { compareWithManifest, newestManifest, recordManifest } from "./manifest";

describe("verification manifest", () => {
  let scratch: ScratchCluster;
  let c: Client;
  const rows = async () => Number((await c.query("select count(*) n from fp_dr.backup_manifest")).rows[0].n);

  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    c.on("error", () => undefined);
    await c.connect();
    await c.query("create table public.accounts (id int primary key, balance numeric)");
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("a database without the manifest table has none; the gate passes on structure alone and says so", async () => {
    assert.equal(await newestManifest(c), undefined);
    const r = await compareWithManifest(c);
    assert.equal(r.ok, true);
    assert.match(r.detail, /no manifest/);
  });

  it("recording twice writes exactly two rows (the DDL is installed once)", async () => {
    await recordManifest(c, "before full backup");
    assert.equal(await rows(), 1);
    await recordManifest(c, "before incr backup");
    assert.equal(await rows(), 2);
    assert.equal((await newestManifest(c))?.label, "before incr backup");
  });

  it("temporary tables record nothing; a real schema change records a new manifest", async () => {
    const before = await rows();
    await c.query("create temp table scratch_work (x int)");
    await c.query("drop table scratch_work");
    // a DROP lists no commands, so it is recorded (it may have dropped anything)
    const afterTemp = await rows();
    assert.ok(afterTemp - before <= 1, `the temp CREATE recorded nothing (${afterTemp - before} rows for CREATE+DROP)`);
    await c.query("create temp table scratch_two (x int)");
    assert.equal(await rows(), afterTemp, "a temp table's CREATE alone records nothing");
    await c.query("alter table public.accounts add column note text");
    assert.equal(await rows(), afterTemp + 1);
    const m = await newestManifest(c);
    assert.equal(m?.label, "after ALTER TABLE");
    assert.ok(m?.schema.some((line) => line.includes("note")), "the new manifest holds the new column");
    assert.equal((await compareWithManifest(c)).ok, true);
  });

  it("an error reading the manifest is an error, not 'no manifest'", async () => {
    await c.query("revoke all on fp_dr.backup_manifest from public");
    const other = new Client({ ...scratch.connection(), user: "reader", password: "reader-pw-7d1e" });
    await c.query("create role reader login password 'reader-pw-7d1e'");
    await c.query("grant usage on schema fp_dr to reader");
    await other.connect();
    try {
      await assert.rejects(newestManifest(other), /permission denied/);
    } finally {
      await other.end();
    }
  });
});
