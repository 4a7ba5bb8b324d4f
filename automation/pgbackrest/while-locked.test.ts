// Proves: a call that meets pgBackRest's lock (PGBACKREST_LOCKED, marked retryable) is tried again
// until the lock goes, saying so once; past the bound it fails naming what it could not do; any
// other error is not retried.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DrError } from "../core/errors";
import { whileLocked } from "./while-locked";

const locked = () => new DrError("PGBACKREST_LOCKED", "unable to acquire lock", { hint: "" });

test("PGBACKREST_LOCKED is waited out within the bound and said once", async () => {
  let calls = 0;
  const said: string[] = [];
  const r = await whileLocked(async () => (++calls < 3 ? Promise.reject(locked()) : "done"), { what: "take the first full backup to repo2", startingDelayMs: 10, say: (t) => said.push(t) });
  assert.equal(r.value, "done");
  assert.equal(calls, 3);
  assert.ok(r.waitedMs > 0);
  assert.deepEqual(said, ["waiting up to 60s for pgBackRest's lock (held by archive-push) to take the first full backup to repo2"]);
});

test("a lock held past the bound fails naming the call; other errors are not retried", async () => {
  await assert.rejects(whileLocked(async () => Promise.reject(locked()), { what: "check archiving", lockWaitMs: 50, startingDelayMs: 10 }), (e: DrError) => e.code === "PGBACKREST_LOCKED" && /could not check archiving$/.test(e.message));
  let calls = 0;
  await assert.rejects(whileLocked(async () => (calls++, Promise.reject(new DrError("PGBACKREST_FAILED", "boom", { hint: "" }))), { what: "x", startingDelayMs: 10 }), (e: DrError) => e.code === "PGBACKREST_FAILED");
  assert.equal(calls, 1);
});
