// Proves the verification manifest on a real PostgreSQL 15 cluster: recording it twice installs
// the DDL once (no junk rows from the trigger firing on its own CREATEs); the application's
// temporary tables record nothing; a real schema change records a new manifest; a database
// without the manifest table has none (and the gate says so), while any other error is an
// error, never a silent pass.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { amcheckIndexes, SOURCE_VIOLATION, verifyDatabase } from "./checks";
import { fingerprintSnapshot } from "./fingerprint";
import { gateOptions } from "./invariants";
import { drConfigSchema } from "../config/schema";
import { compareWithManifest, invariantsAtSource, newestManifest, recordManifest } from "./manifest";
import { schemaSignature } from "./schema-signature";

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

  it("the gate's amcheck records no manifest: it creates the extension only where it is missing", async () => {
    await amcheckIndexes(c, ["public"]);
    const before = await rows();
    await amcheckIndexes(c, ["public"]);
    await amcheckIndexes(c, ["public"]);
    assert.equal(await rows(), before, "a skipped CREATE EXTENSION IF NOT EXISTS would fire the DDL trigger at every gate");
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

  it("the gate's manifest check reads no table's rows, and names a table the copy lacks", async () => {
    await c.query("create table public.side (x int)");
    await recordManifest(c, "before a backup");
    // This session's own counters reach the shared statistics once it is idle after a flush request.
    const scans = async () => {
      await c.query("select pg_stat_force_next_flush()");
      await new Promise((r) => setTimeout(r, 50));
      await c.query("select pg_stat_clear_snapshot()");
      return Number((await c.query("select coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) n from pg_stat_user_tables where schemaname = 'public'")).rows[0].n);
    };
    const before = await scans();
    assert.ok(before > 0, "the manifest's own counts at the source show up (the measure works)");
    assert.equal((await compareWithManifest(c)).ok, true);
    assert.equal(await scans(), before, "no table was scanned (presence comes from the catalog)");
    // Dropped without the DDL trigger recording it: the manifest still lists the table.
    await c.query("alter event trigger fp_dr_manifest_on_ddl disable");
    try {
      await c.query("drop table public.side");
      const r = await compareWithManifest(c);
      assert.equal(r.ok, false);
      assert.match(r.detail, /1 tables absent/);
      assert.ok(r.findings?.some((f) => f === "absent table: public.side"), JSON.stringify(r.findings));
    } finally {
      await c.query("alter event trigger fp_dr_manifest_on_ddl enable");
      await c.query("drop table if exists public.side");
      await recordManifest(c, "after the test");
    }
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

// The gate's source-or-copy question on a real cluster: an invariant the source broke when the
// manifest was taken warns (the copy is faithful); one that held then and fails now blocks.
describe("invariants recorded with the manifest", () => {
  let scratch: ScratchCluster;
  let c: Client;
  const noNegative = { name: "no negative balances", sql: "select count(*)::int from public.accounts where balance < 0", expect: 0 };
  const noEmpty = { name: "no empty names", sql: "select count(*)::int from public.accounts where name = ''", expect: 0 };

  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    await c.connect();
    await c.query("create table public.accounts (id int primary key, name text not null, balance numeric not null)");
    await c.query("insert into public.accounts values (1, 'a', 10), (2, 'b', -5)");
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("records each invariant as the source has it; one that cannot run is recorded, not thrown", async () => {
    const broken = { name: "broken query", sql: "select count(*) from public.nowhere", expect: 0 };
    const m = await recordManifest(c, "before full backup", [noNegative, noEmpty, broken]);
    assert.deepEqual(m.invariants?.map((i) => [i.name, i.holds, i.got]), [
      ["no negative balances", false, "1"],
      ["no empty names", true, "0"],
      ["broken query", false, undefined],
    ]);
    assert.match(m.invariants![2].error!, /does not exist/);
    assert.deepEqual((await newestManifest(c))?.invariants, m.invariants, "read back from the database as recorded");
  });

  it("a violation recorded at the source warns and passes; one the source did not have fails", async () => {
    await c.query("insert into public.accounts values (3, '', 1)");
    const r = await verifyDatabase(c, { kind: "manifest" }, { invariants: [noNegative, noEmpty], amcheck: false });
    const check = (name: string) => r.checks.find((x) => x.name === `invariant: ${name}`)!;
    assert.equal(check(noNegative.name).ok, true);
    assert.equal(check(noNegative.name).warning, true);
    assert.match(check(noNegative.name).detail, new RegExp(`${SOURCE_VIOLATION} \\(recorded at the source with the manifest "before full backup"`));
    assert.equal(check(noEmpty.name).ok, false, "held at the source: the copy differs from it");
    assert.equal(check(noEmpty.name).warning, undefined);
    assert.equal(r.ok, false);
  });

  it("a drill's invariants evaluated at the source's restore point are shown for a copy whose rows equal it; a differing copy runs them itself", async () => {
    await c.query("create schema drillt; create table drillt.t (id int primary key, v int not null); insert into drillt.t values (1, 1), (2, -1)");
    const negative = { name: "no negative v", sql: "select count(*)::int from drillt.t where v < 0", expect: 0 };
    const ids = { name: "ids positive", sql: "select count(*)::int from drillt.t where id <= 0", expect: 0 };
    const broken = { name: "broken at the source", sql: "select count(*)::int from drillt.nowhere", expect: 0 };
    let atPoint: Awaited<ReturnType<typeof invariantsAtSource>> = [];
    const fingerprints = await fingerprintSnapshot(c, ["drillt"], { atSnapshot: async (s) => (atPoint = await invariantsAtSource(s, [negative, ids, broken])) });
    const ref = { kind: "recorded" as const, schema: await schemaSignature(c, ["drillt"]), fingerprints, invariants: atPoint, invariantsMs: 7 };
    const opts = { schemas: ["drillt"], amcheck: false, invariants: [negative, ids, broken] };
    const equal = await verifyDatabase(c, ref, opts);
    const byName = (r: typeof equal, n: string) => r.checks.find((x) => x.name === `invariant: ${n}`)!;
    assert.deepEqual([negative, ids].map((i) => [byName(equal, i.name).ok, byName(equal, i.name).warning, byName(equal, i.name).durationMs]), [[true, true, 0], [true, undefined, 0]]);
    assert.match(byName(equal, ids.name).detail, /^holds \(0\) at the source's restore point \(read during the restore, 7 ms there for all\); the copy's rows equal/);
    assert.match(byName(equal, negative.name).detail, new RegExp(SOURCE_VIOLATION));
    // It could not run at the source: it runs on the copy (and fails there too).
    assert.equal(byName(equal, broken.name).ok, false);
    assert.match(byName(equal, broken.name).detail, /check failed to run: .*does not exist/);
    assert.deepEqual(equal.checks.filter((x) => x.kind === "invariant").map((x) => x.name), [negative, ids, broken].map((i) => `invariant: ${i.name}`), "in the configured order");

    // The copy differs: nothing is taken from the source; each invariant runs on the copy.
    await c.query("insert into drillt.t values (-3, 5)");
    const differs = await verifyDatabase(c, ref, { ...opts, invariants: [negative, ids] });
    assert.equal(differs.checks.find((x) => x.kind === "content")?.ok, false);
    assert.equal(byName(differs, ids.name).ok, false);
    assert.equal(byName(differs, ids.name).detail, "expected 0, got 1");
    assert.doesNotMatch(byName(differs, negative.name).detail, /restore point/);
  });

  it("a schema change keeps the recorded invariants with the manifest it records", async () => {
    await c.query("alter table public.accounts add column note text");
    const m = await newestManifest(c);
    assert.equal(m?.label, "after ALTER TABLE");
    assert.equal(m?.invariants?.find((i) => i.name === noNegative.name)?.holds, false);
  });

  it("without a reference a violation fails; a live source giving the same violation makes it a warning", async () => {
    assert.equal((await verifyDatabase(c, undefined, { invariants: [noNegative], amcheck: false })).ok, false);
    const source = new Client(scratch.connection());
    await source.connect();
    try {
      // The same database as the source: it gives the same violation, so it is the source's.
      const r = await verifyDatabase(c, source, { invariants: [noNegative], amcheck: false });
      const check = r.checks.find((x) => x.kind === "invariant")!;
      assert.equal(check.warning, true);
      assert.match(check.detail, /the source gives 1/);
    } finally {
      await source.end();
    }
  });

  it("amcheck spreads the indexes over extra sessions, finds a corrupt one checked there, and closes them", async () => {
    await c.query("create schema gate");
    for (let i = 0; i < 6; i++) await c.query(`create table gate.t${i} (id int primary key, v int); insert into gate.t${i} select g, g from generate_series(1, 2000) g`);
    // An index over a function declared immutable that then changes: real index/heap disagreement
    await c.query("create function gate.f(int) returns int immutable language sql as 'select $1'");
    await c.query("create index t5_f on gate.t5 (gate.f(v))");
    await c.query("create or replace function gate.f(int) returns int immutable language sql as 'select $1 + 1'");
    const opened: Client[] = [];
    const open = async () => {
      const s = new Client({ ...scratch.connection(), application_name: "gate-extra" });
      await s.connect();
      opened.push(s);
      return s;
    };
    const r = await amcheckIndexes(c, ["gate"], { parallel: 2, open });
    assert.equal(opened.length, 1, "one extra session for parallel 2");
    assert.equal(r.ok, false);
    assert.match(r.detail, /1 corrupt: gate\.t5_f/);
    await c.query("drop index gate.t5_f");
    const ok = await amcheckIndexes(c, ["gate"], { parallel: 3, open });
    assert.match(ok.detail, /6 btree indexes checked .* on 3 sessions/);
    const left = await c.query("select count(*)::int n from pg_stat_activity where application_name = 'gate-extra'");
    assert.equal(left.rows[0].n, 0, "extra sessions closed");
  });

  it("the gate's sessions, the first and every extra one, run with verification.workMem", async () => {
    const config = drConfigSchema.parse({ verification: { workMem: "77MB" } });
    const opts = gateOptions(config, async () => {
      const x = new Client(scratch.connection());
      await x.connect();
      return x;
    });
    // Two invariants on two sessions, each reporting its session's work_mem.
    const first = Number((await c.query("select pg_backend_pid() p")).rows[0].p);
    const memory = (name: string) => ({ name, sql: `select current_setting('work_mem') || ' on ' || (pg_backend_pid() = ${first})::text`, expect: "77MB on true" });
    const r = await verifyDatabase(c, { kind: "none" }, { ...opts, amcheck: false, invariants: [memory("first session"), { ...memory("extra session"), expect: "77MB on false" }], sessions: { ...opts.sessions, parallel: 2 } });
    const got = r.checks.filter((x) => x.kind === "invariant").map((x) => [x.name, x.ok, x.detail]);
    assert.deepEqual(got, [["invariant: first session", true, "holds (77MB on true)"], ["invariant: extra session", true, "holds (77MB on false)"]]);
    await c.query("reset work_mem");
  });

  it("row checksums spread over extra sessions read every table at the first session's snapshot", async () => {
    const before = await fingerprintSnapshot(c, ["gate"]);
    const writer = new Client(scratch.connection());
    await writer.connect();
    const opened: Client[] = [];
    try {
      // Each extra session opens after the first took its snapshot, and a commit lands in
      // between: a session reading at its own snapshot would count the new rows.
      const open = async () => {
        for (let i = 0; i < 6; i++) await writer.query(`insert into gate.t${i} values (100000 + $1, 0)`, [opened.length]);
        const s = new Client(scratch.connection());
        await s.connect();
        opened.push(s);
        return s;
      };
      const parallel = await fingerprintSnapshot(c, ["gate"], { sessions: { parallel: 2, open } });
      assert.equal(opened.length, 1);
      assert.deepEqual(parallel, before);
      assert.notDeepEqual(await fingerprintSnapshot(c, ["gate"]), before, "the writes did land");
    } finally {
      await writer.end();
    }
  });
});
