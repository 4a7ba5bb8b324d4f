// Proves, on a real PostgreSQL 15 cluster with a long transaction holding a conflicting lock,
// that the drill's restore-point lock is bounded: it gives up after lock_timeout per attempt
// and a bounded number of attempts, naming the session in the way; a writer queued behind the
// request goes through as soon as it gives up; the session is left usable; and when the long
// transaction ends between attempts, the retry takes the lock.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "pg";
import { DrError } from "../core/errors";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { beginWithShareLock } from "./share-lock";

let scratch: ScratchCluster;
const clients: Client[] = [];
async function session(name: string): Promise<Client> {
  const c = new Client({ ...scratch.connection(), application_name: name });
  await c.connect();
  clients.push(c);
  return c;
}

before(async () => {
  scratch = await startScratchCluster({}, "fp-dr-share-lock-");
  await scratch.cluster.psql("create schema app; create table app.ledger (id int primary key, amount int); create table app.accounts (id int primary key)");
});

after(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await scratch?.destroy();
});

describe("the restore point's share lock", () => {
  test("a long transaction in the way: bounded waits, a clear error naming it, writers not stalled, session usable", { timeout: 20_000 }, async () => {
    const long = await session("long-report");
    await long.query("begin");
    await long.query("insert into app.ledger values (1, 10)"); // holds ROW EXCLUSIVE on app.ledger
    const longPid = (await long.query("select pg_backend_pid() p")).rows[0].p as number;

    const drill = await session("fp-dr drill");
    const writer = await session("app writer");
    const started = Date.now();
    const attempt = beginWithShareLock(drill, ["app.accounts", "app.ledger"], { lockTimeoutMs: 400, attempts: 2, delayMs: 200 });
    // A writer arriving while the request waits queues behind it, and must get through once it gives up.
    await new Promise((r) => setTimeout(r, 100));
    const write = writer.query("insert into app.accounts values (7)").then(() => Date.now() - started);
    const err = await attempt.then(
      () => assert.fail("the lock was granted although a transaction held a conflicting one"),
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    assert.ok(err instanceof DrError && err.code === "TABLES_LOCKED", String(err));
    assert.match(err.message, new RegExp(`session ${longPid} \\(user \\S+, long-report, transaction open \\d+ s\\) holds a conflicting lock; gave up after 2 attempts of 400 ms`));
    assert.match(err.hint ?? "", /pg_terminate_backend/);
    assert.ok(elapsed >= 2 * 400 + 200 && elapsed < 5000, `gave up after ${elapsed} ms`);
    const writerWaited = await write;
    assert.ok(writerWaited < 2000, `the writer waited ${writerWaited} ms behind the lock request`);
    assert.equal((await drill.query("select 1 as ok")).rows[0].ok, 1, "the session is usable: no transaction left aborted");
    await long.query("rollback");
  });

  test("the long transaction ends between attempts: the retry takes the lock, and writers wait for the drill's transaction only", { timeout: 20_000 }, async () => {
    const long = await session("long-report-2");
    await long.query("begin");
    await long.query("insert into app.ledger values (2, 20)");
    const drill = await session("fp-dr drill 2");
    setTimeout(() => void long.query("commit"), 500);
    await beginWithShareLock(drill, ["app.ledger"], { lockTimeoutMs: 300, attempts: 4, delayMs: 300 });
    // Held now: a writer waits until the drill's transaction ends.
    const writer = await session("app writer 2");
    await writer.query("set lock_timeout = 200");
    await assert.rejects(writer.query("insert into app.ledger values (3, 30)"), /lock timeout/);
    assert.equal((await drill.query("select current_setting('transaction_isolation') i")).rows[0].i, "repeatable read");
    await drill.query("commit");
    await writer.query("insert into app.ledger values (3, 30)");
  });
});
