// Proves that a drill's invariants at the source run on one core, inside the reading's
// transaction (the setting ends with it), on a real cluster.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { startScratchCluster, type ScratchCluster } from "../postgres/scratch";
import { invariantsOnOneCore } from "./source-fingerprints";

describe("the drill's invariants at the source", () => {
  let scratch: ScratchCluster;
  let c: Client;
  before(async () => {
    scratch = await startScratchCluster();
    c = new Client(scratch.connection());
    await c.connect();
  });
  after(async () => {
    await c?.end().catch(() => undefined);
    await scratch?.destroy();
  });

  it("run without parallel workers, and leave the session as it was once the transaction ends", async () => {
    const workers = { name: "parallel workers per gather", sql: "select current_setting('max_parallel_workers_per_gather')", expect: "0" };
    const before = (await c.query("show max_parallel_workers_per_gather")).rows[0].max_parallel_workers_per_gather;
    assert.notEqual(before, "0", "the server's own setting allows parallel workers");
    await c.query("begin isolation level repeatable read");
    const got = await invariantsOnOneCore(c, [workers]);
    await c.query("commit");
    assert.deepEqual(got, [{ name: workers.name, holds: true, got: "0" }]);
    assert.equal((await c.query("show max_parallel_workers_per_gather")).rows[0].max_parallel_workers_per_gather, before);
  });
});
