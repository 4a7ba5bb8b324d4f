// Proves an invariant's incremental form on a real PostgreSQL 15 cluster: the backup's proofs
// record the transaction its whole check held before; a gate with the source gone then checks
// only what was written from there on (a violation planted behind the audit's back, which only
// the whole check can see, passes it; the full gate finds it); a transaction still open while
// the proofs ran is covered once it commits; an invariant that did not hold runs whole and warns.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { verifyDatabase } from "./checks";
import { recordManifestWithProofs } from "./backup-proofs";
import type { Invariant } from "../config/common";

describe("incremental invariants", () => {
  let scratch: ScratchCluster;
  let c: Client;
  const policy = { maxAgeSeconds: 3600 };
  // The sample's shape in small: balances, their ledger, an audit log kept by triggers in the
  // writing transaction.
  const sums: Invariant = {
    name: "balances equal their ledger",
    sql: "select count(*)::int from app.accounts a where balance <> coalesce((select sum(amount) from app.ledger l where l.account_id = a.id), 0)",
    expect: 0,
    since: {
      sql: `select count(*)::int from app.accounts a
             where a.id in (select account_id from app.audit where xid >= $1::bigint)
               and balance <> coalesce((select sum(amount) from app.ledger l where l.account_id = a.id), 0)`,
    },
  };
  const record = () => recordManifestWithProofs(c, "before incr backup", { name: "scratch", client: c }, { invariants: [sums], amcheck: false });
  const gate = (fullGate?: string) => verifyDatabase(c, { kind: "manifest" }, { invariants: [sums], amcheck: false, proofs: { ...policy, fullGate } });
  const detailOf = (r: Awaited<ReturnType<typeof gate>>) => r.checks.find((x) => x.kind === "invariant")!;
  /** Posts an entry and (when `balanced`) its balance, as the application does. */
  const post = async (db: Client, account: number, amount: number, balanced = true) => {
    await db.query("insert into app.ledger (account_id, amount) values ($1, $2)", [account, amount]);
    if (balanced) await db.query("update app.accounts set balance = balance + $2 where id = $1", [account, amount]);
  };

  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    c.on("error", () => undefined);
    await c.connect();
    await c.query(`create schema app;
      create table app.accounts (id int primary key, balance numeric not null default 0);
      create table app.ledger (id bigint generated always as identity primary key, account_id int not null, amount numeric not null);
      create index on app.ledger (account_id);
      create table app.audit (xid bigint not null default txid_current(), account_id int not null);
      create function app.audit() returns trigger language plpgsql as $$
        begin insert into app.audit (account_id) values (coalesce(new.account_id, new.id)); return null; end $$;
      create trigger ledger_audit after insert on app.ledger for each row execute function app.audit();
      create function app.audit_account() returns trigger language plpgsql as $$
        begin insert into app.audit (account_id) values (new.id); return null; end $$;
      create trigger accounts_audit after update on app.accounts for each row execute function app.audit_account();
      insert into app.accounts (id) select generate_series(1, 20);`);
    for (let a = 1; a <= 20; a++) await post(c, a, a * 10);
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("the proofs record the transaction the whole check held before; the gate checks what was written since", async () => {
    const { proofs } = await record();
    const held = proofs.invariants.find((x) => x.name === sums.name)!;
    assert.equal(held.holds, true);
    assert.match(held.heldBeforeXid ?? "", /^\d+$/);
    await post(c, 3, 5);
    const r = await gate();
    assert.equal(r.ok, true, JSON.stringify(r.checks));
    assert.match(detailOf(r).detail, new RegExp(`^holds \\(0\\) on the rows written by transactions from ${held.heldBeforeXid} on; the whole check held with the backup's proofs on scratch \\(primary\\)`));
  });

  it("a violation the audit never saw passes the incremental form and fails the full gate: only the changed rows are read", async () => {
    await record();
    // Behind the triggers' back (as a replica-role session writes): no audit row.
    await c.query("set session_replication_role = replica");
    await c.query("update app.accounts set balance = balance + 1 where id = 7");
    await c.query("set session_replication_role = origin");
    try {
      assert.equal((await gate()).ok, true, "the incremental form reads only what the audit names");
      const full = await gate("--full-gate");
      assert.equal(full.ok, false);
      assert.match(detailOf(full).detail, /^expected 0, got 1 \(whole check: --full-gate\)$/);
    } finally {
      await c.query("update app.accounts set balance = balance - 1 where id = 7");
    }
  });

  it("a transaction open while the proofs ran is covered once it commits", async () => {
    const writer = new Client(scratch.connection());
    await writer.connect();
    try {
      // An entry without its balance, written before the proofs and committed after them.
      await writer.query("begin");
      await post(writer, 11, 99, false);
      // A later transaction that finishes first: the snapshot's xmax passes the open one, its xmin does not.
      await post(c, 12, 1);
      const { proofs } = await record();
      assert.equal(proofs.invariants[0].holds, true, "the open transaction is invisible to the proofs' snapshot");
      await writer.query("commit");
      const r = await gate();
      assert.equal(r.ok, false, JSON.stringify(r.checks));
      assert.match(detailOf(r).detail, /^expected 0, got 1 on the rows written by transactions from \d+ on/);
    } finally {
      await writer.query("rollback").catch(() => undefined);
      await writer.end();
      await c.query("update app.accounts set balance = balance + 99 where id = 11");
    }
  });

  it("one that did not hold with the proofs runs whole, and a violation the source had warns", async () => {
    await c.query("set session_replication_role = replica");
    await c.query("update app.accounts set balance = balance + 1 where id = 4");
    await c.query("set session_replication_role = origin");
    const { proofs } = await record();
    assert.deepEqual(proofs.invariants.map((x) => [x.holds, x.heldBeforeXid]), [[false, undefined]]);
    const r = await gate();
    const inv = detailOf(r);
    assert.equal(inv.ok, true);
    assert.equal(inv.warning, true);
    assert.match(inv.detail, /^expected 0, got 1 \(whole check: it did not hold with the backup's proofs \(got 1\)\): violated at the source/);
    await c.query("update app.accounts set balance = balance - 1 where id = 4");
  });
});
