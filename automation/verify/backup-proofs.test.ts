// Proves the proofs taken with a backup on a real PostgreSQL 15 cluster: they are recorded with
// the manifest (where, when, what they cover, how long); a gate with the source gone shows a
// passing one instead of running bt_index_check (counted by track_functions); an index whose
// heap disagrees with it fails the proof, recorded as failed, and the gate then runs amcheck on
// the copy and fails; a proof older than the bound is run again; without a policy (incidents,
// corruption, drills) nothing recorded is shown.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { PROOFS_READ_NAME, verifyDatabase } from "./checks";
import { newestManifest } from "./manifest";
import { recordManifestWithProofs } from "./backup-proofs";

describe("proofs taken with a backup", () => {
  let scratch: ScratchCluster;
  let c: Client;
  const policy = { maxAgeSeconds: 3600 };
  const noNegative = { name: "no negative balances", sql: "select count(*)::int from app.accounts where balance < 0", expect: 0 };
  /** bt_index_check calls so far in this database (track_functions = all counts C functions). */
  const btCalls = async () => {
    await c.query("select pg_stat_clear_snapshot()");
    return Number((await c.query("select coalesce(sum(calls), 0) n from pg_stat_user_functions where funcname = 'bt_index_check'")).rows[0].n);
  };
  const settle = () => new Promise((r) => setTimeout(r, 1200));
  const record = (label: string) => recordManifestWithProofs(c, label, { name: "scratch", client: c }, { invariants: [noNegative] });

  before(async () => {
    scratch = await startScratchCluster({ track_functions: "all" });
    c = new Client(scratch.connection());
    c.on("error", () => undefined);
    await c.connect();
    await c.query("create schema app");
    await c.query("create table app.households (id int primary key)");
    await c.query("create table app.accounts (id int primary key, household_id int references app.households, balance numeric)");
    await c.query("insert into app.households select generate_series(1, 50); insert into app.accounts select g, g, g from generate_series(1, 50) g");
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("are recorded with the manifest: result, site, coverage, duration, the invariants' values", async () => {
    const { proofs } = await record("before full backup");
    assert.equal(proofs.ok, true);
    assert.equal(proofs.role, "primary");
    assert.match(proofs.coversLsn, /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.deepEqual(proofs.checks.map((x) => [x.kind, x.ok]), [["amcheck", true], ["orphans", true]]);
    const m = await newestManifest(c);
    assert.deepEqual(m?.proofs, proofs, "read back from the database as recorded");
    assert.deepEqual(m?.invariants, [{ name: noNegative.name, holds: true, got: "0" }], "the invariants as the proofs saw them");
  });

  it("a gate with the source gone shows a passing proof and runs no bt_index_check", async () => {
    await settle();
    const before = await btCalls();
    const r = await verifyDatabase(c, { kind: "manifest" }, { invariants: [noNegative], proofs: policy });
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    const amcheck = r.checks.find((x) => x.kind === "amcheck")!;
    assert.match(amcheck.detail, /^recorded: passed at backup time on scratch \(primary\) \d+s ago, covering up to [0-9A-F]+\/[0-9A-F]+/);
    assert.equal(amcheck.durationMs, 0);
    assert.match(r.checks.find((x) => x.kind === "orphans")!.detail, /^recorded: passed at backup time on scratch .*: 1 foreign keys, no orphans$/);
    assert.ok(r.checks.some((x) => x.name === PROOFS_READ_NAME), "reading the proofs is a sub-check");
    await settle();
    assert.equal(await btCalls(), before, "no bt_index_check ran on the copy");
    // Without a policy (incidents, corruption, drills) the checks run as before.
    const full = await verifyDatabase(c, { kind: "manifest" }, { invariants: [noNegative] });
    assert.doesNotMatch(full.checks.find((x) => x.kind === "amcheck")!.detail, /recorded/);
    await settle();
    assert.ok((await btCalls()) > before, "run on the copy without a policy");
  });

  it("a proof older than the bound runs on the copy", async () => {
    await settle();
    const before = await btCalls();
    await c.query("update fp_dr.backup_manifest set proofs = jsonb_set(proofs, '{startedAt}', to_jsonb((now() - interval '2 hours')::text)) where id = (select max(id) from fp_dr.backup_manifest)");
    const r = await verifyDatabase(c, { kind: "manifest" }, { proofs: policy });
    assert.match(r.checks.find((x) => x.kind === "amcheck")!.detail, /^run on the copy \(the recorded proof is 2h old, older than verification.proofMaxAge \(1h\)\): \d+ btree indexes checked/);
    await settle();
    assert.ok((await btCalls()) > before);
  });

  it("the gate's invariants run over its sessions, in their given order, and their wall time is reported once", async () => {
    const slow = (name: string) => ({ name, sql: "select 0 from pg_sleep(0.4)", expect: 0 });
    const invariants = ["a", "b", "c", "d"].map(slow);
    const opened: Client[] = [];
    const open = async () => {
      const s = new Client(scratch.connection());
      await s.connect();
      opened.push(s);
      return s;
    };
    const r = await verifyDatabase(c, { kind: "manifest" }, { invariants, amcheck: false, proofs: policy, sessions: { parallel: 2, open } });
    const ran = r.checks.filter((x) => x.kind === "invariant");
    assert.deepEqual(ran.map((x) => [x.name, x.ok]), invariants.map((i) => [`invariant: ${i.name}`, true]));
    assert.equal(opened.length, 1, "one extra session");
    const sum = ran.reduce((n, x) => n + x.durationMs, 0);
    assert.ok(r.invariantsWallMs! < sum * 0.75, `wall ${r.invariantsWallMs} ms against ${sum} ms of checks`);
  });

  it("an index disagreeing with its heap fails the proof (recorded), and the gate then runs amcheck on the copy", async () => {
    // An index over a function declared immutable that then changes: real index/heap disagreement.
    await c.query("create function app.f(numeric) returns numeric immutable language sql as 'select $1'");
    await c.query("create index accounts_f on app.accounts (app.f(balance))");
    await c.query("create or replace function app.f(numeric) returns numeric immutable language sql as 'select $1 + 1'");
    const { proofs } = await record("before incr backup");
    assert.equal(proofs.ok, false);
    assert.match(proofs.checks.find((x) => x.kind === "amcheck")!.detail, /1 corrupt: app\.accounts_f/);
    assert.equal((await newestManifest(c))?.proofs?.ok, false, "recorded as failed");
    const r = await verifyDatabase(c, { kind: "manifest" }, { proofs: policy });
    const amcheck = r.checks.find((x) => x.kind === "amcheck")!;
    assert.equal(amcheck.ok, false);
    assert.match(amcheck.detail, /^run on the copy \(the amcheck proof FAILED at backup time on scratch/);
    assert.match(r.checks.find((x) => x.kind === "orphans")!.detail, /^recorded: /, "the orphan proof passed: still shown");
    assert.equal(r.ok, false);
  });
});
