// Proves, on a real PostgreSQL 15 cluster, that the sample generator is deterministic, that its
// foreign keys and invariants hold, that churn keeps the invariants while changing content,
// and that deletions through the application path land in the audit log.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { isDrError } from "../../../core/errors";
import { startScratchCluster, type ScratchCluster } from "../../../postgres/scratch";
import { tableFingerprints, type TableFingerprint } from "../../../verify/fingerprint";
import { sampleInvariants } from "../../../verify/invariants";
import { applyChurn, createSampleDatabase, SAMPLE_SCHEMA } from "./index";

const SCALE = 0.05;

describe("sample financial-planning database", () => {
  let scratch: ScratchCluster;
  const clients: Client[] = [];
  const open = async (database: string) => {
    const c = new Client(scratch.connection(database));
    c.on("error", () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  let a: Client;
  let b: Client;

  before(async () => {
    scratch = await startScratchCluster();
    const admin = await open("postgres");
    await admin.query("create database sample_a");
    await admin.query("create database sample_b");
    a = await open("sample_a");
    b = await open("sample_b");
  });

  after(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await scratch?.destroy();
  });

  const invariantViolations = async (c: Client) => {
    const out: string[] = [];
    for (const inv of sampleInvariants) {
      const r = await c.query(inv.sql);
      const value = Object.values(r.rows[0])[0];
      if (value !== inv.expect) out.push(`${inv.name}: ${value}`);
    }
    return out;
  };
  const byTable = (fps: TableFingerprint[]) => Object.fromEntries(fps.map((f) => [f.table, f]));

  it("generates the same content twice at the same scale, with progress", async () => {
    const steps: number[] = [];
    const sa = await createSampleDatabase(a, { scale: SCALE, onProgress: (done, total) => steps.push(done / total) });
    // the second session in another time zone: content must not depend on it
    await b.query(`set timezone = 'America/New_York'`);
    const sb = await createSampleDatabase(b, { scale: SCALE });
    assert.equal(steps.at(-1), 1, "progress ends at 100 %");
    assert.deepEqual(sa.rows, sb.rows);
    assert.ok(sa.rows.ledger > 1000, `ledger has ${sa.rows.ledger} rows`);
    for (const t of ["households", "clients", "accounts", "holdings", "ledger", "plans", "goals"]) assert.ok(sa.rows[t] > 0, `${t} is not empty`);
    const fa = await tableFingerprints(a, SAMPLE_SCHEMA);
    const fb = await tableFingerprints(b, SAMPLE_SCHEMA);
    assert.deepEqual(fa, fb);
    assert.deepEqual(
      fa.map((f) => f.table),
      ["accounts", "audit_log", "clients", "goals", "holdings", "households", "ledger", "plans", "sample_meta"],
    );
  });

  it("refuses to generate over an existing sample unless asked to replace it", async () => {
    await assert.rejects(createSampleDatabase(a, { scale: SCALE }), (e) => isDrError(e, "SAMPLE_DATA_EXISTS"));
  });

  it("has real foreign keys, check constraints and an index behind every foreign key", async () => {
    const fks = await a.query(`select count(*)::int as n from pg_constraint where contype = 'f' and connamespace = 'app'::regnamespace and convalidated`);
    assert.equal(fks.rows[0].n, 7);
    await assert.rejects(a.query(`insert into app.ledger (account_id, posted_at, amount, kind, description, reference) values (-1, now(), 1, 'deposit', 'x', 'y')`), /foreign key/);
    await assert.rejects(a.query(`insert into app.ledger (account_id, posted_at, amount, kind, description, reference) select account_id, now(), -5, 'deposit', 'x', 'y' from app.accounts limit 1`), /check constraint/);
    const unindexed = await a.query(`
      select c.conname from pg_constraint c
      where c.contype = 'f' and c.connamespace = 'app'::regnamespace
        and not exists (select 1 from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])`);
    assert.deepEqual(unindexed.rows, []);
  });

  it("satisfies every default invariant", async () => {
    assert.deepEqual(await invariantViolations(a), []);
  });

  it("values are poorly compressible (hash-derived), not repeated filler", async () => {
    const r = await a.query(`select count(distinct reference)::int as refs, count(*)::int as n, avg(length(reference))::int as len from app.ledger`);
    assert.equal(r.rows[0].refs, r.rows[0].n, "every ledger reference is distinct");
    assert.equal(r.rows[0].len, 44);
  });

  it("churn keeps the invariants, changes the fingerprints, and is deterministic", async () => {
    const before = byTable(await tableFingerprints(a, SAMPLE_SCHEMA));
    const ca = await applyChurn(a, 0.02);
    const cb = await applyChurn(b, 0.02);
    assert.equal(ca.round, 1);
    assert.deepEqual({ ...ca, durationMs: 0 }, { ...cb, durationMs: 0 }, "the same churn on both databases");
    assert.ok(ca.ledgerInserted >= Math.ceil(before.ledger.rows * 0.02), `inserted ${ca.ledgerInserted} ledger entries`);
    assert.ok(ca.householdsDeleted >= 1 && ca.rowsDeleted > ca.householdsDeleted);
    assert.ok(Object.values(ca.updated).reduce((x, y) => x + y, 0) > 0);
    assert.deepEqual(await invariantViolations(a), []);
    const afterA = byTable(await tableFingerprints(a, SAMPLE_SCHEMA));
    const afterB = byTable(await tableFingerprints(b, SAMPLE_SCHEMA));
    for (const t of ["households", "clients", "accounts", "holdings", "ledger", "plans", "goals", "audit_log"]) {
      assert.notEqual(afterA[t].checksum, before[t].checksum, `${t} changed`);
    }
    // the same churn round on the same content gives the same business content (the audit
    // log differs: it records clock times and transaction ids)
    for (const t of ["households", "clients", "accounts", "holdings", "ledger", "plans", "goals", "sample_meta"]) {
      assert.deepEqual(afterA[t], afterB[t], `${t} is equal after the same churn`);
    }
    assert.equal(afterA.audit_log.rows, afterB.audit_log.rows);
    const second = await applyChurn(a, 0.02);
    assert.equal(second.round, 2);
    assert.deepEqual(await invariantViolations(a), []);
  });

  it("each invariant's incremental form finds what the application broke since a transaction, as the whole form does", async () => {
    const value = async (sql: string, params: unknown[] = []) => Number(Object.values((await b.query(sql, params)).rows[0])[0]);
    const xid = (await b.query("select pg_snapshot_xmin(pg_current_snapshot())::text as x")).rows[0].x;
    const incremental = sampleInvariants.filter((i) => i.since);
    assert.ok(incremental.length >= 8, "the sums and every orphan check have one");
    const both = async (name: string) => {
      const inv = sampleInvariants.find((i) => i.name === name)!;
      return [await value(inv.since!.sql, [xid]), await value(inv.sql)];
    };
    for (const inv of incremental) assert.deepEqual(await both(inv.name), [0, 0], inv.name);
    await b.query("begin");
    try {
      // Through the application's own writes (its audit triggers on): a balance off by one, an
      // entry for no account and an account removed under its entries (the foreign keys that
      // would refuse both dropped, as the orphan invariants exist for databases without them).
      await b.query("update app.accounts set balance = balance + 1 where account_id = (select min(account_id) from app.accounts)");
      assert.deepEqual(await both("account balances equal the sum of their ledger entries"), [1, 1]);
      await b.query("alter table app.ledger drop constraint ledger_account_fk");
      await b.query("insert into app.ledger (account_id, posted_at, amount, kind, description, reference) values (-1, now(), 1, 'deposit', 'x', 'y')");
      assert.deepEqual(await both("no ledger entries without an account"), [1, 1]);
      const victim = (await b.query("select account_id, (select count(*) from app.ledger l where l.account_id = a.account_id)::int as n from app.accounts a where exists (select 1 from app.ledger l where l.account_id = a.account_id) and not exists (select 1 from app.holdings h where h.account_id = a.account_id) limit 1")).rows[0];
      await b.query("delete from app.accounts where account_id = $1", [victim.account_id]);
      assert.deepEqual(await both("no ledger entries without an account"), [1 + victim.n, 1 + victim.n]);
    } finally {
      await b.query("rollback");
    }
  });

  it("records every change in the audit log, deletes through the app path included", async () => {
    const { rows: [h] } = await a.query(`select household_id from app.households order by household_id limit 1`);
    const { rows: [dependants] } = await a.query(
      `select (select count(*) from app.clients where household_id = $1)::int + (select count(*) from app.accounts where household_id = $1)::int as n`,
      [h.household_id],
    );
    const deleted = await a.query(`select app.delete_household($1, 'alice@advisor') as n`, [h.household_id]);
    assert.ok(Number(deleted.rows[0].n) > dependants.n);
    const audit = await a.query(
      `select table_name, count(*)::int as n, min(actor) as actor from app.audit_log
       where action = 'DELETE' and actor = 'alice@advisor' group by table_name order by table_name`,
    );
    const tables = audit.rows.map((r) => r.table_name);
    for (const t of ["households", "clients", "accounts", "ledger", "plans", "goals"]) assert.ok(tables.includes(t), `${t} deletion audited`);
    const household = await a.query(
      `select row_pk, old_row->>'name' as name, new_row, xid from app.audit_log where table_name = 'households' and action = 'DELETE' and row_pk = $1`,
      [h.household_id],
    );
    assert.equal(household.rowCount, 1);
    assert.match(household.rows[0].name, / household$/);
    assert.equal(household.rows[0].new_row, null);
    // the actor falls back to the session setting, then to the database user
    await a.query(`set app.actor = 'batch-job'`);
    await a.query(`update app.clients set phone = '+1-555-0000000' where client_id = (select min(client_id) from app.clients)`);
    await a.query(`reset app.actor`);
    await a.query(`update app.clients set phone = '+1-555-0000001' where client_id = (select min(client_id) from app.clients)`);
    const actors = await a.query(`select actor from app.audit_log where table_name = 'clients' and action = 'UPDATE' order by audit_id desc limit 2`);
    assert.deepEqual(actors.rows.map((r) => r.actor), [scratch.cluster.spec.user.name, "batch-job"]);
    // the index issue 5 needs for "what was deleted, when" exists and is used
    await a.query(`set enable_seqscan = off`);
    const plan = await a.query(`explain select * from app.audit_log where table_name = 'households' and action = 'DELETE' and at > now() - interval '1 hour'`);
    assert.match(plan.rows.map((r) => r["QUERY PLAN"]).join("\n"), /audit_log_table_action_at_idx/);
  });
});
